package cmdutil

import (
	"context"
	"sync"

	"github.com/ck-sync/ck/pkg/imagelist"
)

// Fetched is one list's bytes, or why they could not be read.
type Fetched struct {
	Source imagelist.Source
	Data   []byte
	Err    error
}

// FetchAll fetches every source, at most parallel at once, and returns the
// results in the order of sources. A failure in one never stops the others.
func FetchAll(ctx context.Context, fetcher *imagelist.Fetcher, sources []imagelist.Source, parallel int) []Fetched {
	out := make([]Fetched, len(sources))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			data, err := fetcher.Fetch(ctx, s)
			out[i] = Fetched{Source: s, Data: data, Err: err}
		}()
	}
	wg.Wait()
	return out
}
