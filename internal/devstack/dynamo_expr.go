package devstack

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// The expression language subset the status table understands: top-level attribute
// names (plain or #placeholders), :values, comparisons, BETWEEN, IN, AND/OR/NOT,
// attribute_exists, attribute_not_exists, begins_with and contains; SET (with + - and
// if_not_exists), REMOVE and ADD. Anything else is refused with a ValidationException that
// names it, never evaluated approximately.

type token struct {
	kind string // ident name value op num eof
	text string
	pos  int
}

func tokenize(what, s string) ([]token, error) {
	var toks []token
	i := 0
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':':
			j := i + 1
			for j < len(s) && isWord(s[j]) {
				j++
			}
			if j == i+1 {
				return nil, syntaxError(what, s, string(c))
			}
			kind := "name"
			if c == ':' {
				kind = "value"
			}
			toks = append(toks, token{kind, s[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			toks = append(toks, token{"num", s[i:j], i})
			i = j
		case isWord(c):
			j := i
			for j < len(s) && isWord(s[j]) {
				j++
			}
			toks = append(toks, token{"ident", s[i:j], i})
			i = j
		case c == '<' || c == '>':
			j := i + 1
			if j < len(s) && (s[j] == '=' || (c == '<' && s[j] == '>')) {
				j++
			}
			toks = append(toks, token{"op", s[i:j], i})
			i = j
		case strings.IndexByte("=(),.[]+-", c) >= 0:
			toks = append(toks, token{"op", s[i : i+1], i})
			i++
		default:
			return nil, syntaxError(what, s, string(c))
		}
	}
	return append(toks, token{"eof", "", len(s)}), nil
}

func syntaxError(what, expr, tok string) error {
	if tok == "" {
		tok = "<EOF>"
	}
	return validation(fmt.Sprintf("Invalid %s: Syntax error; token: %q, near: %q", what, tok, expr))
}

// exprContext holds the placeholders of one request and records which were used, so that
// unused ones are refused like DynamoDB does.
type exprContext struct {
	names      map[string]string
	values     map[string]attrValue
	usedNames  map[string]bool
	usedValues map[string]bool
}

func newExprContext(names map[string]string, values map[string]attrValue) *exprContext {
	return &exprContext{names: names, values: values, usedNames: map[string]bool{}, usedValues: map[string]bool{}}
}

// checkUnused refuses placeholders that no expression used.
func (c *exprContext) checkUnused() error {
	var unusedNames, unusedValues []string
	for k := range c.names {
		if !c.usedNames[k] {
			unusedNames = append(unusedNames, k)
		}
	}
	for k := range c.values {
		if !c.usedValues[k] {
			unusedValues = append(unusedValues, k)
		}
	}
	sort.Strings(unusedNames)
	sort.Strings(unusedValues)
	if len(unusedNames) > 0 {
		return validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {" + strings.Join(unusedNames, ", ") + "}")
	}
	if len(unusedValues) > 0 {
		return validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {" + strings.Join(unusedValues, ", ") + "}")
	}
	return nil
}

type exprParser struct {
	what string // FilterExpression, KeyConditionExpression, ...
	expr string
	toks []token
	pos  int
	ctx  *exprContext
}

func newExprParser(what, expr string, ctx *exprContext) (*exprParser, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, validation(fmt.Sprintf("Invalid %s: The expression can not be empty;", what))
	}
	toks, err := tokenize(what, expr)
	if err != nil {
		return nil, err
	}
	return &exprParser{what: what, expr: expr, toks: toks, ctx: ctx}, nil
}

func (p *exprParser) peek() token { return p.toks[p.pos] }
func (p *exprParser) next() token {
	t := p.toks[p.pos]
	if t.kind != "eof" {
		p.pos++
	}
	return t
}
func (p *exprParser) isOp(s string) bool { t := p.peek(); return t.kind == "op" && t.text == s }
func (p *exprParser) isKeyword(s string) bool {
	t := p.peek()
	return t.kind == "ident" && strings.EqualFold(t.text, s)
}
func (p *exprParser) expectOp(s string) error {
	if !p.isOp(s) {
		return syntaxError(p.what, p.expr, p.peek().text)
	}
	p.next()
	return nil
}
func (p *exprParser) unsupported(format string, args ...any) error {
	return unsupported(p.what+" "+format, args...)
}

