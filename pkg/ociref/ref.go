// Package ociref parses and prints the names of registry sources (spec
// §11): the subscriptions oci://HOST/PATH/REPO[:TAG|@DIGEST] and
// harbor://HOST/PROJECT, and the blob URIs oci://HOST/REPO@DIGEST that a
// plan records. It is a leaf, so that the list sources (pkg/imagelist) and
// the registry reader (pkg/registry) share one canonical form.
package ociref

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Kind says what a subscription names.
type Kind int

// The subscription kinds.
const (
	KindRepository Kind = iota + 1 // oci://HOST/PATH/REPO: every tag passing the tag pattern
	KindTag                        // oci://HOST/PATH/REPO:TAG: that tag only
	KindDigest                     // oci://HOST/PATH/REPO@sha256:…: that manifest only
	KindProject                    // harbor://HOST/PROJECT: every repository of a Harbor project
)

// The subscription schemes.
const (
	SchemeOCI    = "oci"
	SchemeHarbor = "harbor"
)

// Ref is one parsed registry subscription. Build it with Parse; its
// String form is canonical (scheme and host lower-case, port 443 dropped),
// so it serves as the list id of the images it yields.
type Ref struct {
	Kind Kind
	// Host is host[:port] as the registry is addressed, lower-case, without
	// the default port 443.
	Host string
	// Repository is the repository path (PATH/REPO) for oci:// refs; for
	// harbor:// refs it is "".
	Repository string
	// Project is the Harbor project: the first path segment of an oci://
	// repository, or the whole path of a harbor:// ref.
	Project string
	Tag     string // KindTag
	Digest  string // KindDigest: "sha256:<64 hex>"
}

// DigestPattern matches the only digests ck accepts: sha256, lower-case.
var DigestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// Distribution's grammar for repository path components and tags
// (distribution/reference), kept to what registries accept.
var (
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// IsRegistry reports whether a subscription names a registry source (its
// scheme is oci or harbor, in any case).
func IsRegistry(s string) bool {
	scheme, _, ok := strings.Cut(strings.TrimSpace(s), "://")
	if !ok {
		return false
	}
	scheme = strings.ToLower(scheme)
	return scheme == SchemeOCI || scheme == SchemeHarbor
}

// Parse reads an oci:// or harbor:// subscription. Credentials in the
// URL are refused (they belong in the source's auth settings, where they
// are never printed), and so are queries and fragments. Errors never echo
// what precedes an "@" that is not a digest's "@sha256:".
func Parse(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != SchemeOCI && scheme != SchemeHarbor) {
		return Ref{}, fmt.Errorf("registry source %s: want oci://HOST/PATH/REPO[:TAG|@sha256:…] or harbor://HOST/PROJECT", safe(s))
	}
	if userinfoEnd(rest) >= 0 {
		return Ref{}, fmt.Errorf("registry source %s: credentials are not allowed in the URL (an \"@\" other than that of an @sha256: digest ends a user:password); set username and password_file, or docker_config, in the config file's lists: entry", safe(s))
	}
	authority, path, _ := strings.Cut(rest, "/")
	if strings.ContainsAny(rest, "?#") {
		return Ref{}, fmt.Errorf("registry source %s: a query or fragment is not allowed", safe(s))
	}
	host, err := canonicalHost(authority)
	if err != nil {
		return Ref{}, fmt.Errorf("registry source %s: %v", safe(s), err)
	}
	r := Ref{Host: host}
	if scheme == SchemeHarbor {
		path = strings.TrimSuffix(path, "/")
		if !pathComponent.MatchString(path) {
			return Ref{}, fmt.Errorf("registry source %s: want harbor://HOST/PROJECT with a Harbor project name (lower-case letters, digits, . _ -), got %q", safe(s), path)
		}
		r.Kind, r.Project = KindProject, path
		return r, nil
	}
	repo := path
	switch {
	case strings.Contains(path, "@"):
		var dgst string
		repo, dgst, _ = strings.Cut(path, "@")
		if !DigestPattern.MatchString(dgst) {
			return Ref{}, fmt.Errorf("registry source %s: digest %q is not sha256:<64 lower-case hex>", safe(s), dgst)
		}
		r.Kind, r.Digest = KindDigest, dgst
	case strings.Contains(lastSegment(path), ":"):
		i := strings.LastIndex(path, ":")
		repo, r.Tag = path[:i], path[i+1:]
		if !tagPattern.MatchString(r.Tag) {
			return Ref{}, fmt.Errorf("registry source %s: tag %q is not a valid OCI tag", safe(s), r.Tag)
		}
		r.Kind = KindTag
	default:
		r.Kind = KindRepository
	}
	parts := strings.Split(repo, "/")
	if len(parts) < 2 {
		return Ref{}, fmt.Errorf("registry source %s: want oci://HOST/PROJECT/REPO (a repository path of at least two components), got %q", safe(s), repo)
	}
	for _, p := range parts {
		if !pathComponent.MatchString(p) {
			return Ref{}, fmt.Errorf("registry source %s: repository path component %q is not valid (lower-case letters, digits and separators . _ __ -)", safe(s), p)
		}
	}
	if len(repo) > 255 {
		return Ref{}, fmt.Errorf("registry source %s: repository path longer than 255 characters", safe(s))
	}
	r.Repository, r.Project = repo, parts[0]
	return r, nil
}

