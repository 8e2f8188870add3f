package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ck-sync/ck/pkg/ociref"
	"github.com/ck-sync/ck/pkg/plan"
)

// TextOptions controls the human rendering.
type TextOptions struct {
	Color        bool              // ANSI colours; set only when writing to a terminal
	ProjectNames map[string]string // project id → name, shown instead of the id when known
}

// ANSI SGR codes used by the text rendering.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// symbols follows Terraform's diff notation.
var symbols = map[plan.Action]struct{ sym, color string }{
	plan.ActionCreate:         {"+", ansiGreen},
	plan.ActionUpdateMetadata: {"~", ansiYellow},
	plan.ActionReplace:        {"-/+", ansiCyan},
	plan.ActionRetire:         {"-", ansiRed},
	plan.ActionAdopt:          {"=", ansiGreen}, // same bytes: nothing new, only ck's marks
	plan.ActionDelete:         {"x", ansiRed},
	plan.ActionShare:          {">", ansiGreen},
	plan.ActionUnshare:        {"<", ansiRed},
}

// maxValue is how many characters of a property value a patch line shows;
// APPLIANCE_ATTRIBUTES alone can be kilobytes long.
const maxValue = 60

// Text writes p for people: one line per change (with the patch of each
// metadata update below it), one line per list that was not fully
// planned, and a summary line.
func Text(w io.Writer, p *plan.Plan, opts TextOptions) error {
	t := &textWriter{w: w, opts: opts}
	for _, c := range p.Changes {
		t.titleWidth = max(t.titleWidth, min(utf8.RuneCountInString(strconv.Quote(c.Title)), maxTitle))
		t.projectWidth = max(t.projectWidth, utf8.RuneCountInString(t.project(c.Project)))
	}
	for _, c := range p.Changes {
		t.change(c)
	}
	first := true
	for _, l := range p.Lists {
		unmatched := l.Filter != nil && len(l.Filter.Unmatched) > 0
		if l.Status == plan.ListValid && !unmatched {
			continue
		}
		if first {
			t.printf("\n")
			first = false
		}
		if l.Status == plan.ListValid {
			t.unmatched(l)
			continue
		}
		t.list(l)
	}
	for i, n := range p.Notices {
		if i == 0 && first {
			t.printf("\n")
		}
		t.notice(n)
	}
	t.printf("\n")
	t.summary(p)
	return t.err
}

type textWriter struct {
	w            io.Writer
	opts         TextOptions
	titleWidth   int // quoted titles are padded to this many runes to align columns
	projectWidth int // likewise for project names
	err          error
}

// maxTitle caps the title column so one long title does not push every
// other line's columns off screen.
const maxTitle = 40

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

func (t *textWriter) paint(color, s string) string {
	if !t.opts.Color || color == "" {
		return s
	}
	return color + s + ansiReset
}

func (t *textWriter) project(id string) string {
	if name := t.opts.ProjectNames[id]; name != "" {
		return name
	}
	return id
}

func (t *textWriter) change(c plan.Change) {
	s := symbols[c.Action]
	head := t.paint(s.color, fmt.Sprintf("%3s %-15s", s.sym, c.Action))
	t.printf("%s  %s  project %s  %s  (%s)\n", head, pad(strconv.Quote(c.Title), t.titleWidth),
		pad(t.project(c.Project), t.projectWidth), imageRef(c.ListID, c.ImageID), c.Reason)
	if c.Member != "" {
		t.printf("        member: project %s\n", t.project(c.Member))
	}
	if c.Action != plan.ActionUpdateMetadata && c.Action != plan.ActionAdopt {
		return
	}
	for _, op := range c.Patch {
		t.op(op)
	}
}

func (t *textWriter) op(op plan.PatchOp) {
	name := strings.TrimPrefix(op.Path, "/")
	switch op.Op {
	case plan.OpAdd:
		t.printf("        %s %s: %s\n", t.paint(ansiGreen, "+"), name, value(op.Value))
	case plan.OpRemove:
		t.printf("        %s %s: %s\n", t.paint(ansiRed, "-"), name, value(op.Old))
	default:
		if keys, ok := changedKeys(op.Old, op.Value); ok {
			t.printf("        %s %s: %s changed\n", t.paint(ansiYellow, "~"), name, strings.Join(keys, ", "))
			return
		}
		t.printf("        %s %s: %s → %s\n", t.paint(ansiYellow, "~"), name, value(op.Old), value(op.Value))
	}
}

func (t *textWriter) list(l plan.ListSummary) {
	effect := "its images are kept"
	if l.Status == plan.ListExpired {
		effect = "its images are retired"
	}
	id := l.ListID
	if id == "" {
		id = "(unknown id)"
	}
	reason := l.Reason
	if reason != "" {
		reason += "; "
	}
	t.printf("%s %-8s %s  %s: %s%s\n", t.paint(ansiYellow, "  !"), l.Status, id, l.Source, reason, effect)
}

