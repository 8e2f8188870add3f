package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// CAStore holds trust anchors, other trusted CAs and CRLs, as read from an
// IGTF-style directory such as /etc/grid-security/certificates.
type CAStore struct {
	cas           []*x509.Certificate
	roots         *x509.CertPool // self-signed CAs: where a chain must end
	intermediates *x509.CertPool // other CAs from the directory, to build chains through
	byName        map[string][]*x509.Certificate
	crls          []*x509.RevocationList

	skipped []SkippedFile
	// damagedCRLs are CRL files that could not be read, by the name (see
	// nameKey) of the CA whose hash they carry; revocation cannot be
	// checked for that CA, so chains through it fail.
	damagedCRLs map[string][]string
	// strayDamagedCRLs are damaged CRL files whose hash names no CA file:
	// any issuer without a readable CRL may be theirs.
	strayDamagedCRLs []string
}

// SkippedFile is a file of the CA directory that should hold certificates
// or CRLs but could not be read or parsed, and was left out of the store.
type SkippedFile struct {
	Path string
	Err  error
}

func (f SkippedFile) Error() string { return f.Path + ": " + f.Err.Error() }

var (
	certFileName = regexp.MustCompile(`\.([0-9]|pem)$`)
	crlFileName  = regexp.MustCompile(`\.r[0-9]$`)
)

// LoadCADir reads CA certificates from the *.0…*.9 and *.pem files of dir
// (PEM, several per file allowed, non-CA certificates ignored) and CRLs from
// its *.r0…*.r9 files (PEM or DER). Other files (.signing_policy, .namespaces,
// .info, .crl_url …) are ignored.
//
// A file that should hold certificates or CRLs but cannot be read or parsed
// is left out and reported by Skipped (the caller logs it); the other files
// still load, so that one broken CA does not stop every list. This fails
// closed: a list whose chain needed a skipped certificate fails on the
// chain, and a skipped CRL file makes every chain through the CA of its hash
// (<hash>.rN next to <hash>.N) fail the crl check — or, when no CA file has
// its hash, every chain through an issuer that has no readable CRL —
// rather than lose a revocation quietly.
func LoadCADir(dir string) (*CAStore, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read CA directory: %w", err)
	}
	var (
		cas        []*x509.Certificate
		crls       []*x509.RevocationList
		skipped    []SkippedFile
		byStem     = map[string][]*x509.Certificate{} // <hash> of <hash>.N → its certificates
		damagedCRL []string                           // names of CRL files skipped
	)
	for _, e := range entries {
		name := e.Name()
		isCert, isCRL := certFileName.MatchString(name), crlFileName.MatchString(name)
		if !isCert && !isCRL {
			continue
		}
		path := filepath.Join(dir, name)
		data, err := readTrustFile(path)
		if err == nil && isCert {
			var certs []*x509.Certificate
			if certs, err = parseCertificates(data); err == nil {
				cas = append(cas, certs...)
				stem := strings.TrimSuffix(name, filepath.Ext(name))
				byStem[stem] = append(byStem[stem], certs...)
				continue
			}
		}
		if err == nil && isCRL {
			var list []*x509.RevocationList
			if list, err = parseCRLs(data); err == nil {
				crls = append(crls, list...)
				continue
			}
		}
		skipped = append(skipped, SkippedFile{Path: path, Err: err})
		if isCRL {
			damagedCRL = append(damagedCRL, name)
		}
	}
	store, err := NewCAStore(cas, crls)
	if err != nil {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("CA directory %s: %w (%d file(s) could not be read, first %v)", dir, err, len(skipped), skipped[0])
		}
		return nil, fmt.Errorf("CA directory %s: %w", dir, err)
	}
	store.skipped = skipped
	store.damagedCRLs = map[string][]string{}
	for _, name := range damagedCRL {
		certs := byStem[strings.TrimSuffix(name, filepath.Ext(name))]
		if len(certs) == 0 {
			store.strayDamagedCRLs = append(store.strayDamagedCRLs, name)
		}
		for _, c := range certs {
			k := nameKey(c.RawSubject)
			store.damagedCRLs[k] = append(store.damagedCRLs[k], name)
		}
	}
	return store, nil
}

