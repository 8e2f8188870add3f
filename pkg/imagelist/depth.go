package imagelist

import "fmt"

// checkDepth refuses payloads whose JSON nesting exceeds max before any
// decoder sees them. It is a single pass over the bytes that only counts
// brackets outside strings, so hostile input costs O(n) time and no
// allocation, whatever it contains. It does not validate the JSON: brackets
// that never close or close too often are left for the decoder to report.
func checkDepth(payload []byte, max int) error {
	depth := 0
	inString := false
	escaped := false
	for i, c := range payload {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return &ParseError{
					Field:  "body",
					Reason: fmt.Sprintf("JSON nesting deeper than %d levels (at byte offset %d)", max, i),
				}
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
