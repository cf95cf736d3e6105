package payload

import "strings"

// lexContext starts the lexer of a window in the state its first line begins in. chroma
// lexes from its initial state, so a window that starts inside a JSON object would see
// its closing braces as errors and its keys as strings; Window lexes synthetic text
// first that puts the lexer where the window starts, and drops what that text yields.
type lexContext struct {
	prefix string // lexed before the window and dropped: the open containers or construct
	suffix string // lexed after the window and dropped: closes an XML construct left open
	lead   int    // display lines before the window lexed and dropped: a cut line's start
}

// maxLeadLines bounds how far Window backs up to the start of a source line that was cut
// into continuation lines; past that the window is lexed from the middle of the line.
const maxLeadLines = 16

// xmlLookBehind bounds the text before a window scanned for an open comment, CDATA
// section, processing instruction or tag. Documents shorter than this are exact.
const xmlLookBehind = 32 << 10

// lexContext finds the state display lines [from, to) start in, looking only at them, a
// few lines before them and, for XML, a bounded stretch of text before them.
func (d *Document) lexContext(from, to int) lexContext {
	if d.hex || from < 0 || from >= d.Lines() {
		return lexContext{}
	}
	start := from
	for start > 0 && d.Continued(start) && from-start < maxLeadLines {
		start--
	}
	if d.Continued(start) {
		return lexContext{} // the middle of a line too long to back up over
	}
	ctx := lexContext{lead: from - start}
	switch d.kind {
	case JSON:
		if d.pretty {
			ctx.prefix = d.jsonPrefix(start, to)
		}
	case XML:
		ctx.prefix, ctx.suffix = d.xmlContext(start, to)
	}
	return ctx
}

// jsonPrefix returns the openers of the containers open where display line from starts,
// as JSON that leaves the lexer inside them: `{` for an object whose member comes next,
// `{"":` for an object whose member's value is the next container, `[` for an array.
//
// It relies on the layout PrettyJSON prints: each member or element starts a line
// indented by two spaces per open container, and each closing bracket starts a line.
// Which containers are objects is read from the window itself, from member lines
// ("key": …) and closing brackets; a container the window says nothing about is never
// returned to within it, so its kind does not matter and it is taken to be an array.
func (d *Document) jsonPrefix(from, to int) string {
	var kinds []byte // kinds[k-1] is '{' or '[' for open container k, or 0
	alive := 0       // containers open at from that the window has not closed yet
	known := 0
	for i := from; i < to && (i == from || alive > 0 && known < len(kinds)); i++ {
		if d.Continued(i) {
			continue
		}
		line := d.rawLine(i)
		rest := strings.TrimLeft(line, " ")
		indent := len(line) - len(rest)
		if rest == "" || indent%2 != 0 || indent >= 2*maxIndentDepth {
			if i == from {
				return "" // not the printer's layout, or too deep to tell
			}
			continue
		}
		depth := indent / 2
		closer := rest[0] == '}' || rest[0] == ']'
		if i == from {
			n := depth
			if closer {
				n++
			}
			kinds, alive = make([]byte, n), n
		}
		var k int
		var kind byte
		switch {
		case closer:
			k, kind = depth+1, '['
			if rest[0] == '}' {
				kind = '{'
			}
		case depth >= 1:
			k, kind = depth, '['
			if isMemberLine(rest) {
				kind = '{'
			}
		}
		if k == 0 || k > alive {
			continue // a container opened inside the window
		}
		if kinds[k-1] == 0 {
			kinds[k-1] = kind
			known++
		}
		if closer {
			alive = k - 1
		}
	}
	var b strings.Builder
	for k, kind := range kinds {
		if kind != '{' {
			b.WriteByte('[')
			continue
		}
		b.WriteByte('{')
		if k < len(kinds)-1 {
			b.WriteString(`"":`)
		}
	}
	return b.String()
}

// isMemberLine reports whether a pretty-printed line starts with an object key: a string
// followed by ':'. A key cut by the end of the display line is not recognised.
func isMemberLine(s string) bool {
	if s == "" || s[0] != '"' {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i+1 < len(s) && s[i+1] == ':'
		}
	}
	return false
}

// XML constructs a window can start inside.
const (
	xmlInText = iota
	xmlInTag
	xmlInComment
	xmlInCDATA
	xmlInPI
	xmlInDecl
)

// xmlContext scans the text before display line from (at most xmlLookBehind bytes of it)
// for a construct left open, and returns the text that opens it for the lexer and, when
// the window does not close it, the text that does.
func (d *Document) xmlContext(from, to int) (prefix, suffix string) {
	start := int(d.starts[from])
	end := len(d.text)
	if to < len(d.starts) {
		end = int(d.starts[to])
	}
	window := d.text[start:end]
	before := d.text[max(0, start-xmlLookBehind):start]
	if start > xmlLookBehind {
		// Cut into the middle of the document: the end of a tag is the likeliest place
		// where text begins.
		if i := strings.IndexByte(before, '>'); i >= 0 {
			before = before[i+1:]
		}
	}
	state, quote := scanXMLState(before, xmlInText, 0)
	switch state {
	case xmlInTag:
		prefix = "<x "
		if quote != 0 {
			prefix = "<x a=" + string(quote)
		}
	case xmlInComment:
		prefix = "<!--"
	case xmlInCDATA:
		prefix = "<![CDATA["
	case xmlInPI:
		prefix = "<?"
	case xmlInDecl:
		prefix = "<!"
	}
	// The lexer matches a CDATA section, a processing instruction, a declaration or a
	// quoted value as one piece: one the window leaves open must be closed.
	switch state, quote = scanXMLState(window, state, quote); state {
	case xmlInTag:
		if quote != 0 {
			suffix = string(quote)
		}
	case xmlInCDATA:
		suffix = "]]>"
	case xmlInPI:
		suffix = "?>"
	case xmlInDecl:
		suffix = ">"
	}
	return prefix, suffix
}

// scanXMLState follows XML's lexical structure through s, which starts in state (and
// quote, inside a tag), and returns the construct open at its end and the quote open
// inside a tag. It judges nothing: checkXML does that.
func scanXMLState(s string, state int, quote byte) (int, byte) {
	depth := 0 // '[' nesting inside a declaration
	for i := 0; i < len(s); {
		switch state {
		case xmlInText:
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				return xmlInText, 0
			}
			i += j
			switch rest := s[i:]; {
			case strings.HasPrefix(rest, "<!--"):
				state, i = xmlInComment, i+4
			case strings.HasPrefix(rest, "<![CDATA["):
				state, i = xmlInCDATA, i+9
			case strings.HasPrefix(rest, "<?"):
				state, i = xmlInPI, i+2
			case strings.HasPrefix(rest, "<!"):
				state, i, depth = xmlInDecl, i+2, 0
			default:
				state, i = xmlInTag, i+1
			}
		case xmlInComment, xmlInCDATA, xmlInPI:
			end := "?>"
			switch state {
			case xmlInComment:
				end = "-->"
			case xmlInCDATA:
				end = "]]>"
			}
			j := strings.Index(s[i:], end)
			if j < 0 {
				return state, 0
			}
			state, i = xmlInText, i+j+len(end)
		case xmlInTag, xmlInDecl:
			c := s[i]
			i++
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '[' && state == xmlInDecl:
				depth++
			case c == ']' && state == xmlInDecl:
				depth--
			case c == '>' && depth <= 0:
				state = xmlInText
			}
		}
	}
	return state, quote
}
