package cmdutil

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/ck-sync/ck/pkg/imagelist"
	"github.com/ck-sync/ck/pkg/ociref"
	"github.com/ck-sync/ck/pkg/registry"
)

// Fetched is one source's bytes (a HEPiX list) or listing (a registry
// source), or why they could not be read.
type Fetched struct {
	Source  imagelist.Source
	Data    []byte            // HEPiX lists
	Listing *registry.Listing // registry sources
	Err     error
	// Check names what failed for a registry source: "auth" when its
	// credentials could not be loaded, "registry" when it could not be
	// enumerated completely.
	Check string
}

// The checks of a registry source that could not be read.
const (
	CheckAuth     = "auth"
	CheckRegistry = "registry"
)

// FetchAll fetches every HEPiX list and reads every registry source, at
// most --parallel at once, and returns the results in the order of
// sources. A failure in one never stops the others.
func (f *Factory) FetchAll(ctx context.Context, fetcher *imagelist.Fetcher, sources []imagelist.Source) []Fetched {
	out := make([]Fetched, len(sources))
	sem := make(chan struct{}, max(f.Globals.Parallel, 1))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = Fetched{Source: s}
			if _, ok := s.Registry(); ok {
				out[i].Listing, out[i].Check, out[i].Err = f.readRegistry(ctx, fetcher.Client, s)
				return
			}
			out[i].Data, out[i].Err = fetcher.Fetch(ctx, s)
		}()
	}
	wg.Wait()
	return out
}

// readRegistry enumerates one registry source with the settings of its
// lists: entry, over client (the list client: TLS verified, extra CAs,
// timeouts); its credentials join the redactor before any request.
func (f *Factory) readRegistry(ctx context.Context, client *http.Client, s imagelist.Source) (*registry.Listing, string, error) {
	ref, _ := s.Registry()
	e, _ := f.Globals.ListEntry(s.Key())
	set := e.Registry()
	cred, err := set.Auth.Load(ref.Host, f.Getenv)
	if err != nil {
		return nil, CheckAuth, err
	}
	f.Redactor.Add(cred.Secrets()...)
	l, err := registry.Read(ctx, ref, registry.Options{
		HTTP: client, Credential: cred, UserAgent: UserAgent(),
		TagPattern: set.TagPattern, HarborAPI: set.HarborAPI, Parallel: f.Globals.Parallel,
	})
	if err != nil {
		return nil, CheckRegistry, fmt.Errorf("%w (read with %s)", err, cred)
	}
	return l, "", nil
}

// RegistryBlob returns where to GET the blob a plan names (oci://HOST/REPO@
// DIGEST) and the client that authenticates for it: the credentials of the
// lists: entry whose registry source covers the repository (else
// REGISTRY_AUTH_FILE, else anonymous), answering the registry's Basic or
// Bearer challenge over base. The credentials join the redactor.
func (f *Factory) RegistryBlob(base *http.Client, uri string) (string, *http.Client, error) {
	b, err := ociref.ParseBlob(uri)
	if err != nil {
		return "", nil, err
	}
	var a registry.Auth
	for _, e := range f.Globals.ListEntries {
		if ref, err := ociref.Parse(e.Key()); err == nil && ref.Covers(b.Host, b.Repository) {
			a = e.Registry().Auth
			break
		}
	}
	cred, err := a.Load(b.Host, f.Getenv)
	if err != nil {
		return "", nil, fmt.Errorf("blob %s: %w", b, err)
	}
	f.Redactor.Add(cred.Secrets()...)
	return b.URL(), registry.BlobClient(base, b, cred, UserAgent()), nil
}
