// Package trust decides whether a signed HEPiX image list can be believed:
// it unpacks the S/MIME or PKCS#7 envelope, checks the one signature over the
// exact signed bytes, chains the signer to an IGTF-style CA directory, applies
// that directory's CRLs and renders the signer's names the way OpenSSL does,
// so that callers can compare them with the list's hv:endorser.
//
// Every refusal is a *CheckError; the package fails closed.
package trust

import (
	"errors"
	"strings"
)

// Check names, as carried in CheckError.Check. They are stable: callers and
// JSON output match on them.
const (
	CheckEnvelope    = "envelope"
	CheckUnsigned    = "unsigned"
	CheckSignature   = "signature"
	CheckSigners     = "signers"
	CheckChain       = "chain"
	CheckCertificate = "certificate"
	CheckRevocation  = "revocation"
	CheckCRL         = "crl"
)

// ErrUntrusted matches (errors.Is) every *CheckError: the data must not be believed.
var ErrUntrusted = errors.New("trust: image list is not trusted")

// ErrUnsigned matches (errors.Is) the *CheckError for bare, unsigned JSON, which
// callers may choose to accept under --insecure-allow-unsigned.
var ErrUnsigned = errors.New("trust: image list is not signed")

// CheckError is a failed trust check, worded for the operator who has to fix it.
type CheckError struct {
	Check    string // one of the Check* names
	Reason   string // one line, operator-readable
	Observed string // what was found ("" if n/a)
	Expected string // what was required ("" if n/a)
	Err      error  // cause, may be nil
}

// Error renders "<check>: <reason>: got <observed>, want <expected>", leaving out
// whichever of got/want is empty.
func (e *CheckError) Error() string {
	var b strings.Builder
	b.WriteString(e.Check)
	b.WriteString(": ")
	b.WriteString(e.Reason)
	sep := ": "
	if e.Observed != "" {
		b.WriteString(sep + "got " + e.Observed)
		sep = ", "
	}
	if e.Expected != "" {
		b.WriteString(sep + "want " + e.Expected)
	}
	return b.String()
}

// Unwrap returns the underlying cause, if any.
func (e *CheckError) Unwrap() error { return e.Err }

// Is reports ErrUntrusted for every check and ErrUnsigned for the unsigned one,
// so callers need not know the check names to tell the two situations apart.
func (e *CheckError) Is(target error) bool {
	switch target {
	case ErrUntrusted:
		return true
	case ErrUnsigned:
		return e.Check == CheckUnsigned
	}
	return false
}

func fail(check, reason, observed, expected string, err error) *CheckError {
	return &CheckError{Check: check, Reason: reason, Observed: observed, Expected: expected, Err: err}
}
