package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/rivo/uniseg"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Layout of the terminal bars.
const (
	redrawEvery   = 150 * time.Millisecond
	maxBarWidth   = 24
	minBarWidth   = 8
	maxLabelWidth = 40
	// statsWidth is what progressbar/v3 puts around the bar, at its widest:
	// " 100% |", "| (1.2/3.4 GB, 120 MB/s) [1m20s:2m30s]".
	statsWidth = 45
)

// labelColumn is how wide labels may be on a terminal of cols columns (0:
// unknown): a quarter of it, so that rate and ETA still fit on 80 columns.
func labelColumn(cols int) int {
	if cols <= 0 {
		return maxLabelWidth
	}
	return min(maxLabelWidth, max(12, cols/4))
}

// NewTerminal returns a Reporter that draws one progressbar/v3 bar per
// running transfer on w (stderr): label, percent, bytes, rate and ETA. The
// bars form a block of lines at the bottom, redrawn together in one write
// every 150ms from one goroutine, so concurrent transfers never garble each
// other; a finished or failed transfer's line disappears. Log lines written
// through the Reporter (see LogWriter) appear above the block.
func NewTerminal(w io.Writer) Reporter { return newTerminal(w, redrawEvery) }

func newTerminal(w io.Writer, every time.Duration) *terminal {
	return &terminal{w: w, every: every, width: widthOf(w)}
}

// terminal serialises all drawing through mu: progressbar/v3 draws a single
// line with \r and knows nothing of other bars, so its own output is
// discarded and only its rendered text is used.
type terminal struct {
	w     io.Writer
	every time.Duration
	width func() int // columns, 0 when unknown

	mu      sync.Mutex // guards what follows and every bar
	bars    []*termBar // running transfers, in start order
	drawn   int        // bar lines on screen; the cursor is just below them
	ticking bool       // a redraw goroutine runs
}

type termBar struct {
	t       *terminal
	label   string
	bar     *progressbar.ProgressBar
	pending atomic.Int64 // bytes not yet given to bar: Add stays lock-free
	done    bool
}

// widthOf reads the terminal's width at each redraw, so a resized window
// gets lines that fit; progressbar/v3 would measure stdout, which ck keeps
// for data and may be a pipe.
func widthOf(w io.Writer) func() int {
	// Any writer that knows its descriptor will do: ck's stderr is a
	// redacting wrapper around the file.
	f, ok := w.(interface{ Fd() uintptr })
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() int { return 0 }
	}
	return func() int {
		cols, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			return 0
		}
		return cols
	}
}

func (t *terminal) Start(_, label string, total int64) Transfer {
	if total <= 0 {
		total = -1 // progressbar/v3's unknown length: a spinner, bytes and rate
	}
	// The bar's width is fixed once made: fit it to the terminal of now.
	barW := maxBarWidth
	if cols := t.width(); cols > 0 {
		barW = min(maxBarWidth, max(minBarWidth, cols-1-labelColumn(cols)-1-statsWidth))
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(io.Discard),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetWidth(barW),
		progressbar.OptionThrottle(0), // the terminal throttles, for all bars at once
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetRenderBlankState(true),
		// Its spinner goroutine would render behind mu's back.
		progressbar.OptionSetSpinnerChangeInterval(0),
	)
	b := &termBar{t: t, label: sanitize(label), bar: bar}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bars = append(t.bars, b)
	t.draw("")
	if !t.ticking {
		t.ticking = true
		go t.tick()
	}
	return b
}

func (b *termBar) Add(n int64) { b.pending.Add(n) }

func (b *termBar) Done(error) {
	t := b.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	for i, x := range t.bars {
		if x == b {
			t.bars = append(t.bars[:i], t.bars[i+1:]...)
			break
		}
	}
	// The outcome is logged by ck itself; the bar just makes room.
	t.draw("")
}

// tick redraws until no transfer is left. Feeding each bar its bytes here
// rather than in Add keeps progressbar's formatting off the data path, and
// feeding zero still updates the rate and ETA of a stalled transfer.
func (t *terminal) tick() {
	tk := time.NewTicker(t.every)
	defer tk.Stop()
	for range tk.C {
		t.mu.Lock()
		if len(t.bars) == 0 {
			t.ticking = false
			t.mu.Unlock()
			return
		}
		for _, b := range t.bars {
			_ = b.bar.Add64(b.pending.Swap(0)) // errors only say the total was exceeded
		}
		t.draw("")
		t.mu.Unlock()
	}
}

// Write prints p (whole log lines) above the bars.
func (t *terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.drawn == 0 && len(t.bars) == 0 {
		return t.w.Write(p)
	}
	s := string(p)
	if !strings.HasSuffix(s, "\n") {
		s += "\n" // the bars must start on a line of their own
	}
	if err := t.draw(s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// draw replaces the block of bars, after printing above, in one write: the
// cursor goes up to the block's first line, each bar overwrites a line, and
// whatever is left below (a finished bar) is erased. Called with mu held.
func (t *terminal) draw(above string) error {
	var sb strings.Builder
	if t.drawn > 0 {
		fmt.Fprintf(&sb, "\x1b[%dA", t.drawn)
	}
	sb.WriteString("\r\x1b[J")
	sb.WriteString(above)
	cols := t.width()
	labelW := 0
	for _, b := range t.bars {
		labelW = max(labelW, min(uniseg.StringWidth(b.label), labelColumn(cols)))
	}
	for _, b := range t.bars {
		line := fit(b.label, labelW) + " " + strings.TrimRight(strings.ReplaceAll(b.bar.String(), "\r", ""), " ")
		if cols > 0 {
			line = truncate(line, cols-1) // a wrapped line would throw the cursor arithmetic off
		}
		sb.WriteString(line)
		sb.WriteString("\n")
	}
	t.drawn = len(t.bars)
	_, err := io.WriteString(t.w, sb.String())
	return err
}

// fit pads or cuts s to exactly w columns, so that the bars line up.
func fit(s string, w int) string {
	s = truncate(s, w)
	return s + strings.Repeat(" ", w-uniseg.StringWidth(s))
}

// truncate cuts s to at most w columns, marking the cut with "…".
func truncate(s string, w int) string {
	if uniseg.StringWidth(s) <= w {
		return s
	}
	var sb strings.Builder
	used := 0
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		cw := g.Width()
		if used+cw > w-1 {
			break
		}
		sb.WriteString(g.Str())
		used += cw
	}
	if w > 0 {
		sb.WriteString("…")
	}
	return sb.String()
}

// sanitize keeps control characters of a label (an image name from a
// remote list) from reaching the terminal as escape sequences.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}