// operand is an attribute path (top level only) or a :value.
type operand struct {
	isPath bool
	attr   string
	val    attrValue
	text   string
}

// path reads a top-level attribute name.
func (p *exprParser) path() (operand, error) {
	t := p.next()
	var name string
	switch t.kind {
	case "name":
		n, ok := p.ctx.names[t.text]
		if !ok {
			return operand{}, validation(fmt.Sprintf("Invalid %s: An expression attribute name used in the document path is not defined; attribute name: %s", p.what, t.text))
		}
		p.ctx.usedNames[t.text] = true
		name = n
	case "ident":
		if dynamoReserved()[strings.ToUpper(t.text)] {
			return operand{}, validation(fmt.Sprintf("Invalid %s: Attribute name is a reserved keyword; reserved keyword: %s", p.what, t.text))
		}
		name = t.text
	default:
		return operand{}, syntaxError(p.what, p.expr, t.text)
	}
	if p.isOp(".") || p.isOp("[") {
		return operand{}, p.unsupported("nested document path %s%s...: only top-level attributes are supported", t.text, p.peek().text)
	}
	return operand{isPath: true, attr: name, text: t.text}, nil
}

func (p *exprParser) operand() (operand, error) {
	t := p.peek()
	switch {
	case t.kind == "value":
		p.next()
		v, ok := p.ctx.values[t.text]
		if !ok {
			return operand{}, validation(fmt.Sprintf("Invalid %s: An expression attribute value used in expression is not defined; attribute value: %s", p.what, t.text))
		}
		p.ctx.usedValues[t.text] = true
		return operand{val: v, text: t.text}, nil
	case t.kind == "ident" && p.toks[p.pos+1].kind == "op" && p.toks[p.pos+1].text == "(":
		return operand{}, p.unsupported("function %s as an operand", t.text)
	default:
		return p.path()
	}
}

type condNode struct {
	op   string // and or not cmp between in func
	cmp  string // = <> < <= > >=
	fn   string
	kids []*condNode
	args []operand
}

// parseCondition parses a whole condition expression.
func (p *exprParser) parseCondition() (*condNode, error) {
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != "eof" {
		return nil, syntaxError(p.what, p.expr, p.peek().text)
	}
	return n, nil
}

func (p *exprParser) or() (*condNode, error) {
	n, err := p.and()
	for err == nil && p.isKeyword("OR") {
		p.next()
		var r *condNode
		if r, err = p.and(); err == nil {
			n = &condNode{op: "or", kids: []*condNode{n, r}}
		}
	}
	return n, err
}

func (p *exprParser) and() (*condNode, error) {
	n, err := p.not()
	for err == nil && p.isKeyword("AND") {
		p.next()
		var r *condNode
		if r, err = p.not(); err == nil {
			n = &condNode{op: "and", kids: []*condNode{n, r}}
		}
	}
	return n, err
}

func (p *exprParser) not() (*condNode, error) {
	if p.isKeyword("NOT") {
		p.next()
		n, err := p.not()
		if err != nil {
			return nil, err
		}
		return &condNode{op: "not", kids: []*condNode{n}}, nil
	}
	return p.atom()
}

var conditionFunctions = map[string]int{"attribute_exists": 1, "attribute_not_exists": 1, "begins_with": 2, "contains": 2}

