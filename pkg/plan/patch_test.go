package plan_test

import (
	"reflect"
	"testing"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
)

func TestMetadataPatch(t *testing.T) {
	desired := plan.Desired{
		Name: "Ubuntu 24.04", MinRAM: 1024, Visibility: "private",
		Properties: map[string]string{"ck_list_id": "L", "ck_image_id": "I", "ck_version": "2", "os_distro": "ubuntu"},
	}
	matching := func() glance.Image {
		return glance.Image{
			Name: "Ubuntu 24.04", MinRAM: 1024, Visibility: "private",
			Properties: map[string]string{"ck_list_id": "L", "ck_image_id": "I", "ck_version": "2", "os_distro": "ubuntu"},
		}
	}
	tests := []struct {
		name   string
		change func(*glance.Image)
		want   []plan.PatchOp
	}{
		{name: "up to date", change: func(*glance.Image) {}, want: nil},
		{
			name:   "foreign properties are not touched",
			change: func(g *glance.Image) { g.Properties["hw_qemu_guest_agent"] = "yes"; g.Properties["APPLIANCE_ID"] = "I" },
			want:   nil,
		},
		{
			name:   "name, min_ram and visibility are replaced",
			change: func(g *glance.Image) { g.Name = "old"; g.MinRAM = 0; g.Visibility = "public" },
			want: []plan.PatchOp{
				{Op: "replace", Path: "/name", Value: "Ubuntu 24.04", Old: "old"},
				{Op: "replace", Path: "/min_ram", Value: 1024, Old: 0},
				{Op: "replace", Path: "/visibility", Value: "private", Old: "public"},
			},
		},
		{
			name:   "a differing property is replaced",
			change: func(g *glance.Image) { g.Properties["ck_version"] = "1" },
			want:   []plan.PatchOp{{Op: "replace", Path: "/ck_version", Value: "2", Old: "1"}},
		},
		{
			name:   "a missing property is added",
			change: func(g *glance.Image) { delete(g.Properties, "os_distro") },
			want:   []plan.PatchOp{{Op: "add", Path: "/os_distro", Value: "ubuntu"}},
		},
		{
			name:   "a property ck no longer writes is removed",
			change: func(g *glance.Image) { g.Properties["vmcatcher_event_dc_description"] = "gone" },
			want:   []plan.PatchOp{{Op: "remove", Path: "/vmcatcher_event_dc_description", Old: "gone"}},
		},
		{
			name:   "nil properties",
			change: func(g *glance.Image) { g.Properties = nil },
			want: []plan.PatchOp{
				{Op: "add", Path: "/ck_list_id", Value: "L"},
				{Op: "add", Path: "/ck_image_id", Value: "I"},
				{Op: "add", Path: "/ck_version", Value: "2"},
				{Op: "add", Path: "/os_distro", Value: "ubuntu"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := matching()
			tt.change(&g)
			if got := plan.MetadataPatch(g, desired); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MetadataPatch() =\n %#v\nwant\n %#v", got, tt.want)
			}
		})
	}
}

func TestRetireAndRepublishPatch(t *testing.T) {
	d := plan.Desired{Name: "n", Visibility: "private", Properties: map[string]string{"ck_list_id": "L"}}
	shown := glance.Image{Name: "n", Visibility: "private", Properties: map[string]string{"ck_list_id": "L"}}
	hidden := glance.Image{Name: "n", Visibility: "private", Hidden: true, Properties: map[string]string{"ck_list_id": "L", "ck_retired": "2025-05-01T00:00:00Z"}}
	tests := []struct {
		name string
		got  []plan.PatchOp
		want []plan.PatchOp
	}{
		{
			name: "retire sets ck_retired and hides",
			got:  plan.RetirePatch(shown, now),
			want: []plan.PatchOp{
				{Op: "add", Path: "/ck_retired", Value: "2025-06-01T12:00:00Z"},
				{Op: "replace", Path: "/os_hidden", Value: true, Old: false},
			},
		},
		{
			name: "retire of a hidden image only sets ck_retired",
			got:  plan.RetirePatch(glance.Image{Hidden: true}, now),
			want: []plan.PatchOp{{Op: "add", Path: "/ck_retired", Value: "2025-06-01T12:00:00Z"}},
		},
		{
			name: "republish removes ck_retired and shows",
			got:  plan.RepublishPatch(hidden, d),
			want: []plan.PatchOp{
				{Op: "remove", Path: "/ck_retired", Old: "2025-05-01T00:00:00Z"},
				{Op: "replace", Path: "/os_hidden", Value: false, Old: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v\nwant %#v", tt.got, tt.want)
			}
		})
	}
}
