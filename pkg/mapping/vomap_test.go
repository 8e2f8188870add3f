package mapping

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseVOMap(t *testing.T) {
	m, err := ParseFile("/etc/atrope/vo_map.yaml", []byte(`
# written by fedcloud-catchall-operations
fedcloud.egi.eu:
  project_id: 4d1b0e4c9f3a4e0b8f2a6c7d9e0f1a2b
vo.access.egi.eu: {project_id: 9f8e7d6c5b4a39281716151413121110, cloud: site-access}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Mapping{
		"fedcloud.egi.eu":  {VO: "fedcloud.egi.eu", Project: "4d1b0e4c9f3a4e0b8f2a6c7d9e0f1a2b"},
		"vo.access.egi.eu": {VO: "vo.access.egi.eu", Project: "9f8e7d6c5b4a39281716151413121110", Cloud: "site-access"},
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v", m)
	}
	if m["fedcloud.egi.eu"].ByName() {
		t.Error("a project_id must be resolved as an id first")
	}
	if m, err := ParseFile("mapping.json", []byte(`{"a": {"project": "p"}}`)); err != nil || m["a"].Project != "p" {
		t.Errorf("mapping.json: %v, %v", m, err)
	}
}

func TestParseVOMapErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"- a\n", "want a mapping"},
		{"a: x\n", `VO "a": want {project_id: ID}`},
		{"a: {project: p}\n", `unknown key "project"`},
		{"a: {cloud: c}\n", "project_id is missing"},
		{"a: {project_id: ''}\n", "want a non-empty string"},
		{"a: {project_id: [x]}\n", "want a non-empty string"},
	} {
		if _, err := ParseVOMap([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.in, err, tt.want)
		}
	}
	if m, err := ParseVOMap(nil); err != nil || len(m) != 0 {
		t.Errorf("empty: %v %v", m, err)
	}
}
