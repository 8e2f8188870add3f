package plan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ck-sync/ck/pkg/glance"
)

// What an image holds is decided here, and only here. Every property of a
// Glance image, ck's own tag and ck_sha512 included, can be written by any
// member of the image's project on an image of their own; only the hash and
// size Glance computed of the bytes it stores cannot be forged. So an image
// counts as holding some bytes only when Glance says so (glanceHolds), and
// decide, adopt and prune all ask through the functions below.

// PropSourceFormat is the property ck writes (pkg/apply) to say what the
// download was, outermost layer first ("qcow2", "gzip+qcow2", "ova+vmdk").
// When it differs from the image's disk_format, ck stored other bytes than
// the list's (unpacked or converted): see transformed.
const PropSourceFormat = "ck_source_format"

// glanceSHA512 returns the sha512 Glance computed of img's bytes when it
// did (os_hash_algo sha512), else "". The checksums the old tools recorded
// (atrope's image_hash, cloudkeeper-os's sl:checksum:sha512 and
// APPLIANCE_ATTRIBUTES) and ck's own ck_sha512 are ordinary properties, so
// they never stand in for it.
func glanceSHA512(img glance.Image) string {
	if strings.EqualFold(img.HashAlgo, "sha512") && img.HashValue != "" {
		return strings.ToLower(img.HashValue)
	}
	return ""
}

// glanceHolds reports whether Glance itself proves that img holds the
// bytes with this sha512 and size. It is the one test of content the
// planner has; a second kind of digest (a registry layer's sha256) would be
// added here.
func glanceHolds(img glance.Image, sha512 string, size int64) bool {
	sum := glanceSHA512(img)
	return sum != "" && sum == strings.ToLower(sha512) && img.Size == size
}

// glanceDigest returns "sha256:<hex>" when Glance hashed img's bytes with
// sha256 (a site whose Glance sets hashing_algorithm = sha256), else "":
// then Glance proves a registry image's layer digest directly.
func glanceDigest(img glance.Image) string {
	if strings.EqualFold(img.HashAlgo, "sha256") && img.HashValue != "" {
		return "sha256:" + strings.ToLower(img.HashValue)
	}
	return ""
}

// holds reports whether Glance proves img holds d's bytes. A registry
// image's listed content is a sha256 layer digest, which Glance proves only
// when it hashes with sha256; otherwise the sha512 of the layer is known
// once a download computed it (see Change.Prove).
func holds(img glance.Image, d Desired) bool {
	if d.Digest != "" {
		return glanceDigest(img) == d.Digest && img.Size == d.Size
	}
	return glanceHolds(img, d.SHA512, d.Size)
}

// trust is how far ck may rely on what an image's record (ck_sha512,
// ck_digest, ck_size, ck_source_format) says its bytes are.
type trust int

const (
	// trustNone: nothing backs the record; the image may not be ck's and
	// is left alone.
	trustNone trust = iota
	// trustProvable: Glance holds bytes ck could have stored, but only a
	// download of the source proves they are the source's (a registry
	// image on a sha512 Glance, an image ck unpacked or converted) and
	// the image has no seal that holds: one proving download, then ck
	// seals it (Change.Prove).
	trustProvable
	// trustProven: Glance itself proves the bytes are the source's, or
	// ck's seal holds (it verified them when it stored or proved them).
	trustProven
)

// trustOf says how far ck may rely on img's record, under seal key key.
func trustOf(key []byte, img glance.Image) trust {
	switch {
	case glanceProves(img), sealed(key, img):
		return trustProven
	case provable(img):
		return trustProvable
	}
	return trustNone
}

// glanceProves reports whether Glance itself proves that img holds the
// bytes of its source: a HEPiX image stored as listed whose Glance sha512
// and size are its ck_sha512 and ck_size (the list's, signed), or a
// registry image stored as pulled on a Glance that hashes with sha256
// (the layer digest itself).
func glanceProves(img glance.Image) bool {
	size, err := strconv.ParseInt(img.Properties[PropSize], 10, 64)
	switch {
	case err != nil, transformed(img):
		return false
	case img.Properties[PropDigest] != "":
		return glanceDigest(img) == img.Properties[PropDigest] && img.Size == size
	}
	return glanceHolds(img, img.Properties[PropSHA512], size)
}

