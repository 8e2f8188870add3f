package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// A registry blob is verified by its sha256 digest, with its sha512 computed
// on the same pass; a wrong byte still fails the final read, and a cut
// stream resumes as a list's image does.
func TestOpenDigestSource(t *testing.T) {
	data, _ := testImage(3 << 20)
	s256 := sha256.Sum256(data)
	s512 := sha512.Sum512(data)
	digest := "sha256:" + hex.EncodeToString(s256[:])
	bad := append([]byte(nil), data...)
	bad[len(bad)/2] ^= 1

	tests := []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request, n int)
		check string // "" = verified
	}{
		{"intact", func(w http.ResponseWriter, r *http.Request, _ int) { w.Write(data) }, ""},
		{"a flipped byte", func(w http.ResponseWriter, r *http.Request, _ int) { w.Write(bad) }, CheckSHA256},
		{"cut, then resumed", func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				w.Header().Set("Content-Length", strconv.Itoa(len(data)))
				w.Header().Set("Accept-Ranges", "bytes")
				w.Write(data[:len(data)/3])
				return
			}
			http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(data))
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.serve)
			rc, err := Open(context.Background(), Source{URL: srv.URL + "/v2/p/r/blobs/" + digest, Size: int64(len(data)), Digest: digest, Name: "blob"}, fastOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			_, err = io.Copy(io.Discard, rc)
			v := rc.(interface {
				SumOf(string) (string, bool)
				Verified() bool
			})
			if tt.check != "" {
				var ve *VerifyError
				if !errors.As(err, &ve) || ve.Check != tt.check || v.Verified() {
					t.Fatalf("err = %v, want a %s mismatch", err, tt.check)
				}
				return
			}
			if err != nil || !v.Verified() {
				t.Fatalf("err = %v, verified %v", err, v.Verified())
			}
			if got, ok := v.SumOf(CheckSHA512); !ok || got != hex.EncodeToString(s512[:]) {
				t.Errorf("sha512 = %q, %v", got, ok)
			}
			if tt.name == "cut, then resumed" && srv.requests.Load() != 2 {
				t.Errorf("%d requests, want 2 (a Range resume)", srv.requests.Load())
			}
		})
	}
}
