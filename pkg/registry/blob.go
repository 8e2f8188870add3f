package registry

import (
	"net/http"
	"strings"

	"oras.land/oras-go/v2/registry"

	"github.com/ck-sync/ck/pkg/ociref"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// BlobClient returns a client for GETs of b's URL: oras-go's auth client
// answers the registry's Basic or Bearer challenge with cred for a pull of
// b's repository (tokens are cached for the client's life, never logged),
// follows redirects to blob storage on base's rules and drops
// Authorization once a redirect leaves the registry's origin. The result is
// an ordinary *http.Client, so the transfer layer's resuming, verifying
// stream uses it like any other (Range requests pass through).
func BlobClient(base *http.Client, b ociref.Blob, cred Credential, userAgent string) *http.Client {
	if base == nil {
		base = http.DefaultClient
	}
	ac := newAuthClient(base, cred)
	if userAgent != "" {
		ac.SetUserAgent(userAgent)
	}
	ref := registry.Reference{Registry: b.Host, Repository: b.Repository}
	return &http.Client{
		Transport: &authTransport{client: ac, ref: ref},
		// The auth client has followed any redirect already; a redirect
		// seen here would be one it refused to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// authTransport sends each request through oras-go's auth client with
// the pull scope of one repository.
type authTransport struct {
	client *auth.Client
	ref    registry.Reference
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.EqualFold(req.URL.Host, t.ref.Registry) || req.URL.Scheme != "https" {
		// A resume may go straight to the blob storage a first request was
		// redirected to (a signed URL): no credential goes there.
		return t.client.Client.Do(req)
	}
	ctx := auth.AppendRepositoryScope(req.Context(), t.ref, auth.ActionPull)
	return t.client.Do(req.WithContext(ctx))
}
