package devstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// CloudWatch Logs filter patterns, the subset the emulator understands (FilterLogEvents's
// filterPattern). Like CloudWatch, terms are case-sensitive.
//
//	""                          every event
//	ERROR                       a plain term: events containing ERROR
//	"processing failed"         a quoted term: the exact text, spaces included
//	ERROR "req-1" -DEBUG        every plain or quoted term must appear; -term must not
//	?ERROR ?WARN                at least one ?term must appear
//	{ $.requestId = "abc" }     JSON events whose field equals the value; "ab*" is a prefix
//	{ $.a.b != "x" && ($.n > 3 || $.level = "ERROR") }
//
// Not modelled (answered InvalidParameterException): space-delimited patterns ([a, b]),
// IS NULL / NOT EXISTS, regular expressions (%...%).

// filterPattern is a parsed filter pattern.
type filterPattern struct {
	all bool // the empty pattern
	// Term patterns.
	must, mustNot, any []string
	// A JSON pattern.
	json jsonExpr
	// need are substrings every matching event contains: checked before parsing JSON.
	need []string
}

// errPattern is a malformed pattern (InvalidParameterException).
type errPattern struct{ why string }

func (e *errPattern) Error() string { return "Invalid filter pattern: " + e.why }

func badPattern(format string, args ...any) error {
	return &errPattern{why: fmt.Sprintf(format, args...)}
}

// maxPatternLen is CloudWatch's limit on a filter pattern.
const maxPatternLen = 1024

// parseFilterPattern parses s.
func parseFilterPattern(s string) (*filterPattern, error) {
	if len(s) > maxPatternLen {
		return nil, badPattern("longer than %d characters", maxPatternLen)
	}
	t := strings.TrimSpace(s)
	switch {
	case t == "":
		return &filterPattern{all: true}, nil
	case strings.HasPrefix(t, "{"):
		return parseJSONPattern(t)
	case strings.HasPrefix(t, "["):
		return nil, badPattern("space-delimited patterns ([...]) are not supported by this emulator")
	}
	p := &filterPattern{}
	for i := 0; i < len(t); {
		c := t[i]
		if c == ' ' || c == '\t' {
			i++
			continue
		}
		kind := byte(0)
		if c == '?' || c == '-' {
			kind, i = c, i+1
			if i >= len(t) {
				return nil, badPattern("%q with no term after it", string(c))
			}
		}
		var term string
		if t[i] == '"' {
			end := strings.IndexByte(t[i+1:], '"')
			if end < 0 {
				return nil, badPattern("unbalanced quote")
			}
			term = t[i+1 : i+1+end]
			i += end + 2
			if i < len(t) && t[i] != ' ' && t[i] != '\t' {
				return nil, badPattern("a quoted term must be followed by a space")
			}
		} else {
			j := i
			for j < len(t) && t[j] != ' ' && t[j] != '\t' {
				if !bareTermByte(t[j]) {
					return nil, badPattern("character %q must be inside a quoted term", string(t[j]))
				}
				j++
			}
			term, i = t[i:j], j
		}
		if term == "" {
			return nil, badPattern("empty term")
		}
		switch kind {
		case '?':
			p.any = append(p.any, term)
		case '-':
			p.mustNot = append(p.mustNot, term)
		default:
			p.must = append(p.must, term)
		}
	}
	p.need = p.must
	return p, nil
}

// bareTermByte reports a byte that may appear in an unquoted term.
func bareTermByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == ':' || c == '/' || c == '@' || c >= 0x80
}

// match reports whether msg matches the pattern.
func (p *filterPattern) match(msg string) bool {
	if p.all {
		return true
	}
	for _, n := range p.need {
		if !strings.Contains(msg, n) {
			return false
		}
	}
	if p.json != nil {
		if !strings.HasPrefix(strings.TrimSpace(msg), "{") {
			return false
		}
		dec := json.NewDecoder(strings.NewReader(msg))
		dec.UseNumber()
		var doc any
		if dec.Decode(&doc) != nil {
			return false
		}
		return p.json.eval(doc)
	}
	for _, n := range p.mustNot {
		if strings.Contains(msg, n) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, n := range p.any {
		if strings.Contains(msg, n) {
			return true
		}
	}
	return false
}

// jsonExpr is a node of a JSON pattern.
type jsonExpr interface{ eval(doc any) bool }

type jsonAnd []jsonExpr
type jsonOr []jsonExpr

func (a jsonAnd) eval(doc any) bool {
	for _, e := range a {
		if !e.eval(doc) {
			return false
		}
	}
	return true
}

func (o jsonOr) eval(doc any) bool {
	for _, e := range o {
		if e.eval(doc) {
			return true
		}
	}
	return false
}

// jsonCmp is $.selector op value.
type jsonCmp struct {
	path   []any // string (field) or int (index)
	op     string
	str    string
	num    float64
	isNum  bool
	prefix bool // str ended in * (a string comparison)
}

func (c *jsonCmp) eval(doc any) bool {
	v, ok := lookup(doc, c.path)
	if !ok {
		return false
	}
	if c.isNum {
		var f float64
		switch x := v.(type) {
		case json.Number:
			var err error
			if f, err = x.Float64(); err != nil {
				return false
			}
		default:
			return false
		}
		switch c.op {
		case "=":
			return f == c.num
		case "!=":
			return f != c.num
		case "<":
			return f < c.num
		case "<=":
			return f <= c.num
		case ">":
			return f > c.num
		case ">=":
			return f >= c.num
		}
		return false
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case bool:
		s = strconv.FormatBool(x)
	case json.Number:
		s = x.String()
	default:
		return false
	}
	eq := s == c.str
	if c.prefix {
		eq = strings.HasPrefix(s, c.str)
	}
	if c.op == "!=" {
		return !eq
	}
	return eq
}

func lookup(doc any, path []any) (any, bool) {
	v := doc
	for _, step := range path {
		switch k := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[k]; !ok {
				return nil, false
			}
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil, false
			}
			v = a[k]
		}
	}
	return v, true
}

