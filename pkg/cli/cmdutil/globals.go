package cmdutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// Globals are the flags every command takes (spec §2). Each can also be set
// by the environment variable CK_<NAME> and by the YAML file --config;
// precedence is flag > environment > file > default.
type Globals struct {
	Config         string
	ImageListsFile string
	// AtropeSources is an atrope sources.yaml read instead of
	// ImageListsFile: its sources become the subscriptions and their
	// settings lists: entries (see atrope.go).
	AtropeSources string
	CADir         string
	MappingFile   string
	OSCloud       string
	Tag           string
	Parallel      int
	Output        string
	LogLevel      string
	LogFormat     string
	Progress      string
	LockFile      string
	MetricsFile   string
	Timeout       time.Duration
	RunTimeout    time.Duration
	ExtraCAFile   string
	// SealKeyFile holds the key of ck's seals (plan.Seal); "" derives it
	// from the clouds.yaml cloud's own secret (glance.Service.SealKey).
	SealKeyFile string
	// Site names the site this run is for, when one host runs ck for
	// many: a site label on every metric and a site attribute on every
	// log record. "" (the default) adds neither.
	Site string

	RequireCRL            bool
	InsecureAllowUnsigned bool

	// ListEntries are the config file's lists: entries, settings for one
	// subscription each (spec §4.5), and those made from AtropeSources;
	// see ListEntry.
	ListEntries []ListEntry
	// atrope holds what AtropeSources says, once loaded.
	atrope *atropeSite
}

// Defaults for the global flags.
const (
	DefaultImageListsFile = "/etc/cloudkeeper/image-lists.conf"
	DefaultCADir          = "/etc/grid-security/certificates"
	DefaultMappingFile    = "/etc/cloudkeeper-os/mapping.json"
)

// BindGlobals registers the global flags on fs.
func BindGlobals(fs *pflag.FlagSet, g *Globals) {
	fs.StringVar(&g.Config, "config", "", "YAML configuration file (keys are global flag names, plus lists: for pins)")
	fs.StringVar(&g.ImageListsFile, "image-lists-file", DefaultImageListsFile, "list subscriptions, one URL per line (cloudkeeper's format)")
	fs.StringVar(&g.SealKeyFile, "seal-key-file", "", "key of ck's seals on the images it verified (32 or more random bytes; default: derived from the clouds.yaml cloud's password or application-credential secret)")
	fs.StringVar(&g.AtropeSources, "atrope-sources", "", "atrope's sources.yaml, read instead of --image-lists-file: its HEPiX and Harbor sources and their settings")
	fs.StringVar(&g.CADir, "ca-dir", DefaultCADir, "trust anchors and CRLs for list signatures (IGTF layout)")
	fs.StringVar(&g.MappingFile, "mapping-file", DefaultMappingFile, "VO to OpenStack project mapping (cloudkeeper-os format)")
	fs.StringVar(&g.OSCloud, "os-cloud", os.Getenv("OS_CLOUD"), "cloud in clouds.yaml (default $OS_CLOUD)")
	fs.StringVar(&g.Tag, "tag", "ck", "Glance tag that marks ck's images")
	fs.IntVar(&g.Parallel, "parallel", 2, "lists fetched and images transferred at once")
	fs.StringVarP(&g.Output, "output", "o", "text", "output format: text or json")
	fs.StringVar(&g.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&g.LogFormat, "log-format", "text", "log format on stderr: text or json")
	fs.StringVar(&g.Progress, "progress", "auto", "progress on stderr: auto (bars only on a terminal), always, never, or log (a log line per image every 30 s)")
	fs.StringVar(&g.LockFile, "lock-file", "", "take an exclusive lock on this file; exit 75 if another run holds it")
	fs.StringVar(&g.MetricsFile, "metrics-file", "", "after sync, diff, verify or prune, write Prometheus metrics of the run to this file (node_exporter textfile collector)")
	fs.DurationVar(&g.Timeout, "timeout", 60*time.Second, "timeout of each list download; how long an image download may go without a byte; the wait for each Glance answer (at least 30s)")
	fs.DurationVar(&g.RunTimeout, "run-timeout", 6*time.Hour, "timeout of the whole run (0: none)")
	fs.StringVar(&g.ExtraCAFile, "extra-ca-file", "", "extra PEM CA certificates for HTTPS list and image servers")
	fs.StringVar(&g.Site, "site", "", "name of the site this run is for (one host, many sites): a site label on every metric and a site attribute on every log line")
	fs.BoolVar(&g.RequireCRL, "require-crl", false, "refuse lists whose signer's issuers have no current CRL in --ca-dir")
	fs.BoolVar(&g.InsecureAllowUnsigned, "insecure-allow-unsigned", false, "accept unsigned JSON lists (INSECURE: for testing only)")
}

