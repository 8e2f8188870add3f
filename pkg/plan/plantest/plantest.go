// Package plantest builds image lists and Glance images for tests of the
// planner and of the packages that consume plans, and applies a plan to an
// in-memory set of images the way pkg/apply would apply it to Glance.
package plantest

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
)

// Now is the time every fixture is planned at.
var Now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// SHA returns a deterministic sha512 hex digest for seed.
func SHA(seed string) string {
	sum := sha512.Sum512([]byte(seed))
	return hex.EncodeToString(sum[:])
}

// Image returns a valid list image whose checksum derives from id and
// version; Raw is filled from the fields as the parser would.
func Image(id, title, version string) imagelist.Image {
	img := imagelist.Image{
		ID: id, Title: title, Description: title + " for tests",
		URI:     "https://images.example.org/" + id + ".qcow2",
		SHA512:  SHA(id + "@" + version),
		Size:    1 << 30,
		Version: version, Format: "QCOW2", Hypervisor: "KVM",
		Arch: "amd64", OS: "Linux", OSName: "Ubuntu", OSVersion: "22.04",
		MPURI:      "https://appdb.egi.eu/store/vm/image/" + id + ":1/",
		RAMMinimum: 512,
	}
	return WithRaw(img)
}

// WithRaw recomputes img.Raw from its fields; call it after changing them.
func WithRaw(img imagelist.Image) imagelist.Image {
	raw := map[string]any{
		"dc:identifier": img.ID, "dc:title": img.Title, "dc:description": img.Description,
		"hv:uri": img.URI, "sl:checksum:sha512": img.SHA512, "hv:size": img.Size,
		"hv:version": img.Version, "hv:format": img.Format, "sl:arch": img.Arch,
		"sl:os": img.OS, "sl:osname": img.OSName, "sl:osversion": img.OSVersion,
		"ad:mpuri": img.MPURI, "hv:ram_minimum": strconv.FormatInt(img.RAMMinimum, 10),
	}
	if !img.Expires.IsZero() {
		raw["dc:date:expires"] = img.Expires.Format(time.RFC3339)
	}
	img.Raw, _ = json.Marshal(raw)
	return img
}

// List returns a parsed list expiring at expires.
func List(id, vo string, expires time.Time, images ...imagelist.Image) *imagelist.List {
	return &imagelist.List{
		ID: id, Title: "List " + id, VO: vo, Version: "1",
		Created: Now.Add(-24 * time.Hour), Expires: expires,
		Endorser: imagelist.Endorser{DN: "/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.egi.eu", CA: "/DC=ORG/DC=SEE-GRID/CN=SEE-GRID CA 2013"},
		Images:   images,
	}
}

// CKImage returns the active Glance image ck would have made for img of
// list in project, as if uploaded at created.
func CKImage(list *imagelist.List, img imagelist.Image, source, project, glanceID string, created time.Time, p plan.Policy) glance.Image {
	return FromDesired(plan.DesiredImage(list, img, source, p), project, glanceID, created)
}

// FromDesired returns the Glance image that uploading d would produce:
// Glance's own sha512 and size are d's, so the image is proven to hold
// what its ck_sha512 and ck_size say. WithGlanceHash makes it hold other
// bytes, as an image someone else uploaded with ck's marks copied would.
//
// A registry image's sha512 is not in the plan: the upload records the one
// it computed of the layer (here SHA("layer " + d.Digest)) as ck_sha512.
//
// Like pkg/apply, it seals the image with SealKey.
func FromDesired(d plan.Desired, project, glanceID string, created time.Time) glance.Image {
	props := maps.Clone(d.Properties)
	sum := d.SHA512
	if sum == "" && d.Digest != "" {
		sum = LayerSHA512(d.Digest)
		props[plan.PropSHA512] = sum
	}
	img := glance.Image{
		ID: glanceID, Name: d.Name, Owner: project, Status: "active",
		Visibility: d.Visibility, Tags: slices.Clone(d.Tags),
		Properties: props,
		DiskFormat: "qcow2", ContainerFormat: "bare",
		MinRAM: d.MinRAM, MinDisk: d.MinDisk, Size: d.Size,
		HashAlgo: "sha512", HashValue: sum,
		CreatedAt: created, UpdatedAt: created,
	}
	return Sealed(img)
}

// SealKey is the key of ck's seals in tests (plan.Policy.SealKey).
var SealKey = []byte("ck test seal key: not a secret")

// Sealed returns img with ck's seal of it under SealKey, as pkg/apply
// writes it on an image whose bytes it verified. Changing the image's
// hash, size or record afterwards breaks the seal, as on Glance.
func Sealed(img glance.Image) glance.Image {
	img.Properties = maps.Clone(img.Properties)
	img.Properties[plan.PropSeal] = plan.Seal(SealKey, img)
	return img
}

// LayerSHA512 is the sha512 tests give the bytes of a registry layer.
func LayerSHA512(digest string) string { return SHA("layer " + digest) }

