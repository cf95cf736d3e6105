package payload

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PrettyXML re-indents XML by two spaces per level. It changes only whitespace that
// cannot matter: whitespace-only text between elements, and whitespace inside tags
// (between attributes, around '='). Comments, CDATA sections, processing instructions,
// the DOCTYPE, namespaces, entity references and attribute values are copied byte for
// byte, in order. An element holding text is kept on one line as it was; an element
// mixing text with child elements (<p>Hi <b>you</b>!</p>) is copied verbatim.
//
// Well-formedness is checked with encoding/xml. Malformed input gives a *SyntaxError and
// no output, except when the input is merely cut (errors.Is(err, ErrTruncated)): then
// the returned bytes are a best-effort rendering of what is there.
func PrettyXML(b []byte) ([]byte, error) {
	src := bytes.TrimPrefix(b, utf8BOM)
	bom := len(b) - len(src)
	if err := checkXML(src); err != nil {
		err.Offset += int64(bom)
		err.Line, err.Column = position(b, int(err.Offset))
		if !err.Truncated {
			return nil, err
		}
		return formatXML(src), err
	}
	out := formatXML(src)
	if bom > 0 && bytes.HasPrefix(out, utf8BOM) {
		// The text starts with U+FEFF itself: without the BOM, a reader would take that
		// character for one.
		out = append(append([]byte{}, utf8BOM...), out...)
	}
	return out, nil
}

// checkXML runs encoding/xml over src and locates its first error.
func checkXML(src []byte) *SyntaxError {
	d := xml.NewDecoder(bytes.NewReader(src))
	d.Strict = true
	d.CharsetReader = charsetReader
	var open []int // where the elements not closed yet start
	for {
		start := int(d.InputOffset())
		tok, err := d.Token()
		if err == nil {
			switch tok.(type) {
			case xml.StartElement:
				open = append(open, start)
			case xml.EndElement:
				open = open[:max(0, len(open)-1)]
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		return locateXMLError(src, err, start, int(d.InputOffset()), open)
	}
}

// locateXMLError turns an encoding/xml error into a *SyntaxError at the offending byte.
// encoding/xml reports only how far it read: the token that failed started at start
// and it stopped at off, which for a bad character in a long text run is the end of the
// run. open holds where the unclosed elements start.
func locateXMLError(src []byte, err error, start, off int, open []int) *SyntaxError {
	msg := err.Error()
	var xe *xml.SyntaxError
	if errors.As(err, &xe) {
		msg = xe.Msg
	}
	off = max(0, min(off, len(src)))
	start = max(0, min(start, off))
	if off >= len(src) && (strings.HasPrefix(msg, "unexpected EOF") || errors.Is(err, io.ErrUnexpectedEOF)) {
		return xmlEOFError(src, msg, start, open)
	}
	at := max(0, off-1) // by default: encoding/xml has just consumed the offending byte
	run := src[start:off]
	switch {
	case strings.HasPrefix(msg, "illegal character code "), msg == "invalid UTF-8":
		if i := firstBadXMLChar(run, msg); i >= 0 {
			at = start + i
		}
	case strings.HasPrefix(msg, "invalid character entity "):
		if i := bytes.LastIndexByte(run, '&'); i >= 0 {
			at = start + i
		}
	case msg == "unescaped ]]> not in CDATA section", strings.HasPrefix(msg, `invalid sequence "--"`):
		at = max(start, off-3) // the first byte of "]]>", or of "--" and the byte after it
	case strings.HasPrefix(msg, "invalid XML name: "):
		if i := bytes.Index(run, []byte(strings.TrimPrefix(msg, "invalid XML name: "))); i >= 0 {
			at = start + i
		}
	case strings.Contains(msg, " closed by </"), strings.HasPrefix(msg, "unexpected end element"):
		if i := bytes.IndexByte(run, '<'); i >= 0 {
			at = start + i // the end tag that does not match
		}
	}
	e := newSyntaxError(src, runeStart(src, at), msg)
	e.Truncated = false
	return e
}

// xmlEOFError places an error at the end of the input: at the start of the comment,
// CDATA section, processing instruction, declaration or tag the input ends inside, or,
// when it ends between tokens, at the end, naming the innermost unclosed element.
func xmlEOFError(src []byte, msg string, start int, open []int) *SyntaxError {
	var e *SyntaxError
	if i := bytes.IndexByte(src[start:], '<'); i >= 0 {
		at := start + i
		rest := src[at:]
		what := "the tag is not closed with >"
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			what = "the comment is not closed with -->"
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			what = "the CDATA section is not closed with ]]>"
		case bytes.HasPrefix(rest, []byte("<?")):
			what = "the processing instruction is not closed with ?>"
		case bytes.HasPrefix(rest, []byte("<!")):
			what = "the declaration is not closed with >"
		}
		e = newSyntaxError(src, at, "unexpected EOF: "+what)
	} else {
		e = newSyntaxError(src, len(src), msg)
		if n := len(open); n > 0 {
			line, col := position(src, open[n-1])
			e.Msg = fmt.Sprintf("unexpected EOF: element <%s> opened at line %d, column %d is not closed", xmlName(src[open[n-1]:]), line, col)
		}
	}
	e.Truncated = true
	return e
}

// xmlName is the name of the tag tag starts with, at most 64 bytes of it.
func xmlName(tag []byte) string {
	tag = bytes.TrimPrefix(tag, []byte("<"))
	n := 0
	for n < len(tag) && n < 64 && !bytes.ContainsRune([]byte(" \t\r\n/>"), rune(tag[n])) {
		n++
	}
	return string(tag[:n])
}

// firstBadXMLChar returns the offset in run of the first character encoding/xml rejects
// with msg: invalid UTF-8, or the illegal character named, written as itself or as a
// character reference. It returns -1 when it finds none.
func firstBadXMLChar(run []byte, msg string) int {
	var bad rune = -1
	if code, ok := strings.CutPrefix(msg, "illegal character code U+"); ok {
		if v, err := strconv.ParseUint(code, 16, 32); err == nil {
			bad = rune(v)
		}
	}
	for i := 0; i < len(run); {
		r, size := utf8.DecodeRune(run[i:])
		switch {
		case bad < 0 && r == utf8.RuneError && size == 1:
			return i
		case bad >= 0 && r == bad:
			return i
		case bad >= 0 && r == '&' && charRef(run[i:]) == bad:
			return i
		}
		i += size
	}
	return -1
}

// charRef is the value of the character reference (&#N; or &#xN;) b starts with, or -1.
func charRef(b []byte) rune {
	end := bytes.IndexByte(b, ';')
	if end < 3 || b[1] != '#' {
		return -1
	}
	digits, base := string(b[2:end]), 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		return -1
	}
	return rune(v)
}

