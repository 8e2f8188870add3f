package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strings"

	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
)

// Auth is how ck authenticates to one registry source (a lists: entry of
// the config file). The zero value is anonymous access.
type Auth struct {
	// Username and PasswordFile: a Harbor robot account or any registry
	// user; the file holds the password (or robot secret), one line.
	Username     string
	PasswordFile string
	// Password is the password itself, when a file ck reads holds it
	// inline (atrope's sources.yaml auth_password); never printed.
	Password string
	// DockerConfig is a Docker config file (~/.docker/config.json form):
	// the "auths" entry of the source's host is used. Credential helpers
	// (credsStore, credHelpers) are not run: ck never starts a program to
	// get a secret, and never prompts.
	DockerConfig string
}

// EnvAuthFile is the variable that names a Docker config file for
// sources without auth settings (as podman and skopeo read it).
const EnvAuthFile = "REGISTRY_AUTH_FILE"

// Credential is a source's resolved credential for its host. Its String
// form never shows a secret.
type Credential struct {
	host string
	cred auth.Credential
	from string // where it came from, for messages: "anonymous", "password_file …", "docker_config …"
}

// String says where the credential came from, never what it is.
func (c Credential) String() string { return c.from }

// Anonymous reports whether no credential is used.
func (c Credential) Anonymous() bool { return c.cred == auth.EmptyCredential }

// Secrets returns every secret the credential holds, and the encodings
// they travel in, for the redactor.
func (c Credential) Secrets() []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	add(c.cred.Password)
	add(c.cred.RefreshToken)
	add(c.cred.AccessToken)
	if c.cred.Password != "" {
		add(base64.StdEncoding.EncodeToString([]byte(c.cred.Username + ":" + c.cred.Password)))
	}
	return out
}

// basic returns the user name and password for Harbor's REST API, which
// takes HTTP Basic credentials only.
func (c Credential) basic() (string, string, bool) {
	if c.cred.Username == "" || c.cred.Password == "" {
		return "", "", false
	}
	return c.cred.Username, c.cred.Password, true
}

// credentialFunc is the credential as oras-go asks for it.
func (c Credential) credentialFunc() auth.CredentialFunc {
	if c.Anonymous() {
		return nil
	}
	return auth.StaticCredential(c.host, c.cred)
}

// Load resolves a's credential for host (host[:port] as in ociref.Ref.Host).
// getenv reads REGISTRY_AUTH_FILE when a sets nothing; a host that file
// has no entry for is read anonymously, while a docker_config the source
// names must hold its host. Errors name the file and the problem, never a
// secret.
func (a Auth) Load(host string, getenv func(string) string) (Credential, error) {
	switch {
	case a.Password != "" && a.Username == "":
		// Anonymous access here would hide the mistake until the registry
		// refused it, or serve a public image in the private one's place.
		return Credential{}, errors.New("auth: a password without a username")
	case a.Username != "" && a.Password != "":
		if a.PasswordFile != "" || a.DockerConfig != "" {
			return Credential{}, errors.New("auth: an inline password, and a password_file or docker_config")
		}
		return Credential{host: host, cred: auth.Credential{Username: a.Username, Password: a.Password}, from: "username " + a.Username}, nil
	case a.Username != "" || a.PasswordFile != "":
		if a.DockerConfig != "" {
			return Credential{}, errors.New("auth: set username and password_file, or docker_config, not both")
		}
		if a.Username == "" || a.PasswordFile == "" {
			return Credential{}, errors.New("auth: username and password_file go together")
		}
		data, err := os.ReadFile(a.PasswordFile)
		if err != nil {
			return Credential{}, fmt.Errorf("auth: password_file: %w", err)
		}
		pass := strings.TrimRight(string(data), "\r\n")
		if pass == "" || strings.ContainsAny(pass, "\r\n") {
			return Credential{}, fmt.Errorf("auth: password_file %s: want the password on one line", a.PasswordFile)
		}
		return Credential{host: host, cred: auth.Credential{Username: a.Username, Password: pass}, from: "username " + a.Username + " (password_file " + a.PasswordFile + ")"}, nil
	case a.DockerConfig != "":
		return dockerConfig(a.DockerConfig, host, "docker_config")
	}
	if getenv != nil {
		if f := getenv(EnvAuthFile); f != "" {
			// REGISTRY_AUTH_FILE serves every host it names; for the others
			// access is anonymous, as podman and skopeo read it.
			c, err := dockerConfig(f, host, EnvAuthFile)
			if errors.Is(err, errNoEntry) {
				return Credential{host: host, from: "anonymous (" + EnvAuthFile + " " + f + " has no auths entry for " + host + ")"}, nil
			}
			return c, err
		}
	}
	return Credential{host: host, from: "anonymous"}, nil
}

// errNoEntry is dockerConfig's error when the file holds nothing for the
// host, neither an auths entry nor a credential helper.
var errNoEntry = errors.New("no auths entry")

// dockerConfig reads the credential of host from a Docker config file.
func dockerConfig(path, host, setting string) (Credential, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Credential{}, fmt.Errorf("auth: %s: %w", setting, err)
	}
	var helpers struct {
		CredsStore  string            `json:"credsStore"`
		CredHelpers map[string]string `json:"credHelpers"`
	}
	if err := json.Unmarshal(data, &helpers); err != nil {
		return Credential{}, fmt.Errorf("auth: %s %s: not a Docker config file (JSON): %v", setting, path, jsonProblem(err))
	}
	store, err := credentials.NewMemoryStoreFromDockerConfig(data)
	if err != nil {
		// The error may quote a malformed "auth" value: say only which file.
		return Credential{}, fmt.Errorf("auth: %s %s: an auths entry is malformed (want base64 of user:password in \"auth\")", setting, path)
	}
	cred, err := store.Get(context.Background(), host)
	if err != nil {
		return Credential{}, fmt.Errorf("auth: %s %s: %v", setting, path, err)
	}
	if cred == auth.EmptyCredential {
		if h := helpers.CredHelpers[host]; h != "" || helpers.CredsStore != "" {
			return Credential{}, fmt.Errorf("auth: %s %s: the credentials of %s are kept by a credential helper; ck runs no helper: put them in the file's auths, or use username and password_file", setting, path, host)
		}
		return Credential{}, fmt.Errorf("auth: %s %s: %w for %s", setting, path, errNoEntry, host)
	}
	return Credential{host: host, cred: cred, from: setting + " " + path}, nil
}

// jsonProblem keeps a JSON error's position, never the bytes around it.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s has the wrong type", te.Field)
	}
	return "invalid"
}

// realmBlocklist is the address prefixes a Bearer challenge's token realm
// must not be on: nil is oras-go's default (loopback, link-local,
// unspecified, cloud metadata), so that a registry cannot send ck's
// credentials to a service of the host it runs on. Tests of the Bearer
// flow, whose token server is on loopback, empty it.
var realmBlocklist []netip.Prefix

// newAuthClient is oras-go's auth client over base with cred: it answers
// Basic and Bearer challenges, caches tokens for its life, and never sends
// Authorization to another origin than the one that asked for it.
func newAuthClient(base *http.Client, cred Credential) *auth.Client {
	return &auth.Client{Client: base, Credential: cred.credentialFunc(), Cache: auth.NewCache(), BlockedRealmPrefixes: realmBlocklist}
}
