package transfer

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
)

// CheckSHA256 is the check of a Digest whose algorithm is sha256, as carried
// in VerifyError.Check (CheckSHA512 is the other one).
const CheckSHA256 = "sha256"

// Digest is a hash a stream must have: an image list declares a sha512, an
// OCI registry a sha256.
type Digest struct {
	Algorithm string // CheckSHA512 or CheckSHA256
	Hex       string // either case
}

// newHash returns a hash for a Digest algorithm; nil for an unknown one.
func newHash(algorithm string) hash.Hash {
	switch algorithm {
	case CheckSHA512:
		return sha512.New()
	case CheckSHA256:
		return sha256.New()
	}
	return nil
}

// Verifier passes a stream through while counting and hashing it, and turns
// its end into a verdict: the read that would return io.EOF returns a
// *VerifyError instead when the size or the digest is wrong. A consumer that
// stops at the first error (an HTTP upload, io.Copy) therefore never
// completes on bad data.
//
// It can hash the bytes with one more algorithm on the same pass (see
// NewDigestVerifier), so that each byte is hashed once per purpose: once to
// verify the declared digest, once more only when a check elsewhere needs a
// different algorithm.
type Verifier struct {
	// Name says which image, for error messages ("image <id> (<title>)").
	Name string

	r     io.Reader
	size  int64
	want  Digest // Hex in lower case
	h     hash.Hash
	also  hash.Hash // nil when only the declared digest is computed
	alsoA string    // also's algorithm
	n     int64
	done  error // the verdict once reached: io.EOF or a *VerifyError
}

// NewVerifier wraps r, which must yield exactly size bytes whose sha512 is
// sha512hex (either case).
func NewVerifier(r io.Reader, size int64, sha512hex string) *Verifier {
	return &Verifier{r: r, size: size, want: Digest{CheckSHA512, strings.ToLower(sha512hex)}, h: sha512.New()}
}

// NewDigestVerifier wraps r, which must yield exactly size bytes with the
// digest want. If also names another algorithm (CheckSHA512 or CheckSHA256),
// the same bytes are hashed with it on the same pass, for SumOf: a registry
// blob is verified by its sha256, while the sha512 of the same bytes is what
// Glance's os_hash_value is later checked against. An unknown algorithm, or
// a want whose hex is not a digest of its algorithm, is an error.
func NewDigestVerifier(r io.Reader, size int64, want Digest, also string) (*Verifier, error) {
	h := newHash(want.Algorithm)
	if h == nil {
		return nil, fmt.Errorf("verify: unknown digest algorithm %q (want %s or %s)", want.Algorithm, CheckSHA512, CheckSHA256)
	}
	if b, err := hex.DecodeString(want.Hex); err != nil || len(b) != h.Size() {
		return nil, fmt.Errorf("verify: %s digest %q is not %d hex digits", want.Algorithm, want.Hex, 2*h.Size())
	}
	v := &Verifier{r: r, size: size, want: Digest{want.Algorithm, strings.ToLower(want.Hex)}, h: h}
	if also != "" && also != want.Algorithm {
		if v.also = newHash(also); v.also == nil {
			return nil, fmt.Errorf("verify: unknown digest algorithm %q (want %s or %s)", also, CheckSHA512, CheckSHA256)
		}
		v.alsoA = also
	}
	return v, nil
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
	if v.also != nil {
		v.also.Write(p)
	}
	v.n += int64(len(p))
}

// verdict judges a stream that has ended.
func (v *Verifier) verdict() error {
	if v.n != v.size {
		return v.mismatch(CheckSize, bytesText(v.n), bytesText(v.size))
	}
	if got := v.Sum(); got != v.want.Hex {
		return v.mismatch(v.want.Algorithm, got, v.want.Hex)
	}
	return io.EOF
}

func (v *Verifier) mismatch(check, observed, expected string) *VerifyError {
	return &VerifyError{Check: check, Observed: observed, Expected: expected, Name: v.Name}
}

// Verified reports whether the stream ended in io.EOF: every byte passed
// and the declared size and digest held.
func (v *Verifier) Verified() bool { return v.done == io.EOF }

// Written is how many bytes have passed so far (never more than the size).
func (v *Verifier) Written() int64 { return v.n }

// Sum is the lower-case hex digest, in the declared algorithm, of the bytes
// passed so far.
func (v *Verifier) Sum() string { return hex.EncodeToString(v.h.Sum(nil)) }

// SumOf is the lower-case hex digest in algorithm of the bytes passed so
// far, if the Verifier computes that algorithm (the declared one, or the one
// more it was asked for). Once the stream has ended in io.EOF, the declared
// digest is verified, and so are the bytes every SumOf covers.
func (v *Verifier) SumOf(algorithm string) (string, bool) {
	switch {
	case algorithm == v.want.Algorithm:
		return v.Sum(), true
	case v.also != nil && algorithm == v.alsoA:
		return hex.EncodeToString(v.also.Sum(nil)), true
	}
	return "", false
}

func bytesText(n int64) string { return strconv.FormatInt(n, 10) + " bytes" }
