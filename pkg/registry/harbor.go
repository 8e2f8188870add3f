package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Harbor's REST API (v2.0) as ck uses it: only the repositories of one
// project, to know what to read over the OCI API. registry.egi.eu's
// catalogue (/v2/_catalog) is for administrators only, so this is how a
// project's repositories are found.
const (
	harborPageSize = 100
	harborMaxPages = 1000
	maxHarborPage  = 4 << 20 // bytes of one page of JSON
)

// HarborAPI returns the default API base of a registry host.
func HarborAPI(host string) string { return "https://" + host + "/api/v2.0" }

// harborRepositories lists the repositories of project through Harbor's
// API at api (e.g. https://registry.egi.eu/api/v2.0), following
// Link: rel="next" pages on the same origin. Any failure fails the whole
// listing: a partial list would look like removed repositories. Harbor
// pages by offset, so a repository deleted (or pushed) while the pages are
// read shifts the later pages and drops (or repeats) another one: a count
// (X-Total-Count) that changes between pages, or a name seen twice, fails
// the listing too.
func harborRepositories(ctx context.Context, client *http.Client, api, project string, cred Credential, userAgent string) ([]string, error) {
	base, err := url.Parse(strings.TrimSuffix(api, "/"))
	if err != nil || base.Scheme != "https" || base.Host == "" {
		return nil, fmt.Errorf("harbor API %q: want an https:// URL", api)
	}
	next := base.JoinPath("projects", project, "repositories")
	q := next.Query()
	q.Set("page", "1")
	q.Set("page_size", strconv.Itoa(harborPageSize))
	next.RawQuery = q.Encode()

	var names []string
	seen := map[string]bool{}
	total := -1
	const changed = "the project changed while it was being read; try again"
	for page := 1; next != nil; page++ {
		if page > harborMaxPages {
			return nil, fmt.Errorf("harbor project %s: more than %d pages of repositories", project, harborMaxPages)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		if user, pass, ok := cred.basic(); ok {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("harbor project %s: list repositories (page %d): %w", project, page, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxHarborPage+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("harbor project %s: list repositories (page %d): %w", project, page, err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("harbor project %s: list repositories (page %d): %s", project, page, statusProblem(resp.StatusCode))
		}
		if len(body) > maxHarborPage {
			return nil, fmt.Errorf("harbor project %s: list repositories (page %d): answer larger than %d bytes", project, page, maxHarborPage)
		}
		var repos []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(body, &repos); err != nil {
			return nil, fmt.Errorf("harbor project %s: list repositories (page %d): not Harbor's JSON array of repositories: %v", project, page, jsonProblem(err))
		}
		for _, r := range repos {
			if !strings.HasPrefix(r.Name, project+"/") {
				return nil, fmt.Errorf("harbor project %s: list repositories: repository %q is not in the project", project, r.Name)
			}
			if seen[r.Name] {
				return nil, fmt.Errorf("harbor project %s: list repositories (page %d): repository %q was already on an earlier page: %s", project, page, r.Name, changed)
			}
			seen[r.Name] = true
			names = append(names, r.Name)
		}
		if t := resp.Header.Get("X-Total-Count"); t != "" {
			n, err := strconv.Atoi(t)
			if err != nil || n < 0 {
				if len(t) > 32 {
					t = t[:32] + "…"
				}
				return nil, fmt.Errorf("harbor project %s: list repositories (page %d): X-Total-Count %q is not a count", project, page, t)
			}
			if total >= 0 && n != total {
				return nil, fmt.Errorf("harbor project %s: list repositories (page %d): Harbor counts %d repositories (X-Total-Count), %d on an earlier page: %s", project, page, n, total, changed)
			}
			total = n
		}
		next, err = nextLink(next, resp.Header.Values("Link"))
		if err != nil {
			return nil, fmt.Errorf("harbor project %s: list repositories (page %d): %v", project, page, err)
		}
	}
	if total >= 0 && total != len(names) {
		return nil, fmt.Errorf("harbor project %s: list repositories: Harbor counts %d (X-Total-Count), its pages held %d", project, total, len(names))
	}
	return names, nil
}

// nextLink returns the target of the rel="next" link, resolved against
// cur; nil when there is none. A link to another origin is refused: the
// credentials would follow it.
func nextLink(cur *url.URL, headers []string) (*url.URL, error) {
	for _, h := range headers {
		for _, link := range strings.Split(h, ",") {
			target, params, ok := strings.Cut(link, ";")
			if !ok {
				continue
			}
			if !isNext(params) {
				continue
			}
			target = strings.TrimSpace(target)
			target = strings.TrimSuffix(strings.TrimPrefix(target, "<"), ">")
			u, err := cur.Parse(target)
			if err != nil {
				return nil, fmt.Errorf("link header: invalid next URL")
			}
			if u.Scheme != cur.Scheme || !strings.EqualFold(u.Host, cur.Host) {
				return nil, fmt.Errorf("link header: next page on another origin (%s://%s)", u.Scheme, u.Host)
			}
			return u, nil
		}
	}
	return nil, nil
}

func isNext(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "rel") && strings.Trim(v, `"`) == "next" {
			return true
		}
	}
	return false
}

// statusProblem names an HTTP status the way an operator reads it.
func statusProblem(code int) string {
	switch code {
	case http.StatusUnauthorized:
		return "HTTP 401: authentication refused (check the source's username/password_file or docker_config)"
	case http.StatusForbidden:
		return "HTTP 403: access denied to this project"
	case http.StatusNotFound:
		return "HTTP 404: not found"
	}
	return fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))
}
