package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"github.com/smallstep/pkcs7"
)

// Options tune Verify.
type Options struct {
	Now        time.Time // verification time (tests fix it); zero = time.Now()
	RequireCRL bool      // vmcatcher's rule: every issuer in the chain must have a CRL, current at Now
}

// Signed is a verified image list: the payload to parse and who signed it.
type Signed struct {
	Payload       []byte              // the signed content exactly as verified (for LF-canonicalised input: the CRLF form that verified)
	Format        string              // FormatMultipart, FormatOpaque, FormatPEM or FormatDER
	SignerDN      string              // signer subject, OpenSSL one-line slash form
	IssuerDN      string              // signer issuer, same form
	Signer        *x509.Certificate   // the signer's certificate
	Chain         []*x509.Certificate // signer → ... → trust anchor
	Canonicalised bool                // true when LF→CRLF canonicalisation was needed
}

var oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

// Verify checks a signed image list against the CA store, failing closed.
// Every error it returns is a *CheckError.
func Verify(data []byte, cas *CAStore, opts Options) (*Signed, error) {
	if cas == nil {
		return nil, fail(CheckChain, "no CA store given", "", "a CA directory", nil)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	env, err := parseEnvelope(data)
	if err != nil {
		return nil, err
	}
	p7, err := parsePKCS7(env)
	if err != nil {
		return nil, err
	}
	if n := len(p7.Signers); n != 1 {
		return nil, fail(CheckSigners, "PKCS#7 message must have exactly one signer", fmt.Sprintf("%d signers", n), "1 signer", nil)
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return nil, fail(CheckSigners, "no signer certificate in the message",
			fmt.Sprintf("%d certificates, none matching the signer's issuer and serial", len(p7.Certificates)),
			"the signer certificate embedded in the message", nil)
	}
	signerDN, err := OneLine(signer.RawSubject)
	if err != nil {
		return nil, fail(CheckCertificate, "cannot render the signer subject", err.Error(), "a DER distinguished name", err)
	}
	issuerDN, err := OneLine(signer.RawIssuer)
	if err != nil {
		return nil, fail(CheckCertificate, "cannot render the signer issuer", err.Error(), "a DER distinguished name", err)
	}
	// Chain before signature: an expired or untrusted signer is then reported
	// as such, not as the signing-time mismatch pkcs7 would find first.
	chain, err := buildChain(signer, p7.Certificates, cas, now)
	if err != nil {
		return nil, err
	}
	payload, canonicalised, err := checkSignature(p7, env)
	if err != nil {
		return nil, err
	}
	if err := checkRevocation(chain, cas, now, opts.RequireCRL); err != nil {
		return nil, err
	}
	return &Signed{
		Payload:       payload,
		Format:        env.format,
		SignerDN:      signerDN,
		IssuerDN:      issuerDN,
		Signer:        signer,
		Chain:         chain,
		Canonicalised: canonicalised,
	}, nil
}

func parsePKCS7(env *envelope) (p7 *pkcs7.PKCS7, err error) {
	der, err := toDER(env.pkcs7)
	if err != nil {
		return nil, fail(CheckEnvelope, "PKCS#7 is not well-formed ASN.1 (damaged or truncated)", err.Error(), "", err)
	}
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, fail(CheckEnvelope, "PKCS#7 is not a ContentInfo", err.Error(), "", err)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fail(CheckEnvelope, "PKCS#7 content is not SignedData", ci.ContentType.String(), oidSignedData.String(), nil)
	}
	p7, err = pkcs7.Parse(der)
	if err != nil {
		return nil, fail(CheckEnvelope, "cannot parse PKCS#7 SignedData (damaged or truncated)", err.Error(), "", err)
	}
	if env.detached == nil && len(p7.Content) == 0 {
		return nil, fail(CheckEnvelope, "PKCS#7 message carries no content (a detached signature without its S/MIME envelope)",
			"0 content bytes", "the signed image list inside the message", nil)
	}
	return p7, nil
}

// checkSignature verifies the signature over the exact signed bytes and, for
// a detached signature over text whose CRLFs were turned into LFs on the
// way, once more over the RFC 5751 canonical (CRLF) form. It returns the bytes
// that verified.
func checkSignature(p7 *pkcs7.PKCS7, env *envelope) ([]byte, bool, error) {
	content := p7.Content
	if env.detached != nil {
		content = env.detached
	}
	first := verifyContent(p7, content)
	if first == nil {
		return content, false, nil
	}
	if env.detached != nil && hasBareLF(content) {
		canon := canonicalise(content)
		if verifyContent(p7, canon) == nil {
			return canon, true, nil
		}
	}
	var mismatch *pkcs7.MessageDigestMismatchError
	if errors.As(first, &mismatch) {
		return nil, false, fail(CheckSignature, "message digest does not match the signed content (altered after signing)",
			fmt.Sprintf("%x", mismatch.ActualDigest), fmt.Sprintf("%x", mismatch.ExpectedDigest), first)
	}
	var badTime *pkcs7.SigningTimeNotValidError
	if errors.As(first, &badTime) {
		return nil, false, fail(CheckCertificate, "signing time is outside the signer certificate's validity",
			badTime.SigningTime.UTC().Format(time.RFC3339), validity(badTime.NotBefore, badTime.NotAfter), first)
	}
	return nil, false, fail(CheckSignature, "signature does not verify with the signer's key", first.Error(), "a valid signature over the signed attributes", first)
}

func verifyContent(p7 *pkcs7.PKCS7, content []byte) error {
	p7.Content = content
	// No trust store: the chain is built and checked by buildChain, at opts.Now.
	return p7.VerifyWithChainAtTime(nil, time.Time{})
}

func hasBareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// canonicalise turns every bare LF into CRLF, leaving existing CRLFs alone.
func canonicalise(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + bytes.Count(b, []byte("\n")))
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out.WriteByte('\r')
		}
		out.WriteByte(c)
	}
	return out.Bytes()
}

func validity(notBefore, notAfter time.Time) string {
	return fmt.Sprintf("valid %s to %s", notBefore.UTC().Format(time.RFC3339), notAfter.UTC().Format(time.RFC3339))
}