// unmatched warns of the entries of a valid list's image filter that name
// no image of the list.
func (t *textWriter) unmatched(l plan.ListSummary) {
	quoted := make([]string, len(l.Filter.Unmatched))
	for i, e := range l.Filter.Unmatched {
		quoted[i] = strconv.Quote(e)
	}
	t.printf("%s %-8s %s  %s: image filter entries naming no image of the list (left it, or misspelt): %s\n",
		t.paint(ansiYellow, "  !"), "filter", l.ListID, l.Source, strings.Join(quoted, ", "))
}

// notice prints an image the plan leaves alone on purpose, and why.
func (t *textWriter) notice(n plan.Notice) {
	t.printf("%s %-8s %s  project %s  %s  glance %s (%s): %s\n", t.paint(ansiYellow, "  !"), n.Kind,
		strconv.Quote(n.Name), t.project(n.Project), imageRef(n.ListID, n.ImageID), n.GlanceImageID, n.Status, n.Detail)
}

func (t *textWriter) summary(p *plan.Plan) {
	st := p.Stats
	if p.Empty() {
		t.printf("%s %s up to date.\n", t.paint(ansiBold, "No changes."), count(st.Unchanged, "image", "images"))
	} else {
		// adopt and delete appear only when planned, so that the common
		// line stays as scripts and people know it.
		extra := ""
		if st.Adopt > 0 {
			extra += fmt.Sprintf(", %d to adopt", st.Adopt)
		}
		if st.Delete > 0 {
			extra += fmt.Sprintf(", %d to delete", st.Delete)
		}
		if st.Share+st.Unshare > 0 {
			extra += fmt.Sprintf(", %d to share, %d to unshare", st.Share, st.Unshare)
		}
		t.printf("%s %d to create, %d to replace, %d to update, %d to retire%s. %d unchanged.\n",
			t.paint(ansiBold, "Plan:"), st.Create, st.Replace, st.Update, st.Retire, extra, st.Unchanged)
	}
	var left []string
	for _, part := range []struct {
		n           int
		what, whats string
	}{
		{st.Kept - st.Filtered, "image of failed or skipped lists", "images of failed or skipped lists"},
		{st.Filtered, "image outside its list's image filter", "images outside their list's image filter"},
		{st.OutOfScope, "image of lists not in this run", "images of lists not in this run"},
		{st.Retired, "already retired", "already retired"},
		{st.Unusable - st.Deactivated, "image not active", "images not active"},
		{st.Unproven, "image whose bytes Glance does not prove", "images whose bytes Glance does not prove"},
		{st.Deactivated, "image deactivated by an operator", "images deactivated by an operator"},
		{st.Ignored, "image not ck's", "images not ck's"},
		{st.Pending, "image member pending (no role to accept in its project)", "image members pending (no role to accept in their projects)"},
	} {
		if part.n > 0 {
			left = append(left, count(part.n, part.what, part.whats))
		}
	}
	if len(left) > 0 {
		t.printf("Left alone: %s.\n", strings.Join(left, ", "))
	}
	if b := p.Blocked; b != nil {
		what := fmt.Sprintf("%s %d images", b.Action, b.Count)
		if b.Unshare > 0 {
			what = fmt.Sprintf("retire %d images and unshare %d, %d in all", b.Count, b.Unshare, b.Count+b.Unshare)
		}
		t.printf("%s the plan would %s, more than the limit of %d (%s). Nothing will be changed.\n",
			t.paint(ansiBold+ansiRed, "Blocked:"), what, b.Limit, b.Flag())
	}
}

// pad right-pads s with spaces to width runes.
func pad(s string, width int) string {
	if n := width - utf8.RuneCountInString(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// short keeps the first 8 characters of a UUID: enough to tell AppDB's
// UUIDs apart on one screen, short enough to keep the line readable. Other
// ids are kept whole: their prefixes often say nothing (ck-demo-…).
func short(id string) string {
	if len(id) != 36 || strings.Count(id, "-") != 4 {
		return id
	}
	return id[:8]
}

// changedKeys names the top-level keys that differ between two JSON
// objects held in strings (APPLIANCE_ATTRIBUTES): far more telling than
// two truncated blobs. ok is false when either value is not such an object.
func changedKeys(oldV, newV any) (keys []string, ok bool) {
	var a, b map[string]json.RawMessage
	olds, ok1 := oldV.(string)
	ns, ok2 := newV.(string)
	if !ok1 || !ok2 || json.Unmarshal([]byte(olds), &a) != nil || json.Unmarshal([]byte(ns), &b) != nil || a == nil || b == nil {
		return nil, false
	}
	for k, v := range a {
		if w, in := b[k]; !in || !bytes.Equal(v, w) {
			keys = append(keys, k)
		}
	}
	for k := range b {
		if _, in := a[k]; !in {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, len(keys) > 0
}

// value renders a patch value on one line.
func value(v any) string {
	s, ok := v.(string)
	if !ok {
		return fmt.Sprint(v)
	}
	if utf8.RuneCountInString(s) > maxValue {
		s = string([]rune(s)[:maxValue]) + "…"
	}
	return strconv.Quote(s)
}

// imageRef names an image for people: LIST/IMAGE, or for a registry image,
// whose id (HOST/REPO:TAG) already says where it is, the id alone.
func imageRef(listID, imageID string) string {
	if ociref.IsRegistry(listID) {
		return imageID
	}
	return short(listID) + "/" + short(imageID)
}
