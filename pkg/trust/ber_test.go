package trust

import (
	"bytes"
	"encoding/asn1"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestToDER(t *testing.T) {
	t.Parallel()
	der := readFile(t, filepath.Join(signedDir, "valid-der.signed"))
	ber := readFile(t, filepath.Join(signedDir, "valid-ber.signed"))
	deep := bytes.Repeat([]byte{0x30, 0x80}, maxBERDepth+2)
	tests := []struct {
		name    string
		in      []byte
		want    []byte // nil: only check success
		wantErr string
	}{
		{"DER unchanged", der, der, ""},
		{"openssl -stream BER", ber, nil, ""},
		{"indefinite lengths become definite", []byte{0x30, 0x80, 0x04, 0x01, 0x41, 0x24, 0x80, 0x04, 0x01, 0x42, 0, 0, 0, 0}, []byte{0x30, 0x08, 0x04, 0x01, 0x41, 0x24, 0x03, 0x04, 0x01, 0x42}, ""},
		{"high tag number", []byte{0x1f, 0x81, 0x00, 0x00}, []byte{0x1f, 0x81, 0x00, 0x00}, ""},
		{"long length re-encoded minimally", []byte{0x04, 0x82, 0x00, 0x01, 0x41}, []byte{0x04, 0x01, 0x41}, ""},
		{"child overruns its parent", []byte{0x30, 0x02, 0x30, 0x80, 0x04, 0x00, 0x00, 0x00}, nil, "end-of-contents"},
		{"indefinite primitive", []byte{0x04, 0x80, 0x00, 0x00}, nil, "primitive"},
		{"missing end-of-contents", []byte{0x30, 0x80, 0x04, 0x00}, nil, "end-of-contents"},
		{"too deep", deep, nil, "nested deeper"},
		{"trailing data", []byte{0x05, 0x00, 0x00}, nil, "trailing"},
		{"length too long", []byte{0x04, 0x85, 1, 1, 1, 1, 1}, nil, "bad length"},
		{"length beyond data", []byte{0x04, 0x05, 0x41}, nil, "length exceeds"},
		{"oversized tag", []byte{0x1f, 0x81, 0x81, 0x81, 0x81, 0x81, 0x00}, nil, "tag"},
		{"empty", nil, nil, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := toDER(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("toDER = %x, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("toDER: %v", err)
			}
			if tt.want != nil && !bytes.Equal(got, tt.want) {
				t.Errorf("toDER = %x, want %x", got, tt.want)
			}
			var v asn1.RawValue
			if rest, err := asn1.Unmarshal(got, &v); err != nil || len(rest) != 0 {
				t.Errorf("result is not one DER element: %v, %d trailing", err, len(rest))
			}
		})
	}
}

// TestVerifyOverlappingBERIsFast replays the FuzzVerify finding: BER whose
// indefinite-length children overrun their parents made pkcs7's own
// converter take seconds on a few KiB.
func TestVerifyOverlappingBERIsFast(t *testing.T) {
	t.Parallel()
	var b []byte
	for range 200 {
		b = append(b, 0x30, 0x02, 0x30, 0x80) // definite parent, indefinite child running past it
	}
	b = append(b, bytes.Repeat([]byte{0x00}, 400)...)
	cadir := loadDir(t, "cadir")
	start := time.Now()
	_, err := Verify(b, cadir, Options{Now: testNow})
	if checkOf(err) != CheckEnvelope {
		t.Fatalf("Verify = %v; want envelope error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Verify took %v", d)
	}
}
