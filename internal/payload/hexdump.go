package payload

import "strconv"

// hexWidth is the number of bytes on one hex dump line.
const hexWidth = 16

// HexDump renders b as hexdump -C style lines, the first byte at offset:
//
//	00000000  1f 8b 08 00 00 00 00 00  00 03 cb 48 cd c9 c9 57  |...........H...W|
//
// Bytes outside printable ASCII show as '.', so the lines are safe to display as is.
func HexDump(b []byte, offset int64) []string {
	lines := make([]string, 0, (len(b)+hexWidth-1)/hexWidth)
	for i := 0; i < len(b); i += hexWidth {
		lines = append(lines, HexLine(b[i:min(i+hexWidth, len(b))], offset+int64(i)))
	}
	return lines
}

// HexLine renders one hex dump line of at most 16 bytes.
func HexLine(b []byte, offset int64) string {
	const digits = "0123456789abcdef"
	if len(b) > hexWidth {
		b = b[:hexWidth]
	}
	out := make([]byte, 0, 80)
	off := strconv.AppendInt(nil, offset, 16)
	for range 8 - len(off) {
		out = append(out, '0')
	}
	out = append(out, off...)
	out = append(out, ' ')
	for j := range hexWidth {
		if j%8 == 0 {
			out = append(out, ' ')
		}
		if j < len(b) {
			out = append(out, digits[b[j]>>4], digits[b[j]&15], ' ')
		} else {
			out = append(out, "   "...)
		}
	}
	out = append(out, " |"...)
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		out = append(out, c)
	}
	out = append(out, '|')
	return string(out)
}