// jsonParser reads a JSON pattern: { expr }.
type jsonParser struct {
	s     string
	i     int
	depth int
}

// maxPatternDepth bounds nested parentheses.
const maxPatternDepth = 16

func parseJSONPattern(t string) (*filterPattern, error) {
	if !strings.HasSuffix(t, "}") {
		return nil, badPattern("a JSON pattern must end with }")
	}
	p := &jsonParser{s: t[1 : len(t)-1]}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, badPattern("unexpected %q", p.rest())
	}
	fp := &filterPattern{json: e}
	// Every event an AND of plain string equalities matches holds each value verbatim.
	if and, ok := e.(jsonAnd); ok {
		for _, c := range and {
			if cmp, ok := c.(*jsonCmp); ok && cmp.op == "=" && !cmp.isNum && plainValue(cmp.str) {
				fp.need = append(fp.need, cmp.str)
			}
		}
	} else if cmp, ok := e.(*jsonCmp); ok && cmp.op == "=" && !cmp.isNum && plainValue(cmp.str) {
		fp.need = append(fp.need, cmp.str)
	}
	return fp, nil
}

// plainValue reports a value JSON writes as it is (no escapes), so a substring check holds.
func plainValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return s != ""
}

func (p *jsonParser) rest() string {
	r := p.s[p.i:]
	if len(r) > 20 {
		r = r[:20]
	}
	return r
}

func (p *jsonParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonParser) eat(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func (p *jsonParser) or() (jsonExpr, error) {
	var terms jsonOr
	for {
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if !p.eat("||") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *jsonParser) and() (jsonExpr, error) {
	var terms jsonAnd
	for {
		e, err := p.atom()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if !p.eat("&&") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *jsonParser) atom() (jsonExpr, error) {
	if p.eat("(") {
		if p.depth++; p.depth > maxPatternDepth {
			return nil, badPattern("parentheses nested too deep")
		}
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, badPattern("unbalanced parenthesis")
		}
		p.depth--
		return e, nil
	}
	if !p.eat("$") {
		if p.i >= len(p.s) {
			return nil, badPattern("a JSON pattern needs a comparison like { $.requestId = \"abc\" }")
		}
		return nil, badPattern("expected $ at %q", p.rest())
	}
	c := &jsonCmp{}
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '.':
			p.i++
			j := p.i
			for j < len(p.s) && (identByte(p.s[j])) {
				j++
			}
			if j == p.i {
				return nil, badPattern("empty field name after $")
			}
			c.path = append(c.path, p.s[p.i:j])
			p.i = j
			continue
		case '[':
			end := strings.IndexByte(p.s[p.i:], ']')
			if end < 0 {
				return nil, badPattern("unbalanced [")
			}
			n, err := strconv.Atoi(p.s[p.i+1 : p.i+end])
			if err != nil || n < 0 || n > 1<<20 {
				return nil, badPattern("array index %q is not a number", p.s[p.i+1:p.i+end])
			}
			c.path = append(c.path, n)
			p.i += end + 1
			continue
		}
		break
	}
	if len(c.path) == 0 {
		return nil, badPattern("$ must be followed by a field, like $.requestId")
	}
	p.space()
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(p.s[p.i:], op) {
			c.op = op
			p.i += len(op)
			break
		}
	}
	if c.op == "" {
		return nil, badPattern("expected = or != at %q", p.rest())
	}
	p.space()
	if p.i >= len(p.s) {
		return nil, badPattern("no value after %s", c.op)
	}
	if p.s[p.i] == '"' {
		end := strings.IndexByte(p.s[p.i+1:], '"')
		if end < 0 {
			return nil, badPattern("unbalanced quote")
		}
		c.str = p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
	} else {
		j := p.i
		for j < len(p.s) && (identByte(p.s[j]) || p.s[j] == '.' || p.s[j] == '*' || p.s[j] == '+') {
			j++
		}
		if j == p.i {
			return nil, badPattern("expected a value at %q", p.rest())
		}
		c.str = p.s[p.i:j]
		p.i = j
		if f, err := strconv.ParseFloat(c.str, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			c.num, c.isNum = f, true
		}
	}
	if !c.isNum {
		if c.op != "=" && c.op != "!=" {
			return nil, badPattern("%s compares numbers only", c.op)
		}
		if strings.HasSuffix(c.str, "*") {
			c.str, c.prefix = strings.TrimSuffix(c.str, "*"), true
		}
		if strings.Contains(c.str, "*") {
			return nil, badPattern("* is only understood at the end of a value")
		}
	}
	return c, nil
}

func identByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '@'
}

// isPatternError reports a malformed pattern.
func isPatternError(err error) bool {
	var pe *errPattern
	return errors.As(err, &pe)
}
