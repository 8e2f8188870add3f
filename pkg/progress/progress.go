// Package progress is all that ck's core sees of transfer progress: a
// Reporter it tells about bytes moved, and the ways to show them (nothing,
// terminal bars, periodic log lines). The core never prints.
package progress

import (
	"io"
	"log/slog"
	"time"
)

// Reporter receives transfer progress. Implementations are safe for
// concurrent use, since several images transfer at once.
type Reporter interface {
	// Start announces one image transfer of total bytes (≤ 0 when unknown);
	// label is what a person recognises it by, e.g. `"CentOS 7" → vo-alpha`.
	Start(id, label string, total int64) Transfer
}

// Transfer is the progress of one image transfer.
type Transfer interface {
	// Add reports n more bytes done since the last call.
	Add(n int64)
	// Done ends the transfer: finished when err is nil, failed otherwise.
	Done(err error)
}

// Nop returns a Reporter that shows nothing.
func Nop() Reporter { return nop{} }

type nop struct{}

func (nop) Start(string, string, int64) Transfer { return nop{} }
func (nop) Add(int64)                            {}
func (nop) Done(error)                           {}

// Reader returns a reader that reports to t the bytes read through it. It
// does not call Done: only the caller knows whether EOF meant success.
func Reader(r io.Reader, t Transfer) io.Reader { return &reader{r: r, t: t} }

type reader struct {
	r io.Reader
	t Transfer
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.t.Add(int64(n))
	}
	return n, err
}

// Progress modes, the values of --progress.
const (
	ModeAuto   = "auto"   // bars when stderr is a terminal, nothing otherwise
	ModeAlways = "always" // bars even when stderr is not a terminal
	ModeNever  = "never"  // nothing
	ModeLog    = "log"    // periodic log lines, for cron and journald
)

// DefaultLogEvery is how often ModeLog reports a running transfer.
const DefaultLogEvery = 30 * time.Second

// Choose returns the Reporter for a --progress mode. In auto mode a
// non-terminal gets nothing, since ck logs a summary line per image anyway.
// An unknown mode, which flag validation should have caught, counts as auto.
func Choose(mode string, w io.Writer, isTerminal bool, l *slog.Logger) Reporter {
	switch mode {
	case ModeAlways:
		return NewTerminal(w)
	case ModeNever:
		return Nop()
	case ModeLog:
		return NewLog(l, DefaultLogEvery)
	}
	if isTerminal {
		return NewTerminal(w)
	}
	return Nop()
}

// LogWriter returns where log lines should go while r may be drawing: the
// terminal reporter itself, which prints them above its bars instead of
// through them; or w for any other Reporter.
func LogWriter(r Reporter, w io.Writer) io.Writer {
	if t, ok := r.(*terminal); ok {
		return t
	}
	return w
}
