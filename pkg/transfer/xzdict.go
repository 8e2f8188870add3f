package transfer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// xzMaxDict bounds the LZMA2 dictionary an xz block may ask for, as
// zstdMaxMemory bounds zstd's window. github.com/ulikunitz/xz allocates the
// whole dictionary a block header declares before it decodes a byte (its
// ReaderConfig.DictCap is a floor, not a cap), so a 284-byte file could make
// it take 1.5 GiB, or 4 GiB. xz -9 uses 64 MiB.
const xzMaxDict = zstdMaxMemory

// DictError is a compressed stream that needs a larger decoder dictionary
// than ck allows.
type DictError struct {
	Name   string // the image, as Source.Name
	Format string // xz
	Block  int    // 1-based, counting across concatenated streams
	Need   int64  // bytes the block header asks for
	Limit  int64  // bytes allowed
}

// Error renders "<name>: xz block <n> needs a dictionary of <need> MiB,
// more than the <limit> MiB allowed (the decoder memory bound)".
func (e *DictError) Error() string {
	name := e.Name
	if name == "" {
		name = "image"
	}
	return fmt.Sprintf("%s: %s block %d needs a dictionary of %s, more than the %s allowed (the decoder memory bound)",
		name, e.Format, e.Block, mibText(e.Need), mibText(e.Limit))
}

// mibText renders n bytes in MiB when whole, in bytes otherwise.
func mibText(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes (%d MiB)", n, (n+1<<20-1)>>20)
}

// errXZFraming is matched by the guard's refusals of a stream it cannot
// follow; the decoder would refuse such a stream too.
var errXZFraming = errors.New("malformed xz stream")

// xzGuard sits between an xz stream and its decoder. It follows the
// container's framing (stream header, block headers, LZMA2 chunk headers,
// index, footer, stream padding) without decoding anything, and holds back
// each block header until it has checked the dictionary size it asks for.
// The decoder therefore never sees, and never allocates for, a block that
// asks for more than the limit. Anything the guard cannot follow is refused:
// it fails closed rather than let an unchecked header through.
type xzGuard struct {
	src   *bufio.Reader
	name  string
	limit int64

	out   []byte // checked bytes not yet handed on
	buf   []byte // out's backing array
	pass  int64  // bytes of chunk data, padding or checks to hand on unparsed
	state func() error
	err   error

	check  int   // check field size of the current stream
	block  int64 // bytes of the current block so far, for its padding
	blocks int   // blocks seen, for messages
	left   uint64
	index  int64 // bytes of the current index so far, for its padding
}

func newXZGuard(r io.Reader, limit int64, name string) *xzGuard {
	g := &xzGuard{src: bufio.NewReaderSize(r, 4096), name: name, limit: limit}
	g.state = g.streamHeader
	return g
}

