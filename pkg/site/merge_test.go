package site

import (
	"fmt"
	"testing"

	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/plan"
)

func TestMergeMembers(t *testing.T) {
	const home = "home-id"
	list := func(vo string) *imagelist.List { return &imagelist.List{ID: "oci://r.example/p/img", VO: vo} }
	in := func(source, vo, project string, members ...string) plan.ListInput {
		return plan.ListInput{Source: source, Status: plan.ListValid, List: list(vo), Project: project, Members: members}
	}
	const src, other = "oci://r.example/p/img", "oci://r.example/q/img"
	tests := []struct {
		name string
		in   []plan.ListInput
		want []string // Source Project Members VO, per input out
	}{
		{"two VOs of one source: one input, both members, sorted",
			[]plan.ListInput{in(src, "b.vo", home, "b-id"), in(src, "a.vo", home, "a-id")},
			[]string{src + " home-id [a-id b-id] b.vo"}},
		{"three VOs, one is the home project itself, one repeated",
			[]plan.ListInput{in(src, "h.vo", home), in(src, "a.vo", home, "a-id"), in(src, "a2.vo", home, "a-id")},
			[]string{src + " home-id [a-id] h.vo"}},
		{"other sources keep their own inputs and places",
			[]plan.ListInput{in(other, "a.vo", home, "a-id"), in(src, "a.vo", home, "a-id"), in(other, "b.vo", home, "b-id"), in(src, "c.vo", home, "c-id")},
			[]string{other + " home-id [a-id b-id] a.vo", src + " home-id [a-id c-id] a.vo"}},
		{"a VO sent to another project (--default-project) is not merged",
			[]plan.ListInput{in(src, "a.vo", home, "a-id"), in(src, "x.vo", "default-id")},
			[]string{src + " home-id [a-id] a.vo", src + " default-id [] x.vo"}},
		{"a failed VO (Project \"\") and a VO that left the mapping stay apart",
			func() []plan.ListInput {
				failed := in(src, "f.vo", "")
				failed.Status = plan.ListFailed
				left := in(src, "l.vo", home)
				left.Status, left.DropMembers = plan.ListSkipped, true
				return []plan.ListInput{in(src, "a.vo", home, "a-id"), failed, left, in(src, "b.vo", home, "b-id")}
			}(),
			[]string{src + " home-id [a-id b-id] a.vo", src + "  [] f.vo", src + " home-id [] l.vo"}},
		{"a source that failed before routing (no list) is passed through",
			[]plan.ListInput{{Source: src, Status: plan.ListFailed}, {Source: src, Status: plan.ListFailed}},
			[]string{src + "  [] ", src + "  [] "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mergeMembers(tt.in)
			var got []string
			for _, o := range out {
				vo := ""
				if o.List != nil {
					vo = o.List.VO
				}
				got = append(got, fmt.Sprintf("%s %s %v %s", o.Source, o.Project, o.Members, vo))
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
