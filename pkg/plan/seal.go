package plan

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/ck-sync/ck/pkg/glance"
)

// PropSeal is ck's seal of an image whose bytes it verified (Seal).
const PropSeal = "ck_seal"

// sealFields are ck's record of an image's source that its seal covers:
// what identifies the image and its bytes, never what a metadata update
// changes (name, visibility, ck_list_url, ...).
var sealFields = []string{PropListID, PropImageID, PropDigest, PropSHA512, PropSize, PropSourceFormat}

// Seal returns ck's seal of img, or "" without a key: an HMAC-SHA256, keyed
// with a secret derived from ck's own OpenStack credentials
// (glance.Service.SealKey), over the image's Glance id and owner, what
// Glance computed of its bytes (size, os_hash_algo, os_hash_value) and ck's
// record of their source (ck_list_id, ck_image_id, ck_digest, ck_sha512,
// ck_size, ck_source_format).
//
// Glance proves that an image holds the bytes ck's record names only where
// the source publishes the hash Glance computes (a HEPiX list's sha512, or
// a registry layer's sha256 on a Glance that hashes with sha256). Where it
// does not — a registry image on a sha512 Glance, an image ck unpacked or
// converted — the link between the source and what Glance holds is ck's
// record, which any project member can write on an image of their own: the
// seal is what they cannot write. ck writes it only after it verified the
// bytes itself (an upload, or a proving download); a copied seal does not
// hold on another image id.
func Seal(key []byte, img glance.Image) string {
	if len(key) == 0 {
		return ""
	}
	m := hmac.New(sha256.New, key)
	field := func(v string) {
		// Length-prefixed, so that no two field lists give the same bytes.
		m.Write([]byte(strconv.Itoa(len(v)) + ":" + v + "\n"))
	}
	field("ck-seal-v1")
	field(img.ID)
	field(img.Owner)
	field(strconv.FormatInt(img.Size, 10))
	field(strings.ToLower(img.HashAlgo))
	field(strings.ToLower(img.HashValue))
	for _, k := range sealFields {
		field(img.Properties[k])
	}
	return hex.EncodeToString(m.Sum(nil))
}

// sealed reports whether img carries a seal that holds under key.
func sealed(key []byte, img glance.Image) bool {
	want := Seal(key, img)
	got := img.Properties[PropSeal]
	return want != "" && got != "" && hmac.Equal([]byte(want), []byte(got))
}

// UnverifiedMark is what ck writes in ck_unverified on an image it is
// uploading, once Glance gave it an id: an HMAC under key of that id and
// owner, so that prune may delete the upload as abandoned if ck was killed
// before it verified the bytes, without taking a member's image that
// merely carries ck_unverified for an abandoned upload of ck's. "" without
// a key.
func UnverifiedMark(key []byte, img glance.Image) string {
	if len(key) == 0 {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ck-unverified-v1\n" + img.ID + "\n" + img.Owner))
	return hex.EncodeToString(m.Sum(nil))
}

// markedUnverified reports whether img carries ck's mark of an upload it
// started (UnverifiedMark).
func markedUnverified(key []byte, img glance.Image) bool {
	want := UnverifiedMark(key, img)
	got := img.Properties[PropUnverified]
	return want != "" && hmac.Equal([]byte(want), []byte(got))
}