func (p *exprParser) atom() (*condNode, error) {
	if p.isOp("(") {
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		return n, p.expectOp(")")
	}
	t := p.peek()
	if t.kind == "ident" && p.toks[p.pos+1].kind == "op" && p.toks[p.pos+1].text == "(" {
		return p.function()
	}
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	switch {
	case p.peek().kind == "op" && isComparator(p.peek().text):
		cmp := p.next().text
		right, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &condNode{op: "cmp", cmp: cmp, args: []operand{left, right}}, nil
	case p.isKeyword("BETWEEN"):
		p.next()
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !p.isKeyword("AND") {
			return nil, syntaxError(p.what, p.expr, p.peek().text)
		}
		p.next()
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !lo.isPath && !hi.isPath {
			if c, ok := lo.val.compare(hi.val); ok && c > 0 {
				return nil, validation(fmt.Sprintf("Invalid %s: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: %s, upper bound operand: AttributeValue: %s", p.what, lo.val, hi.val))
			}
		}
		return &condNode{op: "between", args: []operand{left, lo, hi}}, nil
	case p.isKeyword("IN"):
		p.next()
		if err := p.expectOp("("); err != nil {
			return nil, err
		}
		args := []operand{left}
		for {
			o, err := p.operand()
			if err != nil {
				return nil, err
			}
			args = append(args, o)
			if p.isOp(",") {
				p.next()
				continue
			}
			break
		}
		return &condNode{op: "in", args: args}, p.expectOp(")")
	}
	return nil, syntaxError(p.what, p.expr, p.peek().text)
}

func isComparator(s string) bool {
	switch s {
	case "=", "<>", "<", "<=", ">", ">=":
		return true
	}
	return false
}

func (p *exprParser) function() (*condNode, error) {
	name := p.next().text
	want, ok := conditionFunctions[name]
	if !ok {
		if name == "size" || name == "attribute_type" {
			return nil, p.unsupported("function %s", name)
		}
		return nil, validation(fmt.Sprintf("Invalid %s: Invalid function name; function: %s", p.what, name))
	}
	p.next() // (
	var args []operand
	for !p.isOp(")") {
		var o operand
		var err error
		if len(args) == 0 {
			o, err = p.path()
		} else {
			o, err = p.operand()
		}
		if err != nil {
			return nil, err
		}
		args = append(args, o)
		if p.isOp(",") {
			p.next()
		} else if !p.isOp(")") {
			return nil, syntaxError(p.what, p.expr, p.peek().text)
		}
	}
	p.next()
	if len(args) != want {
		return nil, validation(fmt.Sprintf("Invalid %s: Incorrect number of operands for operator or function; operator or function: %s, number of operands: %d", p.what, name, len(args)))
	}
	if name == "begins_with" && !args[1].isPath && args[1].val.kind != "S" && args[1].val.kind != "B" {
		return nil, validation(fmt.Sprintf("Invalid %s: Incorrect operand type for operator or function; operator or function: begins_with, operand type: %s", p.what, args[1].val.kind))
	}
	return &condNode{op: "func", fn: name, args: args}, nil
}

func resolve(o operand, it item) (attrValue, bool) {
	if !o.isPath {
		return o.val, true
	}
	v, ok := it[o.attr]
	return v, ok
}

// eval applies DynamoDB's comparison rules: values of different types are never equal
// and never ordered; a missing attribute compares false except under <>.
func (n *condNode) eval(it item) bool {
	switch n.op {
	case "and":
		return n.kids[0].eval(it) && n.kids[1].eval(it)
	case "or":
		return n.kids[0].eval(it) || n.kids[1].eval(it)
	case "not":
		return !n.kids[0].eval(it)
	case "cmp":
		a, aok := resolve(n.args[0], it)
		b, bok := resolve(n.args[1], it)
		switch n.cmp {
		case "=":
			return aok == bok && (!aok || a.equal(b))
		case "<>":
			return !(aok == bok && (!aok || a.equal(b)))
		}
		if !aok || !bok {
			return false
		}
		c, ok := a.compare(b)
		if !ok {
			return false
		}
		switch n.cmp {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		case ">=":
			return c >= 0
		}
	case "between":
		a, aok := resolve(n.args[0], it)
		lo, lok := resolve(n.args[1], it)
		hi, hok := resolve(n.args[2], it)
		if !aok || !lok || !hok {
			return false
		}
		c1, ok1 := a.compare(lo)
		c2, ok2 := a.compare(hi)
		return ok1 && ok2 && c1 >= 0 && c2 <= 0
	case "in":
		a, aok := resolve(n.args[0], it)
		if !aok {
			return false
		}
		for _, o := range n.args[1:] {
			if b, ok := resolve(o, it); ok && a.equal(b) {
				return true
			}
		}
		return false
	case "func":
		a, aok := resolve(n.args[0], it)
		switch n.fn {
		case "attribute_exists":
			return aok
		case "attribute_not_exists":
			return !aok
		case "begins_with":
			b, bok := resolve(n.args[1], it)
			return aok && bok && a.kind == b.kind && (a.kind == "S" || a.kind == "B") && strings.HasPrefix(a.str, b.str)
		case "contains":
			b, bok := resolve(n.args[1], it)
			if !aok || !bok {
				return false
			}
			switch a.kind {
			case "S", "B":
				return b.kind == a.kind && strings.Contains(a.str, b.str)
			case "SS":
				return b.kind == "S" && a.setHas(b.str)
			case "NS":
				return b.kind == "N" && a.setHas(b.str)
			case "BS":
				return b.kind == "B" && a.setHas(b.str)
			case "L":
				for _, e := range a.list {
					if e.equal(b) {
						return true
					}
				}
			}
			return false
		}
	}
	return false
}

