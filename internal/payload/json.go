package payload

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// indentUnit is the indentation of one nesting level.
const indentUnit = "  "

// maxIndentDepth caps indentation: deeper levels are indented like this one, so a
// hostile "[[[[…" cannot make the output grow with the square of its depth.
const maxIndentDepth = 64

// PrettyJSON re-indents JSON by two spaces per level. Only whitespace between tokens
// changes: strings, escapes and numbers are copied byte for byte and nothing is
// reordered. A leading UTF-8 BOM is dropped. Several top-level values (JSON Lines) are
// printed one after another.
//
// Malformed input gives a *SyntaxError; the bytes returned with it are the
// pretty-printed part before the error, which is a best-effort rendering of a document
// that was merely cut (errors.Is(err, ErrTruncated)).
func PrettyJSON(b []byte) ([]byte, error) {
	p := jsonPrinter{src: b, out: make([]byte, 0, len(b)+len(b)/2+16)}
	if bytes.HasPrefix(b, utf8BOM) {
		p.pos = len(utf8BOM)
	}
	err := p.run()
	if err != nil {
		return p.out, err
	}
	return p.out, nil
}

type jsonPrinter struct {
	src   []byte
	pos   int
	out   []byte
	stack []byte // '{' or '[' per open container
}

// States of the printer between tokens.
const (
	jsValue        = iota // a value must come next
	jsValueOrClose        // just after '[': a value or ']'
	jsKeyOrClose          // just after '{': a key or '}'
	jsKey                 // after ',' in an object: a key
	jsColon               // after a key
	jsCommaOrClose        // after a value in a container
)

func (p *jsonPrinter) run() *SyntaxError {
	values := 0
	for {
		p.skipSpace()
		if p.pos == len(p.src) {
			if values == 0 {
				return p.errAt("unexpected end of JSON input: no value")
			}
			return nil
		}
		if values > 0 {
			p.out = append(p.out, '\n')
		}
		if err := p.value(); err != nil {
			return err
		}
		values++
		// "01" or "truefalse" are not two values: a scalar must be followed by a separator.
		if last := p.src[p.pos-1]; p.pos < len(p.src) && (isAlnum(last) || last == '.') {
			switch p.src[p.pos] {
			case ' ', '\t', '\n', '\r', '{', '[', '"':
			default:
				return p.errAt("invalid character " + quoteChar(p.src, p.pos) + " after top-level value")
			}
		}
	}
}

// value prints one complete top-level value.
func (p *jsonPrinter) value() *SyntaxError {
	state := jsValue
	for {
		p.skipSpace()
		if p.pos == len(p.src) {
			return p.errAt("unexpected end of JSON input")
		}
		c := p.src[p.pos]
		switch state {
		case jsValue, jsValueOrClose:
			if state == jsValueOrClose {
				if c == ']' {
					p.closeEmpty()
					state = p.afterValue()
					break
				}
				p.newline(len(p.stack))
			}
			switch c {
			case '{', '[':
				p.out = append(p.out, c)
				p.stack = append(p.stack, c)
				p.pos++
				if c == '{' {
					state = jsKeyOrClose
				} else {
					state = jsValueOrClose
				}
				continue
			case '"':
				if err := p.str(); err != nil {
					return err
				}
			case 't':
				if err := p.literal("true"); err != nil {
					return err
				}
			case 'f':
				if err := p.literal("false"); err != nil {
					return err
				}
			case 'n':
				if err := p.literal("null"); err != nil {
					return err
				}
			default:
				if c == '-' || ('0' <= c && c <= '9') {
					if err := p.number(); err != nil {
						return err
					}
					break
				}
				return p.errAt("invalid character " + quoteChar(p.src, p.pos) + " looking for beginning of value")
			}
			state = p.afterValue()
		case jsKeyOrClose, jsKey:
			if state == jsKeyOrClose && c == '}' {
				p.closeEmpty()
				state = p.afterValue()
				break
			}
			if c != '"' {
				return p.errAt("invalid character " + quoteChar(p.src, p.pos) + " looking for beginning of object key string")
			}
			p.newline(len(p.stack))
			if err := p.str(); err != nil {
				return err
			}
			state = jsColon
		case jsColon:
			if c != ':' {
				return p.errAt("invalid character " + quoteChar(p.src, p.pos) + " after object key")
			}
			p.out = append(p.out, ':', ' ')
			p.pos++
			state = jsValue
		case jsCommaOrClose:
			top := p.stack[len(p.stack)-1]
			switch {
			case c == ',':
				p.out = append(p.out, ',')
				p.pos++
				if top == '{' {
					state = jsKey
				} else {
					p.newline(len(p.stack))
					state = jsValue
				}
			case (c == '}' && top == '{') || (c == ']' && top == '['):
				p.stack = p.stack[:len(p.stack)-1]
				p.newline(len(p.stack))
				p.out = append(p.out, c)
				p.pos++
				state = p.afterValue()
			case top == '{':
				return p.errAt("invalid character " + quoteChar(p.src, p.pos) + " after object key:value pair")
			default:
				return p.errAt("invalid character " + quoteChar(p.src, p.pos) + " after array element")
			}
		}
		if state == jsDone {
			return nil
		}
	}
}

