package trust

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"
)

// smime frames content and a detached signature the way openssl does, with
// eol as the framing line end and header as the top Content-Type field.
func smime(eol, header, boundary string, content, sig []byte) []byte {
	var b bytes.Buffer
	b.WriteString("MIME-Version: 1.0" + eol + header + eol + eol)
	b.WriteString("This is an S/MIME signed message" + eol + eol)
	b.WriteString("--" + boundary + eol)
	b.Write(content)
	b.WriteString(eol + "--" + boundary + eol)
	b.WriteString(`Content-Type: application/x-pkcs7-signature; name="smime.p7s"` + eol)
	b.WriteString("Content-Transfer-Encoding: base64" + eol)
	b.WriteString(`Content-Disposition: attachment; filename="smime.p7s"` + eol + eol)
	enc := base64.StdEncoding.EncodeToString(sig)
	for len(enc) > 64 {
		b.WriteString(enc[:64] + eol)
		enc = enc[64:]
	}
	b.WriteString(enc + eol + eol + "--" + boundary + "--" + eol + eol)
	return b.Bytes()
}

const stdHeader = `Content-Type: multipart/signed; protocol="application/x-pkcs7-signature"; micalg="sha-256"; boundary="----B0UNDARY"`

func TestVerifyEnvelopeVariants(t *testing.T) {
	t.Parallel()
	cadir := loadDir(t, "cadir")
	list := crlf(readFile(t, filepath.Join(signedDir, "valid.json")))
	lfList := bytes.ReplaceAll(list, []byte("\r\n"), []byte("\n"))
	withHeaders := append([]byte("Content-Type: text/plain\r\n\r\n"), list...)
	sig := signDetached(t, list)
	tests := []struct {
		name      string
		data      []byte
		payload   []byte
		canonical bool
	}{
		{"LF framing, CRLF content (openssl default)", smime("\n", stdHeader, "----B0UNDARY", list, sig), list, false},
		{"CRLF framing (openssl -crlfeol)", smime("\r\n", stdHeader, "----B0UNDARY", list, sig), list, false},
		{"LF everywhere, canonicalised", smime("\n", stdHeader, "----B0UNDARY", lfList, sig), list, true},
		{"content signed as LF verifies as is", smime("\n", stdHeader, "----B0UNDARY", lfList, signDetached(t, lfList)), lfList, false},
		{"folded header, quoted boundary with specials, lower-case names",
			smime("\r\n", "content-type: multipart/signed;\r\n\tprotocol=\"application/pkcs7-signature\";\r\n micalg=sha-256;\r\n boundary=\"b'(+_,-./:=?)\"", "b'(+_,-./:=?)", list, sig), list, false},
		{"unquoted boundary", smime("\n", "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=plainB", "plainB", list, sig), list, false},
		{"signed part with its own MIME header (openssl -text)", smime("\n", stdHeader, "----B0UNDARY", withHeaders, signDetached(t, withHeaders)), withHeaders, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Verify(tt.data, cadir, Options{Now: testNow})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !bytes.Equal(got.Payload, tt.payload) || got.Canonicalised != tt.canonical || got.Format != FormatMultipart {
				t.Errorf("got %d payload bytes, canonicalised=%v, format %q; want %d, %v", len(got.Payload), got.Canonicalised, got.Format, len(tt.payload), tt.canonical)
			}
		})
	}
}