// attrs lists the attribute names a condition reads.
func (n *condNode) attrs(into map[string]bool) {
	for _, k := range n.kids {
		k.attrs(into)
	}
	for _, a := range n.args {
		if a.isPath {
			into[a.attr] = true
		}
	}
}

// parseProjection reads "a, #b, c" into attribute names.
func parseProjection(expr string, ctx *exprContext) ([]string, error) {
	p, err := newExprParser("ProjectionExpression", expr, ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	seen := map[string]bool{}
	for {
		o, err := p.path()
		if err != nil {
			return nil, err
		}
		if seen[o.attr] {
			return nil, validation(fmt.Sprintf("Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]", o.attr, o.attr))
		}
		seen[o.attr] = true
		names = append(names, o.attr)
		if p.isOp(",") {
			p.next()
			continue
		}
		if p.peek().kind != "eof" {
			return nil, syntaxError(p.what, p.expr, p.peek().text)
		}
		return names, nil
	}
}

func project(it item, names []string) item {
	if names == nil {
		return it
	}
	out := item{}
	for _, n := range names {
		if v, ok := it[n]; ok {
			out[n] = v
		}
	}
	return out
}

// updateAction is one SET, REMOVE or ADD action.
type updateAction struct {
	verb  string // SET REMOVE ADD
	attr  string
	value setValue  // SET
	add   attrValue // ADD
}

// setValue is "operand", "operand + operand", "operand - operand" or if_not_exists.
type setValue struct {
	left, right *setOperand
	arith       string // "", "+", "-"
}

type setOperand struct {
	o          operand
	ifNotExist *setOperand // if_not_exists(o.attr, ifNotExist)
}

func parseUpdate(expr string, ctx *exprContext) ([]updateAction, error) {
	p, err := newExprParser("UpdateExpression", expr, ctx)
	if err != nil {
		return nil, err
	}
	var actions []updateAction
	seenClause := map[string]bool{}
	seenPath := map[string]bool{}
	addPath := func(a string) error {
		if seenPath[a] {
			return validation(fmt.Sprintf("Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]", a, a))
		}
		seenPath[a] = true
		return nil
	}
	for p.peek().kind != "eof" {
		t := p.next()
		verb := strings.ToUpper(t.text)
		if t.kind != "ident" || (verb != "SET" && verb != "REMOVE" && verb != "ADD" && verb != "DELETE") {
			return nil, syntaxError(p.what, p.expr, t.text)
		}
		if verb == "DELETE" {
			return nil, p.unsupported("clause DELETE")
		}
		if seenClause[verb] {
			return nil, validation(fmt.Sprintf("Invalid UpdateExpression: The \"%s\" section can only be used once in an update expression;", verb))
		}
		seenClause[verb] = true
		for {
			target, err := p.path()
			if err != nil {
				return nil, err
			}
			if err := addPath(target.attr); err != nil {
				return nil, err
			}
			a := updateAction{verb: verb, attr: target.attr}
			switch verb {
			case "SET":
				if err := p.expectOp("="); err != nil {
					return nil, err
				}
				if a.value, err = p.setValue(); err != nil {
					return nil, err
				}
			case "ADD":
				v, err := p.operand()
				if err != nil {
					return nil, err
				}
				if v.isPath {
					return nil, syntaxError(p.what, p.expr, v.text)
				}
				if v.val.kind != "N" && !v.val.isSet() {
					return nil, validation(fmt.Sprintf("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: %s", v.val.kind))
				}
				a.add = v.val
			}
			actions = append(actions, a)
			if p.isOp(",") {
				p.next()
				continue
			}
			break
		}
	}
	return actions, nil
}

func (p *exprParser) setValue() (setValue, error) {
	l, err := p.setOperand()
	if err != nil {
		return setValue{}, err
	}
	v := setValue{left: l}
	if p.isOp("+") || p.isOp("-") {
		v.arith = p.next().text
		if v.right, err = p.setOperand(); err != nil {
			return setValue{}, err
		}
	}
	return v, nil
}

func (p *exprParser) setOperand() (*setOperand, error) {
	t := p.peek()
	if t.kind == "ident" && p.toks[p.pos+1].kind == "op" && p.toks[p.pos+1].text == "(" {
		if t.text != "if_not_exists" {
			if t.text == "list_append" {
				return nil, p.unsupported("function list_append")
			}
			return nil, validation(fmt.Sprintf("Invalid UpdateExpression: Invalid function name; function: %s", t.text))
		}
		p.next()
		p.next()
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(","); err != nil {
			return nil, err
		}
		dflt, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		return &setOperand{o: path, ifNotExist: dflt}, p.expectOp(")")
	}
	o, err := p.operand()
	if err != nil {
		return nil, err
	}
	return &setOperand{o: o}, nil
}

func (s *setOperand) eval(it item) (attrValue, error) {
	if s.ifNotExist != nil {
		if v, ok := it[s.o.attr]; ok {
			return v, nil
		}
		return s.ifNotExist.eval(it)
	}
	v, ok := resolve(s.o, it)
	if !ok {
		return attrValue{}, validation("The provided expression refers to an attribute that does not exist in the item")
	}
	return v, nil
}

func (v setValue) eval(it item) (attrValue, error) {
	l, err := v.left.eval(it)
	if err != nil || v.arith == "" {
		return l, err
	}
	r, err := v.right.eval(it)
	if err != nil {
		return attrValue{}, err
	}
	if l.kind != "N" || r.kind != "N" {
		return attrValue{}, validation("An operand in the update expression has an incorrect data type")
	}
	a, _ := parseNumber(l.str)
	b, _ := parseNumber(r.str)
	if v.arith == "+" {
		a = new(big.Rat).Add(a, b)
	} else {
		a = new(big.Rat).Sub(a, b)
	}
	return numberValue(formatNumber(a)), nil
}

// applyUpdate evaluates every action against the old item, as DynamoDB does.
func applyUpdate(old item, actions []updateAction) (item, error) {
	out := old.clone()
	for _, a := range actions {
		switch a.verb {
		case "SET":
			v, err := a.value.eval(old)
			if err != nil {
				return nil, err
			}
			out[a.attr] = v
		case "REMOVE":
			delete(out, a.attr)
		case "ADD":
			cur, ok := old[a.attr]
			switch {
			case !ok:
				out[a.attr] = a.add
			case cur.kind == "N" && a.add.kind == "N":
				x, _ := parseNumber(cur.str)
				y, _ := parseNumber(a.add.str)
				out[a.attr] = numberValue(formatNumber(new(big.Rat).Add(x, y)))
			case cur.kind == a.add.kind && cur.isSet():
				merged := attrValue{kind: cur.kind, set: append([]string(nil), cur.set...)}
				for _, s := range a.add.set {
					if !merged.setHas(s) {
						merged.set = append(merged.set, s)
					}
				}
				out[a.attr] = merged
			default:
				return nil, validation("An operand in the update expression has an incorrect data type")
			}
		}
	}
	return out, nil
}
