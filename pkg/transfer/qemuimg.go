package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoQemuImg is matched (errors.Is) when conversion is asked for and
// qemu-img cannot be found.
var ErrNoQemuImg = errors.New("qemu-img not found: install it (Debian/Ubuntu: apt-get install qemu-utils) or drop --convert-to")

// QemuImg runs the qemu-img tool.
type QemuImg struct {
	// Path is the program; "" means "qemu-img" looked up in $PATH.
	Path string
}

// lookPath resolves the program, failing with ErrNoQemuImg.
func (q QemuImg) lookPath() (string, error) {
	name := q.Path
	if name == "" {
		name = "qemu-img"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNoQemuImg, err)
	}
	return p, nil
}

// ImageInfo is the part of `qemu-img info --output=json` that ck reads.
type ImageInfo struct {
	Format          string `json:"format"`
	VirtualSize     int64  `json:"virtual-size"`
	BackingFilename string `json:"backing-filename"`
	FormatSpecific  struct {
		Type string `json:"type"`
		Data struct {
			DataFile string `json:"data-file"` // qcow2 external data file
			Extents  []struct {
				Filename string `json:"filename"`
			} `json:"extents"` // vmdk
		} `json:"data"`
	} `json:"format-specific"`
}

// qemuFormat is qemu's name for a Glance disk_format.
func qemuFormat(diskFormat string) string {
	switch diskFormat {
	case "vhd":
		return "vpc"
	case "iso":
		return "raw"
	}
	return diskFormat
}

// Info runs `qemu-img info --output=json` on path, read as diskFormat (never
// probed: probing lets a raw disk pose as a qcow2 that names host files).
func (q QemuImg) Info(ctx context.Context, path, diskFormat string) (ImageInfo, error) {
	out, err := q.run(ctx, "info", "--output=json", "-f", qemuFormat(diskFormat), path)
	if err != nil {
		return ImageInfo{}, err
	}
	var info ImageInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return ImageInfo{}, fmt.Errorf("qemu-img info: unreadable output: %w", err)
	}
	return info, nil
}

// External names what info says lives outside the file (a backing file, an
// external data file, a vmdk extent elsewhere), or "" when the file is
// self-contained.
func (info ImageInfo) External(path string) string {
	if info.BackingFilename != "" {
		return "backing file " + info.BackingFilename
	}
	if f := info.FormatSpecific.Data.DataFile; f != "" {
		return "external data file " + f
	}
	for _, e := range info.FormatSpecific.Data.Extents {
		if e.Filename != "" && filepath.Clean(e.Filename) != filepath.Clean(path) {
			return "vmdk extent in " + e.Filename
		}
	}
	return ""
}

// Convert runs `qemu-img convert` from src (read as srcFormat) to dst in
// dstFormat (raw or qcow2).
func (q QemuImg) Convert(ctx context.Context, src, srcFormat, dst, dstFormat string) error {
	_, err := q.run(ctx, "convert", "-f", qemuFormat(srcFormat), "-O", dstFormat, src, dst)
	return err
}

// run runs qemu-img with args; the process is killed when ctx ends.
func (q QemuImg) run(ctx context.Context, args ...string) ([]byte, error) {
	p, err := q.lookPath()
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("qemu-img %s: %w", args[0], context.Cause(ctx))
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("qemu-img %s: %s", args[0], msg)
	}
	return stdout.Bytes(), nil
}
