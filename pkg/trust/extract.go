package trust

import "errors"

// FormatUnsigned is the format Extract reports for bare JSON.
const FormatUnsigned = "unsigned"

// Extract unwraps an image list without verifying anything, for display
// (ck fetch): it returns the payload and the envelope format (FormatUnsigned
// and data itself for bare JSON). Nothing it returns may be trusted; use
// Verify for that. Errors are *CheckError, as from Verify.
func Extract(data []byte) ([]byte, string, error) {
	env, err := parseEnvelope(data)
	if errors.Is(err, ErrUnsigned) {
		return data, FormatUnsigned, nil
	}
	if err != nil {
		return nil, "", err
	}
	if env.detached != nil {
		return env.detached, env.format, nil
	}
	p7, err := parsePKCS7(env)
	if err != nil {
		return nil, "", err
	}
	return p7.Content, env.format, nil
}
