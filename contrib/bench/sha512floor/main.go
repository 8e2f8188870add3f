// Command sha512floor hashes a file once with Go's sha512, as ck's verifier
// hashes a download, and prints the digest. contrib/bench/bench.sh runs it
// under /usr/bin/time to measure what one sha512 pass over an image costs
// on the machine at hand: the floor for ck's CPU seconds per GiB.
package main

import (
	"crypto/sha512"
	"fmt"
	"io"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sha512floor FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sha512floor:", err)
		os.Exit(1)
	}
	defer f.Close()
	h := sha512.New()
	// Plain reads into one buffer: *os.File's WriteTo would copy through
	// 32 KiB pieces instead.
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, make([]byte, 1<<20)); err != nil {
		fmt.Fprintln(os.Stderr, "sha512floor:", err)
		os.Exit(1)
	}
	fmt.Printf("%x  %s\n", h.Sum(nil), os.Args[1])
}
