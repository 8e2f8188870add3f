package cmdutil

import (
	"bytes"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// IOStreams owns stdout (data only), stderr (logs and progress) and what is
// known about the terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer // data: text or JSON
	ErrOut io.Writer // logs, progress, errors

	OutTTY bool // stdout is a terminal (colour)
	ErrTTY bool // stderr is a terminal (progress bars)
}

// System returns the process's streams, wrapped so that any secret
// registered with the redactor can never reach them.
func System(r *Redactor) *IOStreams {
	return &IOStreams{
		In:     os.Stdin,
		Out:    r.Writer(os.Stdout),
		ErrOut: r.Writer(os.Stderr),
		OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
}

// Test returns streams backed by buffers, for tests.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: errOut}, out, errOut
}

// Redactor is the last line of defence for secrets (AppDB tokens in list
// URLs): every byte ck writes to stdout or stderr passes through it, and any
// registered secret is replaced. Code must still never print secrets; this
// only makes a slip harmless.
type Redactor struct {
	mu      sync.RWMutex
	secrets [][]byte
}

// Add registers secrets to be replaced in all output. Short strings are
// ignored: redacting "x" everywhere would garble output without protecting
// anything.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= 4 {
			r.secrets = append(r.secrets, []byte(s))
		}
	}
}

// Redact returns s with every registered secret replaced.
func (r *Redactor) Redact(s string) string { return string(r.redact([]byte(s))) }

func (r *Redactor) redact(p []byte) []byte {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, s := range r.secrets {
		if bytes.Contains(p, s) {
			p = bytes.ReplaceAll(p, s, []byte("REDACTED"))
		}
	}
	return p
}

// Writer wraps w so that registered secrets are replaced in each write.
func (r *Redactor) Writer(w io.Writer) io.Writer { return &redactingWriter{r: r, w: w} }

type redactingWriter struct {
	r *Redactor
	w io.Writer
}

func (rw *redactingWriter) Write(p []byte) (int, error) {
	if _, err := rw.w.Write(rw.r.redact(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Fd is the descriptor of the wrapped file, so that terminal size can be
// asked through the wrapper (progress bars fit the width); ^0 when the
// wrapped writer is not a file.
func (rw *redactingWriter) Fd() uintptr {
	if f, ok := rw.w.(interface{ Fd() uintptr }); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}
