package trust

import (
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// checkRevocation applies the store's CRLs to every certificate of the chain
// but the anchor. A CRL counts only when its issuer's key verifies it. A
// listed serial revokes whatever the CRL's dates (a stale CRL still knows
// what was revoked); with requireCRL, every issuer must also have a CRL that
// is current at now, as vmcatcher demands.
func checkRevocation(chain []*x509.Certificate, cas *CAStore, now time.Time, requireCRL bool) error {
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], chain[i+1]
		crls := cas.crlsFrom(issuer)
		for _, crl := range crls {
			for _, entry := range crl.RevokedCertificateEntries {
				if entry.SerialNumber != nil && entry.SerialNumber.Cmp(cert.SerialNumber) == 0 {
					return fail(CheckRevocation, fmt.Sprintf("certificate %s is revoked by %s", dn(cert.RawSubject), dn(issuer.RawSubject)),
						fmt.Sprintf("serial %X listed, revoked %s", cert.SerialNumber, entry.RevocationTime.UTC().Format(time.RFC3339)),
						"serial not on the CRL", nil)
				}
			}
		}
		if err := cas.checkDamagedCRL(issuer, crls); err != nil {
			return err
		}
		if requireCRL {
			if err := requireCurrent(issuer, crls, now); err != nil {
				return err
			}
		}
	}
	return nil
}

func requireCurrent(issuer *x509.Certificate, crls []*x509.RevocationList, now time.Time) error {
	if len(crls) == 0 {
		return fail(CheckCRL, "no CRL for issuer "+dn(issuer.RawSubject)+" in the CA directory",
			"no CRL", "a CRL current at "+now.UTC().Format(time.RFC3339)+" (--require-crl; run fetch-crl)", nil)
	}
	for _, crl := range crls {
		if !now.Before(crl.ThisUpdate) && !crl.NextUpdate.IsZero() && !now.After(crl.NextUpdate) {
			return nil
		}
	}
	newest := crls[0]
	for _, crl := range crls[1:] {
		if crl.ThisUpdate.After(newest.ThisUpdate) {
			newest = crl
		}
	}
	return fail(CheckCRL, "CRL of issuer "+dn(issuer.RawSubject)+" is not current",
		fmt.Sprintf("thisUpdate %s, nextUpdate %s", newest.ThisUpdate.UTC().Format(time.RFC3339), formatNextUpdate(newest.NextUpdate)),
		"a CRL current at "+now.UTC().Format(time.RFC3339)+" (--require-crl; run fetch-crl)", nil)
}

func formatNextUpdate(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return t.UTC().Format(time.RFC3339)
}

// crlsFrom returns the store's CRLs issued under issuer's name whose
// signature issuer's key verifies; a CRL under the same name but another key
// (an impostor's, or a rekeyed CA's) is not this issuer's.
func (s *CAStore) crlsFrom(issuer *x509.Certificate) []*x509.RevocationList {
	var out []*x509.RevocationList
	name := nameKey(issuer.RawSubject)
	for _, crl := range s.crls {
		if nameKey(crl.RawIssuer) == name && crl.CheckSignatureFrom(issuer) == nil {
			out = append(out, crl)
		}
	}
	return out
}

// checkDamagedCRL refuses a chain through an issuer whose CRL file in the
// CA directory could not be read (LoadCADir skipped it): its revocations are
// unknown, and skipping them would trust a certificate it may revoke. A
// damaged file whose hash names no CA may belong to any issuer that has no
// readable CRL, so those are refused too.
func (s *CAStore) checkDamagedCRL(issuer *x509.Certificate, crls []*x509.RevocationList) error {
	files := s.damagedCRLs[nameKey(issuer.RawSubject)]
	if len(files) == 0 && len(crls) == 0 {
		files = s.strayDamagedCRLs
	}
	if len(files) == 0 {
		return nil
	}
	return fail(CheckCRL, "a CRL file of issuer "+dn(issuer.RawSubject)+" in the CA directory could not be read, so revocation cannot be checked",
		"unreadable: "+strings.Join(files, ", "), "a readable CRL (see the CA directory warning in the log; run fetch-crl)", nil)
}
