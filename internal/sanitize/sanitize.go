// Package sanitize is the one place where bytes from outside stowage (payloads, S3 keys,
// metadata, DynamoDB attributes, error messages) are made safe to put on a terminal.
//
// Everything a terminal could act on is rendered visibly and inertly instead of being
// dropped, so an operator sees that a payload carried an escape sequence rather than
// having their screen cleared by it:
//
//   - ESC and the other C0 controls become Unicode control pictures (ESC[2J shows as
//     "␛[2J", NUL as "␀"); DEL becomes "␡". Because the ESC itself is replaced, every
//     escape sequence (CSI, OSC, DCS, APC, PM, SOS, ESC-anything) is disarmed.
//   - C1 controls (U+0080–U+009F), bidi overrides and isolates, and every other Unicode
//     format character (category Cf: zero-width joiners, BOM, soft hyphen, tag
//     characters…) plus U+2028/U+2029 become "\u202e"-style escapes, because they can
//     reorder or hide what is on screen.
//   - Invalid UTF-8 bytes become "\xNN".
//   - Tabs are expanded to spaces (TabWidth stops, counted in runes, so a wide rune
//     before a tab can misalign it by a cell).
//
// Line is for single-line places (table cells, status line, keys): a newline shows as
// "␤". Block keeps newlines (a CRLF pair counts as one newline) for multi-line text.
//
// The output never contains a byte below 0x20 other than '\n' (Block only), never 0x7f,
// never a C1 control and is always valid UTF-8. Clean input is returned as is, without
// allocating.
//
// This package must not import anything from stowage or any terminal library.
package sanitize

import (
	"strconv"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// TabWidth is the distance between tab stops when tabs are expanded.
const TabWidth = 4

// Line makes s safe for a single line of a terminal: newlines show as "␤".
func Line(s string) string { return clean(s, false) }

// Block makes s safe for a multi-line area of a terminal: newlines are kept.
func Block(s string) string { return clean(s, true) }

// String is Line: the safe default for short values such as keys and messages.
func String(s string) string { return clean(s, false) }

// Bytes is Line for a byte slice.
func Bytes(b []byte) string { return clean(b, false) }

// BlockBytes is Block for a byte slice.
func BlockBytes(b []byte) string { return clean(b, true) }

// IsCleanLine reports whether Line would return b unchanged, so a caller can work on the
// raw bytes (for example search them) without building a string.
func IsCleanLine(b []byte) bool { return cleanPrefix(b, false) == len(b) }

// IsClean reports whether Line would return s unchanged.
func IsClean(s string) bool { return cleanPrefix(s, false) == len(s) }

// asciiClean[c] is true for ASCII bytes that pass through in Line mode.
var asciiClean = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	return t
}()

// cleanPrefix returns the length of the longest prefix of s that needs no change.
func cleanPrefix[T string | []byte](s T, block bool) int {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiClean[c] || (block && c == '\n') {
				i++
				continue
			}
			return i
		}
		r, size := decodeRune(s, i)
		if (r == utf8.RuneError && size == 1) || needsEscape(r) {
			return i
		}
		i += size
	}
	return i
}

// decodeRune decodes the rune at s[i]. Only a rune's worth of bytes is converted so a
// []byte input costs no allocation (the conversion of at most 4 bytes stays on the stack).
func decodeRune[T string | []byte](s T, i int) (rune, int) {
	end := min(i+utf8.UTFMax, len(s))
	return utf8.DecodeRuneInString(string(s[i:end]))
}

// needsEscape reports whether a valid non-ASCII rune must be shown as an escape.
func needsEscape(r rune) bool {
	switch {
	case r < 0xa0: // C1 controls (r >= 0x80 here)
		return true
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return true
	case r < 0x0600:
		// Only U+00AD (soft hyphen) is a format character below U+0600; skip the table.
		return r == 0xad
	}
	return unicode.Is(unicode.Cf, r)
}

func clean[T string | []byte](s T, block bool) string {
	i := cleanPrefix(s, block)
	if i == len(s) {
		return string(s) // no copy for a string
	}
	out := make([]byte, 0, len(s)+len(s)/8+16)
	out = append(out, s[:i]...)
	col := 0
	for j := i - 1; j >= 0 && s[j] != '\n'; j-- {
		if utf8.RuneStart(s[j]) {
			col++
		}
	}
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiClean[c] {
				j := i + 1
				for j < len(s) && s[j] < utf8.RuneSelf && asciiClean[s[j]] {
					j++
				}
				out = append(out, s[i:j]...)
				col += j - i
				i = j
				continue
			}
			i++
			switch {
			case c == '\n' && block:
				out = append(out, '\n')
				col = 0
			case c == '\r' && block && i < len(s) && s[i] == '\n':
				// CRLF is one newline; the '\n' is written on the next turn.
			case c == '\n':
				out = append(out, "␤"...)
				col++
			case c == '\t':
				n := TabWidth - col%TabWidth
				for range n {
					out = append(out, ' ')
				}
				col += n
			case c == 0x7f:
				out = append(out, "␡"...)
				col++
			default: // C0 control: its control picture (ESC → ␛)
				out = utf8.AppendRune(out, 0x2400+rune(c))
				col++
			}
			continue
		}
		r, size := decodeRune(s, i)
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\x`...)
			out = appendHex(out, uint32(c), 2)
			col += 4
		case needsEscape(r):
			before := len(out)
			if r > 0xffff {
				out = append(out, `\U`...)
				out = appendHex(out, uint32(r), 8)
			} else {
				out = append(out, `\u`...)
				out = appendHex(out, uint32(r), 4)
			}
			col += len(out) - before
		default:
			out = append(out, s[i:i+size]...)
			col++
		}
		i += size
	}
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// appendHex appends v as lower-case hex, zero-padded to width digits.
func appendHex(out []byte, v uint32, width int) []byte {
	var buf [8]byte
	h := strconv.AppendUint(buf[:0], uint64(v), 16)
	for range width - len(h) {
		out = append(out, '0')
	}
	return append(out, h...)
}