func (g *xzGuard) Read(p []byte) (int, error) {
	for len(g.out) == 0 && g.pass == 0 {
		if g.err != nil {
			return 0, g.err
		}
		if err := g.state(); err != nil {
			// Whatever the failed step queued (a refused block header)
			// never reaches the decoder.
			g.out, g.pass, g.err = nil, 0, err
		}
	}
	if len(g.out) > 0 {
		n := copy(p, g.out)
		g.out = g.out[n:]
		return n, nil
	}
	if int64(len(p)) > g.pass {
		p = p[:g.pass]
	}
	n, err := g.src.Read(p)
	g.pass -= int64(n)
	if err == io.EOF {
		// The end is only an error inside a unit; at a unit's end the
		// next step meets it again and judges it.
		err = nil
		if g.pass > 0 {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		g.err = err
	}
	return n, err
}

// take reads exactly n bytes from the source and queues them for the decoder.
func (g *xzGuard) take(n int) ([]byte, error) {
	if len(g.out) == 0 {
		g.out = g.buf[:0] // reuse the queue's space once it is handed on
	}
	start := len(g.out)
	g.out = append(g.out, make([]byte, n)...)
	g.buf = g.out
	if _, err := io.ReadFull(g.src, g.out[start:]); err != nil {
		g.out = g.out[:start]
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return g.out[start:], nil
}

// malformed wraps errXZFraming with what was wrong.
func (g *xzGuard) malformed(format string, a ...any) error {
	return fmt.Errorf("%s: xz: %w: %s", g.name, errXZFraming, fmt.Sprintf(format, a...))
}

func (g *xzGuard) streamHeader() error {
	h, err := g.take(12)
	if err != nil {
		return err
	}
	if !bytes.Equal(h[:6], []byte("\xfd7zXZ\x00")) {
		return g.malformed("no stream header where one must start")
	}
	id := int(h[7] & 0x0f)
	g.check = 0
	if id > 0 {
		// Check IDs come in threes of 4, 8, 16, 32 and 64 bytes.
		g.check = 4 << ((id - 1) / 3)
	}
	g.state = g.blockOrIndex
	return nil
}

// blockOrIndex reads a block header, checking its dictionary, or the
// index indicator that ends the stream's blocks.
func (g *xzGuard) blockOrIndex() error {
	b, err := g.take(1)
	if err != nil {
		return err
	}
	if b[0] == 0 {
		g.index, g.state = 1, g.indexCount
		return nil
	}
	size := (int(b[0]) + 1) * 4
	rest, err := g.take(size - 1)
	if err != nil {
		return err
	}
	g.blocks++
	if err := g.checkFilters(rest[:len(rest)-4]); err != nil {
		return err
	}
	g.block, g.state = int64(size), g.chunk
	return nil
}

// checkFilters reads the block flags and filter flags of a block header
// (after its size byte, without its CRC32) and refuses an LZMA2 dictionary
// above the limit.
func (g *xzGuard) checkFilters(h []byte) error {
	r := bytes.NewReader(h)
	flags, err := r.ReadByte()
	if err != nil {
		return g.malformed("block %d header is empty", g.blocks)
	}
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} { // compressed and uncompressed sizes
		if present {
			if _, err := binary.ReadUvarint(r); err != nil {
				return g.malformed("block %d header: bad size field", g.blocks)
			}
		}
	}
	for range int(flags&3) + 1 {
		id, err1 := binary.ReadUvarint(r)
		n, err2 := binary.ReadUvarint(r)
		if err1 != nil || err2 != nil || n > uint64(r.Len()) {
			return g.malformed("block %d header: bad filter flags", g.blocks)
		}
		props := make([]byte, n)
		_, _ = r.Read(props)
		if id != 0x21 { // LZMA2; the others (delta, BCJ) allocate little
			continue
		}
		if n != 1 || props[0] > 40 {
			return g.malformed("block %d header: bad LZMA2 dictionary property", g.blocks)
		}
		if need := xzDictSize(props[0]); need > g.limit {
			return &DictError{Name: g.name, Format: "xz", Block: g.blocks, Need: need, Limit: g.limit}
		}
	}
	return nil
}

// xzDictSize decodes the LZMA2 dictionary property: 2 or 3 times a power of
// two from 4 KiB up, and 40 for 4 GiB - 1.
func xzDictSize(code byte) int64 {
	if code == 40 {
		return 1<<32 - 1
	}
	return int64(2|code&1) << (code/2 + 11)
}

// chunk reads one LZMA2 chunk header and passes its data on.
func (g *xzGuard) chunk() error {
	c, err := g.take(1)
	if err != nil {
		return err
	}
	switch control := c[0]; {
	case control == 0: // end of the block's data: padding and check follow
		g.block++
		g.pass = (4-g.block%4)%4 + int64(g.check)
		g.state = g.blockOrIndex
	case control == 1 || control == 2: // uncompressed chunk
		h, err := g.take(2)
		if err != nil {
			return err
		}
		g.pass = int64(binary.BigEndian.Uint16(h)) + 1
		g.block += 3 + g.pass
	case control >= 0x80: // LZMA chunk, with a properties byte from 0xc0
		n := 4
		if control >= 0xc0 {
			n = 5
		}
		h, err := g.take(n)
		if err != nil {
			return err
		}
		g.pass = int64(binary.BigEndian.Uint16(h[2:4])) + 1
		g.block += 1 + int64(n) + g.pass
	default:
		return g.malformed("block %d: LZMA2 control byte %#x", g.blocks, control)
	}
	return nil
}

// uvarint reads one index varint, queueing its bytes.
func (g *xzGuard) uvarint() (uint64, error) {
	var v uint64
	for i := 0; i < 9; i++ {
		b, err := g.take(1)
		if err != nil {
			return 0, err
		}
		g.index++
		v |= uint64(b[0]&0x7f) << (7 * i)
		if b[0] < 0x80 {
			return v, nil
		}
	}
	return 0, g.malformed("index: varint longer than 9 bytes")
}

func (g *xzGuard) indexCount() error {
	n, err := g.uvarint()
	if err != nil {
		return err
	}
	g.left, g.state = n, g.indexRecord
	return nil
}

// indexRecord reads one record per call (unpadded and uncompressed size),
// then the index padding, CRC32 and the stream footer.
func (g *xzGuard) indexRecord() error {
	if g.left == 0 {
		g.pass = (4-g.index%4)%4 + 4 + 12
		g.state = g.streamPadding
		return nil
	}
	for range 2 {
		if _, err := g.uvarint(); err != nil {
			return err
		}
	}
	g.left--
	return nil
}

// streamPadding reads what follows a stream: nothing, four zero bytes of
// padding, or the next stream.
func (g *xzGuard) streamPadding() error {
	next, err := g.src.Peek(4)
	switch {
	case len(next) == 0 && err == io.EOF:
		return io.EOF
	case err != nil && len(next) < 4:
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	case bytes.Equal(next, []byte{0, 0, 0, 0}):
		_, err := g.take(4)
		return err
	}
	g.state = g.streamHeader
	return nil
}
