package plan

import "strings"

// mib is one mebibyte in bytes.
const mib = 1 << 20

// MinRAMMiB converts hv:ram_minimum to Glance's min_ram (MiB).
//
// AppDB writes MiB ("512"), while cloudkeeper-os divided the value as if it
// were bytes. The rule: a value below 1 048 576 is MiB and kept as is; a
// value of 1 048 576 or more is bytes (no image needs 1 TiB of RAM), and is
// converted to MiB rounding up so the minimum is never understated.
// Zero or negative means "no minimum" (0).
func MinRAMMiB(v int64) int {
	switch {
	case v <= 0:
		return 0
	case v < mib:
		return int(v)
	}
	return int((v + mib - 1) / mib)
}

// archAliases maps the spellings found in lists to the architecture names
// Glance documents (libosinfo's): x86_64, aarch64, i686, ppc64le, ...
var archAliases = map[string]string{
	"x86_64": "x86_64", "x86-64": "x86_64", "amd64": "x86_64", "x64": "x86_64", "em64t": "x86_64",
	"aarch64": "aarch64", "arm64": "aarch64", "armv8": "aarch64",
	"i386": "i686", "i486": "i686", "i586": "i686", "i686": "i686", "x86": "i686", "ia32": "i686",
	"armv7l": "armv7l", "armv7": "armv7l", "armhf": "armv7l",
	"ppc64le": "ppc64le", "ppc64el": "ppc64le", "ppc64": "ppc64",
	"s390x": "s390x", "riscv64": "riscv64",
}

// NormalizeArch maps sl:arch to Glance's architecture value: known aliases
// to their canonical name (table above), anything else lower-cased.
func NormalizeArch(arch string) string {
	a := strings.ToLower(strings.TrimSpace(arch))
	if canon, ok := archAliases[a]; ok {
		return canon
	}
	return a
}

// distroAliases maps distribution names found in lists to os_distro values.
// Glance documents ubuntu, centos, debian, fedora, rhel, rocky, opensuse,
// sles, windows, freebsd, ...; for distributions it does not list we use
// libguestfs's inspection names (scientificlinux, almalinux, oraclelinux),
// which is what virt tools write.
var distroAliases = map[string]string{
	"ubuntu": "ubuntu",
	"debian": "debian", "debian gnu/linux": "debian",
	"centos": "centos", "centos linux": "centos", "centos stream": "centos",
	"fedora": "fedora",
	"rocky":  "rocky", "rocky linux": "rocky", "rockylinux": "rocky",
	"almalinux": "almalinux", "alma linux": "almalinux", "alma": "almalinux",
	"scientific linux": "scientificlinux", "scientificlinux": "scientificlinux",
	"scientific": "scientificlinux", "sl": "scientificlinux",
	"red hat enterprise linux": "rhel", "rhel": "rhel", "redhat": "rhel", "red hat": "rhel",
	"oracle linux": "oraclelinux", "oraclelinux": "oraclelinux",
	"opensuse": "opensuse", "opensuse leap": "opensuse", "opensuse tumbleweed": "opensuse",
	"sles": "sles", "suse linux enterprise server": "sles",
	"windows": "windows", "microsoft windows": "windows",
	"freebsd": "freebsd", "arch linux": "arch", "archlinux": "arch",
	"cirros": "cirros",
}

// genericOS are sl:os family names that say nothing about the distribution;
// writing os_distro=linux would mislead schedulers and cloud-info-provider.
var genericOS = map[string]bool{"linux": true, "other": true, "unknown": true, "unix": true}

// NormalizeDistro maps sl:osname (or sl:os) to an os_distro value: known
// names through the table above; a generic family such as "Linux" gives ""
// (the property is then omitted); anything else is lower-cased with runs of
// spaces turned into "-".
func NormalizeDistro(name string) string {
	n := strings.Join(strings.Fields(strings.ToLower(name)), " ")
	if canon, ok := distroAliases[n]; ok {
		return canon
	}
	if genericOS[n] {
		return ""
	}
	return strings.ReplaceAll(n, " ", "-")
}
