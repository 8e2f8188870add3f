// Package cmdutil holds what every ck command shares: the global flags and
// their environment/config sources, the IO streams, logging, the exit-code
// mapping and the factory that builds dependencies lazily.
package cmdutil

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/metrics"
	"github.com/ck-sync/ck/pkg/trust"
)

// Factory supplies the dependencies of commands. Fields are set by the root
// command (or by tests); the methods build the rest from the global flags.
type Factory struct {
	IO       *IOStreams
	Globals  *Globals
	Redactor *Redactor
	Logger   *slog.Logger
	Now      func() time.Time
	Getenv   func(string) string
	Metrics  *metrics.Run // records the run for --metrics-file; nil when not asked (see metrics.go)

	// HTTPClientFunc, when set, replaces the list-fetching HTTP client (tests).
	HTTPClientFunc func() (*http.Client, error)
}

// HTTPClient returns the client used to fetch lists.
func (f *Factory) HTTPClient() (*http.Client, error) {
	if f.HTTPClientFunc != nil {
		return f.HTTPClientFunc()
	}
	c, err := imagelist.NewHTTPClient(imagelist.HTTPOptions{
		Timeout:      f.Globals.Timeout,
		MaxRedirects: 5,
		ExtraCAFile:  f.Globals.ExtraCAFile,
		UserAgent:    UserAgent(),
	})
	if err != nil {
		return nil, &UsageError{Flag: "--extra-ca-file", Reason: err.Error()}
	}
	return c, nil
}

// Sources returns the lists to work on: the LIST arguments, or else the
// subscriptions in --image-lists-file. The second result says whether this
// is the full subscription set (only then may a missing list mean
// "unsubscribed").
//
// The subscriptions are what the config file's lists: entries must match:
// with the full set, an entry that matches none of them is a usage error.
// LIST arguments are an ad-hoc selection, so there an entry that matches
// none of them is not an error (it applies to whichever argument it
// matches, as it would in the full set).
func (f *Factory) Sources(args []string) ([]imagelist.Source, bool, error) {
	full := len(args) == 0
	if full && f.Globals.atrope != nil {
		if len(f.Globals.atrope.subscriptions) == 0 {
			return nil, false, &UsageError{Flag: "--atrope-sources", Reason: f.Globals.AtropeSources + ": no enabled source"}
		}
		args = f.Globals.atrope.subscriptions
		f.Globals.atrope.logDisabled(f.Logger)
	} else if full {
		lines, err := imagelist.ReadSubscriptions(f.Globals.ImageListsFile)
		if err != nil {
			return nil, false, &UsageError{Flag: "--image-lists-file", Reason: err.Error()}
		}
		if len(lines) == 0 {
			return nil, false, &UsageError{Flag: "--image-lists-file", Reason: f.Globals.ImageListsFile + ": no list subscribed"}
		}
		args = lines
	}
	sources := make([]imagelist.Source, 0, len(args))
	for i, a := range args {
		s, err := imagelist.ParseSource(a)
		if err != nil {
			where := fmt.Sprintf("LIST argument %d", i+1)
			if full {
				where = fmt.Sprintf("%s: entry %d", f.Globals.ImageListsFile, i+1)
			}
			return nil, false, &UsageError{Reason: where + ": " + err.Error()}
		}
		f.Redactor.Add(s.Secrets()...)
		if s.SendsCredentialsInClear() && f.Logger != nil {
			f.Logger.Warn("credentials sent in clear: the list URL carries credentials (a token) over plain http://; anyone on the path can read them, use https://", "list", s)
		}
		sources = append(sources, s)
	}
	if full {
		if err := f.Globals.checkEntriesMatch(sources); err != nil {
			return nil, false, err
		}
	}
	return sources, full, nil
}

// CAStore loads --ca-dir, logging each file it had to skip.
func (f *Factory) CAStore() (*trust.CAStore, error) {
	cas, err := trust.LoadCADir(f.Globals.CADir)
	if err != nil {
		return nil, &UsageError{Flag: "--ca-dir", Reason: err.Error()}
	}
	// Loud, but not fatal: the rest of the directory still serves the
	// lists that do not need this file, and those that do are refused.
	for _, s := range cas.Skipped() {
		f.Logger.Error("CA directory file skipped: it could not be read, so lists whose signer chains through it (or whose issuer's CRL it is) will be refused",
			"file", s.Path, "error", s.Err.Error())
	}
	return cas, nil
}

// RunContext returns the context of the whole run, with --run-timeout.
func (f *Factory) RunContext(parent context.Context) (context.Context, context.CancelFunc) {
	if f.Globals.RunTimeout > 0 {
		return context.WithTimeout(parent, f.Globals.RunTimeout)
	}
	return context.WithCancel(parent)
}

// UserAgent is what ck sends to list servers, image servers and Glance.
func UserAgent() string { return "ck/" + Version }

// SealKey reads --seal-key-file: nil when it is not set (the key is then
// derived from the cloud's secret). A key shorter than 32 bytes, or one
// others may read, is refused: whoever has it can make ck vouch for any
// image.
func (f *Factory) SealKey() ([]byte, error) {
	path := f.Globals.SealKeyFile
	if path == "" {
		return nil, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, &UsageError{Flag: "--seal-key-file", Reason: fmt.Sprintf("%v (make one: (umask 077; head -c 32 /dev/urandom > %s))", err, path)}
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, &UsageError{Flag: "--seal-key-file", Reason: fmt.Sprintf("%s is readable by others (mode %o): chmod 600 it", path, st.Mode().Perm())}
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, &UsageError{Flag: "--seal-key-file", Reason: err.Error()}
	}
	if len(key) < 32 {
		return nil, &UsageError{Flag: "--seal-key-file", Reason: fmt.Sprintf("%s holds %d bytes, want 32 or more random bytes", path, len(key))}
	}
	return key, nil
}