// EnvName is the environment variable that sets a flag: CK_ + upper-case
// name with dashes as underscores (--ca-dir → CK_CA_DIR).
func EnvName(flag string) string {
	return "CK_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// ApplyEnvAndConfig fills every flag the user did not set on the command
// line, first from CK_* variables, then from the --config file.
//
// The command's own settings (local: --name-prefix, --share-mode,
// --convert-to, …) come from the same places, so that one file holds a
// site's whole configuration; known says which names are such settings of
// some ck command, so that a file shared by sync and prune is not refused
// for a key only one of them takes.
func ApplyEnvAndConfig(fs, local *pflag.FlagSet, known func(string) bool, g *Globals, getenv func(string) string) error {
	if !fs.Changed("config") {
		if v := getenv(EnvName("config")); v != "" {
			g.Config = v
		}
	}
	file := map[string]any{}
	if g.Config != "" {
		var err error
		if file, g.ListEntries, err = readConfig(g.Config); err != nil {
			return err
		}
		for key, v := range file {
			if (fs.Lookup(key) == nil && (known == nil || !known(key))) || key == "config" {
				return &UsageError{Flag: "--config", Reason: fmt.Sprintf("%s: unknown key %q (keys are flag names of ck's commands, and lists)", g.Config, key)}
			}
			if v == nil {
				// YAML's empty value: fmt would make it the text "<nil>".
				return &UsageError{Flag: "--config", Reason: fmt.Sprintf("%s: key %s has no value (write \"\" for an empty one, or remove the key)", g.Config, key)}
			}
		}
	}
	var err error
	apply := func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "config" {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if e := f.Value.Set(v); e != nil {
				err = &UsageError{Flag: EnvName(f.Name), Reason: e.Error()}
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if e := f.Value.Set(fmt.Sprint(v)); e != nil {
				err = &UsageError{Flag: "--config", Reason: fmt.Sprintf("%s: key %s: %v", g.Config, f.Name, e)}
			}
		}
	}
	fs.VisitAll(apply)
	if local != nil {
		local.VisitAll(func(f *pflag.Flag) {
			if known == nil || known(f.Name) {
				apply(f)
			}
		})
	}
	if err == nil && g.AtropeSources != "" {
		err = g.loadAtrope()
	}
	return err
}

func readConfig(path string) (map[string]any, []ListEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, &UsageError{Flag: "--config", Reason: err.Error()}
	}
	// Every other key is a flag name, checked by the caller. An entry of
	// lists: is decoded strictly: a misspelt pin (endorser-dn:) dropped
	// without a word would fail open.
	var doc struct {
		Lists []ListEntry    `yaml:"lists"`
		Flags map[string]any `yaml:",inline"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, &UsageError{Flag: "--config", Reason: fmt.Sprintf("%s: %v", path, err)}
	}
	if doc.Flags == nil {
		doc.Flags = map[string]any{}
	}
	if err := checkListEntries(doc.Lists); err != nil {
		return nil, nil, &UsageError{Flag: "--config", Reason: fmt.Sprintf("%s: %v", path, err)}
	}
	return doc.Flags, doc.Lists, nil
}

// Validate checks values that pflag cannot, naming the offending flag.
func (g *Globals) Validate() error {
	switch {
	case g.Output != "text" && g.Output != "json":
		return &UsageError{Flag: "--output", Reason: fmt.Sprintf("must be text or json, not %q", g.Output)}
	case g.LogFormat != "text" && g.LogFormat != "json":
		return &UsageError{Flag: "--log-format", Reason: fmt.Sprintf("must be text or json, not %q", g.LogFormat)}
	case g.Progress != "auto" && g.Progress != "always" && g.Progress != "never" && g.Progress != "log":
		return &UsageError{Flag: "--progress", Reason: fmt.Sprintf("must be auto, always, never or log, not %q", g.Progress)}
	case g.Parallel < 1:
		return &UsageError{Flag: "--parallel", Reason: fmt.Sprintf("must be at least 1, not %d", g.Parallel)}
	case g.Tag == "":
		return &UsageError{Flag: "--tag", Reason: "must not be empty"}
	case g.Timeout <= 0:
		return &UsageError{Flag: "--timeout", Reason: "must be positive"}
	case g.RunTimeout < 0:
		return &UsageError{Flag: "--run-timeout", Reason: "must not be negative"}
	case g.Site != "" && !validSite(g.Site):
		return &UsageError{Flag: "--site", Reason: fmt.Sprintf("%q: must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", g.Site)}
	}
	if _, err := ParseLevel(g.LogLevel); err != nil {
		return err
	}
	return nil
}

// validSite reports whether name can be a site name. The set is what a
// systemd instance name (ck-sync@NAME), a file name (/etc/ck/sites/NAME.yaml)
// and a label value all take unescaped, so one name works in each; a stray
// space or slash from a template is refused rather than carried along.
func validSite(name string) bool {
	if len(name) > 63 {
		return false
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return name != ""
}
