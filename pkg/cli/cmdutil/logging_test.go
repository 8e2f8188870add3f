package cmdutil

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestLoggerSite: with --site every record carries the site, in both
// formats, so the journal of a host running many sites says whose line it
// is; without it the records are as they always were.
func TestLoggerSite(t *testing.T) {
	tests := []struct {
		name, format, site string
		check              func(t *testing.T, line string)
	}{
		{"json with site", "json", "site-a", func(t *testing.T, line string) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not JSON: %q: %v", line, err)
			}
			if rec["site"] != "site-a" || rec["list"] != "x" {
				t.Errorf("record %v, want site=site-a and list=x", rec)
			}
		}},
		{"text with site", "text", "site-a", func(t *testing.T, line string) {
			if !strings.Contains(line, " site=site-a ") || !strings.Contains(line, " list=x") {
				t.Errorf("line %q lacks site=site-a or list=x", line)
			}
		}},
		{"json without site", "json", "", func(t *testing.T, line string) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not JSON: %q: %v", line, err)
			}
			if _, ok := rec["site"]; ok {
				t.Errorf("record %v has a site, none set", rec)
			}
		}},
		{"text without site", "text", "", func(t *testing.T, line string) {
			if strings.Contains(line, "site=") {
				t.Errorf("line %q has a site, none set", line)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			logger, err := NewLogger(&b, &Globals{LogLevel: "info", LogFormat: tt.format, Site: tt.site})
			if err != nil {
				t.Fatal(err)
			}
			logger.Info("list verified", "list", "x")
			logger.Debug("below the level")
			lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if len(lines) != 1 {
				t.Fatalf("got %d lines, want 1: %q", len(lines), b.String())
			}
			tt.check(t, lines[0])
		})
	}
}

func TestLoggerBadLevel(t *testing.T) {
	_, err := NewLogger(&bytes.Buffer{}, &Globals{LogLevel: "loud", LogFormat: "text"})
	if err == nil || !strings.Contains(err.Error(), "loud") {
		t.Fatalf("err = %v, want one naming the level", err)
	}
}
