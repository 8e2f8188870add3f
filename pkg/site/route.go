// Package site finds where each list's images belong and what ck already
// has there: it reads mapping.json, resolves its entries to Keystone
// project ids, connects to Glance once per managed project (the
// clouds.yaml user's token re-scoped, spec §6) and lists ck's images in
// one paginated pass per project. It knows nothing of cobra.
package site

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ck-sync/ck/pkg/mapping"
)

// Route is where one list's images go, before project ids are known.
type Route struct {
	// Entry is the list's VO's mapping entry; nil when the list goes to the
	// default project or is skipped.
	Entry *mapping.Entry
	// Default is true when the list goes to the default project.
	Default bool
	// Skip says why the list is skipped; "" when it is not.
	Skip string
}

// RouteList applies spec §6 to a list of VO vo: a mapped VO goes to its
// project; a list without ad:vo goes to the default project, which always
// exists (the clouds.yaml project when --default-project is unset); an
// unmapped VO is skipped, unless a default project was asked for
// explicitly — sending a VO's images to the operator's own project by
// accident would publish them where nobody expects them.
func RouteList(vo string, m mapping.Mapping, explicitDefault bool) Route {
	if vo == "" {
		return Route{Default: true}
	}
	if e, ok := m.Lookup(vo); ok {
		return Route{Entry: &e}
	}
	if explicitDefault {
		return Route{Default: true}
	}
	return Route{Skip: fmt.Sprintf("no project mapped for VO %q (add it to the mapping file, or set --default-project)", vo)}
}

// MaxRetire is the parsed --max-retire: an absolute count or a percentage
// of ck's current images, as plan.Policy takes them.
type MaxRetire struct {
	Count   int     // > 0: at most this many; < 0: no limit; 0: use Percent
	Percent float64 // used when Count is 0
}

// ParseMaxRetire reads "N" (at most N images, N ≥ 1: plan cannot express
// a limit of 0, and a site that wants none can leave its lists alone),
// "N%" (a percentage of ck's current images, at least 1 image) or
// "none"/"-1" (no limit).
func ParseMaxRetire(s string) (MaxRetire, error) {
	v := strings.TrimSpace(s)
	switch v {
	case "":
		return MaxRetire{}, fmt.Errorf("max-retire: empty; want N, N%% or none")
	case "none", "-1":
		return MaxRetire{Count: -1}, nil
	}
	if num, ok := strings.CutSuffix(v, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsNaN(p) || math.IsInf(p, 0) || p <= 0 || p > 100 {
			return MaxRetire{}, fmt.Errorf("max-retire: %q: want a percentage above 0 and at most 100", s)
		}
		return MaxRetire{Percent: p}, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return MaxRetire{}, fmt.Errorf("max-retire: %q: want a count of at least 1, a percentage like 25%%, or none", s)
	}
	return MaxRetire{Count: n}, nil
}
