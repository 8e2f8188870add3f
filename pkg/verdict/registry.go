package verdict

import "github.com/ck-sync/ck/pkg/registry"

// Registry is the verdict for a registry source (spec §11). It is valid
// when the source was enumerated completely: there is no signature or
// expiry to check; TLS, the manifest digests and, at transfer time, the
// layer digest are what vouch for the bytes. Otherwise it is invalid with
// check (cmdutil's "auth" or "registry") and err as the reason, and its
// images are kept, never retired. Artifacts that break spec §11's rules
// are the list's skipped entries.
func Registry(source string, l *registry.Listing, check string, err error) Verdict {
	v := Verdict{Source: source}
	if err != nil || l == nil {
		v.Status, v.Check = Invalid, check
		if err != nil {
			v.Reason = err.Error()
		}
		return v
	}
	v.Status, v.Listing, v.List, v.Digest = Valid, l, l.List(), l.Digest()
	return v
}
