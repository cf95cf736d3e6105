package payload

import (
	"strings"

	"github.com/alecthomas/chroma/v2"
	"github.com/charmbracelet/x/ansi"
)

// jsonToken is one token of a line of pretty JSON, typed as chroma's JSON lexer types it.
type jsonToken struct {
	typ        chroma.TokenType
	start, end int // in the line
}

// prettyJSONLines colours lines of well-formed JSON as PrettyJSON lays it out (each
// token whole on one line) exactly as chroma's JSON lexer and highlight would, without
// chroma's backtracking regular expressions, which cost about 0.3 µs a byte and were
// nearly all of show's time on a terminal. ok is false at anything it does not expect;
// the caller then lexes with chroma.
func (h *Highlighter) prettyJSONLines(lines []string) (out []string, ok bool) {
	out = make([]string, len(lines))
	toks := make([]jsonToken, 0, 8)
	var b strings.Builder
	for i, line := range lines {
		toks, ok = lexPrettyJSONLine(line, toks[:0])
		if !ok {
			return nil, false
		}
		b.Reset()
		for _, t := range toks {
			open, text := h.open(t.typ), line[t.start:t.end]
			if open != "" && strings.Trim(text, " ") != "" {
				b.WriteString(open)
				b.WriteString(text)
				b.WriteString(ansi.ResetStyle)
			} else {
				b.WriteString(text)
			}
		}
		out[i] = b.String()
	}
	return out, true
}

// lexPrettyJSONLine appends the tokens of one line to toks, adjacent tokens of one type
// merged as chroma.Coalesce merges them.
func lexPrettyJSONLine(line string, toks []jsonToken) ([]jsonToken, bool) {
	add := func(typ chroma.TokenType, start, end int) {
		if n := len(toks); n > 0 && toks[n-1].typ == typ {
			toks[n-1].end = end
			return
		}
		toks = append(toks, jsonToken{typ, start, end})
	}
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ':
			j := i
			for j < len(line) && line[j] == ' ' {
				j++
			}
			add(chroma.Text, i, j)
			i = j
		case c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':':
			add(chroma.Punctuation, i, i+1)
			i++
		case c == '"':
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(line) {
				return toks, false // not closed on this line
			}
			j++
			typ := chroma.LiteralStringDouble
			if k := j; k < len(line) && line[k] == ':' {
				typ = chroma.NameTag // a member's name: chroma's objectvalue state
			}
			add(typ, i, j)
			i = j
		case c == '-' || c >= '0' && c <= '9':
			j, float, ok := scanJSONNumber(line, i)
			if !ok {
				return toks, false
			}
			typ := chroma.LiteralNumberInteger
			if float {
				typ = chroma.LiteralNumberFloat
			}
			add(typ, i, j)
			i = j
		default:
			w := ""
			for _, kw := range [...]string{"true", "false", "null"} {
				if strings.HasPrefix(line[i:], kw) {
					w = kw
				}
			}
			if w == "" || i+len(w) < len(line) && isWordByte(line[i+len(w)]) {
				return toks, false
			}
			add(chroma.KeywordConstant, i, i+len(w))
			i += len(w)
		}
	}
	return toks, true
}

// scanJSONNumber reads a JSON number at line[i:]: its end, and whether it has a
// fraction or exponent (chroma's Float).
func scanJSONNumber(line string, i int) (end int, float, ok bool) {
	digits := func(j int) int {
		for j < len(line) && line[j] >= '0' && line[j] <= '9' {
			j++
		}
		return j
	}
	j := i
	if line[j] == '-' {
		j++
	}
	switch {
	case j < len(line) && line[j] == '0':
		j++
	case j < len(line) && line[j] >= '1' && line[j] <= '9':
		j = digits(j)
	default:
		return 0, false, false
	}
	if j < len(line) && line[j] == '.' {
		k := digits(j + 1)
		if k == j+1 {
			return 0, false, false
		}
		j, float = k, true
	}
	if j < len(line) && (line[j] == 'e' || line[j] == 'E') {
		k := j + 1
		if k < len(line) && (line[k] == '+' || line[k] == '-') {
			k++
		}
		m := digits(k)
		if m == k {
			return 0, false, false
		}
		j, float = m, true
	}
	if j < len(line) && (isWordByte(line[j]) || line[j] == '.') {
		return 0, false, false // not a number chroma would end here
	}
	return j, float, true
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
