package glance

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// Keys that gophercloud leaves among an image's extra properties but that are
// not custom properties: they are promoted to fields of Image or are Glance's
// own bookkeeping.
var notCustom = map[string]bool{
	"os_hash_algo":  true,
	"os_hash_value": true,
	"locations":     true,
	"direct_url":    true,
	"stores":        true,
}

// fromGophercloud converts a gophercloud image into ck's observed Image.
func fromGophercloud(g *images.Image) Image {
	img := Image{
		ID:              g.ID,
		Name:            g.Name,
		Owner:           g.Owner,
		Status:          string(g.Status),
		Visibility:      string(g.Visibility),
		Hidden:          g.Hidden,
		Protected:       g.Protected,
		Tags:            slices.Clone(g.Tags),
		DiskFormat:      g.DiskFormat,
		ContainerFormat: g.ContainerFormat,
		MinRAM:          g.MinRAMMegabytes,
		MinDisk:         g.MinDiskGigabytes,
		Size:            g.SizeBytes,
		VirtualSize:     g.VirtualSize,
		CreatedAt:       g.CreatedAt,
		UpdatedAt:       g.UpdatedAt,
		Properties:      map[string]string{},
	}
	if img.Tags == nil {
		img.Tags = []string{}
	}
	for k, v := range g.Properties {
		if v == nil {
			continue // Glance reports unset core attributes as null
		}
		s := propertyString(v)
		switch k {
		case "os_hash_algo":
			img.HashAlgo = s
		case "os_hash_value":
			img.HashValue = s
		}
		if !notCustom[k] {
			img.Properties[k] = s
		}
	}
	return img
}

// propertyString renders a property value as the string Glance stores:
// custom properties are strings already; anything else (a number, a list) is
// kept in its JSON form so nothing is silently lost.
func propertyString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case json.Number:
		return t.String()
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// createOpts converts a CreateSpec into gophercloud's create options.
func createOpts(spec CreateSpec) images.CreateOpts {
	opts := images.CreateOpts{
		Name:            spec.Name,
		DiskFormat:      spec.DiskFormat,
		ContainerFormat: spec.ContainerFormat,
		MinRAM:          spec.MinRAM,
		MinDisk:         spec.MinDisk,
		Tags:            slices.Clone(spec.Tags),
		Properties:      maps.Clone(spec.Properties),
	}
	if spec.Visibility != "" {
		v := images.ImageVisibility(spec.Visibility)
		opts.Visibility = &v
	}
	if spec.Hidden {
		h := true
		opts.Hidden = &h
	}
	return opts
}

// patchOp adapts a Patch to gophercloud's images.Patch.
type patchOp Patch

// ToImagePatchMap renders the operation as Glance's JSON-patch object.
func (p patchOp) ToImagePatchMap() map[string]any {
	m := map[string]any{"op": p.Op, "path": p.Path}
	if p.Op != OpRemove {
		m["value"] = p.Value
	}
	return m
}

// updateOpts converts ck's patches into gophercloud's update options.
func updateOpts(ops []Patch) images.UpdateOpts {
	out := make(images.UpdateOpts, len(ops))
	for i, op := range ops {
		out[i] = patchOp(op)
	}
	return out
}