// String returns the canonical subscription.
func (r Ref) String() string {
	switch r.Kind {
	case KindProject:
		return SchemeHarbor + "://" + r.Host + "/" + r.Project
	case KindTag:
		return SchemeOCI + "://" + r.Host + "/" + r.Repository + ":" + r.Tag
	case KindDigest:
		return SchemeOCI + "://" + r.Host + "/" + r.Repository + "@" + r.Digest
	}
	return SchemeOCI + "://" + r.Host + "/" + r.Repository
}

// Covers reports whether repository repo of host is read through r, so
// that a blob of it is fetched with r's credentials.
func (r Ref) Covers(host, repo string) bool {
	if r.Host != host {
		return false
	}
	if r.Kind == KindProject {
		return strings.HasPrefix(repo, r.Project+"/")
	}
	return r.Repository == repo
}

// canonicalHost checks host[:port], lower-cases it and drops port 443.
func canonicalHost(authority string) (string, error) {
	if authority == "" {
		return "", fmt.Errorf("no host")
	}
	host, port := strings.ToLower(authority), ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		host, port = h, p
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("invalid port %q", p)
		}
	} else if strings.Contains(strings.Trim(host, "[]"), ":") && !strings.HasPrefix(host, "[") {
		return "", fmt.Errorf("invalid host %q", authority)
	}
	bare := strings.Trim(host, "[]")
	if bare == "" || strings.ContainsAny(bare, " /\\%") {
		return "", fmt.Errorf("invalid host %q", authority)
	}
	if strings.Contains(bare, ":") { // IPv6
		host = "[" + bare + "]"
	}
	if port != "" && port != "443" {
		return host + ":" + port, nil
	}
	return host, nil
}

func lastSegment(path string) string {
	if i := strings.LastIndex(path, "/"); i >= 0 {
		return path[i+1:]
	}
	return path
}

// safe hides everything between "://" and the "@" that ends a userinfo
// (userinfoEnd), so that a mistaken user:password@ never reaches a
// message, even when the password holds a "/".
func safe(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	if i := userinfoEnd(rest); i >= 0 {
		return scheme + "://REDACTED@" + rest[i+1:]
	}
	return s
}

// userinfoEnd returns the index in rest (the text after "://") of the "@"
// that ends a userinfo, or -1 when there is none. No registry name holds
// an "@" but the one of an "@sha256:" digest, so any other "@" ends a
// userinfo — the last one, since a password may hold "@" and "/" too, and
// an "@" in the authority does even when "sha256:" follows it. Parsing the
// authority first would stop at a "/" in the password and quote its start.
func userinfoEnd(rest string) int {
	end := -1
	authority, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		end = i
	}
	for i := range len(rest) {
		if rest[i] == '@' && !strings.HasPrefix(rest[i:], "@sha256:") {
			end = max(end, i)
		}
	}
	return end
}

// Blob is one blob to download, as a plan records it.
type Blob struct {
	Host       string // host[:port], canonical
	Repository string
	Digest     string // sha256:<hex>
}

// ParseBlob reads a blob URI: oci://HOST/REPO@sha256:<hex>.
func ParseBlob(uri string) (Blob, error) {
	r, err := Parse(uri)
	if err != nil {
		return Blob{}, err
	}
	if r.Kind != KindDigest {
		return Blob{}, fmt.Errorf("blob %s: want oci://HOST/REPO@sha256:<hex>", r)
	}
	return Blob{Host: r.Host, Repository: r.Repository, Digest: r.Digest}, nil
}

// String is the blob's URI, which ParseBlob reads back.
func (b Blob) String() string {
	return SchemeOCI + "://" + b.Host + "/" + b.Repository + "@" + b.Digest
}

// URL is the distribution API address of the blob (HTTPS only).
func (b Blob) URL() string { return "https://" + b.Host + "/v2/" + b.Repository + "/blobs/" + b.Digest }
