package registry

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"
)

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

func TestAuthLoad(t *testing.T) {
	dir := t.TempDir()
	pw := dir + "/pw"
	_ = writeFile(pw, "robot-secret\n")
	empty := dir + "/empty"
	_ = writeFile(empty, "\n")
	b64 := base64.StdEncoding.EncodeToString([]byte("alice:docker-secret"))
	docker := dir + "/config.json"
	_ = writeFile(docker, `{"auths":{"127.0.0.1:5444":{"auth":"`+b64+`"},"other.example":{"identitytoken":"id-tok"}}}`)
	helper := dir + "/helper.json"
	_ = writeFile(helper, `{"auths":{},"credHelpers":{"127.0.0.1:5444":"pass"}}`)
	otherHost := dir + "/other.json"
	_ = writeFile(otherHost, `{"auths":{"other.example":{"auth":"`+b64+`"}}}`)
	broken := dir + "/broken.json"
	_ = writeFile(broken, `{"auths":{"127.0.0.1:5444":{"auth":"!!notbase64-docker-secret"}}}`)

	tests := []struct {
		name    string
		a       Auth
		env     map[string]string
		user    string
		secret  string
		wantErr string
	}{
		{"anonymous", Auth{}, nil, "", "", ""},
		{"password file", Auth{Username: "robot$ck", PasswordFile: pw}, nil, "robot$ck", "robot-secret", ""},
		{"docker config", Auth{DockerConfig: docker}, nil, "alice", "docker-secret", ""},
		{"REGISTRY_AUTH_FILE", Auth{}, map[string]string{EnvAuthFile: docker}, "alice", "docker-secret", ""},
		{"settings beat REGISTRY_AUTH_FILE", Auth{Username: "robot$ck", PasswordFile: pw}, map[string]string{EnvAuthFile: docker}, "robot$ck", "robot-secret", ""},
		{"both kinds", Auth{Username: "u", PasswordFile: pw, DockerConfig: docker}, nil, "", "", "not both"},
		{"user without file", Auth{Username: "u"}, nil, "", "", "go together"},
		{"missing file", Auth{Username: "u", PasswordFile: dir + "/nope"}, nil, "", "", "no such file"},
		{"empty password", Auth{Username: "u", PasswordFile: empty}, nil, "", "", "one line"},
		{"missing docker config", Auth{DockerConfig: helper + ".x"}, nil, "", "", "no such file"},
		{"host not in docker config", Auth{DockerConfig: otherHost}, nil, "", "", "no auths entry for 127.0.0.1:5444"},
		{"host not in REGISTRY_AUTH_FILE: anonymous", Auth{}, map[string]string{EnvAuthFile: otherHost}, "", "", ""},
		{"REGISTRY_AUTH_FILE missing", Auth{}, map[string]string{EnvAuthFile: dir + "/nope.json"}, "", "", "no such file"},
		{"REGISTRY_AUTH_FILE helper for the host", Auth{}, map[string]string{EnvAuthFile: helper}, "", "", "credential helper"},
		{"REGISTRY_AUTH_FILE malformed", Auth{}, map[string]string{EnvAuthFile: broken}, "", "", "malformed"},
		{"inline password", Auth{Username: "robot$ck", Password: "inline-secret"}, nil, "robot$ck", "inline-secret", ""},
		{"inline password without username", Auth{Password: "inline-secret"}, nil, "", "", "a password without a username"},
		{"inline password without username, REGISTRY_AUTH_FILE", Auth{Password: "inline-secret"}, map[string]string{EnvAuthFile: docker}, "", "", "a password without a username"},
		{"inline password without username, docker config", Auth{Password: "inline-secret", DockerConfig: docker}, nil, "", "", "a password without a username"},
		{"credential helper", Auth{DockerConfig: helper}, nil, "", "", "credential helper"},
		{"malformed auth", Auth{DockerConfig: broken}, nil, "", "", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.a.Load("127.0.0.1:5444", func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				for _, s := range []string{"robot-secret", "docker-secret", "inline-secret", b64} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error shows a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.secret == "" {
				if !c.Anonymous() {
					t.Errorf("not anonymous: %s", c)
				}
				return
			}
			u, p, ok := c.basic()
			if !ok || u != tt.user || p != tt.secret {
				t.Errorf("basic = %q %q %v", u, p, ok)
			}
			if strings.Contains(c.String(), tt.secret) {
				t.Errorf("String shows the secret: %s", c)
			}
			found := false
			for _, s := range c.Secrets() {
				found = found || s == tt.secret
			}
			if !found {
				t.Errorf("Secrets() lacks the password")
			}
		})
	}
}
