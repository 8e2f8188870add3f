// Command ck keeps an OpenStack site's Glance images in sync with the signed
// HEPiX image lists it subscribes to.
package main

import (
	"os"

	"github.com/ck-sync/ck/pkg/cli/root"
)

func main() { os.Exit(root.Main()) }
