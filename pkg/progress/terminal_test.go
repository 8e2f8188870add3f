package progress

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTerminalDrawing follows the block of bars through starts, a log line
// and ends, with no redraw ticks in between so every write is known.
func TestTerminalDrawing(t *testing.T) {
	buf := &syncBuffer{}
	term := newTerminal(buf, time.Hour)
	term.width = func() int { return 100 }
	bar := func(label string) string {
		return regexp.QuoteMeta(label) + ` +\s+0% \|[ ]+\| \( ?0 B/[0-9.]+ [kM]B(, 0 B/s)?\) \[0s:0s\]\n`
	}
	steps := []struct {
		name string
		do   func()
		want string // a regexp for everything written
	}{
		{"first bar", func() { term.Start("a", `"CentOS 7" → vo-alpha`, 1000) },
			`^\r\x1b\[J` + bar(`"CentOS 7" → vo-alpha`) + `$`},
		{"second bar below", func() { term.Start("b", "b\x1b[31m", 2e6) },
			`^\x1b\[1A\r\x1b\[J` + bar(`"CentOS 7" → vo-alpha`) + bar("b?[31m") + `$`},
		{"log line above", func() { fmt.Fprint(term, "level=INFO msg=hello") },
			`^\x1b\[2A\r\x1b\[Jlevel=INFO msg=hello\n` + bar(`"CentOS 7" → vo-alpha`) + bar("b?[31m") + `$`},
	}
	for _, s := range steps {
		s.do()
		if got := buf.take(); !regexp.MustCompile(s.want).MatchString(got) {
			t.Fatalf("%s: wrote %q\nwant %q", s.name, got, s.want)
		}
	}

	term.mu.Lock()
	a, b := term.bars[0], term.bars[1]
	term.mu.Unlock()
	a.Done(nil)
	if got, want := buf.take(), "\x1b[2A\r\x1b[J"; !strings.HasPrefix(got, want) || strings.Contains(got, "CentOS") || strings.Count(got, "\n") != 1 {
		t.Fatalf("first done: wrote %q, want %q and the second bar only", got, want)
	}
	a.Done(nil) // twice: nothing happens
	b.Done(fmt.Errorf("failed"))
	if got, want := buf.take(), "\x1b[1A\r\x1b[J"; got != want {
		t.Fatalf("last done: wrote %q, want %q", got, want)
	}
	fmt.Fprintln(term, "plain")
	if got := buf.take(); got != "plain\n" {
		t.Fatalf("without bars, a log line is written as is; got %q", got)
	}
}

// TestTerminalConcurrent runs many transfers and log lines at once (under
// -race): nothing panics, every log line arrives whole, and the block is
// gone at the end.
func TestTerminalConcurrent(t *testing.T) {
	buf := &syncBuffer{}
	term := newTerminal(buf, time.Millisecond)
	term.width = func() int { return 80 }
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			total := int64(1 << 20)
			if i%3 == 0 {
				total = 0 // unknown size: a spinner
			}
			tr := term.Start(fmt.Sprint(i), fmt.Sprintf("image %d → vo-%d", i, i), total)
			for range 256 {
				tr.Add(4 << 10)
				if i%2 == 0 {
					time.Sleep(50 * time.Microsecond)
				}
			}
			fmt.Fprintf(term, "log line from %d\n", i)
			tr.Done(nil)
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		term.mu.Lock()
		idle, drawn := !term.ticking, term.drawn
		term.mu.Unlock()
		if idle && drawn == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after all transfers: ticking %v, %d lines drawn", !idle, drawn)
		}
		time.Sleep(time.Millisecond)
	}
	out := buf.String()
	for i := range 8 {
		if !strings.Contains(out, fmt.Sprintf("\x1b[Jlog line from %d\n", i)) {
			t.Errorf("log line %d missing or torn", i)
		}
		if !strings.Contains(out, fmt.Sprintf("image %d → vo-%d", i, i)) {
			t.Errorf("bar %d never drawn", i)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		// What a terminal shows of each line: no line may be wider than it.
		if i := strings.LastIndex(line, "\x1b[J"); i >= 0 {
			line = line[i+len("\x1b[J"):]
		}
		if w := len([]rune(line)); w > 79 {
			t.Errorf("line of %d columns on an 80-column terminal: %q", w, line)
		}
	}
}

func TestTerminalFitsWidth(t *testing.T) {
	buf := &syncBuffer{}
	term := newTerminal(buf, time.Hour)
	term.width = func() int { return 50 }
	tr := term.Start("a", strings.Repeat("long label ", 10), 1e9)
	defer tr.Done(nil)
	line := strings.TrimSuffix(strings.TrimPrefix(buf.take(), "\r\x1b[J"), "\n")
	if w := len([]rune(line)); w != 49 || !strings.HasPrefix(line, "long label … ") || !strings.HasSuffix(line, "…") {
		t.Errorf("%d columns: %q", w, line)
	}
}

func TestTruncateAndFit(t *testing.T) {
	tests := []struct {
		s        string
		w        int
		truncate string
		fit      string
	}{
		{"abc", 5, "abc", "abc  "},
		{"abcdef", 4, "abc…", "abc…"},
		{"→→→→", 3, "→→…", "→→…"},
		{"日本語ラベル", 7, "日本語…", "日本語…"},
		{"abc", 0, "", ""},
	}
	for _, tc := range tests {
		if got := truncate(tc.s, tc.w); got != tc.truncate {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.w, got, tc.truncate)
		}
		if got := fit(tc.s, tc.w); got != tc.fit {
			t.Errorf("fit(%q, %d) = %q, want %q", tc.s, tc.w, got, tc.fit)
		}
	}
}
