package cmdutil

import (
	"runtime/debug"
)

// Build information, stamped by the linker (-X) in release builds; for a
// plain `go install` the module version and VCS data are read instead.
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// BuildInfo returns version, commit and date, falling back to what the Go
// toolchain recorded in the binary.
func BuildInfo() (version, commit, date string) {
	version, commit, date = Version, Commit, Date
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && commit == "":
			commit = s.Value
		case s.Key == "vcs.time" && date == "":
			date = s.Value
		}
	}
	return
}
