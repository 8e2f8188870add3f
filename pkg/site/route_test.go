package site

import (
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/mapping"
)

func TestParseMaxRetire(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want MaxRetire
		err  string
	}{
		{in: "25%", want: MaxRetire{Percent: 25}},
		{in: "12.5%", want: MaxRetire{Percent: 12.5}},
		{in: " 100% ", want: MaxRetire{Percent: 100}},
		{in: "3", want: MaxRetire{Count: 3}},
		{in: "none", want: MaxRetire{Count: -1}},
		{in: "-1", want: MaxRetire{Count: -1}},
		{in: "", err: "empty"},
		{in: "0", err: "at least 1"},
		{in: "-5", err: "at least 1"},
		{in: "0%", err: "percentage"},
		{in: "101%", err: "percentage"},
		{in: "NaN%", err: "percentage"},
		{in: "many", err: "at least 1"},
		{in: "5%%", err: "percentage"},
	} {
		got, err := ParseMaxRetire(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseMaxRetire(%q) err = %v, want one containing %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("ParseMaxRetire(%q): %v", tc.in, err)
		case tc.err == "" && got != tc.want:
			t.Errorf("ParseMaxRetire(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestRouteList(t *testing.T) {
	m := mapping.Mapping{"alpha.vo": {VO: "alpha.vo", Project: "p-alpha"}}
	for _, tc := range []struct {
		name            string
		vo              string
		explicitDefault bool
		wantEntry       string
		wantDefault     bool
		wantSkip        bool
	}{
		{name: "mapped VO goes to its project", vo: "alpha.vo", wantEntry: "p-alpha"},
		{name: "mapped VO ignores the default project", vo: "alpha.vo", explicitDefault: true, wantEntry: "p-alpha"},
		{name: "no VO goes to the clouds.yaml project", vo: "", wantDefault: true},
		{name: "no VO goes to --default-project", vo: "", explicitDefault: true, wantDefault: true},
		{name: "unmapped VO is skipped", vo: "gamma.vo", wantSkip: true},
		{name: "unmapped VO goes to --default-project", vo: "gamma.vo", explicitDefault: true, wantDefault: true},
		{name: "VO names match exactly", vo: "Alpha.vo", wantSkip: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := RouteList(tc.vo, m, tc.explicitDefault)
			entry := ""
			if r.Entry != nil {
				entry = r.Entry.Project
			}
			if entry != tc.wantEntry || r.Default != tc.wantDefault || (r.Skip != "") != tc.wantSkip {
				t.Fatalf("RouteList(%q, default %v) = %+v (entry %q)", tc.vo, tc.explicitDefault, r, entry)
			}
			if tc.wantSkip && !strings.Contains(r.Skip, tc.vo) {
				t.Errorf("skip reason %q does not name the VO", r.Skip)
			}
		})
	}
	if r := RouteList("alpha.vo", nil, false); r.Skip == "" {
		t.Errorf("nil mapping: %+v, want skipped", r)
	}
}

func TestPickProject(t *testing.T) {
	projects := []glance.Project{
		{ID: "id-ck", Name: "ck", DomainID: "default"},
		{ID: "id-ops1", Name: "ops", DomainID: "default"},
		{ID: "id-ops2", Name: "ops", DomainID: "egi"},
		{ID: "id-beta", Name: "vo-beta", DomainID: "egi"},
	}
	for _, tc := range []struct {
		want, id, err string
	}{
		{want: "id-ck", id: "id-ck"},
		{want: "ck", id: "id-ck"},
		{want: "vo-beta", id: "id-beta"},
		{want: "id-ops2", id: "id-ops2"},
		{want: "ops", err: "ambiguous"},
		{want: "nope", err: "no project"},
	} {
		id, err := PickProject(projects, tc.want)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("PickProject(%q) err = %v, want %q", tc.want, err, tc.err)
		case tc.err == "" && (err != nil || id != tc.id):
			t.Errorf("PickProject(%q) = %q, %v; want %q", tc.want, id, err, tc.id)
		}
	}
}
