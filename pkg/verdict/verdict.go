// Package verdict decides, list by list, whether a fetched image list may be
// used: its envelope and signature (pkg/trust), its contents (pkg/imagelist),
// and the checks that join the two — the signer must be the endorser the
// list names, the list must be current, and any pins must hold (spec §4).
// It does no I/O: bytes, trust anchors and time are passed in.
package verdict

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/registry"
	"github.com/ck-sync/ck/pkg/trust"
)

// Status is a list's verdict.
type Status string

// The verdicts. Only a valid list may add or update images; an expired one
// retires its images; an invalid one changes nothing.
const (
	Valid   Status = "valid"
	Expired Status = "expired"
	Invalid Status = "invalid"
)

// Checks that this package adds to those of pkg/trust (which names its own:
// envelope, unsigned, signature, signers, chain, certificate, revocation, crl).
const (
	CheckFetch       = "fetch"
	CheckParse       = "parse"
	CheckEndorserDN  = "endorser-dn"
	CheckEndorserCA  = "endorser-ca"
	CheckListID      = "list-id"
	CheckFutureDated = "future-dated"
	CheckExpiry      = "expiry"
)

// MaxClockSkew is how far in the future a list's creation date may be.
const MaxClockSkew = 5 * time.Minute

// Policy is what the site asks of its lists.
type Policy struct {
	CAs           *trust.CAStore
	RequireCRL    bool
	AllowUnsigned bool
	// Pin, when non-nil, holds expectations for this particular list.
	Pin *Pin
}

// Pin fixes the endorser and the list id a list must have (config file).
type Pin struct {
	EndorserDN string
	EndorserCA string
	ListID     string
}

// describe names what the pin expects, for a refusal's "want".
func (p *Pin) describe() string {
	switch {
	case p.EndorserDN != "":
		return p.EndorserDN
	case p.EndorserCA != "":
		return "an endorser under " + p.EndorserCA
	}
	return "the endorser of list " + p.ListID
}

// Verdict is the outcome for one list.
type Verdict struct {
	Source string // the list's URL or path, credentials removed
	Status Status
	// Check, Reason, Observed and Expected explain a verdict other than
	// valid: the check that failed and what it saw against what it wanted.
	Check    string
	Reason   string
	Observed string
	Expected string

	Signature *Signature      // nil for an unsigned list (allowed) or one that failed before
	List      *imagelist.List // nil when the payload could not be parsed
	// ExpiredImages lists the ids of images whose own dc:date:expires passed.
	ExpiredImages []string
	// Digest is the sha256 of the fetched bytes (hex), "" when fetch failed;
	// for a registry source, Listing.Digest.
	Digest string

	// Listing is what a registry source held (nil for HEPiX lists); List
	// is then its image list form (registry.Listing.List).
	Listing *registry.Listing
	// VOs, when set, are the VOs whose projects receive the list's images
	// instead of its ad:vo (a registry source's vos setting).
	VOs []string
	// Origin says where the subscription comes from when it is not the
	// image-lists file or a LIST argument: an atrope sources.yaml entry.
	Origin string
	// Filter is the subscription's image filter (its lists: entry's
	// images; pkg/imagefilter), any kind of source; empty: every image.
	Filter []string
}

// Signature describes a verified signature.
type Signature struct {
	Format        string // multipart, opaque, pem, der
	SignerDN      string
	IssuerDN      string
	NotAfter      time.Time
	Canonicalised bool // the LF copy verified only after CRLF canonicalisation
}

// Error renders a failed verdict as one line: subject first, then the check,
// then observed vs expected.
func (v Verdict) Error() string {
	msg := fmt.Sprintf("list %s: %s: %s", v.Source, v.Check, v.Reason)
	if v.Observed != "" || v.Expected != "" {
		msg += fmt.Sprintf(": got %q, want %q", v.Observed, v.Expected)
	}
	return msg
}

// FetchFailed is the verdict for a list whose bytes could not be read.
func FetchFailed(source string, err error) Verdict {
	// Fetch errors already start with "fetch <source>: "; the verdict says
	// both, so keep only what follows.
	reason := strings.TrimPrefix(err.Error(), "fetch "+source+": ")
	return Verdict{Source: source, Status: Invalid, Check: CheckFetch, Reason: reason}
}

