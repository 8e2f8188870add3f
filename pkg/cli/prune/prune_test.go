package prune_test

import (
	"os"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/cli/prune"
)

func writeGarbage(path string) error { return os.WriteFile(path, []byte("not a list"), 0o644) }

func TestParseGrace(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "0", want: 0},
		{in: "0d", want: 0},
		{in: "1.5d", want: 36 * time.Hour},
		{in: "36h", want: 36 * time.Hour},
		{in: " 90m ", want: 90 * time.Minute},
		{in: "-1d", bad: true},
		{in: "-5h", bad: true},
		{in: "a week", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		got, err := prune.ParseGrace(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseGrace(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}
