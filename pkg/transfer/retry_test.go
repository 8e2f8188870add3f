package transfer

import (
	"net/http"
	"testing"
	"time"
)

func TestDefaultBackoff(t *testing.T) {
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{6, 15 * time.Second, 30 * time.Second},
		{100, 15 * time.Second, 30 * time.Second},
	}
	for _, tt := range tests {
		for range 50 {
			if d := DefaultBackoff(tt.attempt); d < tt.min || d > tt.max {
				t.Fatalf("DefaultBackoff(%d) = %s, want within [%s, %s]", tt.attempt, d, tt.min, tt.max)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"7", 7 * time.Second},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.value, got, tt.want)
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	for code, want := range map[int]bool{
		400: false, 401: false, 403: false, 404: false, 408: true, 416: false, 429: true,
		500: true, 501: false, 502: true, 503: true, 504: true, 505: false,
	} {
		if got := retryableStatus(code); got != want {
			t.Errorf("retryableStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		value              string
		first, last, total int64
		ok                 bool
	}{
		{"bytes 100-199/200", 100, 199, 200, true},
		{"bytes 0-0/1", 0, 0, 1, true},
		{"bytes 100-199/*", 100, 199, -1, true},
		{"bytes 100-199/150", 0, 0, 0, false},
		{"bytes 200-100/300", 0, 0, 0, false},
		{"bytes */200", 0, 0, 0, false},
		{"items 0-1/2", 0, 0, 0, false},
		{"bytes 0-1", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	}
	for _, tt := range tests {
		first, last, total, ok := parseContentRange(tt.value)
		if ok != tt.ok || first != tt.first || last != tt.last || total != tt.total {
			t.Errorf("parseContentRange(%q) = %d, %d, %d, %v", tt.value, first, last, total, ok)
		}
	}
}

func TestValidator(t *testing.T) {
	tests := []struct {
		etag, lastModified, want string
	}{
		{`"abc"`, "Mon, 02 Jan 2006 15:04:05 GMT", `"abc"`},
		{`W/"abc"`, "Mon, 02 Jan 2006 15:04:05 GMT", "Mon, 02 Jan 2006 15:04:05 GMT"},
		{`W/"abc"`, "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.etag != "" {
			h.Set("ETag", tt.etag)
		}
		if tt.lastModified != "" {
			h.Set("Last-Modified", tt.lastModified)
		}
		if got := validator(h); got != tt.want {
			t.Errorf("validator(ETag %q, Last-Modified %q) = %q, want %q", tt.etag, tt.lastModified, got, tt.want)
		}
	}
}
