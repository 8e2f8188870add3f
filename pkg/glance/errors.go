package glance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
)

// Sentinel errors: every error a Service returns for a failed call matches at
// most one of them with errors.Is, so callers decide without knowing HTTP.
var (
	ErrNotFound     = errors.New("not found")         // 404
	ErrConflict     = errors.New("conflict")          // 409: wrong state, in use, protected
	ErrForbidden    = errors.New("forbidden")         // 403: policy or ownership
	ErrUnauthorized = errors.New("unauthorized")      // 401: credentials or token rejected
	ErrRetryable    = errors.New("temporary failure") // 5xx and connection errors: try again later
)

// Error is a failed Glance or Keystone call.
type Error struct {
	Op      string // e.g. "create image", "upload 1c7e…"
	Status  int    // HTTP status; 0 when no answer came
	Message string // the server's explanation, tags and whitespace stripped
	Kind    error  // one of the sentinels above, or nil
	Err     error  // the underlying error
}

// Error renders "<op>: <status> <meaning>: <message>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.Status != 0:
		fmt.Fprintf(&b, "%d %s", e.Status, strings.ToLower(http.StatusText(e.Status)))
		if e.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.Message)
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("failed")
	}
	return b.String()
}

// Unwrap lets errors.Is match both the sentinel and the underlying error.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// kindOf is the one place where HTTP statuses get their meaning.
func kindOf(status int) error {
	switch {
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusConflict:
		return ErrConflict
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusTooManyRequests, status >= 500:
		return ErrRetryable
	}
	return nil
}

// wrapErr turns whatever gophercloud or net/http returned into an *Error.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var reauth gophercloud.ErrUnableToReauthenticate
	var reauthPtr *gophercloud.ErrUnableToReauthenticate
	if errors.As(err, &reauth) || errors.As(err, &reauthPtr) {
		return &Error{Op: op, Status: http.StatusUnauthorized, Message: "token expired and re-authentication failed", Kind: ErrUnauthorized, Err: err}
	}
	if rc, ok := responseCode(err); ok {
		return statusError(op, rc.Actual, rc.Body, err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &Error{Op: op, Kind: ErrRetryable, Err: err}
	}
	return &Error{Op: op, Err: err}
}

// statusError builds the error for an HTTP reply with an unexpected status.
func statusError(op string, status int, body []byte, err error) *Error {
	return &Error{Op: op, Status: status, Message: serverMessage(body), Kind: kindOf(status), Err: err}
}

// responseCode finds gophercloud's status error, which it returns by value or,
// after a re-authentication, by pointer.
func responseCode(err error) (gophercloud.ErrUnexpectedResponseCode, bool) {
	var v gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &v) {
		return v, true
	}
	var p *gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &p) && p != nil {
		return *p, true
	}
	return v, false
}

var (
	htmlTag = regexp.MustCompile(`<[^>]*>`)
	spaces  = regexp.MustCompile(`\s+`)
)

// serverMessage extracts the human part of an error body: Glance answers
// webob JSON ({"message": …}) or HTML, Keystone {"error": {"message": …}}.
func serverMessage(body []byte) string {
	var j struct {
		Message     string `json:"message"`
		Description string `json:"description"`
		Error       struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := string(body)
	if json.Unmarshal(body, &j) == nil {
		switch {
		case j.Error.Message != "":
			msg = j.Error.Message
		case j.Message != "":
			msg = j.Message
		case j.Description != "":
			msg = j.Description
		}
	} else if i := strings.Index(msg, "</h1>"); i >= 0 {
		// webob's HTML page repeats the status in <title> and <h1>; the text follows.
		msg = msg[i+len("</h1>"):]
	}
	msg = htmlTag.ReplaceAllString(msg, " ")
	msg = strings.TrimSpace(spaces.ReplaceAllString(msg, " "))
	const maxLen = 300
	if len(msg) > maxLen {
		msg = msg[:maxLen] + "…"
	}
	return msg
}