// jsDone means the top-level value is complete.
const jsDone = -1

func (p *jsonPrinter) afterValue() int {
	if len(p.stack) == 0 {
		return jsDone
	}
	return jsCommaOrClose
}

// closeEmpty prints "{}" or "[]" for a container closed right after it opened.
func (p *jsonPrinter) closeEmpty() {
	p.out = append(p.out, p.src[p.pos])
	p.stack = p.stack[:len(p.stack)-1]
	p.pos++
}

func (p *jsonPrinter) newline(depth int) {
	p.out = append(p.out, '\n')
	for range min(depth, maxIndentDepth) {
		p.out = append(p.out, indentUnit...)
	}
}

func (p *jsonPrinter) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonPrinter) errAt(msg string) *SyntaxError {
	return newSyntaxError(p.src, p.pos, msg)
}

// str copies a string token, checking its escapes. Like encoding/json it accepts
// invalid UTF-8 inside strings; the display layer shows such bytes as \xNN.
func (p *jsonPrinter) str() *SyntaxError {
	start := p.pos
	i := p.pos + 1
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case c == '"':
			p.out = append(p.out, p.src[start:i+1]...)
			p.pos = i + 1
			return nil
		case c == '\\':
			if i+1 == len(p.src) {
				i++
				continue
			}
			switch p.src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				j := i + 2
				for ; j < i+6 && j < len(p.src); j++ {
					if !isHexDigit(p.src[j]) {
						p.out = append(p.out, p.src[start:j]...)
						p.pos = j
						return p.errAt("invalid character " + quoteChar(p.src, j) + " in \\u hexadecimal character escape")
					}
				}
				i = j
			default:
				p.out = append(p.out, p.src[start:i+1]...)
				p.pos = i + 1
				return p.errAt("invalid character " + quoteChar(p.src, i+1) + " in string escape code")
			}
		case c < 0x20:
			p.out = append(p.out, p.src[start:i]...)
			p.pos = i
			return p.errAt("invalid character " + quoteChar(p.src, i) + " in string literal")
		default:
			i++
		}
	}
	// Cut inside the string: keep what there is for a best-effort view.
	p.out = append(p.out, p.src[start:]...)
	p.pos = len(p.src)
	return p.errAt("unexpected end of JSON input in string literal")
}

// number copies a number token exactly, checking it against the JSON grammar.
func (p *jsonPrinter) number() *SyntaxError {
	start, i := p.pos, p.pos
	fail := func(what string) *SyntaxError {
		p.out = append(p.out, p.src[start:i]...)
		p.pos = i
		if i == len(p.src) {
			return p.errAt("unexpected end of JSON input in numeric literal")
		}
		return p.errAt("invalid character " + quoteChar(p.src, i) + " " + what)
	}
	digits := func() int {
		n := 0
		for i < len(p.src) && '0' <= p.src[i] && p.src[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if p.src[i] == '-' {
		i++
	}
	switch {
	case i < len(p.src) && p.src[i] == '0':
		i++
	case digits() == 0:
		return fail("in numeric literal")
	}
	if i < len(p.src) && p.src[i] == '.' {
		i++
		if digits() == 0 {
			return fail("after decimal point in numeric literal")
		}
	}
	if i < len(p.src) && (p.src[i] == 'e' || p.src[i] == 'E') {
		i++
		if i < len(p.src) && (p.src[i] == '+' || p.src[i] == '-') {
			i++
		}
		if digits() == 0 {
			return fail("in exponent of numeric literal")
		}
	}
	p.out = append(p.out, p.src[start:i]...)
	p.pos = i
	return nil
}

func (p *jsonPrinter) literal(word string) *SyntaxError {
	for k := 0; k < len(word); k++ {
		i := p.pos + k
		if i == len(p.src) {
			p.out = append(p.out, p.src[p.pos:i]...)
			p.pos = i
			return p.errAt("unexpected end of JSON input in literal " + word)
		}
		if p.src[i] != word[k] {
			p.out = append(p.out, p.src[p.pos:i]...)
			p.pos = i
			return p.errAt("invalid character " + quoteChar(p.src, i) + " in literal " + word + " (expecting " + strconv.QuoteRune(rune(word[k])) + ")")
		}
	}
	p.out = append(p.out, word...)
	p.pos += len(word)
	return nil
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// quoteChar shows the character at src[i] for an error message, escaped so a hostile
// byte cannot reach the terminal through the message.
func quoteChar(src []byte, i int) string {
	if i >= len(src) {
		return "EOF"
	}
	r, size := utf8.DecodeRune(src[i:])
	if r == utf8.RuneError && size == 1 {
		return `'\x` + strconv.FormatUint(uint64(src[i]), 16) + `'`
	}
	return strconv.QuoteRuneToASCII(r)
}
