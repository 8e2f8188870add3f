package cmdutil

import (
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/imagelist"
)

func TestRegistryListEntries(t *testing.T) {
	g, err := loadConfig(t, `lists:
  - url: OCI://Registry.Example:443/egi_vm_images/ubuntu
    vos: [fedcloud.egi.eu, vo.access.egi.eu]
    tag_pattern: '^24\.'
    username: robot$ck
    password_file: /etc/ck/robot.secret
    convert_to: raw
  - url: harbor://registry.example/egi_vm_images/
    harbor_api: https://api.registry.example/api/v2.0
    docker_config: /etc/ck/docker.json
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ source, key string }{
		{"oci://registry.example/egi_vm_images/ubuntu", "oci://registry.example/egi_vm_images/ubuntu"},
		{"harbor://REGISTRY.example:443/egi_vm_images", "harbor://registry.example/egi_vm_images"},
	} {
		key, err := imagelist.Key(tt.source)
		if err != nil || key != tt.key {
			t.Fatalf("Key(%q) = %q, %v", tt.source, key, err)
		}
		if _, ok := g.ListEntry(key); !ok {
			t.Errorf("no entry for %s", key)
		}
	}
	e, _ := g.ListEntry("oci://registry.example/egi_vm_images/ubuntu")
	set := e.Registry()
	if len(set.VOs) != 2 || set.TagPattern == nil || !set.TagPattern.MatchString("24.04") || set.TagPattern.MatchString("22.04") ||
		set.Auth.Username != "robot$ck" || set.Auth.PasswordFile != "/etc/ck/robot.secret" || e.ConvertTo != "raw" {
		t.Errorf("settings = %+v", set)
	}
	h, _ := g.ListEntry("harbor://registry.example/egi_vm_images")
	if hs := h.Registry(); hs.HarborAPI != "https://api.registry.example/api/v2.0" || hs.Auth.DockerConfig != "/etc/ck/docker.json" || hs.TagPattern != nil {
		t.Errorf("harbor settings = %+v", hs)
	}
}

func TestRegistryListEntryErrors(t *testing.T) {
	tests := []struct{ name, entry, want string }{
		{"pin on a registry source", "url: oci://r.example/p/r\n    list_id: x", "no signature to pin"},
		{"registry setting on a list", "url: https://h.example/a.list\n    tag_pattern: x", "tag_pattern applies to registry sources"},
		{"tag pattern on a tag", "url: oci://r.example/p/r:1\n    tag_pattern: x", "not to one tag or digest"},
		{"bad tag pattern", "url: oci://r.example/p/r\n    tag_pattern: '('", "tag_pattern: error parsing regexp"},
		{"harbor_api on oci", "url: oci://r.example/p/r\n    harbor_api: https://x/api", "harbor:// sources only"},
		{"harbor_api over http", "url: harbor://r.example/p\n    harbor_api: http://x/api", "https:// URL"},
		{"relative password file", "url: oci://r.example/p/r\n    username: u\n    password_file: pw", "must be absolute"},
		{"empty vo", "url: oci://r.example/p/r\n    vos: ['']", "empty VO"},
		{"credentials in the url", "url: oci://u:s3cret@r.example/p/r", "credentials are not allowed"},
		{"unknown key", "url: oci://r.example/p/r\n    api_url: https://x", "api_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, "lists:\n  - "+tt.entry+"\n")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}
