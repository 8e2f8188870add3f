package imagelist

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadSubscriptions(t *testing.T) {
	appdb := "https://" + token + ":x-oauth-basic@vmcaster.appdb.egi.eu/store/vo/ops/image.list"
	tests := []struct {
		name    string
		content string
		want    []string
		errText string
	}{
		{
			name: "cloudkeeper file with comments and blank lines",
			content: "# One image list per line\n# Lines can be commented if started with \"#\"\n\n" +
				appdb + "\n  https://example.org/b.list   # trailing comment\n\t# indented comment\nfile:///var/lib/ck/c.list\n",
			want: []string{appdb, "https://example.org/b.list", "file:///var/lib/ck/c.list"},
		},
		{name: "CRLF and BOM", content: "\ufeff" + appdb + "\r\n/srv/x.list\r\n", want: []string{appdb, "/srv/x.list"}},
		{name: "no final newline", content: "https://example.org/a.list", want: []string{"https://example.org/a.list"}},
		{name: "fragment without space is kept", content: "https://example.org/a.list#frag\n", want: []string{"https://example.org/a.list#frag"}},
		{name: "repeats dropped", content: "https://example.org/a\nhttps://example.org/a # again\n", want: []string{"https://example.org/a"}},
		{name: "only comments", content: "# nothing yet\n\n", want: nil},
		{name: "unsupported scheme names the line", content: "https://example.org/a\nftp://" + token + ":pw@example.org/x\n",
			errText: `:2: list source ftp://REDACTED@example.org/x: unsupported scheme "ftp"`},
		{name: "two URLs on a line", content: appdb + " https://example.org/b\n",
			errText: ":1: https://REDACTED@vmcaster.appdb.egi.eu/store/vo/ops/image.list …: want one URL or path per line"},
		{name: "invalid URL with credentials", content: "\nhttps://" + token + ":pw%zz@host/x\n", errText: ":2: list source https://REDACTED@host/x: invalid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "image-lists.conf")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadSubscriptions(path)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), path+tt.errText) {
					t.Fatalf("error = %v, want it to contain %q", err, path+tt.errText)
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("error leaks the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadSubscriptionsMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.conf")
	_, err := ReadSubscriptions(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error = %v, want it to name %s", err, path)
	}
}
