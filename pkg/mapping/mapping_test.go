package mapping

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Mapping
		wantErr string // substring; "" = success
	}{
		{
			name: "project id",
			in:   `{"vo.example.eu": {"project": "0123abcd"}}`,
			want: Mapping{"vo.example.eu": {VO: "vo.example.eu", Project: "0123abcd"}},
		},
		{
			name: "name and domain and cloud",
			in:   `{"ops": {"project": "ops-prj", "domain": "egi", "cloud": "ops-appcred"}}`,
			want: Mapping{"ops": {VO: "ops", Project: "ops-prj", Domain: "egi", Cloud: "ops-appcred"}},
		},
		{
			name: "legacy tenant",
			in:   `{"fedcloud.egi.eu": {"tenant": "fedcloud"}}`,
			want: Mapping{"fedcloud.egi.eu": {VO: "fedcloud.egi.eu", Project: "fedcloud"}},
		},
		{
			name: "several VOs",
			in:   `{"b": {"project": "p2"}, "a": {"project": "p1"}}`,
			want: Mapping{"a": {VO: "a", Project: "p1"}, "b": {VO: "b", Project: "p2"}},
		},
		{name: "empty object", in: `{}`, want: Mapping{}},
		{name: "project and tenant", in: `{"ops": {"project": "a", "tenant": "b"}}`, wantErr: `VO "ops": both "project" and "tenant"`},
		{name: "missing project", in: `{"ops": {"domain": "d"}}`, wantErr: `VO "ops": key "project" is missing`},
		{name: "empty project", in: `{"ops": {"project": ""}}`, wantErr: `VO "ops": key "project" is missing or empty`},
		{name: "empty domain", in: `{"ops": {"project": "p", "domain": ""}}`, wantErr: `VO "ops": key "domain" is empty`},
		{name: "unknown key", in: `{"ops": {"project": "p", "domian": "d"}}`, wantErr: `VO "ops": unknown key "domian"`},
		{name: "non-string project", in: `{"ops": {"project": 42}}`, wantErr: `VO "ops": key "project": want a string, got 42`},
		{name: "entry not an object", in: `{"ops": "p"}`, wantErr: `VO "ops": want an object`},
		{name: "null entry", in: `{"ops": null}`, wantErr: `VO "ops": want an object`},
		{name: "duplicate VO", in: `{"ops": {"project": "a"}, "ops": {"project": "b"}}`, wantErr: `VO "ops": defined twice`},
		{name: "empty VO name", in: `{"": {"project": "a"}}`, wantErr: "empty VO name"},
		{name: "top level array", in: `[]`, wantErr: "mapping:"},
		{name: "trailing data", in: `{} {}`, wantErr: "trailing data"},
		{name: "truncated", in: `{"ops": {"project": "a"}`, wantErr: "mapping:"},
		{name: "empty input", in: ``, wantErr: "mapping:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestLookupAndOrder(t *testing.T) {
	m, err := Parse([]byte(`{"zeta": {"project": "z"}, "alpha": {"project": "a", "domain": "d"}, "mid": {"tenant": "m"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.VOs(), []string{"alpha", "mid", "zeta"}; !reflect.DeepEqual(got, want) {
		t.Errorf("VOs() = %v, want %v", got, want)
	}
	var vos []string
	for _, e := range m.Entries() {
		vos = append(vos, e.VO)
	}
	if want := []string{"alpha", "mid", "zeta"}; !reflect.DeepEqual(vos, want) {
		t.Errorf("Entries() order = %v, want %v", vos, want)
	}
	tests := []struct {
		name       string
		vo         string
		wantOK     bool
		wantByName bool
	}{
		{name: "name in domain", vo: "alpha", wantOK: true, wantByName: true},
		{name: "id or name", vo: "mid", wantOK: true, wantByName: false},
		{name: "unmapped", vo: "other", wantOK: false},
		{name: "case sensitive", vo: "ALPHA", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := m.Lookup(tt.vo)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.vo, ok, tt.wantOK)
			}
			if ok && e.ByName() != tt.wantByName {
				t.Errorf("ByName() = %v, want %v", e.ByName(), tt.wantByName)
			}
		})
	}
}