// charsetReader lets documents that declare a single-byte Western encoding be checked;
// other encodings are read as they are, which fails only if they are not UTF-8-like.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "windows-1252", "cp1252":
		return &latin1Reader{r: input}, nil
	}
	return input, nil
}

// latin1Reader converts ISO-8859-1 to UTF-8 (windows-1252 is close enough for a check).
type latin1Reader struct {
	r   io.Reader
	buf [512]byte
	out []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		n, err := l.r.Read(l.buf[:])
		for _, c := range l.buf[:n] {
			l.out = utf8.AppendRune(l.out, rune(c))
		}
		if n == 0 && err != nil {
			return 0, err
		}
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}

type xmlTokKind uint8

const (
	xText xmlTokKind = iota
	xStart
	xEnd
	xEmpty    // <a/>
	xVerbatim // comment, CDATA, processing instruction, DOCTYPE, or a token cut by the end
	xCDATA
)

type xmlTok struct {
	kind       xmlTokKind
	start, end int
}

// formatXML pretty-prints src, which is well-formed or a well-formed prefix.
func formatXML(src []byte) []byte {
	toks := tokenizeXML(src)
	verbatim, match := classifyXML(src, toks)
	out := make([]byte, 0, len(src)+len(src)/2+16)
	depth := 0
	newline := func() {
		if len(out) > 0 {
			out = append(out, '\n')
		}
		for range min(depth, maxIndentDepth) {
			out = append(out, indentUnit...)
		}
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		raw := src[t.start:t.end]
		switch t.kind {
		case xText:
			if isXMLSpace(raw) {
				continue
			}
			// Only outside the root (or in a cut document) does text reach here: it
			// gets its own line like any other node.
			newline()
			out = append(out, bytes.Trim(raw, " \t\r\n")...)
		case xStart:
			newline()
			out = appendTag(out, raw)
			if verbatim[i] {
				// Text or mixed content: copy everything up to and with the end tag.
				if end := match[i]; end >= 0 {
					out = append(out, src[t.end:toks[end].start]...)
					out = appendTag(out, src[toks[end].start:toks[end].end])
					i = end
				} else {
					out = append(out, src[t.end:]...)
					i = len(toks)
				}
				continue
			}
			depth++
		case xEnd:
			depth = max(0, depth-1)
			newline()
			out = appendTag(out, raw)
		case xEmpty:
			newline()
			out = appendTag(out, raw)
		default:
			newline()
			out = append(out, raw...)
		}
	}
	return out
}