// provable reports whether a download of img's source could prove its
// bytes, re-made as ck stores them and hashed as Glance hashed them
// (sha512 or sha256): an image ck unpacked or converted; a registry image
// whose Glance sha512 and size are what its record says; a HEPiX image on
// a Glance that does not hash with sha512.
func provable(img glance.Image) bool {
	algo := strings.ToLower(img.HashAlgo)
	switch {
	case img.HashValue == "" || (algo != "sha512" && algo != "sha256"):
		return false
	case transformed(img):
		return true
	case img.Properties[PropDigest] != "":
		size, err := strconv.ParseInt(img.Properties[PropSize], 10, 64)
		return err == nil && glanceHolds(img, img.Properties[PropSHA512], size)
	}
	return algo != "sha512"
}

// transformed reports whether ck's record says it stored img unpacked or
// converted (ck_source_format names more than the stored disk_format):
// Glance's hash is then of other bytes than the source's.
func transformed(img glance.Image) bool {
	f := img.Properties[PropSourceFormat]
	return f != "" && f != img.DiskFormat
}

// sameBytes compares the bytes ck's record on a vouched image names with
// the list's: only the checksum (a registry image's layer digest) and size
// decide a re-upload, never the URI or version. For a proven image the
// record is what Glance holds.
func sameBytes(img glance.Image, d Desired) bool {
	if img.Properties[PropSize] != strconv.FormatInt(d.Size, 10) {
		return false
	}
	if d.Digest != "" {
		return img.Properties[PropDigest] == d.Digest
	}
	return img.Properties[PropSHA512] == d.SHA512
}

// unprovenWhy says, with the observed and expected values, why Glance does
// not prove that img holds what its ck_sha512 and ck_size say.
func unprovenWhy(img glance.Image) string {
	sum := glanceSHA512(img)
	switch {
	case sum == "":
		return fmt.Sprintf("Glance computed no sha512 of its bytes (os_hash_algo %q), so its ck_sha512 %s cannot be checked",
			img.HashAlgo, short(img.Properties[PropSHA512]))
	case sum != strings.ToLower(img.Properties[PropSHA512]):
		return fmt.Sprintf("Glance's os_hash_value %s is not its ck_sha512 %s", short(sum), short(img.Properties[PropSHA512]))
	}
	return fmt.Sprintf("Glance's size %d is not its ck_size %q", img.Size, img.Properties[PropSize])
}

// legacyWhy says why Glance does not prove that an old tool's image holds
// d's bytes.
func legacyWhy(img glance.Image, d Desired) string {
	sum := glanceSHA512(img)
	switch {
	case d.Digest != "" && img.Size != d.Size:
		return fmt.Sprintf("Glance's size %d is not the layer's %d (converted, or another build)", img.Size, d.Size)
	case d.Digest != "" && sum == "":
		return fmt.Sprintf("Glance computed no sha512 of its bytes (os_hash_algo %q) that a download of the layer could be compared with", img.HashAlgo)
	case d.Digest != "":
		return "its bytes are not the layer's"
	case sum == "":
		return fmt.Sprintf("Glance computed no sha512 of its bytes (os_hash_algo %q); the checksums the old tool recorded are not evidence", img.HashAlgo)
	case sum != d.SHA512:
		return fmt.Sprintf("Glance's os_hash_value %s is not the list's sha512 %s", short(sum), short(d.SHA512))
	}
	return fmt.Sprintf("Glance's size %d is not the list's %d", img.Size, d.Size)
}

// short keeps enough of a hex digest to tell two apart in a message.
func short(sum string) string {
	if sum == "" {
		return `""`
	}
	if len(sum) > 16 {
		return sum[:16] + "…"
	}
	return sum
}
