package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestVerifier(t *testing.T) {
	data, sum := testImage(10_000)
	bad := bytes.Clone(data)
	bad[5000] ^= 1
	longer := append(bytes.Clone(data), "trailing"...)
	_, emptySum := testImage(0)

	tests := []struct {
		name      string
		r         io.Reader
		size      int64
		sum       string
		wantCheck string // "" means a clean EOF
		observed  string
	}{
		{name: "exact", r: bytes.NewReader(data), size: 10_000, sum: sum},
		{name: "one byte at a time", r: iotest.OneByteReader(bytes.NewReader(data)), size: 10_000, sum: sum},
		{name: "EOF with the last data", r: iotest.DataErrReader(bytes.NewReader(data)), size: 10_000, sum: sum},
		{name: "half reads", r: iotest.HalfReader(bytes.NewReader(data)), size: 10_000, sum: sum},
		{name: "upper-case expected digest", r: bytes.NewReader(data), size: 10_000, sum: strings.ToUpper(sum)},
		{name: "empty image", r: strings.NewReader(""), size: 0, sum: emptySum},
		{name: "wrong digest, right size", r: bytes.NewReader(bad), size: 10_000, sum: sum,
			wantCheck: CheckSHA512},
		{name: "wrong digest, EOF with data", r: iotest.DataErrReader(bytes.NewReader(bad)), size: 10_000, sum: sum,
			wantCheck: CheckSHA512},
		{name: "too short", r: bytes.NewReader(data[:9_999]), size: 10_000, sum: sum,
			wantCheck: CheckSize, observed: "9999 bytes"},
		{name: "too short, EOF with data", r: iotest.DataErrReader(bytes.NewReader(data[:10])), size: 10_000, sum: sum,
			wantCheck: CheckSize, observed: "10 bytes"},
		{name: "too long", r: bytes.NewReader(longer), size: 10_000, sum: sum,
			wantCheck: CheckSize, observed: "more than 10000 bytes"},
		{name: "too long, one byte at a time", r: iotest.OneByteReader(bytes.NewReader(longer)), size: 10_000, sum: sum,
			wantCheck: CheckSize, observed: "more than 10000 bytes"},
		{name: "bytes where none are due", r: strings.NewReader("x"), size: 0, sum: emptySum,
			wantCheck: CheckSize, observed: "more than 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVerifier(tt.r, tt.size, tt.sum)
			v.Name = "image X"
			spy := &eofSpy{r: v}
			var got bytes.Buffer
			_, err := io.Copy(&got, spy)
			if v.Written() != int64(got.Len()) {
				t.Errorf("Written() = %d, consumer got %d", v.Written(), got.Len())
			}
			if got.Len() > int(tt.size) {
				t.Errorf("consumer got %d bytes, more than the size %d", got.Len(), tt.size)
			}
			if tt.wantCheck == "" {
				if err != nil || !spy.sawEOF {
					t.Fatalf("err = %v, sawEOF = %v; want a clean EOF", err, spy.sawEOF)
				}
				if v.Sum() != strings.ToLower(tt.sum) {
					t.Errorf("Sum() = %s, want %s", v.Sum(), tt.sum)
				}
				return
			}
			if spy.sawEOF {
				t.Error("the verifier returned io.EOF on bad data")
			}
			ve := asVerifyError(t, err)
			if ve.Check != tt.wantCheck || ve.Name != "image X" {
				t.Errorf("VerifyError = %+v, want check %s for image X", ve, tt.wantCheck)
			}
			if tt.observed != "" && ve.Observed != tt.observed {
				t.Errorf("Observed = %q, want %q", ve.Observed, tt.observed)
			}
			// The verdict sticks.
			if _, again := v.Read(make([]byte, 10)); again != err {
				t.Errorf("next Read = %v, want the same verdict", again)
			}
		})
	}
}

// Errors other than EOF pass through, and reading on still reaches the verdict.
func TestVerifierPassesTransientErrors(t *testing.T) {
	data, sum := testImage(1000)
	v := NewVerifier(iotest.TimeoutReader(bytes.NewReader(data)), 1000, sum)
	buf := make([]byte, 600)
	if _, err := v.Read(buf); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Read(buf); !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("second Read = %v, want the source's timeout", err)
	}
	rest, err := io.ReadAll(v)
	if err != nil || v.Written() != 1000 || len(rest) != 400 {
		t.Fatalf("after the timeout: %d bytes, Written %d, err %v", len(rest), v.Written(), err)
	}
}

