package progress

import (
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// NewLog returns a Reporter for non-terminals (cron, journald): one info
// line per transfer when it starts, one every `every` while it runs (with
// percent and the rate since the previous line, so a stall shows), and one
// when it ends (bytes, duration, average MB/s). A nil l means slog.Default().
func NewLog(l *slog.Logger, every time.Duration) Reporter {
	if l == nil {
		l = slog.Default()
	}
	if every <= 0 {
		every = DefaultLogEvery
	}
	return &logReporter{l: l, every: every, now: time.Now}
}

type logReporter struct {
	l     *slog.Logger
	every time.Duration
	now   func() time.Time
}

func (r *logReporter) Start(id, label string, total int64) Transfer {
	t := r.start(id, label, total)
	go t.tick(r.every)
	return t
}

// start begins a transfer without its ticker, so tests can drive report.
func (r *logReporter) start(id, label string, total int64) *logTransfer {
	now := r.now()
	t := &logTransfer{r: r, id: id, label: label, total: total, begun: now, lastAt: now, stop: make(chan struct{})}
	attrs := []any{"id", id, "label", label}
	if total > 0 {
		attrs = append(attrs, "total_bytes", total)
	}
	r.l.Info("transfer started", attrs...)
	return t
}

type logTransfer struct {
	r         *logReporter
	id, label string
	total     int64
	begun     time.Time
	bytes     atomic.Int64
	mu        sync.Mutex // guards what follows
	lastAt    time.Time
	lastBytes int64
	ended     bool
	stop      chan struct{} // closed by Done, ends tick
}

func (t *logTransfer) Add(n int64) { t.bytes.Add(n) }

func (t *logTransfer) tick(every time.Duration) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			t.report()
		}
	}
}

// report logs one progress line, unless the transfer has ended meanwhile.
func (t *logTransfer) report() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return
	}
	now := t.r.now()
	n := t.bytes.Load()
	attrs := []any{"id", t.id, "label", t.label, "bytes", n}
	if t.total > 0 {
		attrs = append(attrs, "percent", round1(100*float64(n)/float64(t.total)))
	}
	attrs = append(attrs, "mb_per_s", mbPerS(n-t.lastBytes, now.Sub(t.lastAt)))
	t.lastAt, t.lastBytes = now, n
	t.r.l.Info("transfer progress", attrs...)
}

func (t *logTransfer) Done(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return // a second Done would log the end twice
	}
	t.ended = true
	close(t.stop)
	n := t.bytes.Load()
	d := t.r.now().Sub(t.begun)
	attrs := []any{"id", t.id, "label", t.label, "bytes", n, "duration", d.Round(100 * time.Millisecond), "mb_per_s", mbPerS(n, d)}
	if err != nil {
		t.r.l.Warn("transfer failed", append(attrs, "err", err)...)
		return
	}
	t.r.l.Info("transfer done", attrs...)
}

// mbPerS is the rate in decimal megabytes per second, as network people
// (and ck's benchmark) count them, to one decimal.
func mbPerS(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round1(float64(n) / 1e6 / d.Seconds())
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
