package plan_test

import (
	"testing"

	"github.com/ck-sync/ck/pkg/plan"
)

func TestMinRAMMiB(t *testing.T) {
	tests := []struct {
		name string
		in   int64
		want int
	}{
		{name: "absent", in: 0, want: 0},
		{name: "negative", in: -1, want: 0},
		{name: "AppDB MiB", in: 512, want: 512},
		{name: "largest MiB value", in: 1048575, want: 1048575},
		{name: "threshold is bytes", in: 1048576, want: 1},
		{name: "bytes round up", in: 1048577, want: 2},
		{name: "cloudkeeper-os style 512 MiB in bytes", in: 536870912, want: 512},
		{name: "2 GiB in bytes", in: 2147483648, want: 2048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plan.MinRAMMiB(tt.in); got != tt.want {
				t.Errorf("MinRAMMiB(%d) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeArch(t *testing.T) {
	tests := []struct{ in, want string }{
		{"x86_64", "x86_64"}, {"amd64", "x86_64"}, {"X86-64", "x86_64"}, {" AMD64 ", "x86_64"},
		{"arm64", "aarch64"}, {"aarch64", "aarch64"},
		{"i386", "i686"}, {"i686", "i686"}, {"x86", "i686"},
		{"ppc64el", "ppc64le"}, {"armhf", "armv7l"},
		{"SPARC", "sparc"}, {"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := plan.NormalizeArch(tt.in); got != tt.want {
				t.Errorf("NormalizeArch(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeDistro(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ubuntu", "ubuntu"}, {"CentOS", "centos"}, {"CentOS Stream", "centos"},
		{"Debian GNU/Linux", "debian"}, {"Fedora", "fedora"},
		{"Rocky Linux", "rocky"}, {"AlmaLinux", "almalinux"},
		{"Scientific Linux", "scientificlinux"}, {"SL", "scientificlinux"},
		{"Red Hat Enterprise Linux", "rhel"}, {"openSUSE  Leap", "opensuse"},
		{"Windows", "windows"},
		{"Linux", ""}, {"Other", ""}, {"", ""},
		{"Gentoo Linux", "gentoo-linux"}, {"  CirrOS ", "cirros"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := plan.NormalizeDistro(tt.in); got != tt.want {
				t.Errorf("NormalizeDistro(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
