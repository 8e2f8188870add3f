package trust

import (
	"errors"
	"fmt"
)

// maxBERDepth bounds ASN.1 nesting in a PKCS#7 message. Real messages stay
// around a dozen levels (ContentInfo → SignedData → certificate → name …).
const maxBERDepth = 48

// toDER re-encodes a BER ContentInfo (openssl may stream indefinite lengths)
// as DER with definite lengths, in one linear pass.
//
// Why not leave this to pkcs7.Parse, which converts BER itself: its converter
// lets an indefinite-length child run past its definite-length parent and
// then re-reads those bytes from the parent's declared end, so a few KiB of
// crafted input cost seconds and megabytes per level (found by FuzzVerify);
// it also searches for every end-of-contents marker from the current offset
// to the end of the input. Given DER it does neither, so Verify hands it
// only what this strict walk accepted: every element inside its parent,
// indefinite lengths only on constructed elements, bounded depth, no
// trailing bytes.
func toDER(ber []byte) ([]byte, error) {
	der, rest, err := derElement(ber, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("asn1: %d bytes of trailing data", len(rest))
	}
	return der, nil
}

// derElement converts the element at the start of b and returns it with the
// bytes that follow it.
func derElement(b []byte, depth int) (der, rest []byte, err error) {
	if depth > maxBERDepth {
		return nil, nil, fmt.Errorf("asn1: nested deeper than %d levels", maxBERDepth)
	}
	tagLen, err := tagLength(b)
	if err != nil {
		return nil, nil, err
	}
	tag, constructed := b[:tagLen], b[0]&0x20 != 0
	b = b[tagLen:]
	if len(b) == 0 {
		return nil, nil, errors.New("asn1: truncated length")
	}
	l := int(b[0])
	b = b[1:]
	if l == 0x80 {
		if !constructed {
			return nil, nil, errors.New("asn1: indefinite length on a primitive element")
		}
		var body []byte
		for {
			if len(b) >= 2 && b[0] == 0 && b[1] == 0 {
				return appendTLV(tag, body), b[2:], nil
			}
			if len(b) == 0 {
				return nil, nil, errors.New("asn1: missing end-of-contents")
			}
			var child []byte
			if child, b, err = derElement(b, depth+1); err != nil {
				return nil, nil, err
			}
			body = append(body, child...)
		}
	}
	length := l
	if l > 0x80 {
		n := l & 0x7f
		if n > 4 || n > len(b) {
			return nil, nil, errors.New("asn1: bad length")
		}
		length = 0
		for _, c := range b[:n] {
			length = length<<8 | int(c)
		}
		b = b[n:]
	}
	if length < 0 || length > len(b) {
		return nil, nil, errors.New("asn1: length exceeds the data")
	}
	content, rest := b[:length], b[length:]
	if !constructed {
		return appendTLV(tag, content), rest, nil
	}
	var body []byte
	for len(content) > 0 {
		var child []byte
		if child, content, err = derElement(content, depth+1); err != nil {
			return nil, nil, err
		}
		body = append(body, child...)
	}
	return appendTLV(tag, body), rest, nil
}

// tagLength returns how many bytes the identifier at the start of b takes.
func tagLength(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errors.New("asn1: truncated element")
	}
	if b[0]&0x1f != 0x1f {
		return 1, nil
	}
	for i := 1; i < len(b) && i <= 4; i++ {
		if b[i]&0x80 == 0 {
			return i + 1, nil
		}
	}
	return 0, errors.New("asn1: bad or oversized tag")
}

func appendTLV(tag, content []byte) []byte {
	out := make([]byte, 0, len(tag)+5+len(content))
	out = append(out, tag...)
	switch n := len(content); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 1<<8:
		out = append(out, 0x81, byte(n))
	case n < 1<<16:
		out = append(out, 0x82, byte(n>>8), byte(n))
	case n < 1<<24:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		out = append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, content...)
}
