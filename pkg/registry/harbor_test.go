package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fakeHarbor answers GET /api/v2.0/projects/{project}/repositories the way
// Harbor's documented API does (a JSON array of repository objects whose
// name includes the project, paged by page/page_size with a Link rel="next"
// header and X-Total-Count). Harbor itself cannot run on these machines, so
// this in-process fake stands in for its REST API only; everything after
// enumeration is tested against the real registry.
type fakeHarbor struct {
	project  string
	repos    []string
	user     string // "" = anonymous access allowed
	pass     string
	failPage int // answer 500 for this page
	wrongCnt bool
	foreign  bool // next link to another origin
	noCount  bool // send no X-Total-Count
	badCount string
	// between runs after each page is served: the project changing while
	// ck reads it.
	between  func(h *fakeHarbor, page int)
	requests []string
}

func (h *fakeHarbor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests = append(h.requests, r.URL.RequestURI())
	if h.user != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != h.user || p != h.pass {
			w.Header().Set("Www-Authenticate", `Basic realm="harbor"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"unauthorized"}]}`, http.StatusUnauthorized)
			return
		}
	}
	want := "/api/v2.0/projects/" + h.project + "/repositories"
	if r.URL.EscapedPath() != want {
		http.Error(w, `{"errors":[{"code":"NOT_FOUND","message":"project not found"}]}`, http.StatusNotFound)
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	size, _ := strconv.Atoi(r.URL.Query().Get("page_size"))
	if page < 1 || size < 1 {
		http.Error(w, "bad paging", http.StatusBadRequest)
		return
	}
	if page == h.failPage {
		http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"internal"}]}`, http.StatusInternalServerError)
		return
	}
	lo, hi := (page-1)*size, page*size
	lo, hi = min(lo, len(h.repos)), min(hi, len(h.repos))
	var out []map[string]any
	for i, name := range h.repos[lo:hi] {
		out = append(out, map[string]any{"id": lo + i + 1, "name": name, "project_id": 7, "artifact_count": 2, "pull_count": 0})
	}
	total := len(h.repos)
	if h.wrongCnt {
		total++
	}
	switch {
	case h.badCount != "":
		w.Header().Set("X-Total-Count", h.badCount)
	case !h.noCount:
		w.Header().Set("X-Total-Count", strconv.Itoa(total))
	}
	if h.between != nil {
		defer h.between(h, page)
	}
	if hi < len(h.repos) {
		next := fmt.Sprintf("%s?page=%d&page_size=%d", want, page+1, size)
		if h.foreign {
			next = "https://elsewhere.example" + next
		}
		w.Header().Set("Link", fmt.Sprintf(`<%s?page=%d&page_size=%d>; rel="prev" , <%s>; rel="next"`, want, page, size, next))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func deleteAfterPage1(h *fakeHarbor, page int) {
	if page == 1 {
		h.repos = slices.Delete(h.repos, 5, 6)
	}
}

func pushAfterPage1(h *fakeHarbor, page int) {
	if page == 1 {
		h.repos = slices.Insert(h.repos, 0, "vo.example/aaa-new")
	}
}

func harborRepos(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("vo.example/repo%03d", i))
	}
	return append(out, "vo.example/nested/name")
}

func TestHarborRepositories(t *testing.T) {
	tests := []struct {
		name    string
		h       *fakeHarbor
		cred    Credential
		wantN   int
		wantErr string
	}{
		{"one page", &fakeHarbor{project: "vo.example", repos: harborRepos(3)}, Credential{}, 4, ""},
		{"three pages", &fakeHarbor{project: "vo.example", repos: harborRepos(230)}, Credential{}, 231, ""},
		{"robot account", &fakeHarbor{project: "vo.example", repos: harborRepos(3), user: "robot$ck", pass: "s3cret"},
			mustCred(t, "robot$ck", "s3cret"), 4, ""},
		{"auth refused", &fakeHarbor{project: "vo.example", repos: harborRepos(3), user: "robot$ck", pass: "s3cret"},
			mustCred(t, "robot$ck", "wrong"), 0, "HTTP 401: authentication refused"},
		{"anonymous refused", &fakeHarbor{project: "vo.example", repos: harborRepos(3), user: "robot$ck", pass: "s3cret"},
			Credential{}, 0, "HTTP 401"},
		{"second page fails", &fakeHarbor{project: "vo.example", repos: harborRepos(230), failPage: 2}, Credential{}, 0, "page 2): HTTP 500"},
		{"count disagrees", &fakeHarbor{project: "vo.example", repos: harborRepos(3), wrongCnt: true}, Credential{}, 0, "Harbor counts 5"},
		{"next page elsewhere", &fakeHarbor{project: "vo.example", repos: harborRepos(230), foreign: true}, Credential{}, 0, "another origin"},
		{"no such project", &fakeHarbor{project: "other", repos: harborRepos(3)}, Credential{}, 0, "HTTP 404"},
		// Page 2 starts one further on: repo100 would be silently dropped
		// while the last page's count matches the names read.
		{"deleted between pages", &fakeHarbor{project: "vo.example", repos: harborRepos(230), between: deleteAfterPage1},
			Credential{}, 0, "Harbor counts 230 repositories (X-Total-Count), 231 on an earlier page: the project changed while it was being read; try again"},
		{"pushed between pages", &fakeHarbor{project: "vo.example", repos: harborRepos(230), between: pushAfterPage1},
			Credential{}, 0, "the project changed while it was being read; try again"},
		{"pushed between pages, no count", &fakeHarbor{project: "vo.example", repos: harborRepos(230), between: pushAfterPage1, noCount: true},
			Credential{}, 0, `repository "vo.example/repo099" was already on an earlier page: the project changed`},
		{"no count", &fakeHarbor{project: "vo.example", repos: harborRepos(230), noCount: true}, Credential{}, 231, ""},
		{"count not a number", &fakeHarbor{project: "vo.example", repos: harborRepos(3), badCount: "many"}, Credential{}, 0, `X-Total-Count "many" is not a count`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(tt.h)
			defer srv.Close()
			got, err := harborRepositories(context.Background(), srv.Client(), srv.URL+"/api/v2.0", "vo.example", tt.cred, "ck/test")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wrong") {
					t.Errorf("error shows a password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantN {
				t.Fatalf("%d repositories, want %d", len(got), tt.wantN)
			}
			if got[len(got)-1] != "vo.example/nested/name" {
				t.Errorf("last = %q", got[len(got)-1])
			}
		})
	}
}

func TestHarborRefusesPlainHTTP(t *testing.T) {
	_, err := harborRepositories(context.Background(), http.DefaultClient, "http://registry.example/api/v2.0", "p", Credential{}, "ck")
	if err == nil || !strings.Contains(err.Error(), "https://") {
		t.Fatalf("err = %v", err)
	}
}

func mustCred(t *testing.T, user, pass string) Credential {
	t.Helper()
	f := t.TempDir() + "/pw"
	if err := writeFile(f, pass+"\n"); err != nil {
		t.Fatal(err)
	}
	c, err := Auth{Username: user, PasswordFile: f}.Load("h", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
