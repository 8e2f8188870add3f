package transfer

import (
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"
	"strconv"
	"strings"
)

// Verifier passes a stream through while counting and hashing it, and turns
// its end into a verdict: the read that would return io.EOF returns a
// *VerifyError instead when the size or the sha512 is wrong. A consumer that
// stops at the first error (an HTTP upload, io.Copy) therefore never
// completes on bad data.
type Verifier struct {
	// Name says which image, for error messages ("image <id> (<title>)").
	Name string

	r    io.Reader
	size int64
	want string
	h    hash.Hash
	n    int64
	done error // the verdict once reached: io.EOF or a *VerifyError
}

// NewVerifier wraps r, which must yield exactly size bytes whose sha512 is
// sha512hex (either case).
func NewVerifier(r io.Reader, size int64, sha512hex string) *Verifier {
	return &Verifier{r: r, size: size, want: strings.ToLower(sha512hex), h: sha512.New()}
}

// Read implements io.Reader; see Verifier.
func (v *Verifier) Read(p []byte) (int, error) {
	if v.done != nil {
		return 0, v.done
	}
	// Ask for at most one byte past the declared size: enough to tell an
	// over-long stream, without reading an endless one.
	if rest := v.size - v.n; int64(len(p)) > rest {
		p = p[:rest+1]
	}
	n, err := v.r.Read(p)
	if over := v.n + int64(n) - v.size; over > 0 {
		n -= int(over)
		v.add(p[:n])
		v.done = v.mismatch(CheckSize, "more than "+bytesText(v.size), bytesText(v.size))
		return n, v.done
	}
	v.add(p[:n])
	if err == io.EOF {
		v.done = v.verdict()
		return n, v.done
	}
	// Other errors pass through untouched: the source may retry, and the
	// verdict waits for the real end.
	return n, err
}

func (v *Verifier) add(p []byte) {
	v.h.Write(p) // never fails
	v.n += int64(len(p))
}

// verdict judges a stream that has ended.
func (v *Verifier) verdict() error {
	if v.n != v.size {
		return v.mismatch(CheckSize, bytesText(v.n), bytesText(v.size))
	}
	if got := v.Sum(); got != v.want {
		return v.mismatch(CheckSHA512, got, v.want)
	}
	return io.EOF
}

func (v *Verifier) mismatch(check, observed, expected string) *VerifyError {
	return &VerifyError{Check: check, Observed: observed, Expected: expected, Name: v.Name}
}

// Written is how many bytes have passed so far (never more than the size).
func (v *Verifier) Written() int64 { return v.n }

// Sum is the lower-case hex sha512 of the bytes passed so far.
func (v *Verifier) Sum() string { return hex.EncodeToString(v.h.Sum(nil)) }

func bytesText(n int64) string { return strconv.FormatInt(n, 10) + " bytes" }
