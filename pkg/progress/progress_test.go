package progress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// syncBuffer is a bytes.Buffer that goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// take returns what was written since the last take.
func (s *syncBuffer) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}

// counter is a Transfer that adds up what it is told.
type counter struct {
	mu    sync.Mutex
	n     int64
	calls int
	done  []error
}

func (c *counter) Add(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += n
	c.calls++
}

func (c *counter) Done(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = append(c.done, err)
}

func TestNop(t *testing.T) {
	tr := Nop().Start("i1", "x", 10)
	tr.Add(5)
	tr.Done(nil)
	tr.Done(errors.New("twice is harmless"))
	got, err := io.ReadAll(Reader(strings.NewReader("hello"), tr))
	if err != nil || string(got) != "hello" {
		t.Fatalf("Reader through Nop = %q, %v", got, err)
	}
}

func TestReader(t *testing.T) {
	data := strings.Repeat("x", 10_000)
	c := &counter{}
	// OneByteReader makes many small reads; none may be lost or doubled.
	got, err := io.ReadAll(Reader(iotest.OneByteReader(strings.NewReader(data)), c))
	if err != nil || string(got) != data {
		t.Fatalf("ReadAll = %d bytes, %v", len(got), err)
	}
	if c.n != int64(len(data)) || len(c.done) != 0 {
		t.Errorf("Add total %d, Done calls %d; want %d and none", c.n, len(c.done), len(data))
	}

	boom := errors.New("boom")
	c = &counter{}
	_, err = io.ReadAll(Reader(iotest.DataErrReader(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom))), c))
	if !errors.Is(err, boom) || c.n != 3 {
		t.Errorf("err %v, counted %d; want boom after 3 bytes", err, c.n)
	}
}

// newTestLog returns a log Reporter on a fixed clock and its output, with
// slog's own time left out.
func newTestLog(every time.Duration) (*logReporter, *time.Time, *syncBuffer) {
	buf := &syncBuffer{}
	h := slog.NewTextHandler(buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	r := &logReporter{l: slog.New(h), every: every, now: func() time.Time { return now }}
	return r, &now, buf
}

func TestLogReporter(t *testing.T) {
	r, now, buf := newTestLog(30 * time.Second)
	tr := r.start("img-1", `"CentOS 7" → vo-alpha`, 100e6)
	tr.Add(30e6)
	*now = now.Add(10 * time.Second)
	tr.report()
	tr.Add(20e6)
	*now = now.Add(10 * time.Second)
	tr.report()
	*now = now.Add(10 * time.Second) // a stall shows as 0 MB/s
	tr.report()
	tr.Add(50e6)
	*now = now.Add(5 * time.Second)
	tr.Done(nil)
	tr.Done(nil)
	tr.report()

	u := r.start("img-2", "unknown size", 0)
	u.Add(1e6)
	*now = now.Add(2 * time.Second)
	u.report()
	u.Done(errors.New("sha512 mismatch"))

	want := `level=INFO msg="transfer started" id=img-1 label="\"CentOS 7\" → vo-alpha" total_bytes=100000000
level=INFO msg="transfer progress" id=img-1 label="\"CentOS 7\" → vo-alpha" bytes=30000000 percent=30 mb_per_s=3
level=INFO msg="transfer progress" id=img-1 label="\"CentOS 7\" → vo-alpha" bytes=50000000 percent=50 mb_per_s=2
level=INFO msg="transfer progress" id=img-1 label="\"CentOS 7\" → vo-alpha" bytes=50000000 percent=50 mb_per_s=0
level=INFO msg="transfer done" id=img-1 label="\"CentOS 7\" → vo-alpha" bytes=100000000 duration=35s mb_per_s=2.9
level=INFO msg="transfer started" id=img-2 label="unknown size"
level=INFO msg="transfer progress" id=img-2 label="unknown size" bytes=1000000 mb_per_s=0.5
level=WARN msg="transfer failed" id=img-2 label="unknown size" bytes=1000000 duration=2s mb_per_s=0.5 err="sha512 mismatch"
`
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestLogReporterTicks(t *testing.T) {
	buf := &syncBuffer{}
	r := NewLog(slog.New(slog.NewTextHandler(buf, nil)), 5*time.Millisecond)
	tr := r.Start("img-1", "ticking", 10)
	tr.Add(4)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "percent=40") {
		if time.Now().After(deadline) {
			t.Fatalf("no progress line within 5s:\n%s", buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
	tr.Done(nil)
	// After Done the ticker is gone: nothing more is logged.
	before := buf.String()
	time.Sleep(30 * time.Millisecond)
	if after := buf.String(); after != before || !strings.HasSuffix(after, "\n") || !strings.Contains(after, `msg="transfer done"`) {
		t.Errorf("after Done:\n%s", strings.TrimPrefix(after, before))
	}
}

func TestChoose(t *testing.T) {
	l := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		mode string
		tty  bool
		want string
	}{
		{ModeAuto, true, "terminal"},
		{ModeAuto, false, "nop"},
		{ModeAlways, true, "terminal"},
		{ModeAlways, false, "terminal"},
		{ModeNever, true, "nop"},
		{ModeNever, false, "nop"},
		{ModeLog, true, "log"},
		{ModeLog, false, "log"},
		{"", true, "terminal"},
		{"bogus", false, "nop"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/tty=%v", tc.mode, tc.tty), func(t *testing.T) {
			var got string
			switch Choose(tc.mode, io.Discard, tc.tty, l).(type) {
			case nop:
				got = "nop"
			case *terminal:
				got = "terminal"
			case *logReporter:
				got = "log"
			default:
				got = "other"
			}
			if got != tc.want {
				t.Errorf("Choose(%q, tty=%v) is %s, want %s", tc.mode, tc.tty, got, tc.want)
			}
		})
	}
}

func TestLogWriter(t *testing.T) {
	var w bytes.Buffer
	if LogWriter(Nop(), &w) != io.Writer(&w) {
		t.Error("LogWriter(Nop) should be w")
	}
	term := NewTerminal(io.Discard)
	if LogWriter(term, &w) != term.(io.Writer) {
		t.Error("LogWriter(terminal) should be the terminal")
	}
}
