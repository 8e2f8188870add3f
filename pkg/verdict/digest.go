package verdict

import (
	"crypto/sha256"
	"encoding/hex"
)

// digest identifies the exact bytes a verdict was given, so that a saved
// plan can later tell whether a list changed since.
func digest(data []byte) string {
	if data == nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
