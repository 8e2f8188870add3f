// Package metrics records what one ck run did and writes it in the
// Prometheus text exposition format, for node_exporter's textfile
// collector. It is hand-written (a few gauges need no client library) and
// the file is replaced atomically, so the collector never reads half a run.
package metrics

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Commands are the commands whose runs are recorded; the value is the
// command label.
var Commands = map[string]bool{"sync": true, "diff": true, "verify": true, "prune": true}

// The label values that are always written (as 0 when nothing happened), so
// that a series does not vanish from one run to the next.
var (
	verdicts = []string{"valid", "expired", "invalid"}
	actions  = []string{"create", "replace", "update-metadata", "retire"}
	outcomes = []string{"done", "failed", "skipped"}
)

// Run is the record of one run. Its methods are safe for concurrent use;
// a nil *Run records nothing.
type Run struct {
	mu      sync.Mutex
	command string
	site    string // "" writes no site label
	start   time.Time
	end     time.Time
	success bool

	lists       map[string]int // by verdict; nil: no list was verified
	images      map[[2]string]int
	transferred int64
	applied     bool // images and bytes are written only for runs that applied a plan
}

// New starts the record of a run of command at start.
func New(command string, start time.Time) *Run {
	return &Run{command: command, start: start}
}

// SetSite labels every series of the record with site="NAME", so that
// the runs of many sites on one host (one file each) stay apart in
// Prometheus. An empty name, the default, writes no site label: a
// single-site host's series are unchanged.
func (r *Run) SetSite(name string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.site = name
}

// SetLists records how many lists got each verdict (valid, expired,
// invalid).
func (r *Run) SetLists(valid, expired, invalid int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lists = map[string]int{"valid": valid, "expired": expired, "invalid": invalid}
}

// AddImage counts one change of the plan by its action and outcome.
func (r *Run) AddImage(action, outcome string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.images == nil {
		r.images = map[[2]string]int{}
	}
	r.images[[2]string{action, outcome}]++
	r.applied = true
}

// SetTransferred records the image bytes transferred; calling it also
// marks the run as one that applied a plan, even an empty one.
func (r *Run) SetTransferred(bytes int64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.transferred = bytes
	r.applied = true
}

// Finish records the end of the run and whether it succeeded.
func (r *Run) Finish(end time.Time, success bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.end, r.success = end, success
}

// WriteTo writes the record in the Prometheus text format.
func (r *Run) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b bytes.Buffer
	// Every sample carries these labels first: the site (when set) and
	// the command.
	cmd := label("command", r.command)
	if r.site != "" {
		cmd = label("site", r.site) + "," + cmd
	}
	gauge := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	sample := func(name, labels string, v string) {
		fmt.Fprintf(&b, "%s{%s} %s\n", name, labels, v)
	}

	gauge("ck_last_run_start_timestamp_seconds", "Unix time the last ck run started.")
	sample("ck_last_run_start_timestamp_seconds", cmd, seconds(r.start))
	gauge("ck_last_run_end_timestamp_seconds", "Unix time the last ck run ended.")
	sample("ck_last_run_end_timestamp_seconds", cmd, seconds(r.end))
	gauge("ck_last_run_success", "1 if the last ck run succeeded (exit 0, or 2 for a non-empty plan under --exit-code), else 0.")
	success := "0"
	if r.success {
		success = "1"
	}
	sample("ck_last_run_success", cmd, success)
	gauge("ck_last_run_duration_seconds", "Duration of the last ck run in seconds.")
	var d time.Duration
	if !r.end.IsZero() {
		d = r.end.Sub(r.start)
	}
	sample("ck_last_run_duration_seconds", cmd, strconv.FormatFloat(d.Seconds(), 'f', 3, 64))

	if r.lists != nil {
		gauge("ck_lists", "Image lists by verdict in the last ck run.")
		for _, v := range verdicts {
			sample("ck_lists", cmd+","+label("verdict", v), strconv.Itoa(r.lists[v]))
		}
	}
	if r.applied {
		gauge("ck_images", "Plan changes by action and outcome in the last ck run.")
		for _, k := range r.imageKeys() {
			sample("ck_images", cmd+","+label("action", k[0])+","+label("outcome", k[1]), strconv.Itoa(r.images[k]))
		}
		gauge("ck_transferred_bytes", "Image bytes transferred in the last ck run.")
		sample("ck_transferred_bytes", cmd, strconv.FormatInt(r.transferred, 10))
	}
	return b.WriteTo(w)
}

// imageKeys is every (action, outcome) to write: the known grid, then any
// other recorded pair in sorted order.
func (r *Run) imageKeys() [][2]string {
	var keys [][2]string
	known := map[[2]string]bool{}
	for _, a := range actions {
		for _, o := range outcomes {
			k := [2]string{a, o}
			keys = append(keys, k)
			known[k] = true
		}
	}
	var extra [][2]string
	for k := range r.images {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	sort.Slice(extra, func(i, j int) bool {
		if extra[i][0] != extra[j][0] {
			return extra[i][0] < extra[j][0]
		}
		return extra[i][1] < extra[j][1]
	})
	return append(keys, extra...)
}

// WriteFile replaces path with the record: it writes a temporary file in
// the same directory and renames it over path, so a reader sees either the
// previous run or this one, never a partial file. The file is 0644 so
// node_exporter, running as another user, can read it.
func (r *Run) WriteFile(path string) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// The temporary name does not end in .prom, so the collector skips it.
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = r.WriteTo(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func seconds(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// label renders name="value" with the escapes the text format requires.
func label(name, value string) string {
	var b bytes.Buffer
	b.WriteString(name)
	b.WriteString(`="`)
	for _, c := range value {
		switch c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteString(`"`)
	return b.String()
}
