package glance

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
)

// sealIterations is PBKDF2's work factor for the seal key: ck's seals are
// readable by a project's users, so a weak password must not be cheap to
// find from them (OWASP's 2023 figure for PBKDF2-HMAC-SHA256); deriving it
// costs a fraction of a second once per run.
const sealIterations = 600_000

// sealSecret is what the seal key is derived from: the connection's own
// secret (a password or an application credential's), never sent anywhere.
type sealSecret struct {
	once         sync.Once
	secret, salt string
	key          []byte
}

func newSealSecret(ao *gophercloud.AuthOptions) *sealSecret {
	// The salt is fixed: spelling the same user or auth_url another way
	// must not change the key (each change costs a download of every
	// image only a seal can prove).
	s := &sealSecret{salt: "ck-seal-v1"}
	switch {
	case ao.ApplicationCredentialSecret != "":
		s.secret = ao.ApplicationCredentialSecret
	case ao.Password != "":
		s.secret = ao.Password
	}
	return s
}

// SealKey returns the key of ck's seals (plan.Seal), derived from this
// connection's secret, or nil when it has none (token auth): a member of
// a project can write every property of an image but cannot compute a seal
// without the secret of ck's own OpenStack user. Rotating the secret
// changes the key; images sealed under the old one are then proven once by
// a download and sealed again: sites set --seal-key-file instead for a key
// that outlives their credentials.
func (s *Service) SealKey() []byte {
	if s.seal == nil {
		return nil
	}
	s.seal.once.Do(func() {
		if s.seal.secret == "" {
			return
		}
		key, err := pbkdf2.Key(sha256.New, s.seal.secret, []byte(s.seal.salt), sealIterations, 32)
		if err == nil {
			s.seal.key = key
		}
	})
	return s.seal.key
}
