// Package jsonstr is the one home for quoting a string as JSON by hand (the writers that
// build a line without encoding/json: the redrive journal, -o json, the demo's log lines).
// It is pure and imports nothing of stowage.
package jsonstr

import "unicode/utf8"

// Options say which characters are escaped beyond what JSON requires. The zero value is
// encoding/json's rule without HTML escaping (json.Encoder.SetEscapeHTML(false)): ", \
// and the control bytes, the short escapes \b \f \n \r \t, invalid UTF-8 as \ufffd, and
// U+2028 and U+2029.
type Options struct {
	// HTMLEscape also escapes <, > and & (\u003c, \u003e, \u0026): with it, Append
	// writes the bytes json.Marshal writes for a string.
	HTMLEscape bool
	// Terminal also escapes what could drive a terminal showing the line: DEL, the C1
	// controls (U+0080 to U+009F) and the bidirectional controls (U+202A to U+202E, U+2066
	// to U+2069). Of the short escapes it keeps \n \r \t only (\b and \f as \u0008 and
	// \u000c): the demo's log lines, whose bytes the seeded week and its goldens fix.
	Terminal bool
}

// safe[o][c] reports whether ASCII byte c is written as it is under options o
// (HTMLEscape is bit 0, Terminal bit 1).
var safe = func() (t [4][utf8.RuneSelf]bool) {
	for o := range t {
		for c := 0x20; c < utf8.RuneSelf; c++ {
			t[o][c] = c != '"' && c != '\\'
			if o&1 != 0 && (c == '<' || c == '>' || c == '&') {
				t[o][c] = false
			}
			if o&2 != 0 && c == 0x7f {
				t[o][c] = false
			}
		}
	}
	return t
}()

const hex = "0123456789abcdef"

// Append appends s to dst as a JSON string, quotes included, escaped as o says.
func Append(dst []byte, s string, o Options) []byte {
	bits := 0
	if o.HTMLEscape {
		bits |= 1
	}
	if o.Terminal {
		bits |= 2
	}
	ok := &safe[bits]
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if ok[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\b' && !o.Terminal:
				dst = append(dst, '\\', 'b')
			case c == '\f' && !o.Terminal:
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029' || (o.Terminal && terminalControl(r)):
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// terminalControl reports a non-ASCII rune a terminal acts on: the C1 controls and the
// bidirectional embeddings, overrides and isolates.
func terminalControl(r rune) bool {
	return r < 0xa0 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}
