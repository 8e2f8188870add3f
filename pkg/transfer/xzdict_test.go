package transfer

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os/exec"
	"testing"
	"testing/iotest"

	"github.com/ulikunitz/xz"

	"github.com/ck-sync/ck/pkg/transfer/imagetest"
)

// xzSample is data that compresses unevenly: zeros, text and random bytes,
// so that xz writes both LZMA and uncompressed LZMA2 chunks.
func xzSample(n int) []byte {
	b := make([]byte, 0, n)
	r := rand.NewChaCha8([32]byte{'x', 'z'})
	for len(b) < n {
		b = append(b, make([]byte, 70<<10)...)
		b = append(b, bytes.Repeat([]byte("ck block "), 5000)...)
		noise := make([]byte, 90<<10)
		_, _ = r.Read(noise)
		b = append(b, noise...)
	}
	return b[:n]
}

// TestXZGuardFollowsRealStreams: the guard follows the framing of what
// xz(1) and the Go encoder write (one or many blocks, every check type,
// concatenated streams with padding, an empty input) and hands on every
// byte unchanged, so the decoder reads exactly what it would without it.
func TestXZGuardFollowsRealStreams(t *testing.T) {
	sample := xzSample(3 << 20)
	streams := map[string]func(t *testing.T) []byte{
		"go encoder": func(t *testing.T) []byte {
			var b bytes.Buffer
			w, err := xz.WriterConfig{BlockSize: 1 << 20}.NewWriter(&b)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(sample)
			w.Close()
			return b.Bytes()
		},
		"crafted, two blocks": func(*testing.T) []byte {
			return imagetest.XZ(imagetest.XZBlock{DictCode: 10, Data: sample[:100<<10]}, imagetest.XZBlock{DictCode: 20, Data: sample[100<<10:]})
		},
	}
	xzTool := func(args ...string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			if _, err := exec.LookPath("xz"); err != nil {
				t.Skip("xz not installed")
			}
			cmd := exec.Command("xz", append([]string{"-c"}, args...)...)
			cmd.Stdin = bytes.NewReader(sample)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("xz %v: %v", args, err)
			}
			return out
		}
	}
	streams["xz -6"] = xzTool("-6")
	streams["xz -0 --check=none"] = xzTool("-0", "--check=none")
	streams["xz -1 --check=crc32"] = xzTool("-1", "--check=crc32")
	streams["xz -1 --check=sha256"] = xzTool("-1", "--check=sha256")
	streams["xz -T2 --block-size=256KiB (sizes in block headers)"] = xzTool("-1", "-T2", "--block-size=256KiB")
	for name, make := range streams {
		t.Run(name, func(t *testing.T) {
			data := make(t)
			// However the source splits its reads, and with the last
			// bytes coming with io.EOF as a Verifier may send them.
			for how, src := range map[string]io.Reader{
				"plain":         bytes.NewReader(data),
				"data with EOF": iotest.DataErrReader(bytes.NewReader(data)),
				"half reads":    iotest.HalfReader(iotest.DataErrReader(bytes.NewReader(data))),
			} {
				through, err := io.ReadAll(newXZGuard(src, xzMaxDict, "image T"))
				if err != nil || !bytes.Equal(through, data) {
					t.Fatalf("%s: guard passed %d of %d bytes, %v", how, len(through), len(data), err)
				}
			}
			_, got, err := unpackAll(t, data, hexSum(data), UnpackOptions{})
			if err != nil || !bytes.Equal(got, sample) {
				t.Fatalf("decoded %d bytes, %v; want the %d-byte sample", len(got), err, len(sample))
			}
		})
	}
	t.Run("concatenated with padding, and empty", func(t *testing.T) {
		one := streams["go encoder"](t)
		var empty bytes.Buffer
		w, _ := xz.NewWriter(&empty)
		w.Close()
		data := bytes.Join([][]byte{one, make([]byte, 8), empty.Bytes(), one}, nil)
		through, err := io.ReadAll(newXZGuard(bytes.NewReader(data), xzMaxDict, "image T"))
		if err != nil || !bytes.Equal(through, data) {
			t.Fatalf("guard passed %d of %d bytes, %v", len(through), len(data), err)
		}
		r, _ := xz.NewReader(newXZGuard(bytes.NewReader(data), xzMaxDict, "image T"))
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, append(bytes.Clone(sample), sample...)) {
			t.Fatalf("decoded %d bytes, %v", len(got), err)
		}
	})
}

// TestXZGuardLimit: a dictionary exactly at the limit passes, the next size
// up is refused, and the refused header never reaches the reader.
func TestXZGuardLimit(t *testing.T) {
	const limit = 1 << 20 // dictionary code 16
	tests := []struct {
		code byte
		need int64
		ok   bool
	}{
		{0, 4 << 10, true},
		{15, 768 << 10, true},
		{16, 1 << 20, true},
		{17, 3 << 19, false},
		{40, 1<<32 - 1, false},
	}
	for _, tt := range tests {
		if got := xzDictSize(tt.code); got != tt.need {
			t.Errorf("xzDictSize(%d) = %d, want %d", tt.code, got, tt.need)
		}
		data := imagetest.XZ(imagetest.XZBlock{DictCode: tt.code, Data: []byte("disk")})
		through, err := io.ReadAll(newXZGuard(bytes.NewReader(data), limit, "image T"))
		var de *DictError
		switch {
		case tt.ok && (err != nil || !bytes.Equal(through, data)):
			t.Errorf("code %d: passed %d of %d bytes, %v", tt.code, len(through), len(data), err)
		case !tt.ok && (!errors.As(err, &de) || de.Need != tt.need || de.Limit != limit || de.Block != 1):
			t.Errorf("code %d: err = %v, want a DictError for block 1 (%d > %d)", tt.code, err, tt.need, limit)
		case !tt.ok && len(through) != 12:
			t.Errorf("code %d: %d bytes passed, want the 12-byte stream header only", tt.code, len(through))
		}
	}
}

// TestXZGuardFailsClosed: framing the guard cannot follow is an error, not
// a reason to stop checking.
func TestXZGuardFailsClosed(t *testing.T) {
	good := imagetest.XZ(imagetest.XZBlock{DictCode: 16, Data: []byte("disk")})
	tests := map[string][]byte{
		"truncated":                   good[:len(good)-5],
		"garbage after the stream":    append(bytes.Clone(good), "not xz"...),
		"bad LZMA2 control byte":      func() []byte { b := bytes.Clone(good); b[24] = 0x05; return b }(),
		"bad dictionary property":     func() []byte { b := bytes.Clone(good); b[16] = 41; return b }(),
		"second stream not xz":        append(bytes.Clone(good), "\xfd7zXY\x00\x00\x01\x00\x00\x00\x00"...),
		"padding not a multiple of 4": append(bytes.Clone(good), 0, 0),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := io.ReadAll(newXZGuard(bytes.NewReader(data), xzMaxDict, "image T"))
			if err == nil {
				t.Fatal("the guard read it to a clean end")
			}
		})
	}
}
