package atrope

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseSourcesSample(t *testing.T) {
	data, err := os.ReadFile("../../testdata/atrope/sources.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSources(data)
	if err != nil {
		t.Fatal(err)
	}
	const appdbDN, appdbCA = "/DC=EU/DC=EGI/C=NL/O=Hosts/O=EGI.eu/CN=appdb.egi.eu", "/DC=ORG/DC=SEE-GRID/CN=SEE-GRID CA 2013"
	want := []Source{
		{Name: "tinycorelinux", Kind: KindHEPiX, Enabled: true, SharingModel: "private",
			URL: "https://vmcaster.appdb.egi.eu/store/vappliance/tinycorelinux/image.list", EndorserDN: appdbDN, EndorserCA: appdbCA},
		{Name: "vo.fedcloud.egi.eu", Kind: KindHEPiX, Enabled: true, SharingModel: "private",
			URL: "https://vmcaster.appdb.egi.eu/store/vo/fedcloud.egi.eu/image.list", EndorserDN: appdbDN, EndorserCA: appdbCA,
			Token: "0123456789abcdef-appdb-token", Images: []string{"662b0e71-3e21-5f43-b6a1-cc2f51319fa7"}, Prefix: "FEDCLOUD ",
			Project: "bb02bda767b4490a82b2f62f9347a0f5", VOs: []string{"fedcloud.egi.eu"}},
		{Name: "egi_vm_images", Kind: KindHarbor, Enabled: true, SharingModel: "private",
			APIURL: "https://registry.egi.eu/api/v2.0", RegistryHost: "registry.egi.eu", Project: "egi_vm_images", TagPattern: "^[^-]*$",
			AuthUser: "robot$catchall+sync", AuthPassword: "catchall-robot-s3cret", Prefix: "registry.egi.eu ",
			VOs: []string{"fedcloud.egi.eu", "vo.access.egi.eu"}},
		{Name: "vo.access.egi.eu", Kind: KindHarbor, Enabled: true, SharingModel: "private",
			APIURL: "https://registry.egi.eu/api/v2.0", RegistryHost: "registry.egi.eu", Project: "vo.access.egi.eu", TagPattern: "^[^-]*$",
			AuthUser: "robot$catchall+sync", AuthPassword: "catchall-robot-s3cret", Prefix: "registry.egi.eu ", VOs: []string{"vo.access.egi.eu"}},
		{Name: "old-list", Kind: KindHEPiX, Enabled: false, SharingModel: "private"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sources:\n got  %+v\n want %+v", got, want)
	}
}

func TestParseSourcesErrors(t *testing.T) {
	const secret = "s3cret-password"
	tests := []struct{ name, yaml, want string }{
		{"not a mapping", "- a\n- b\n", "want a mapping of source names"},
		{"unknown key", "x:\n  url: https://h/l\n  endorser_dn: /CN=x\n", `unknown key "endorser_dn" for a hepix source`},
		{"harbor key on hepix", "x:\n  url: https://h/l\n  tag_pattern: x\n", `unknown key "tag_pattern"`},
		{"unknown type", "x:\n  type: oci\n", `type "oci": want hepix or harbor`},
		{"no url", "x:\n  enabled: true\n", "neither url nor file_path"},
		{"no project", "x:\n  type: harbor\n  api_url: https://r/api/v2.0\n", "project is required"},
		{"no host", "x:\n  type: harbor\n  project: p\n", "neither registry_host nor an api_url"},
		{"verify_ssl off", "x:\n  type: harbor\n  project: p\n  registry_host: r\n  verify_ssl: false\n", "ck always verifies TLS"},
		{"auth_token", "x:\n  type: harbor\n  project: p\n  registry_host: r\n  auth_token: " + secret + "\n", "atrope ignores it"},
		{"user without password", "x:\n  type: harbor\n  project: p\n  registry_host: r\n  auth_user: u\n", "go together"},
		{"bad sharing model", "x:\n  url: https://h/l\n  sharing_model: everyone\n", "sharing_model"},
		{"endorser key", "x:\n  url: https://h/l\n  endorser: {dn: a, cn: b}\n", `endorser: unknown key "cn"`},
		{"images not a list", "x:\n  url: https://h/l\n  images: abc\n", "images: want a list"},
		{"password of the wrong type", "harbor:\n  auth_password: [" + secret + "]\nx:\n  type: harbor\n  project: p\n  registry_host: r\n", "auth_password: want a string"},
		{"defined twice", "x:\n  url: https://h/l\nx:\n  url: https://h/m\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSources([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestParseSourcesHarborDefaults(t *testing.T) {
	got, err := ParseSources([]byte(`
harbor:
  api_url: https://registry.example/api/v2.0
  page_size: 30
  sharing_model: shared
own:
  type: HARBOR
  project: p
  sharing_model: public
  subscribed_images: ["24.04", "sha256:abc"]
`))
	if err != nil {
		t.Fatal(err)
	}
	s := got[0]
	if s.RegistryHost != "registry.example" || s.SharingModel != "public" || !reflect.DeepEqual(s.SubscribedImages, []string{"24.04", "sha256:abc"}) {
		t.Errorf("source = %+v", s)
	}
}

func TestParseSourcesEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing\n"} {
		if got, err := ParseSources([]byte(in)); err != nil || len(got) != 0 {
			t.Errorf("%q: %v, %v", in, got, err)
		}
	}
}

func FuzzParseSources(f *testing.F) {
	data, _ := os.ReadFile("../../testdata/atrope/sources.yaml")
	f.Add(data)
	f.Add([]byte("x:\n  type: harbor\n  project: p\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		srcs, err := ParseSources(data)
		if err != nil {
			return
		}
		for _, s := range srcs {
			if s.Kind != KindHEPiX && s.Kind != KindHarbor {
				t.Fatalf("kind %q", s.Kind)
			}
			if s.Enabled && s.Kind == KindHarbor && (s.Project == "" || s.RegistryHost == "") {
				t.Fatalf("enabled harbor source without project or host: %+v", s)
			}
		}
	})
}