// TestVerifyEnvelopeRefusals feeds envelopes that must fail, each with the check it must fail.
func TestVerifyEnvelopeRefusals(t *testing.T) {
	t.Parallel()
	cadir := loadDir(t, "cadir")
	list := crlf(readFile(t, filepath.Join(signedDir, "valid.json")))
	sig := signDetached(t, list)
	good := smime("\n", stdHeader, "----B0UNDARY", list, sig)
	replace := func(old, new string) []byte { return bytes.Replace(good, []byte(old), []byte(new), 1) }
	noFinalEOL := bytes.TrimSuffix(list, []byte("\r\n"))
	crOnly := bytes.ReplaceAll(list, []byte("\r\n"), []byte("\r"))
	tests := []struct {
		name  string
		data  []byte
		check string
	}{
		{"empty", nil, CheckEnvelope},
		{"only whitespace", []byte(" \r\n\t"), CheckEnvelope},
		{"bare JSON", readFile(t, filepath.Join(signedDir, "valid.json")), CheckUnsigned},
		{"bare JSON after BOM and blank lines", append([]byte("\xef\xbb\xbf\r\n  "), list...), CheckUnsigned},
		{"plain text", []byte("hello world\n"), CheckEnvelope},
		{"HTML error page", []byte("<html><body>502</body></html>\n"), CheckEnvelope},
		{"wrong protocol", replace("application/x-pkcs7-signature\"; micalg", "application/pgp-signature\"; micalg"), CheckEnvelope},
		{"no protocol", replace(`protocol="application/x-pkcs7-signature"; `, ""), CheckEnvelope},
		{"no boundary", replace(`; boundary="----B0UNDARY"`, ""), CheckEnvelope},
		{"boundary never appears", replace(`boundary="----B0UNDARY"`, `boundary="other"`), CheckEnvelope},
		{"multipart/mixed", replace("multipart/signed", "multipart/mixed"), CheckEnvelope},
		{"no closing delimiter", bytes.TrimRight(bytes.TrimSuffix(bytes.TrimRight(good, "\n"), []byte("------B0UNDARY--")), "\n"), CheckEnvelope},
		{"signature part not PKCS#7", replace("Content-Type: application/x-pkcs7-signature; name", "Content-Type: text/plain; name"), CheckEnvelope},
		{"signature part binary encoding", replace("Content-Transfer-Encoding: base64", "Content-Transfer-Encoding: binary"), CheckEnvelope},
		{"signature part bad base64", replace("Content-Disposition: attachment; filename=\"smime.p7s\"\n\n", "Content-Disposition: attachment; filename=\"smime.p7s\"\n\n!!!!"), CheckEnvelope},
		{"three parts", replace("\n------B0UNDARY--", "\n------B0UNDARY\nContent-Type: text/plain\n\nextra\n------B0UNDARY--"), CheckEnvelope},
		{"duplicate Content-Type", replace("MIME-Version: 1.0\n", "MIME-Version: 1.0\nContent-Type: text/plain\n"), CheckEnvelope},
		{"opaque but enveloped", []byte("Content-Type: application/pkcs7-mime; smime-type=enveloped-data\n\nMIIB\n"), CheckEnvelope},
		{"opaque with garbage body", []byte("Content-Type: application/pkcs7-mime; smime-type=signed-data\nContent-Transfer-Encoding: base64\n\nAAAA\n"), CheckEnvelope},
		{"PEM certificate instead of PKCS#7", readFile(t, filepath.Join(pkiDir, "ca/root-ca.pem")), CheckEnvelope},
		{"PEM truncated", []byte("-----BEGIN PKCS7-----\nMIIB\n"), CheckEnvelope},
		{"DER certificate instead of PKCS#7", readCert(t, filepath.Join(pkiDir, "ca/root-ca.pem")).Raw, CheckEnvelope},
		{"bare detached signature, PEM", pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: sig}), CheckEnvelope},
		{"bare detached signature, DER", sig, CheckEnvelope},
		{"final line end dropped: no re-encoding but LF→CRLF is tried", smime("\n", stdHeader, "----B0UNDARY", noFinalEOL, sig), CheckSignature},
		{"line ends turned into CR", smime("\n", stdHeader, "----B0UNDARY", crOnly, sig), CheckSignature},
		{"signature over other content", smime("\n", stdHeader, "----B0UNDARY", list, signDetached(t, []byte("other"))), CheckSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Verify(tt.data, cadir, Options{Now: testNow})
			if got != nil || checkOf(err) != tt.check {
				t.Fatalf("Verify = %v, %v; want check %q", got, err, tt.check)
			}
			t.Log(err)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}
