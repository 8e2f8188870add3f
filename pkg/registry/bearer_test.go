package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/ck-sync/ck/pkg/ociref"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Harbor and registry.egi.eu answer /v2/ with a Bearer challenge whose
// token service is separate; distribution 2.8 (the local test registry)
// can only do that with an external token issuer. These in-process
// servers stand in for such a registry, its token service and the blob
// storage it redirects to, which a real local server cannot be made to be.
type bearerRegistry struct {
	t                      *testing.T
	reg, tokens, storage   *httptest.Server
	user, pass, token      string
	manifest               []byte
	blob                   []byte
	storageSawAuth, issued int
}

func newBearerRegistry(t *testing.T) *bearerRegistry {
	b := &bearerRegistry{t: t, user: "robot$ck", pass: "robot-s3cret", token: "bearer-t0ken-s3cret", blob: []byte("qcow2 bytes of the layer")}
	sum := sha256.Sum256(b.blob)
	layer := "sha256:" + hex.EncodeToString(sum[:])
	b.manifest, _ = json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": mediaTypeOCIManifest,
		"config": map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
		"layers": []any{map[string]any{"mediaType": MediaTypeQemuDisk, "digest": layer, "size": len(b.blob),
			"annotations": map[string]string{AnnotationTag: "24.04-x"}}},
	})
	b.tokens = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != b.user || p != b.pass || r.URL.Query().Get("scope") != "repository:p/r:pull" {
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		b.issued++
		fmt.Fprintf(w, `{"token":%q}`, b.token)
	}))
	b.storage = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			b.storageSawAuth++
		}
		w.Write(b.blob)
	}))
	b.reg = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+b.token {
			w.Header().Set("Www-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="harbor-registry",scope="repository:p/r:pull"`, b.tokens.URL+"/service/token"))
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"unauthorized to access repository: p/r"}]}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/v2/p/r/tags/list":
			fmt.Fprint(w, `{"name":"p/r","tags":["24.04","24.04-x"]}`)
		case "/v2/p/r/manifests/24.04":
			sum := sha256.Sum256(b.manifest)
			w.Header().Set("Content-Type", mediaTypeOCIManifest)
			w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
			w.Write(b.manifest)
		case "/v2/p/r/blobs/" + layer:
			http.Redirect(w, r, b.storage.URL+"/blob-data?signature=abc", http.StatusTemporaryRedirect)
		default:
			http.NotFound(w, r)
		}
	}))
	for _, s := range []*httptest.Server{b.tokens, b.storage, b.reg} {
		t.Cleanup(s.Close)
	}
	old := realmBlocklist
	realmBlocklist = []netip.Prefix{} // the token service is on loopback here
	t.Cleanup(func() { realmBlocklist = old })
	return b
}

// client trusts the three servers' certificates.
func (b *bearerRegistry) client() *http.Client {
	c := b.reg.Client()
	tr := c.Transport.(*http.Transport).Clone()
	for _, s := range []*httptest.Server{b.tokens, b.storage} {
		tr.TLSClientConfig.RootCAs.AddCert(s.Certificate())
	}
	c.Transport = tr
	return c
}

func (b *bearerRegistry) host() string { return strings.TrimPrefix(b.reg.URL, "https://") }

func TestReadBearerChallenge(t *testing.T) {
	b := newBearerRegistry(t)
	ref, err := ociref.Parse("oci://" + b.host() + "/p/r")
	if err != nil {
		t.Fatal(err)
	}
	good := Credential{host: b.host(), cred: credOf(b.user, b.pass), from: "test"}
	l, err := Read(context.Background(), ref, Options{HTTP: b.client(), Credential: good})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Artifacts) != 1 || l.Artifacts[0].Tag != "24.04" || b.issued == 0 {
		t.Fatalf("listing %+v, tokens issued %d", l, b.issued)
	}

	bad := Credential{host: b.host(), cred: credOf(b.user, "wrong"), from: "test"}
	_, err = Read(context.Background(), ref, Options{HTTP: b.client(), Credential: bad})
	if err == nil {
		t.Fatal("a refused token request was not an error")
	}
	for _, secret := range []string{b.pass, b.token, "wrong"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows a secret %q: %v", secret, err)
		}
	}
	if _, err := Read(context.Background(), ref, Options{HTTP: b.client()}); err == nil {
		t.Fatal("anonymous access to a registry that wants a token was not an error")
	}
}

// A blob is fetched with the token and followed to blob storage on another
// origin, which never sees the Authorization header.
func TestBlobClientBearerAndRedirect(t *testing.T) {
	b := newBearerRegistry(t)
	sum := sha256.Sum256(b.blob)
	blob := ociref.Blob{Host: b.host(), Repository: "p/r", Digest: "sha256:" + hex.EncodeToString(sum[:])}
	c := BlobClient(b.client(), blob, Credential{host: b.host(), cred: credOf(b.user, b.pass)}, "ck/test")
	resp, err := c.Get(blob.URL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != string(b.blob) {
		t.Fatalf("GET blob: %d %q", resp.StatusCode, body)
	}
	if b.storageSawAuth != 0 {
		t.Errorf("blob storage on another origin received Authorization %d time(s)", b.storageSawAuth)
	}
	if b.issued != 1 {
		t.Errorf("tokens issued = %d, want 1", b.issued)
	}
}

func credOf(user, pass string) auth.Credential {
	return auth.Credential{Username: user, Password: pass}
}