// The verifier is a well-behaved io.Reader on good data.
func TestVerifierIOTest(t *testing.T) {
	data, sum := testImage(4096)
	if err := iotest.TestReader(NewVerifier(bytes.NewReader(data), 4096, sum), data); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyErrorText(t *testing.T) {
	err := &VerifyError{Check: CheckSize, Observed: "10 bytes", Expected: "20 bytes", Name: "image 42 (Alma 9)"}
	want := "image 42 (Alma 9): size mismatch: got 10 bytes, want 20 bytes"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if IsRetryable(err) {
		t.Error("a verification failure must not be retryable")
	}
}

// A registry blob is declared by its sha256; Glance's os_hash_value is a
// sha512: one pass verifies the first and computes the second.
func TestDigestVerifier(t *testing.T) {
	data, sum512 := testImage(10_000)
	s256 := sha256.Sum256(data)
	sum256 := hex.EncodeToString(s256[:])
	bad := bytes.Clone(data)
	bad[9_999] ^= 1

	tests := []struct {
		name      string
		data      []byte
		want      Digest
		also      string
		wantCheck string            // "" means a clean EOF
		sums      map[string]string // SumOf after the end; "" means not computed
	}{
		{name: "sha512, nothing more", data: data, want: Digest{CheckSHA512, sum512},
			sums: map[string]string{CheckSHA512: sum512, CheckSHA256: ""}},
		{name: "sha256 declared, sha512 on the same pass", data: data, want: Digest{CheckSHA256, strings.ToUpper(sum256)}, also: CheckSHA512,
			sums: map[string]string{CheckSHA256: sum256, CheckSHA512: sum512}},
		{name: "sha512 declared, sha256 on the same pass", data: data, want: Digest{CheckSHA512, sum512}, also: CheckSHA256,
			sums: map[string]string{CheckSHA256: sum256, CheckSHA512: sum512}},
		{name: "also the declared algorithm: hashed once", data: data, want: Digest{CheckSHA256, sum256}, also: CheckSHA256,
			sums: map[string]string{CheckSHA256: sum256, CheckSHA512: ""}},
		{name: "wrong last byte, sha256 declared", data: bad, want: Digest{CheckSHA256, sum256}, also: CheckSHA512,
			wantCheck: CheckSHA256},
		{name: "short, sha256 declared", data: data[:5000], want: Digest{CheckSHA256, sum256}, also: CheckSHA512,
			wantCheck: CheckSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewDigestVerifier(bytes.NewReader(tt.data), int64(len(data)), tt.want, tt.also)
			if err != nil {
				t.Fatal(err)
			}
			v.Name = "blob X"
			spy := &eofSpy{r: v}
			_, err = io.Copy(io.Discard, spy)
			if tt.wantCheck != "" {
				if ve := asVerifyError(t, err); ve.Check != tt.wantCheck || spy.sawEOF {
					t.Fatalf("VerifyError %+v, sawEOF %v; want check %s and no EOF", ve, spy.sawEOF, tt.wantCheck)
				}
				return
			}
			if err != nil || !spy.sawEOF {
				t.Fatalf("err = %v, sawEOF = %v; want a clean EOF", err, spy.sawEOF)
			}
			for alg, want := range tt.sums {
				got, ok := v.SumOf(alg)
				if got != want || ok != (want != "") {
					t.Errorf("SumOf(%s) = %q, %v; want %q", alg, got, ok, want)
				}
			}
		})
	}
}

func TestNewDigestVerifierRefuses(t *testing.T) {
	_, sum512 := testImage(10)
	tests := []struct {
		name string
		want Digest
		also string
		msg  string
	}{
		{"unknown algorithm", Digest{"md5", "d41d8cd98f00b204e9800998ecf8427e"}, "", `unknown digest algorithm "md5"`},
		{"unknown second algorithm", Digest{CheckSHA512, sum512}, "sha1", `unknown digest algorithm "sha1"`},
		{"sha512 hex of a sha256", Digest{CheckSHA256, sum512}, "", "is not 64 hex digits"},
		{"not hex", Digest{CheckSHA512, strings.Repeat("z", 128)}, "", "is not 128 hex digits"},
		{"empty", Digest{CheckSHA512, ""}, "", "is not 128 hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewDigestVerifier(strings.NewReader(""), 0, tt.want, tt.also)
			if err == nil || !strings.Contains(err.Error(), tt.msg) || v != nil {
				t.Fatalf("NewDigestVerifier = %v, %v; want an error containing %q", v, err, tt.msg)
			}
		})
	}
}
