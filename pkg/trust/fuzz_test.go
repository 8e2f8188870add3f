package trust

import (
	"errors"
	"path/filepath"
	"testing"
)

// FuzzVerify feeds arbitrary documents to Verify: it must never panic, and
// must either succeed with a payload or fail with a *CheckError.
func FuzzVerify(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(signedDir, "*"))
	samples, _ := filepath.Glob(filepath.Join(samplesDir, "cloudkeeper-mock-*"))
	for _, path := range append(seeds, samples...) {
		f.Add(readFile(f, path))
	}
	store := loadDir(f, "cadir")
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Verify(data, store, Options{Now: testNow, RequireCRL: len(data)%2 == 0})
		if err != nil {
			var ce *CheckError
			if got != nil || !errors.As(err, &ce) || ce.Check == "" || ce.Reason == "" {
				t.Fatalf("Verify = %v, %#v; want nil and a complete *CheckError", got, err)
			}
			return
		}
		if got == nil || len(got.Payload) == 0 || got.Signer == nil || len(got.Chain) == 0 {
			t.Fatalf("Verify succeeded with an incomplete result: %+v", got)
		}
	})
}

// FuzzOneLine checks that any name bytes render or fail, never panic.
func FuzzOneLine(f *testing.F) {
	f.Add(readCert(f, filepath.Join(pkiDir, "endorsers/appdb.pem")).RawSubject)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if s, err := OneLine(raw); err != nil && s != "" {
			t.Fatalf("OneLine returned %q with error %v", s, err)
		}
	})
}
