package plan_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
	pt "github.com/ck-sync/ck/pkg/plan/plantest"
)

func TestDesiredImage(t *testing.T) {
	listExp := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	imgExp := time.Date(2025, 6, 15, 10, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	lower := "abcdef" + pt.SHA("x")[6:]
	sha := "ABCDEF" + lower[6:] // upper-case in the list, lower-case in Glance
	full := imagelist.Image{
		ID: "img-1", Title: "CentOS 7 [x86_64]", Description: "A CentOS & friends",
		URI: "https://images.example.org/c7.ova", SHA512: sha, Size: 123,
		Version: "2024.1", Format: " OVA ", Arch: "amd64", OS: "Linux", OSName: "CentOS", OSVersion: " 7 ",
		MPURI: "https://appdb.egi.eu/store/vm/image/img-1:5/", RAMMinimum: 2048,
		Raw: json.RawMessage(`{"sl:arch":"amd64","dc:identifier":"img-1","hv:size":"123","x:nested":{"b":1,"a":2.50}}`),
	}
	list := &imagelist.List{ID: "list-1", VO: "vo.example.eu", Expires: listExp}

	tests := []struct {
		name   string
		img    imagelist.Image
		policy plan.Policy
		want   plan.Desired
	}{
		{
			name:   "every property",
			img:    full,
			policy: plan.Policy{NamePrefix: "EGI ", Visibility: "shared", Tag: "egi"},
			want: plan.Desired{
				Name: "EGI CentOS 7 [x86_64]", MinRAM: 2048, Visibility: "shared", Tags: []string{"egi"},
				URI: full.URI, Format: "ova", Size: 123, SHA512: lower,
				Properties: map[string]string{
					"ck_list_id": "list-1", "ck_image_id": "img-1", "ck_sha512": lower,
					"ck_size": "123", "ck_version": "2024.1", "ck_list_url": "https://lists.example.org/l",
					"ck_expires":                     "2025-07-01T00:00:00Z",
					"vmcatcher_event_ad_mpuri":       full.MPURI,
					"vmcatcher_event_dc_title":       "CentOS 7 [x86_64]",
					"vmcatcher_event_dc_description": "A CentOS & friends",
					"vmcatcher_event_hv_version":     "2024.1",
					"APPLIANCE_ATTRIBUTES":           `{"ad:vo":"vo.example.eu","dc:identifier":"img-1","hv:size":"123","sl:arch":"amd64","x:nested":{"a":2.50,"b":1}}`,
					"os_distro":                      "centos", "os_version": "7", "architecture": "x86_64",
				},
			},
		},
		{
			name: "empty values are omitted and defaults apply",
			img: imagelist.Image{ID: "img-2", URI: "https://i/2", SHA512: pt.SHA("y"), Size: 5, Expires: imgExp,
				Raw: json.RawMessage(`{"hv:image":{"dc:identifier":"img-2","ad:vo":"own.vo"}}`)},
			want: plan.Desired{
				Name: "img-2", Visibility: "private", Tags: []string{"ck"}, URI: "https://i/2", Size: 5, SHA512: pt.SHA("y"),
				Properties: map[string]string{
					"ck_list_id": "list-1", "ck_image_id": "img-2", "ck_sha512": pt.SHA("y"), "ck_size": "5",
					"ck_list_url": "https://lists.example.org/l", "ck_expires": "2025-06-15T08:00:00Z",
					"APPLIANCE_ATTRIBUTES": `{"ad:vo":"own.vo","dc:identifier":"img-2"}`,
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan.DesiredImage(list, tt.img, "https://lists.example.org/l", tt.policy)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DesiredImage() =\n%#v\nwant\n%#v", got, tt.want)
				for k, v := range tt.want.Properties {
					if got.Properties[k] != v {
						t.Errorf("property %s = %q, want %q", k, got.Properties[k], v)
					}
				}
			}
		})
	}
}