// readTrustFile reads one candidate file. Stat follows the hash symlinks
// IGTF directories are made of; a dangling link or a directory where a
// certificate or CRL should be is an error like an unreadable file.
func readTrustFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, pathCause(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, pathCause(err)
	}
	return data, nil
}

// pathCause drops the *fs.PathError wrapper, whose text repeats the path
// that SkippedFile already names.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Skipped returns the files LoadCADir left out because they could not be
// read or parsed, for the caller to report loudly.
func (s *CAStore) Skipped() []SkippedFile {
	return append([]SkippedFile(nil), s.skipped...)
}

// NewCAStore builds a store from certificates and CRLs already in memory;
// certificates that are not CAs are dropped, duplicates kept once.
func NewCAStore(certs []*x509.Certificate, crls []*x509.RevocationList) (*CAStore, error) {
	s := &CAStore{
		roots:         x509.NewCertPool(),
		intermediates: x509.NewCertPool(),
		byName:        map[string][]*x509.Certificate{},
		crls:          crls,
	}
	for _, c := range certs {
		if !isCA(c) || s.contains(c) {
			continue
		}
		s.cas = append(s.cas, c)
		s.byName[nameKey(c.RawSubject)] = append(s.byName[nameKey(c.RawSubject)], c)
		if selfSigned(c) {
			s.roots.AddCert(c)
		} else {
			s.intermediates.AddCert(c)
		}
	}
	if len(s.cas) == 0 {
		return nil, errors.New("no CA certificate found")
	}
	return s, nil
}

// Certificates returns the CA certificates of the store.
func (s *CAStore) Certificates() []*x509.Certificate {
	return append([]*x509.Certificate(nil), s.cas...)
}

// CRLs returns the CRLs of the store, verified or not.
func (s *CAStore) CRLs() []*x509.RevocationList {
	return append([]*x509.RevocationList(nil), s.crls...)
}

func (s *CAStore) contains(c *x509.Certificate) bool {
	for _, o := range s.byName[nameKey(c.RawSubject)] {
		if o.Equal(c) {
			return true
		}
	}
	return false
}

// isAnchor reports whether c itself is a self-signed CA of the store.
func (s *CAStore) isAnchor(c *x509.Certificate) bool {
	return s.contains(c) && selfSigned(c)
}

// isCA follows OpenSSL's X509_check_ca: basicConstraints decides when present;
// without it, a version 1 self-signed certificate or one allowed to sign
// certificates is a CA (old IGTF roots are v1).
func isCA(c *x509.Certificate) bool {
	if c.BasicConstraintsValid {
		return c.IsCA
	}
	return (c.Version == 1 && selfSigned(c)) || c.KeyUsage&x509.KeyUsageCertSign != 0
}

// selfSigned reports whether c names itself as issuer and its own key verifies it.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// nameKey compares names as OpenSSL prints them, so that the same name
// encoded as PrintableString in one place and UTF8String in another matches.
func nameKey(raw []byte) string {
	if s, err := OneLine(raw); err == nil {
		return s
	}
	return string(raw)
}

func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate in file")
	}
	return out, nil
}

func parseCRLs(data []byte) ([]*x509.RevocationList, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		crl, err := x509.ParseRevocationList(data)
		if err != nil {
			return nil, fmt.Errorf("parse DER CRL: %w", err)
		}
		return []*x509.RevocationList{crl}, nil
	}
	var out []*x509.RevocationList
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "X509 CRL" {
			continue
		}
		crl, err := x509.ParseRevocationList(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse CRL: %w", err)
		}
		out = append(out, crl)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM CRL in file")
	}
	return out, nil
}