// RegistryImage returns an image a registry source lists: id
// HOST/REPO:TAG, content the layer digest "sha256:" + 64×seed-ish hex.
func RegistryImage(id, layerSeed string, size int64) imagelist.Image {
	dg := "sha256:" + SHA(layerSeed)[:64]
	return imagelist.Image{
		ID: id, Title: id, URI: "oci://" + id + "@" + dg, Size: size, Digest: dg, Version: "sha256:" + SHA("manifest " + layerSeed)[:64],
		Properties: map[string]string{"appdb_id": id + "-sha256:" + SHA("manifest " + layerSeed)[:64], "image_hash": dg, "os_type": "linux"},
	}
}

// WithGlanceHash returns img as Glance would show it holding other bytes:
// os_hash_algo algo, os_hash_value sum (e.g. SHA("forged")) and size bytes.
// Its properties, ck's marks included, are unchanged.
func WithGlanceHash(img glance.Image, algo, sum string, size int64) glance.Image {
	img.HashAlgo, img.HashValue, img.Size = algo, sum, size
	return img
}

// Apply returns observed after applying every change of p in memory, the
// way pkg/apply does it on Glance: uploads get fresh ids and are newer
// than anything observed; patches are applied to the images they name.
func Apply(observed []glance.Image, p *plan.Plan, now time.Time) ([]glance.Image, error) {
	out := make([]glance.Image, len(observed))
	byID := map[string]int{}
	for i, img := range observed {
		img.Properties = maps.Clone(img.Properties)
		img.Tags = slices.Clone(img.Tags)
		out[i] = img
		byID[img.ID] = i
	}
	patch := func(id string, ops []plan.PatchOp) error {
		i, ok := byID[id]
		if !ok {
			return fmt.Errorf("patch of unknown image %s", id)
		}
		img, err := ApplyPatch(out[i], ops)
		if err != nil {
			return fmt.Errorf("image %s: %w", id, err)
		}
		img.UpdatedAt = now
		out[i] = img
		return nil
	}
	for n, c := range p.Changes {
		switch c.Action {
		case plan.ActionCreate, plan.ActionReplace:
			id := fmt.Sprintf("uploaded-%03d", n)
			byID[id] = len(out)
			img := FromDesired(*c.Desired, c.Project, id, now.Add(time.Duration(n+1)*time.Second))
			for _, m := range c.Desired.Members {
				img.Members = append(img.Members, glance.Member{ImageID: id, ProjectID: m, Status: glance.MemberAccepted})
			}
			out = append(out, img)
			if c.Action == plan.ActionReplace {
				if err := patch(c.GlanceImageID, c.Patch); err != nil {
					return nil, err
				}
			}
		case plan.ActionUpdateMetadata, plan.ActionRetire, plan.ActionAdopt:
			ops := c.Patch
			if c.Prove && c.Desired.SHA512 == "" {
				// pkg/apply downloads the layer and, when its sha512 is the
				// image's, records it: as if they matched.
				ops = append(slices.Clone(ops), plan.PatchOp{Op: plan.OpAdd, Path: "/" + plan.PropSHA512, Value: LayerSHA512(c.Desired.Digest)})
			}
			if err := patch(c.GlanceImageID, ops); err != nil {
				return nil, err
			}
			if c.Prove {
				// ... and seals it.
				i := byID[c.GlanceImageID]
				out[i] = Sealed(out[i])
			}
		case plan.ActionShare, plan.ActionUnshare:
			// Members are accepted at once, as apply does where it can.
			i, ok := byID[c.GlanceImageID]
			if !ok {
				return nil, fmt.Errorf("%s of unknown image %s", c.Action, c.GlanceImageID)
			}
			ms := slices.DeleteFunc(slices.Clone(out[i].Members), func(m glance.Member) bool { return m.ProjectID == c.Member })
			if c.Action == plan.ActionShare {
				ms = append(ms, glance.Member{ImageID: c.GlanceImageID, ProjectID: c.Member, Status: glance.MemberAccepted})
			}
			out[i].Members = ms
		default:
			return nil, fmt.Errorf("unknown action %q", c.Action)
		}
	}
	return out, nil
}

// ApplyPatch applies a JSON patch to an in-memory image.
func ApplyPatch(img glance.Image, ops []plan.PatchOp) (glance.Image, error) {
	img.Properties = maps.Clone(img.Properties)
	if img.Properties == nil {
		img.Properties = map[string]string{}
	}
	for _, op := range ops {
		var ok bool
		switch op.Path {
		case "/name":
			img.Name, ok = op.Value.(string)
		case "/visibility":
			img.Visibility, ok = op.Value.(string)
		case "/min_ram":
			img.MinRAM, ok = op.Value.(int)
		case "/os_hidden":
			img.Hidden, ok = op.Value.(bool)
		case "/tags":
			img.Tags, ok = op.Value.([]string)
			img.Tags = slices.Clone(img.Tags)
		default:
			key := op.Path[1:]
			if op.Op == plan.OpRemove {
				_, ok = img.Properties[key]
				delete(img.Properties, key)
				break
			}
			var s string
			s, ok = op.Value.(string)
			img.Properties[key] = s
		}
		if !ok {
			return img, fmt.Errorf("bad patch op %+v", op)
		}
	}
	return img, nil
}
