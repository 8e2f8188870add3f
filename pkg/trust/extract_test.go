package trust

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestExtract(t *testing.T) {
	t.Parallel()
	valid := readFile(t, filepath.Join(signedDir, "valid.json"))
	tests := []struct {
		file    string
		format  string
		payload []byte // nil: error expected
	}{
		{"valid.signed", FormatMultipart, crlf(valid)},
		{"valid-lf.signed", FormatMultipart, valid},
		{"valid-opaque.signed", FormatOpaque, crlf(valid)},
		{"valid-pem.signed", FormatPEM, crlf(valid)},
		{"valid-der.signed", FormatDER, crlf(valid)},
		{"valid-ber.signed", FormatDER, crlf(valid)},
		{"untrusted-ca.signed", FormatMultipart, crlf(readFile(t, filepath.Join(signedDir, "untrusted.json")))},
		{"unsigned.json", FormatUnsigned, readFile(t, filepath.Join(signedDir, "unsigned.json"))},
		{"garbage.signed", "", nil},
		{"truncated.signed", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			payload, format, err := Extract(readFile(t, filepath.Join(signedDir, tt.file)))
			if tt.payload == nil {
				if checkOf(err) != CheckEnvelope || payload != nil {
					t.Fatalf("Extract = %d bytes, %v; want envelope error", len(payload), err)
				}
				return
			}
			if err != nil || format != tt.format || !bytes.Equal(payload, tt.payload) {
				t.Errorf("Extract = %d bytes, %q, %v; want %d bytes, %q", len(payload), format, err, len(tt.payload), tt.format)
			}
		})
	}
}
