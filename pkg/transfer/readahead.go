package transfer

import (
	"errors"
	"io"
	"sync"
)

// ReadAhead reads r in a goroutine of its own, up to blocks buffers of size
// bytes ahead of the consumer, so that downloading and hashing an image
// overlap with uploading it instead of taking turns. Memory stays bounded by
// blocks×size. r's data reaches the consumer in order, and r's error —
// io.EOF, or a *VerifyError on a bad image's final read — only after all
// the data before it: the verifying reader's guarantee is kept.
//
// abort must make a Read of r in progress return soon (e.g. cancel the
// context r was opened with): Close calls it, waits for the goroutine to
// leave r, and only then closes r, which need not be safe for concurrent use.
func ReadAhead(r io.ReadCloser, abort func(), blocks, size int) io.ReadCloser {
	ra := &readAhead{
		r:     r,
		abort: abort,
		full:  make(chan block, blocks),
		empty: make(chan []byte, blocks),
		done:  make(chan struct{}),
	}
	for range blocks {
		ra.empty <- make([]byte, size)
	}
	ra.wg.Add(1)
	go ra.fill()
	return ra
}

type block struct {
	data []byte
	err  error
}

type readAhead struct {
	r     io.ReadCloser
	abort func()
	full  chan block  // filled buffers, in order
	empty chan []byte // buffers the consumer is done with
	done  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once

	cur  block // the block being consumed
	off  int
	last error // the error that ended the stream, once reached
}

func (ra *readAhead) fill() {
	defer ra.wg.Done()
	for {
		var buf []byte
		select {
		case buf = <-ra.empty:
		case <-ra.done:
			return
		}
		// Hand on whatever one Read brings rather than wait for a full
		// block: a slow server's bytes must not sit here.
		n, err := ra.r.Read(buf)
		for n == 0 && err == nil {
			n, err = ra.r.Read(buf)
		}
		select {
		case ra.full <- block{data: buf[:n], err: err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read implements io.Reader.
func (ra *readAhead) Read(p []byte) (int, error) {
	if ra.off >= len(ra.cur.data) {
		if err := ra.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, ra.cur.data[ra.off:])
	ra.off += n
	return n, nil
}

// WriteTo implements io.WriterTo, which io.Copy and net/http's upload
// prefer to Read: each block goes to w as it came from r, with no copy into
// the consumer's smaller buffer, so an upload sends it as one chunk (one
// write to the socket) rather than as many 32 KiB ones. r's error comes out
// as Read would return it (nil for io.EOF), after all the data before it.
func (ra *readAhead) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if ra.off >= len(ra.cur.data) {
			if err := ra.next(); err == io.EOF {
				return total, nil
			} else if err != nil {
				return total, err
			}
		}
		rest := ra.cur.data[ra.off:]
		n, err := w.Write(rest)
		ra.off += n
		total += int64(n)
		if err == nil && n < len(rest) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return total, err
		}
	}
}

// next makes the next non-empty block current, handing the spent one back to
// the reading goroutine, or returns the error that ended the stream.
func (ra *readAhead) next() error {
	for ra.off >= len(ra.cur.data) {
		if ra.last != nil {
			return ra.last
		}
		if ra.cur.data != nil {
			ra.empty <- ra.cur.data[:cap(ra.cur.data)]
			ra.cur.data = nil
		}
		if ra.cur.err != nil {
			ra.last = ra.cur.err
			return ra.last
		}
		select {
		case ra.cur = <-ra.full:
		case <-ra.done:
			// Closed under a reader that is still going (net/http may read
			// an upload body after the request returned): stop it.
			ra.last = errReadAheadClosed
			return ra.last
		}
		ra.off = 0
	}
	return nil
}

// errReadAheadClosed is what Read returns once Close was called.
var errReadAheadClosed = errors.New("read-ahead closed")

// Close stops the goroutine, then closes r.
func (ra *readAhead) Close() error {
	var err error
	ra.once.Do(func() {
		close(ra.done)
		if ra.abort != nil {
			ra.abort()
		}
		ra.wg.Wait()
		err = ra.r.Close()
	})
	return err
}
