// Command ck-docs writes ck's man pages, one per command, generated from
// the same cobra tree as the binary (so they always match its --help):
//
//	go run ./cmd/ck-docs [-version V] DIR
//
// `make man` runs it into bin/man, and goreleaser before packaging.
// SOURCE_DATE_EPOCH, when set, fixes the date in the pages.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra/doc"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/root"
)

func main() {
	version := flag.String("version", cmdutil.Version, "version named in the pages' footer")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: ck-docs [-version V] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *version); err != nil {
		fmt.Fprintln(os.Stderr, "ck-docs:", err)
		os.Exit(1)
	}
}

func run(dir, version string) error {
	// A default taken from the environment (--os-cloud from $OS_CLOUD)
	// must not end up in the pages as the builder's value.
	os.Unsetenv("OS_CLOUD")
	red := &cmdutil.Redactor{}
	cmd := root.NewCmd(&cmdutil.Factory{
		IO:       cmdutil.System(red),
		Globals:  &cmdutil.Globals{},
		Redactor: red,
		Now:      time.Now,
		Getenv:   os.Getenv,
	})
	cmd.DisableAutoGenTag = true
	// cobra adds `completion` only when it executes; the pages need it now.
	cmd.InitDefaultCompletionCmd()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return doc.GenManTree(cmd, &doc.GenManHeader{
		Section: "1",
		Source:  "ck " + version,
		Manual:  "ck manual",
	}, dir)
}
