package imagelist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readTestdata(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var testSum = strings.Repeat("0123456789abcdef", 8)

// listDoc returns a minimal valid list with two images, as a Go value that
// tests mutate before marshalling.
func listDoc() map[string]any {
	return map[string]any{"hv:imagelist": map[string]any{
		"dc:identifier":   "list-1",
		"dc:date:expires": "2499-12-31T22:00:00Z",
		"hv:endorser": map[string]any{"hv:x509": map[string]any{
			"hv:dn": "/DC=org/CN=signer", "hv:ca": "/DC=org/CN=ca",
		}},
		"hv:images": []any{imageDoc("img-0"), imageDoc("img-1")},
	}}
}

func imageDoc(id string) map[string]any {
	return map[string]any{"hv:image": map[string]any{
		"dc:identifier":      id,
		"hv:uri":             "https://example.org/" + id + ".qcow2",
		"sl:checksum:sha512": testSum,
		"hv:size":            "1024",
	}}
}

func il(doc map[string]any) map[string]any { return doc["hv:imagelist"].(map[string]any) }

func endorserX509(doc map[string]any) map[string]any {
	return il(doc)["hv:endorser"].(map[string]any)["hv:x509"].(map[string]any)
}

func img(doc map[string]any, i int) map[string]any {
	return il(doc)["hv:images"].([]any)[i].(map[string]any)["hv:image"].(map[string]any)
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t *testing.T, payload []byte) *List {
	t.Helper()
	l, err := Parse(payload)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return l
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseAppDBSample(t *testing.T) {
	l := mustParse(t, readTestdata(t, "samples/cloudkeeper-mock-imagelist01.unsigned.json"))
	if l.ID != "76fdee70-8119-5d33-aaaa-3c57e1c60df1" || l.VO != "some1.vo.net" || l.Version != "20150618211400" {
		t.Errorf("list metadata: id %q vo %q version %q", l.ID, l.VO, l.Version)
	}
	if l.Endorser.DN != "/DC=XXX/DC=YYY/C=ZZZ/O=Hosts/O=AA.net/CN=some.unknown.source" ||
		l.Endorser.CA != "/DC=XXX/DC=YYY/CN=SOME TEST CA" || l.Endorser.Creator != "Applications Database" {
		t.Errorf("endorser: %+v", l.Endorser)
	}
	if !l.Expires.Equal(date("2499-12-31T22:00:00Z")) || !l.Created.Equal(date("2015-06-18T21:14:00Z")) {
		t.Errorf("dates: created %v expires %v", l.Created, l.Expires)
	}
	if len(l.Images) != 2 || len(l.Skipped) != 0 {
		t.Fatalf("images %d skipped %v", len(l.Images), l.Skipped)
	}
	first := l.Images[0]
	if first.ID != "c0482bc2-bf41-5d49-aaaa-a750174a186b" || first.Size != 121243136 ||
		first.RAMMinimum != 512 || first.CoreMinimum != 1 || first.Format != "OVA" ||
		first.OSName != "Scientific Linux" || first.Version != "3.3.0-1" ||
		!first.Expires.Equal(date("2499-12-31T22:00:00Z")) ||
		first.MPURI != "https://appdb.somewhere.net/store/vo/image/c0482bc2-bf41-5d49-aaaa-a750174a186b:484/" {
		t.Errorf("first image: %+v", first)
	}
	if second := l.Images[1]; second.Size != 581816320 || second.RAMMinimum != 0 || second.CoreMinimum != 0 {
		t.Errorf("second image: size %d ram %d core %d", second.Size, second.RAMMinimum, second.CoreMinimum)
	}
	if !bytes.Contains(first.Raw, []byte(`"ad:user:fullname":"Bruce Wayne"`)) {
		t.Errorf("Raw lost unknown keys: %s", first.Raw)
	}
	if l.Extra != nil {
		t.Errorf("Extra = %v, want none", l.Extra)
	}
}

func TestParseHEPiXSample(t *testing.T) {
	for _, file := range []string{"samples/hepixvmitrust-imagelist.json", "lists/bom-crlf.json"} {
		t.Run(file, func(t *testing.T) {
			l := mustParse(t, readTestdata(t, file))
			// Expired in 2011: parsing succeeds, the verifier judges expiry.
			if !l.Expires.Equal(date("2011-04-07T17:09:12Z")) {
				t.Errorf("expires %v", l.Expires)
			}
			if len(l.Images) != 1 {
				t.Fatalf("images %d skipped %v", len(l.Images), l.Skipped)
			}
			im := l.Images[0]
			if im.Size != 2147483648 || im.Version != "1" || !im.Expires.IsZero() || im.VO != "" {
				t.Errorf("image: %+v", im)
			}
			if l.Endorser.Email != "owen.synge@desy.de" || l.Source != "example.org" {
				t.Errorf("list: %+v", l)
			}
		})
	}
}

func TestParseMixedImages(t *testing.T) {
	l := mustParse(t, readTestdata(t, "lists/mixed-images.json"))
	if len(l.Images) != 1 || l.Images[0].ID != "good" {
		t.Fatalf("images = %+v", l.Images)
	}
	good := l.Images[0]
	if good.SHA512 != strings.ToLower(good.SHA512) || len(good.SHA512) != 128 {
		t.Errorf("checksum not lower-cased: %s", good.SHA512)
	}
	if good.RAMMinimum != 0 || good.CoreMinimum != 2 {
		t.Errorf("ram %d core %d", good.RAMMinimum, good.CoreMinimum)
	}
	if !good.Expires.Equal(date("2030-06-01T17:00:00Z")) || good.Expires.Location() != time.UTC {
		t.Errorf("image expiry %v, want 2030-06-01T17:00:00Z in UTC", good.Expires)
	}
	if !l.Created.Equal(date("2024-05-01T08:00:00Z")) || l.Created.Location() != time.UTC {
		t.Errorf("created %v", l.Created)
	}
	if !l.Expires.Equal(time.Date(2030, 1, 1, 0, 0, 0, 5e8, time.UTC)) {
		t.Errorf("fractional expiry %v", l.Expires)
	}
	if l.Version != "7" {
		t.Errorf(`numeric hv:version read as %q, want "7"`, l.Version)
	}
	if got := string(l.Extra["x:site-note"]); got != `{"kept":["as","raw",1]}` {
		t.Errorf("Extra x:site-note = %s", got)
	}
	if got := string(l.Extra["ad:swid"]); got != `"1234"` {
		t.Errorf("Extra ad:swid = %s", got)
	}
	if !bytes.Contains(good.Raw, []byte(`"x:unknown":{"a":[1,2]}`)) {
		t.Errorf("Raw = %s", good.Raw)
	}
	want := []struct {
		index int
		id    string
		field string
	}{
		{1, "no-uri", "hv:uri"},
		{2, "ftp-uri", "hv:uri"},
		{3, "short-sum", "sl:checksum:sha512"},
		{4, "zero-size", "hv:size"},
		{5, "bad-expiry", "dc:date:expires"},
		{6, "", "dc:identifier"},
		{7, "", "hv:image"},
		{8, "", "hv:image"},
		{9, "good", "dc:identifier"},
	}
	if len(l.Skipped) != len(want) {
		t.Fatalf("skipped = %v", l.Skipped)
	}
	for i, w := range want {
		got := l.Skipped[i]
		if got.Index != w.index || got.ID != w.id || got.Field != w.field {
			t.Errorf("skipped[%d] = %+v, want index %d id %q field %q", i, got, w.index, w.id, w.field)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(doc map[string]any)
		raw    string // used instead of the mutated document when set
		field  string
		reason string
	}{
		{name: "invalid JSON gives the byte offset", raw: `{"hv:imagelist": {"dc:identifier": x}}`,
			field: "body", reason: "invalid JSON at byte offset 35"},
		{name: "empty body", raw: ``, field: "body", reason: "invalid JSON at byte offset 0"},
		{name: "offset counts the BOM", raw: "\ufeff{x}", field: "body", reason: "invalid JSON at byte offset 4"},
		{name: "truncated body", raw: `{"hv:imagelist": {`, field: "body", reason: "byte offset 18: unexpected end of JSON input"},
		{name: "trailing garbage", raw: `{"hv:imagelist": {}} {}`, field: "body", reason: "invalid JSON"},
		{name: "top level is an array", raw: `[{"hv:imagelist": {}}]`, field: "body", reason: "got an array"},
		{name: "missing hv:imagelist", raw: `{"dc:identifier": "legacy"}`, field: "hv:imagelist", reason: "missing"},
		{name: "top level null", raw: `null`, field: "hv:imagelist", reason: "missing"},
		{name: "hv:imagelist is a string", raw: `{"hv:imagelist": "x"}`, field: "hv:imagelist", reason: "got a string"},
		{name: "key case matters", raw: `{"HV:IMAGELIST": {}}`, field: "hv:imagelist", reason: "missing"},
		{name: "missing dc:identifier", mutate: func(d map[string]any) { delete(il(d), "dc:identifier") },
			field: "dc:identifier", reason: "missing"},
		{name: "blank dc:identifier", mutate: func(d map[string]any) { il(d)["dc:identifier"] = "  " },
			field: "dc:identifier", reason: "empty"},
		{name: "object dc:identifier", mutate: func(d map[string]any) { il(d)["dc:identifier"] = map[string]any{} },
			field: "dc:identifier", reason: "got an object, want a string"},
		{name: "missing dc:date:expires", mutate: func(d map[string]any) { delete(il(d), "dc:date:expires") },
			field: "dc:date:expires", reason: "missing"},
		{name: "bad dc:date:expires", mutate: func(d map[string]any) { il(d)["dc:date:expires"] = "31/12/2499" },
			field: "dc:date:expires", reason: `got "31/12/2499"`},
		{name: "numeric dc:date:expires", mutate: func(d map[string]any) { il(d)["dc:date:expires"] = 1700000000 },
			field: "dc:date:expires", reason: "got a number"},
		{name: "bad dc:date:created", mutate: func(d map[string]any) { il(d)["dc:date:created"] = "yesterday" },
			field: "dc:date:created", reason: `got "yesterday"`},
		{name: "missing hv:endorser", mutate: func(d map[string]any) { delete(il(d), "hv:endorser") },
			field: "hv:endorser", reason: "missing"},
		{name: "missing hv:x509", mutate: func(d map[string]any) { il(d)["hv:endorser"] = map[string]any{} },
			field: "hv:endorser.hv:x509", reason: "missing"},
		{name: "missing endorser dn", mutate: func(d map[string]any) { delete(endorserX509(d), "hv:dn") },
			field: "hv:endorser.hv:x509.hv:dn", reason: "missing"},
		{name: "empty endorser dn", mutate: func(d map[string]any) { endorserX509(d)["hv:dn"] = "" },
			field: "hv:endorser.hv:x509.hv:dn", reason: "empty"},
		{name: "missing endorser ca", mutate: func(d map[string]any) { delete(endorserX509(d), "hv:ca") },
			field: "hv:endorser.hv:x509.hv:ca", reason: "missing"},
		{name: "missing hv:images", mutate: func(d map[string]any) { delete(il(d), "hv:images") },
			field: "hv:images", reason: "missing"},
		{name: "hv:images is an object", mutate: func(d map[string]any) { il(d)["hv:images"] = map[string]any{} },
			field: "hv:images", reason: "got an object, want an array"},
		{name: "list ad:vo is an array", mutate: func(d map[string]any) { il(d)["ad:vo"] = []any{"a"} },
			field: "ad:vo", reason: "got an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := []byte(tt.raw)
			if tt.mutate != nil {
				doc := listDoc()
				tt.mutate(doc)
				payload = marshal(t, doc)
			}
			l, err := Parse(payload)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %v, %v; want a *ParseError", l, err)
			}
			if pe.Field != tt.field || !strings.Contains(pe.Reason, tt.reason) {
				t.Errorf("got field %q reason %q; want field %q reason containing %q", pe.Field, pe.Reason, tt.field, tt.reason)
			}
			if want := "parse: " + pe.Field + ": " + pe.Reason; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestParseSkipsBadImage(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(im map[string]any)
		field  string
		reason string
	}{
		{"missing dc:identifier", func(im map[string]any) { delete(im, "dc:identifier") }, "dc:identifier", "missing"},
		{"empty dc:identifier", func(im map[string]any) { im["dc:identifier"] = "" }, "dc:identifier", "empty"},
		{"missing hv:uri", func(im map[string]any) { delete(im, "hv:uri") }, "hv:uri", "missing"},
		{"relative hv:uri", func(im map[string]any) { im["hv:uri"] = "/images/x.qcow2" }, "hv:uri", `got "/images/x.qcow2", want an absolute http or https URL`},
		{"file hv:uri", func(im map[string]any) { im["hv:uri"] = "file:///etc/passwd" }, "hv:uri", "want an absolute http or https URL"},
		{"hostless hv:uri", func(im map[string]any) { im["hv:uri"] = "https:///x" }, "hv:uri", "want an absolute"},
		{"missing checksum", func(im map[string]any) { delete(im, "sl:checksum:sha512") }, "sl:checksum:sha512", "missing"},
		{"short checksum", func(im map[string]any) { im["sl:checksum:sha512"] = "abcd" }, "sl:checksum:sha512", `got "abcd" (4 characters), want 128 hex digits`},
		{"non-hex checksum", func(im map[string]any) { im["sl:checksum:sha512"] = strings.Repeat("zz", 64) }, "sl:checksum:sha512", "(128 characters), want 128 hex digits"},
		{"checksum too long", func(im map[string]any) { im["sl:checksum:sha512"] = testSum + "00" }, "sl:checksum:sha512", "(130 characters)"},
		{"missing size", func(im map[string]any) { delete(im, "hv:size") }, "hv:size", "missing"},
		{"zero size", func(im map[string]any) { im["hv:size"] = 0 }, "hv:size", "got 0, want an integer > 0"},
		{"negative size string", func(im map[string]any) { im["hv:size"] = "-5" }, "hv:size", "got -5"},
		{"text size", func(im map[string]any) { im["hv:size"] = "big" }, "hv:size", `got "big", want an integer`},
		{"fractional size", func(im map[string]any) { im["hv:size"] = 10.5 }, "hv:size", `got "10.5", want an integer`},
		{"boolean size", func(im map[string]any) { im["hv:size"] = true }, "hv:size", "got a boolean"},
		{"bad image expiry", func(im map[string]any) { im["dc:date:expires"] = "2030-13-01T00:00:00Z" }, "dc:date:expires", `got "2030-13-01T00:00:00Z"`},
		{"image ad:vo is an object", func(im map[string]any) { im["ad:vo"] = map[string]any{} }, "ad:vo", "got an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := listDoc()
			tt.mutate(img(doc, 0))
			l := mustParse(t, marshal(t, doc))
			if len(l.Images) != 1 || l.Images[0].ID != "img-1" {
				t.Fatalf("images = %+v, want only img-1", l.Images)
			}
			if len(l.Skipped) != 1 {
				t.Fatalf("skipped = %v", l.Skipped)
			}
			got := l.Skipped[0]
			if got.Index != 0 || got.Field != tt.field || !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("skipped %+v; want index 0, field %q, reason containing %q", got, tt.field, tt.reason)
			}
		})
	}
}

func TestParseImageFields(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(im map[string]any)
		check  func(t *testing.T, im Image)
	}{
		{"upper-case checksum stored lower", func(im map[string]any) { im["sl:checksum:sha512"] = strings.ToUpper(testSum) },
			func(t *testing.T, im Image) {
				if im.SHA512 != testSum {
					t.Errorf("SHA512 = %s", im.SHA512)
				}
			}},
		{"numeric size", func(im map[string]any) { im["hv:size"] = 2147483648 },
			func(t *testing.T, im Image) {
				if im.Size != 2147483648 {
					t.Errorf("Size = %d", im.Size)
				}
			}},
		{"exponent size that is whole", func(im map[string]any) { im["hv:size"] = json.RawMessage(`1.5e3`) },
			func(t *testing.T, im Image) {
				if im.Size != 1500 {
					t.Errorf("Size = %d", im.Size)
				}
			}},
		{"numbers for string fields", func(im map[string]any) { im["hv:version"] = 1; im["sl:osversion"] = 6.5 },
			func(t *testing.T, im Image) {
				if im.Version != "1" || im.OSVersion != "6.5" {
					t.Errorf("Version %q OSVersion %q", im.Version, im.OSVersion)
				}
			}},
		{"wrong-typed descriptive field reads empty and stays in Raw", func(im map[string]any) { im["dc:title"] = []any{"a"} },
			func(t *testing.T, im Image) {
				if im.Title != "" || !bytes.Contains(im.Raw, []byte(`"dc:title":["a"]`)) {
					t.Errorf("Title %q Raw %s", im.Title, im.Raw)
				}
			}},
		{"unparsable optional numbers read 0", func(im map[string]any) { im["hv:ram_minimum"] = "512MB"; im["hv:core_minimum"] = "-2" },
			func(t *testing.T, im Image) {
				if im.RAMMinimum != 0 || im.CoreMinimum != 0 {
					t.Errorf("RAMMinimum %d CoreMinimum %d", im.RAMMinimum, im.CoreMinimum)
				}
			}},
		{"null fields read as absent", func(im map[string]any) { im["dc:date:expires"] = nil; im["ad:vo"] = nil; im["hv:ram_minimum"] = nil },
			func(t *testing.T, im Image) {
				if !im.Expires.IsZero() || im.VO != "" || im.RAMMinimum != 0 {
					t.Errorf("image %+v", im)
				}
			}},
		{"image ad:vo and offset expiry", func(im map[string]any) {
			im["ad:vo"] = "vo.example"
			im["dc:date:expires"] = "2030-01-01T01:30:00+01:30"
		},
			func(t *testing.T, im Image) {
				if im.VO != "vo.example" || !im.Expires.Equal(date("2030-01-01T00:00:00Z")) || im.Expires.Location() != time.UTC {
					t.Errorf("VO %q Expires %v", im.VO, im.Expires)
				}
			}},
		{"Raw is compact and keeps unknown keys", func(im map[string]any) { im["ad:traffic_in"] = []any{map[string]any{"x": 1}} },
			func(t *testing.T, im Image) {
				var back map[string]json.RawMessage
				if err := json.Unmarshal(im.Raw, &back); err != nil {
					t.Fatal(err)
				}
				if string(back["ad:traffic_in"]) != `[{"x":1}]` || bytes.ContainsAny(im.Raw, " \n") {
					t.Errorf("Raw = %s", im.Raw)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := listDoc()
			tt.mutate(img(doc, 0))
			l := mustParse(t, marshal(t, doc))
			if len(l.Images) != 2 {
				t.Fatalf("images %d, skipped %v", len(l.Images), l.Skipped)
			}
			tt.check(t, l.Images[0])
		})
	}
}

func TestParseRawIsIndependentOfPayload(t *testing.T) {
	payload := marshal(t, listDoc())
	l := mustParse(t, payload)
	want := string(l.Images[0].Raw)
	for i := range payload {
		payload[i] = ' '
	}
	if string(l.Images[0].Raw) != want {
		t.Errorf("Raw changed with the caller's buffer")
	}
}

func TestParseDuplicateImageIDs(t *testing.T) {
	doc := listDoc()
	second := imageDoc("img-0")
	second["hv:image"].(map[string]any)["hv:uri"] = "https://example.org/other"
	il(doc)["hv:images"] = append(il(doc)["hv:images"].([]any), second)
	l := mustParse(t, marshal(t, doc))
	if len(l.Images) != 2 || l.Images[0].URI != "https://example.org/img-0.qcow2" {
		t.Fatalf("images = %+v", l.Images)
	}
	if len(l.Skipped) != 1 || l.Skipped[0].Index != 2 || l.Skipped[0].Field != "dc:identifier" ||
		!strings.Contains(l.Skipped[0].Reason, "duplicate of image #0") {
		t.Errorf("skipped = %v", l.Skipped)
	}
}

func TestParseBrokenFirstCopyWinsOverLaterDuplicate(t *testing.T) {
	doc := listDoc()
	img(doc, 0)["hv:size"] = "none"
	il(doc)["hv:images"] = append(il(doc)["hv:images"].([]any), imageDoc("img-0"))
	l := mustParse(t, marshal(t, doc))
	if len(l.Images) != 1 || l.Images[0].ID != "img-1" || len(l.Skipped) != 2 {
		t.Errorf("images %+v skipped %v", l.Images, l.Skipped)
	}
}

func TestParseEmptyImages(t *testing.T) {
	l := mustParse(t, readTestdata(t, "lists/empty-images.json"))
	if len(l.Images) != 0 || len(l.Skipped) != 0 || l.ID != "empty" {
		t.Errorf("list %+v", l)
	}
}

func TestParseLimits(t *testing.T) {
	manyImages := func(n int) []byte {
		doc := listDoc()
		images := make([]any, n)
		for i := range images {
			images[i] = imageDoc(fmt.Sprintf("img-%d", i))
		}
		il(doc)["hv:images"] = images
		return marshal(t, doc)
	}
	nested := func(depth int) []byte {
		// The list object itself is at depth 2, so depth-2 more arrays.
		doc := listDoc()
		il(doc)["x:deep"] = json.RawMessage(strings.Repeat("[", depth-2) + strings.Repeat("]", depth-2))
		return marshal(t, doc)
	}
	padded := func(size int) []byte {
		b := marshal(t, listDoc())
		return append(b, bytes.Repeat([]byte(" "), size-len(b))...)
	}
	tests := []struct {
		name    string
		payload []byte
		reason  string // "" when the list must parse
	}{
		{"10000 images accepted", manyImages(MaxImages), ""},
		{"10001 images refused", manyImages(MaxImages + 1), "more than 10000 entries"},
		{"depth 32 accepted", nested(MaxDepth), ""},
		{"depth 33 refused", nested(MaxDepth + 1), "JSON nesting deeper than 32 levels"},
		{"brackets inside strings do not count", func() []byte {
			doc := listDoc()
			il(doc)["x:text"] = strings.Repeat(`[{\"`, 100)
			return marshal(t, doc)
		}(), ""},
		{"exactly 16 MiB accepted", padded(MaxBodyBytes), ""},
		{"16 MiB + 1 refused", padded(MaxBodyBytes + 1), "16777217 bytes exceeds the limit of 16777216 bytes (16 MiB)"},
		{"hostile nesting refused cheaply", bytes.Repeat([]byte("["), 1<<20), "JSON nesting deeper than 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse(tt.payload)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if len(l.Images) > MaxImages {
					t.Errorf("%d images", len(l.Images))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tt.reason)
			}
		})
	}
	if _, err := Parse(padded(MaxBodyBytes + 1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized body error %v does not match ErrTooLarge", err)
	}
}

func TestCheckDepth(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		fail bool
	}{
		{`[[]]`, 2, false},
		{`[[[]]]`, 2, true},
		{`["[[[[", "\"[[["]`, 1, false},
		{`["\\", [[]]]`, 2, true},
		{`{"a": {"b": {}}}`, 3, false},
		{`]]]][[`, 2, false}, // unbalanced: the decoder reports it
	}
	for _, tt := range tests {
		if err := checkDepth([]byte(tt.in), tt.max); (err != nil) != tt.fail {
			t.Errorf("checkDepth(%s, %d) = %v, want failure %v", tt.in, tt.max, err, tt.fail)
		}
	}
}
