package payload

import (
	"errors"
	"math"
	"sort"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// MaxLineBytes is the longest display line. Longer lines (a minified 50 MB JSON body
// is one line) are cut into continuation lines at rune boundaries, so rendering and
// highlighting one screen costs the same however the payload is laid out.
const MaxLineBytes = 1024

// Document is a payload split into display lines once, for scrolling, searching and
// highlighting a window of it. Lines are indexed from 0. It is immutable and safe for
// concurrent use.
type Document struct {
	kind    Kind
	pretty  bool // text is the pretty-printed form
	partial bool
	hex     bool   // lines are a hex dump of text
	text    string // what is shown, aliasing the bytes it was built from
	starts  []uint32
	srcLine []uint32 // 1-based source line per display line; nil when no line was cut
	err     *SyntaxError
}

// NewDocument prepares raw for display as kind (decompress gzip first: see Decode).
// JSON and XML are always parsed, and ParseErr says where a malformed one is malformed,
// pretty or not, unless partial says raw is only the start of the payload and the parser
// merely ran out of input. With pretty, JSON and XML are shown pretty-printed (for a cut
// document, the best-effort pretty form); a malformed one is shown raw. Binary and Gzip
// are shown as a hex dump.
//
// The document keeps raw without copying: do not modify it afterwards. Parsing and
// pretty-printing are the expensive part; other kinds cost one pass to find line ends.
func NewDocument(raw []byte, kind Kind, pretty bool, partial bool) *Document {
	if len(raw) > math.MaxUint32 {
		raw, partial = raw[:math.MaxUint32], true
	}
	d := &Document{kind: kind, partial: partial}
	text := raw
	switch kind {
	case Empty:
		text = nil
	case Binary, Gzip:
		d.hex = true
	case JSON, XML:
		// Parse even for the raw view: the marker at a malformed payload's error must not
		// vanish when the operator switches to the exact bytes.
		format := PrettyJSON
		if kind == XML {
			format = PrettyXML
		}
		out, err := format(raw)
		var se *SyntaxError
		cut := partial && errors.Is(err, ErrTruncated) // merely cut, not malformed
		switch {
		case err == nil, cut:
			if pretty && len(out) > 0 {
				text, d.pretty = out, true
			}
		case errors.As(err, &se):
			d.err = se
		}
	}
	// The text is never modified again, so a string view of it costs nothing and lets
	// clean lines pass through the sanitizer without a copy.
	d.text = unsafe.String(unsafe.SliceData(text), len(text))
	if !d.hex {
		d.index()
	}
	return d
}

// index records where each display line starts.
func (d *Document) index() {
	t := d.text
	d.starts = make([]uint32, 0, len(t)/40+1)
	nl := -1 // position of the next '\n' at or after pos, once known
	src := uint32(1)
	for pos := 0; pos < len(t); {
		d.starts = append(d.starts, uint32(pos))
		if d.srcLine != nil {
			d.srcLine = append(d.srcLine, src)
		}
		if nl < pos {
			if i := strings.IndexByte(t[pos:], '\n'); i >= 0 {
				nl = pos + i
			} else {
				nl = len(t)
			}
		}
		if nl-pos <= MaxLineBytes {
			pos = nl + 1
			src++
			continue
		}
		// Too long: cut at a rune boundary and continue the same source line.
		cut := pos + MaxLineBytes
		for back := 0; back < utf8.UTFMax-1 && !utf8.RuneStart(t[cut]); back++ {
			cut--
		}
		if cut == pos {
			cut = pos + MaxLineBytes
		}
		if d.srcLine == nil {
			d.srcLine = make([]uint32, len(d.starts), cap(d.starts))
			for i := range d.srcLine {
				d.srcLine[i] = uint32(i + 1)
			}
		}
		pos = cut
	}
}

// Kind is the kind the document was built for.
func (d *Document) Kind() Kind { return d.kind }

// Pretty reports whether the lines are the pretty-printed form.
func (d *Document) Pretty() bool { return d.pretty }

// Partial reports whether the document is only the start of the payload.
func (d *Document) Partial() bool { return d.partial }

// Hex reports whether the lines are a hex dump.
func (d *Document) Hex() bool { return d.hex }

// ParseErr says where a JSON or XML payload is malformed, or nil; it is the same in the
// raw and the pretty view, and its Offset refers to the raw bytes.
func (d *Document) ParseErr() *SyntaxError { return d.err }

// Bytes returns the text the lines show (raw or pretty; the raw bytes of a hex dump),
// unsanitized: for saving or piping, never for the screen.
func (d *Document) Bytes() []byte {
	return unsafe.Slice(unsafe.StringData(d.text), len(d.text))
}

// Lines is the number of display lines.
func (d *Document) Lines() int {
	if d.hex {
		return (len(d.text) + hexWidth - 1) / hexWidth
	}
	return len(d.starts)
}

// Line returns display line i, sanitized (tabs expanded, controls made visible), or ""
// when i is out of range.
func (d *Document) Line(i int) string {
	return sanitize.Line(d.rawLine(i))
}

// rawLine returns line i as stored, without its line ending.
func (d *Document) rawLine(i int) string {
	if i < 0 || i >= d.Lines() {
		return ""
	}
	if d.hex {
		start := i * hexWidth
		b := unsafe.Slice(unsafe.StringData(d.text[start:]), min(hexWidth, len(d.text)-start))
		return HexLine(b, int64(start))
	}
	start, end := int(d.starts[i]), len(d.text)
	if i+1 < len(d.starts) {
		end = int(d.starts[i+1])
	}
	if end > start && d.text[end-1] == '\n' {
		end--
		if end > start && d.text[end-1] == '\r' {
			end--
		}
	}
	return d.text[start:end]
}

// LineNumber is the 1-based number of the source line display line i belongs to; it
// differs from i+1 after a line longer than MaxLineBytes was cut.
func (d *Document) LineNumber(i int) int {
	if d.srcLine != nil && i >= 0 && i < len(d.srcLine) {
		return int(d.srcLine[i])
	}
	return i + 1
}

// Continued reports whether display line i continues the line before it.
func (d *Document) Continued(i int) bool {
	return d.srcLine != nil && i > 0 && i < len(d.srcLine) && d.srcLine[i] == d.srcLine[i-1]
}

// Locate maps a byte offset in the shown text (such as ParseErr().Offset, which refers
// to the raw text shown when pretty-printing failed) to a display line and a byte
// offset into Line(line), for placing a marker.
func (d *Document) Locate(offset int64) (line, col int) {
	if d.Lines() == 0 {
		return 0, 0
	}
	offset = max(0, min(offset, int64(len(d.text))))
	if d.hex {
		line = min(int(offset)/hexWidth, d.Lines()-1)
		return line, 0
	}
	line = sort.Search(len(d.starts), func(i int) bool { return int64(d.starts[i]) > offset }) - 1
	line = max(line, 0)
	raw := d.rawLine(line)
	n := runeStart(raw, min(int(offset-int64(d.starts[line])), len(raw)))
	return line, len(sanitize.Line(raw[:n]))
}
