package cmdutil

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// ParseLevel turns --log-level into a slog level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, &UsageError{Flag: "--log-level", Reason: fmt.Sprintf("must be debug, info, warn or error, not %q", s)}
}

// NewLogger builds the structured logger on w (stderr) from the flags
// --log-level, --log-format and --site.
func NewLogger(w io.Writer, g *Globals) (*slog.Logger, error) {
	lvl, err := ParseLevel(g.LogLevel)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if g.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	logger := slog.New(h)
	if g.Site != "" {
		// Many sites' runs share one journal: each record says whose it is.
		logger = logger.With("site", g.Site)
	}
	return logger, nil
}