// Evaluate checks a fetched list at time now. It never returns an error:
// every failure is a verdict that says which check failed and why.
func Evaluate(source string, data []byte, p Policy, now time.Time) Verdict {
	v := Verdict{Source: source, Digest: digest(data)}
	payload := data
	signed, err := trust.Verify(data, p.CAs, trust.Options{Now: now, RequireCRL: p.RequireCRL})
	switch {
	case err == nil:
		payload = signed.Payload
		v.Signature = &Signature{
			Format:        signed.Format,
			SignerDN:      signed.SignerDN,
			IssuerDN:      signed.IssuerDN,
			NotAfter:      signed.Signer.NotAfter,
			Canonicalised: signed.Canonicalised,
		}
	case errors.Is(err, trust.ErrUnsigned) && p.AllowUnsigned && p.Pin != nil:
		// A pin says who must have made the list; without a signature
		// nothing says who did, so the pin would hold for anyone.
		return v.failCheck(trust.CheckUnsigned, "the list is pinned in the configuration (lists:), so it must be signed even with --insecure-allow-unsigned",
			"unsigned", "a signature by "+p.Pin.describe())
	case errors.Is(err, trust.ErrUnsigned) && p.AllowUnsigned:
		// Accepted on the operator's explicit, insecure request; the caller
		// logs it loudly. No endorser check is possible.
	default:
		return v.fail(err)
	}

	list, err := imagelist.Parse(payload)
	if err != nil {
		return v.failCheck(CheckParse, err.Error(), "", "")
	}
	v.List = list

	if s := v.Signature; s != nil {
		if s.SignerDN != list.Endorser.DN {
			return v.failCheck(CheckEndorserDN, "the signer is not the endorser the list names (hv:endorser hv:x509 hv:dn)", s.SignerDN, list.Endorser.DN)
		}
		if s.IssuerDN != list.Endorser.CA {
			return v.failCheck(CheckEndorserCA, "the signer's issuer is not the CA the list names (hv:endorser hv:x509 hv:ca)", s.IssuerDN, list.Endorser.CA)
		}
	}
	if pin := p.Pin; pin != nil {
		if pin.EndorserDN != "" && list.Endorser.DN != pin.EndorserDN {
			return v.failCheck(CheckEndorserDN, "the endorser is not the one pinned in the configuration", list.Endorser.DN, pin.EndorserDN)
		}
		if pin.EndorserCA != "" && list.Endorser.CA != pin.EndorserCA {
			return v.failCheck(CheckEndorserCA, "the endorser's CA is not the one pinned in the configuration", list.Endorser.CA, pin.EndorserCA)
		}
		if pin.ListID != "" && list.ID != pin.ListID {
			return v.failCheck(CheckListID, "the list's dc:identifier is not the one pinned in the configuration", list.ID, pin.ListID)
		}
	}
	if !list.Created.IsZero() && list.Created.After(now.Add(MaxClockSkew)) {
		return v.failCheck(CheckFutureDated, "the list is dated in the future (dc:date:created, 5 minutes of clock skew allowed)",
			stamp(list.Created), "at most "+stamp(now.Add(MaxClockSkew)))
	}
	for _, img := range list.Images {
		if !img.Expires.IsZero() && !img.Expires.After(now) {
			v.ExpiredImages = append(v.ExpiredImages, img.ID)
		}
	}
	if !list.Expires.After(now) {
		v.Status = Expired
		v.Check = CheckExpiry
		v.Reason = "the list expired (dc:date:expires); its images will be retired, none added or updated"
		v.Observed = stamp(list.Expires)
		v.Expected = "after " + stamp(now)
		return v
	}
	v.Status = Valid
	return v
}

func (v Verdict) fail(err error) Verdict {
	var ce *trust.CheckError
	if errors.As(err, &ce) {
		return v.failCheck(ce.Check, ce.Reason, ce.Observed, ce.Expected)
	}
	return v.failCheck("signature", err.Error(), "", "")
}

func (v Verdict) failCheck(check, reason, observed, expected string) Verdict {
	v.Status = Invalid
	v.Check, v.Reason, v.Observed, v.Expected = check, reason, observed, expected
	return v
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