// classifyXML finds each start tag's end tag (-1 when the input was cut) and whether
// its content must be copied verbatim: it holds text or CDATA (maybe mixed with
// elements), or nothing but whitespace.
func classifyXML(src []byte, toks []xmlTok) (verbatim []bool, match []int) {
	verbatim = make([]bool, len(toks))
	match = make([]int, len(toks))
	type open struct {
		tok              int
		text, structural bool
	}
	var stack []open
	for i, t := range toks {
		match[i] = -1
		var top *open
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		switch t.kind {
		case xStart:
			if top != nil {
				top.structural = true
			}
			stack = append(stack, open{tok: i})
		case xEnd:
			if top == nil {
				continue
			}
			match[top.tok] = i
			verbatim[top.tok] = top.text || !top.structural
			stack = stack[:len(stack)-1]
		case xText:
			if top != nil && !isXMLSpace(src[t.start:t.end]) {
				top.text = true
			}
		case xCDATA:
			if top != nil {
				top.text = true
			}
		default:
			if top != nil {
				top.structural = true
			}
		}
	}
	for _, o := range stack { // cut before their end tags
		verbatim[o.tok] = o.text || !o.structural
	}
	return verbatim, match
}

func isXMLSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// tokenizeXML splits src into markup and text without judging it; checkXML judges.
func tokenizeXML(src []byte) []xmlTok {
	var toks []xmlTok
	for pos := 0; pos < len(src); {
		if src[pos] != '<' {
			end := bytes.IndexByte(src[pos:], '<')
			if end < 0 {
				end = len(src)
			} else {
				end += pos
			}
			toks = append(toks, xmlTok{xText, pos, end})
			pos = end
			continue
		}
		rest := src[pos:]
		kind, end := xVerbatim, -1
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end = indexAfter(rest, 4, "-->")
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			kind, end = xCDATA, indexAfter(rest, 9, "]]>")
		case bytes.HasPrefix(rest, []byte("<?")):
			end = indexAfter(rest, 2, "?>")
		case bytes.HasPrefix(rest, []byte("<!")):
			end = declEnd(rest)
		case bytes.HasPrefix(rest, []byte("</")):
			kind, end = xEnd, indexAfter(rest, 2, ">")
		default:
			kind, end = xStart, tagEnd(rest)
			if end > 1 && rest[end-2] == '/' {
				kind = xEmpty
			}
		}
		if end < 0 { // cut by the end of the input
			kind, end = xVerbatim, len(rest)
		}
		toks = append(toks, xmlTok{kind, pos, pos + end})
		pos += end
	}
	return toks
}

// indexAfter returns the index just past the first sep in b at or after from, or -1.
func indexAfter(b []byte, from int, sep string) int {
	if from > len(b) {
		return -1
	}
	i := bytes.Index(b[from:], []byte(sep))
	if i < 0 {
		return -1
	}
	return from + i + len(sep)
}

// tagEnd returns the index just past the '>' closing a start tag, skipping quoted
// attribute values, or -1.
func tagEnd(b []byte) int {
	var quote byte
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i + 1
		}
	}
	return -1
}

// declEnd returns the index just past a <!DOCTYPE …> or other directive, or -1. It
// follows encoding/xml: the byte after "<!" is taken as is, quotes hide brackets, '<'
// opens a level unless it starts a comment, which is skipped whole.
func declEnd(b []byte) int {
	var quote byte
	depth := 0
	for i := 3; i < len(b); i++ {
		c := b[i]
		if quote == 0 && c == '>' && depth == 0 {
			return i + 1
		}
		switch {
		case c == quote:
			quote = 0
		case quote != 0:
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			depth--
		case c == '<':
			if bytes.HasPrefix(b[i:], []byte("<!--")) {
				end := indexAfter(b, i+4, "-->")
				if end < 0 {
					return -1
				}
				i = end - 1
				continue
			}
			depth++
		}
	}
	return -1
}

// appendTag appends a start, end or empty-element tag with the whitespace between its
// parts normalised: one space between attributes, none around '=' or before '>'.
// Quoted attribute values are copied as they are.
func appendTag(out, tag []byte) []byte {
	var quote byte
	space := false
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if quote != 0 {
			out = append(out, c)
			if c == quote {
				quote = 0
			}
			continue
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			space = true
			continue
		}
		if space {
			prev := out[len(out)-1]
			if c != '=' && c != '>' && c != '/' && prev != '=' && prev != '<' {
				out = append(out, ' ')
			}
			space = false
		}
		if c == '"' || c == '\'' {
			quote = c
		}
		out = append(out, c)
	}
	return out
}
