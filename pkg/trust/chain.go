package trust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// maxChainDepth bounds the walk that explains a failed chain; real chains
// from IGTF CAs are two or three certificates long.
const maxChainDepth = 8

// buildChain verifies signer → certificates carried in the message and CAs
// of the store → a self-signed anchor of the store, at now.
func buildChain(signer *x509.Certificate, carried []*x509.Certificate, cas *CAStore, now time.Time) ([]*x509.Certificate, error) {
	if err := checkValidity(signer, now); err != nil {
		return nil, err
	}
	intermediates := cas.intermediates.Clone()
	for _, c := range carried {
		if !c.Equal(signer) {
			intermediates.AddCert(c)
		}
	}
	chains, err := signer.Verify(x509.VerifyOptions{
		Roots:         cas.roots,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err == nil {
		return chains[0], nil
	}
	return nil, explainChain(signer, carried, cas, now, err)
}

func checkValidity(c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		state := "has expired"
		if now.Before(c.NotBefore) {
			state = "is not yet valid"
		}
		return fail(CheckCertificate, fmt.Sprintf("certificate %s %s", dn(c.RawSubject), state),
			validity(c.NotBefore, c.NotAfter), "valid at "+now.UTC().Format(time.RFC3339), nil)
	}
	return nil
}

// explainChain turns x509's verdict into an operator-readable one by walking
// up from the signer the way a chain would be built, stopping at the first
// link that is missing, expired or signed by a key other than the trusted
// CA of that name.
func explainChain(signer *x509.Certificate, carried []*x509.Certificate, cas *CAStore, now time.Time, verr error) error {
	var invalid x509.CertificateInvalidError
	if errors.As(verr, &invalid) && invalid.Cert != nil && invalid.Reason == x509.Expired {
		if err := checkValidity(invalid.Cert, now); err != nil {
			return withCause(err, verr)
		}
	}
	cur := signer
	for range maxChainDepth {
		if selfSigned(cur) {
			if cas.isAnchor(cur) {
				break // reached an anchor: the fault is elsewhere (constraints, usage)
			}
			if named := cas.byName[nameKey(cur.RawSubject)]; len(named) > 0 {
				return withCause(impostor(cur, named[0]), verr)
			}
			return fail(CheckChain, "chain ends at a self-signed certificate that is not in the CA directory",
				dn(cur.RawSubject), fmt.Sprintf("a trust anchor of the CA directory (%d CAs)", len(cas.cas)), verr)
		}
		next := findIssuer(cur, cas.cas)
		if next == nil {
			// The first link off the trusted path is the one to report: a
			// trusted CA's name on another key is the impostor case.
			if named := cas.byName[nameKey(cur.RawIssuer)]; len(named) > 0 {
				return withCause(impostor(cur, named[0]), verr)
			}
			next = findIssuer(cur, carried)
		}
		if next == nil {
			return fail(CheckChain, fmt.Sprintf("issuer of %s is neither in the CA directory nor in the message", dn(cur.RawSubject)),
				dn(cur.RawIssuer), fmt.Sprintf("a CA of the CA directory (%d CAs)", len(cas.cas)), verr)
		}
		if err := checkValidity(next, now); err != nil {
			return withCause(err, verr)
		}
		cur = next
	}
	return fail(CheckChain, fmt.Sprintf("certificate chain of %s does not verify", dn(signer.RawSubject)), verr.Error(), "", verr)
}

// findIssuer returns the candidate that issued c: same name, and its key
// verifies c's signature.
func findIssuer(c *x509.Certificate, candidates []*x509.Certificate) *x509.Certificate {
	for _, p := range candidates {
		if p.Equal(c) || nameKey(p.RawSubject) != nameKey(c.RawIssuer) {
			continue
		}
		if c.CheckSignatureFrom(p) == nil {
			return p
		}
	}
	return nil
}

// impostor reports a certificate whose issuer (or itself, for a root) bears a
// trusted CA's name but whose signature that CA's key does not verify.
func impostor(c, trusted *x509.Certificate) error {
	return fail(CheckChain, fmt.Sprintf("certificate %s is signed by a key other than that of the trusted CA %s", dn(c.RawSubject), dn(trusted.RawSubject)),
		"authority key id "+keyID(c.AuthorityKeyId), "authority key id "+keyID(trusted.SubjectKeyId), nil)
}

func keyID(id []byte) string {
	if len(id) == 0 {
		return "(none)"
	}
	return fmt.Sprintf("%X", id)
}

func withCause(err, cause error) error {
	var ce *CheckError
	if errors.As(err, &ce) && ce.Err == nil {
		ce.Err = cause
	}
	return err
}

// dn renders a raw name for messages, falling back to hex for names that do
// not even parse.
func dn(raw []byte) string {
	if s, err := OneLine(raw); err == nil {
		if s == "" {
			return `""`
		}
		return s
	}
	return fmt.Sprintf("%X", raw)
}
