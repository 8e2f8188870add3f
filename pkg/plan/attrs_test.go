package plan

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestApplianceAttributesWithoutURLCredentials(t *testing.T) {
	raw := json.RawMessage(`{"dc:identifier":"i","hv:uri":"https://s3cr3tT0ken:x-oauth-basic@images.example.org/a.ova"}`)
	got := applianceAttributes(raw, "vo")
	if strings.Contains(got, "s3cr3tT0ken") || !strings.Contains(got, `"hv:uri":"https://images.example.org/a.ova"`) {
		t.Fatalf("APPLIANCE_ATTRIBUTES = %s", got)
	}
}
