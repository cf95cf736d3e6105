package awsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// A joined listing spent about a quarter of its CPU in the SDK's schema-driven decoding
// of BatchGetItem responses. fastBatchGet reads a successful response's items itself, in
// one pass, straight into the plain values of Status.Item (statusOf is then the one
// reading of an item, as for the SDK's attribute values through toStatus), and hands the
// SDK's decoder an empty result. Short strings (attribute names, states, times) are shared
// within a response, so that a listing does not hold a copy of "status" per row. It knows
// the shape DynamoDB sends for a status table: Responses of this table, an empty
// UnprocessedKeys, and S, N, BOOL, NULL, SS, NS, L and M values. Anything else (binary
// values, empty collections, unprocessed keys, consumed capacity, duplicate names, nulls,
// a checksum that does not match) goes to the SDK's decoder untouched, unless it is not
// JSON at all: that is refused here, since the SDK's decoder may panic on it.
// FuzzBatchGetJSON compares the two.

// emptyBatchGetResult stands in for a body fastBatchGet has read.
const emptyBatchGetResult = `{}`

type fastBatchGet struct {
	table string
	dst   *[]map[string]any
	ok    *bool
}

func (*fastBatchGet) ID() string { return "stowage.FastBatchGetItem" }

func (m *fastBatchGet) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	*m.ok = false
	resp, buf, ok := takeBody(out, err)
	if !ok {
		return out, md, err
	}
	body := buf.Bytes()
	if checksumMatches(resp.Header.Get("X-Amz-Crc32"), body) {
		if items, ok := parseBatchGet(body, m.table); ok {
			*m.dst, *m.ok = items, true
			resp.Header.Del("X-Amz-Crc32") // the body below is not the one it sums
			resp.Body = io.NopCloser(strings.NewReader(emptyBatchGetResult))
			listBodyPool.Put(buf)
			return out, md, err
		}
	}
	if !firstValueValid(body) {
		// The SDK's decoder can panic on broken JSON (smithy-go 1.28.9: a list element
		// missing, as in {"Responses":{"t":[,0), or read it as an empty result: refuse
		// it here instead. It reads the first value only, and so does this check.
		listBodyPool.Put(buf)
		return out, md, &smithy.DeserializationError{Err: errors.New("failed to decode response body: not valid JSON")}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body)) // buf is not returned to the pool
	return out, md, err
}

// checksumMatches checks DynamoDB's X-Amz-Crc32 of the body ("" : none sent).
func checksumMatches(header string, body []byte) bool {
	if header == "" {
		return true
	}
	want, err := strconv.ParseUint(header, 10, 32)
	return err == nil && crc32.ChecksumIEEE(body) == uint32(want)
}

// parseBatchGet reads the items of table from a BatchGetItem response, as plain values
// (plainValue's); ok is false outside the subset described above.
func parseBatchGet(b []byte, table string) (items []map[string]any, ok bool) {
	p := jsonScanner{b: b, shared: new(sharedStrings)}
	seen := 0
	if !p.object(func(key string) bool {
		switch key {
		case "Responses":
			if seen&1 != 0 {
				return false
			}
			seen |= 1
			tables := 0
			return p.object(func(name string) bool {
				tables++
				if name != table || tables > 1 {
					return false
				}
				items = make([]map[string]any, 0, 100)
				return p.array(func() bool {
					item, ok := p.plainMap()
					items = append(items, item)
					return ok
				})
			})
		case "UnprocessedKeys":
			if seen&2 != 0 {
				return false
			}
			seen |= 2
			return p.object(func(string) bool { return false }) // only {} is understood
		}
		return false
	}) {
		return nil, false
	}
	p.space()
	if p.pos != len(p.b) || seen&1 == 0 {
		return nil, false
	}
	if items == nil { // none of the keys has an item
		items = []map[string]any{}
	}
	return items, true
}

// jsonScanner reads strict JSON: no duplicate handling of its own, callers decide.
type jsonScanner struct {
	b     []byte
	pos   int
	depth int // of nested attribute values
	// shared (optional) remembers short strings read (attribute names, states), so that
	// each is allocated once a response.
	shared *sharedStrings
}

// sharedStrings is a small cache of strings of 1 to maxSharedLen bytes, two slots a hash
// (a string evicts the one in its first slot only when both are taken). Cheaper than a
// map, whose hashing cost as much as the allocations it saved.
type sharedStrings [256]string

const maxSharedLen = 16 // names and states; times and request IDs are mostly unique

// find returns the string of b if it is cached, else the slot to keep it in.
func (c *sharedStrings) find(b []byte) (s string, ok bool, slot *string) {
	h := uint32(2166136261) // FNV-1a
	for _, x := range b {
		h = (h ^ uint32(x)) * 16777619
	}
	i := (h ^ h>>16) % uint32(len(c))
	first, second := &c[i], &c[i^1]
	switch {
	case *first == string(b):
		return *first, true, nil
	case *second == string(b):
		return *second, true, nil
	case *first != "" && *second == "":
		return "", false, second
	}
	return "", false, first
}

// maxAttributeDepth bounds the nesting of L and M values this subset reads (DynamoDB
// allows 32 levels).
const maxAttributeDepth = 32

func (p *jsonScanner) space() {
	for p.pos < len(p.b) {
		switch p.b[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonScanner) peek() byte {
	p.space()
	if p.pos >= len(p.b) {
		return 0
	}
	return p.b[p.pos]
}

func (p *jsonScanner) expect(c byte) bool {
	if p.peek() != c {
		return false
	}
	p.pos++
	return true
}

// object reads {"k": v, ...}, calling member with each key to read its value.
func (p *jsonScanner) object(member func(key string) bool) bool {
	if !p.expect('{') {
		return false
	}
	if p.expect('}') {
		return true
	}
	for {
		key, ok := p.str()
		if !ok || !p.expect(':') || !member(key) {
			return false
		}
		if p.expect('}') {
			return true
		}
		if !p.expect(',') {
			return false
		}
	}
}

// array reads [v, ...], calling elem to read each value.
func (p *jsonScanner) array(elem func() bool) bool {
	if !p.expect('[') {
		return false
	}
	if p.expect(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.expect(']') {
			return true
		}
		if !p.expect(',') {
			return false
		}
	}
}

// str reads a string, refusing invalid UTF-8, raw control characters and lone surrogates.
func (p *jsonScanner) str() (string, bool) {
	if !p.expect('"') {
		return "", false
	}
	start := p.pos
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		switch {
		case c == '"':
			s := p.b[start:p.pos]
			p.pos++
			var slot *string
			if p.shared != nil && len(s) > 0 && len(s) <= maxSharedLen {
				var v string
				var ok bool
				if v, ok, slot = p.shared.find(s); ok {
					return v, true // valid: it was when it was kept
				}
			}
			if !utf8.Valid(s) {
				return "", false
			}
			v := string(s)
			if slot != nil {
				*slot = v
			}
			return v, true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", false
		}
		p.pos++
	}
	return "", false
}

// escaped finishes a string that has escapes, from start (just after the quote).
func (p *jsonScanner) escaped(start int) (string, bool) {
	out := append([]byte(nil), p.b[start:p.pos]...)
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(out) {
				return "", false
			}
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.b) {
			return "", false
		}
		e := p.b[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				if !bytes.HasPrefix(p.b[p.pos:], []byte(`\u`)) {
					return "", false
				}
				p.pos += 2
				r2, ok := p.hex4()
				if !ok {
					return "", false
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", false
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (p *jsonScanner) hex4() (rune, bool) {
	if p.pos+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.pos : p.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}

func (p *jsonScanner) literal(word string) bool {
	p.space()
	if !bytes.HasPrefix(p.b[p.pos:], []byte(word)) {
		return false
	}
	p.pos += len(word)
	return true
}

// plainMap reads an item (or an M value): attribute names, each once, to plain values.
func (p *jsonScanner) plainMap() (map[string]any, bool) {
	m := make(map[string]any, 8)
	ok := p.object(func(name string) bool {
		if _, dup := m[name]; dup {
			return false
		}
		v, ok := p.plainAttribute()
		m[name] = v
		return ok
	})
	return m, ok && len(m) > 0
}

// plainAttribute reads {"S": ...} and the other types this subset knows, one member each,
// as plainValue gives them: S → string, N → json.Number, BOOL → bool, NULL → nil, SS, NS
// and L → []any, M → map[string]any.
func (p *jsonScanner) plainAttribute() (any, bool) {
	if p.depth >= maxAttributeDepth {
		return nil, false
	}
	p.depth++
	defer func() { p.depth-- }()
	var v any
	members := 0
	ok := p.object(func(typ string) bool {
		members++
		if members > 1 {
			return false
		}
		switch typ {
		case "S":
			s, ok := p.str()
			v = s
			return ok
		case "N":
			s, ok := p.str()
			v = json.Number(s)
			return ok
		case "BOOL":
			switch {
			case p.literal("true"):
				v = true
			case p.literal("false"):
				v = false
			default:
				return false
			}
			return true
		case "NULL":
			v = nil
			return p.literal("true")
		case "SS", "NS":
			var list []any
			if !p.array(func() bool {
				s, ok := p.str()
				if typ == "NS" {
					list = append(list, json.Number(s))
				} else {
					list = append(list, s)
				}
				return ok
			}) || len(list) == 0 {
				return false
			}
			v = list
			return true
		case "L":
			var list []any
			if !p.array(func() bool {
				e, ok := p.plainAttribute()
				list = append(list, e)
				return ok
			}) || len(list) == 0 {
				return false
			}
			v = list
			return true
		case "M":
			m, ok := p.plainMap()
			v = m
			return ok
		}
		return false
	})
	return v, ok && members == 1
}

// firstValueValid reports whether body starts with one valid JSON value.
func firstValueValid(body []byte) bool {
	var v json.RawMessage
	return json.NewDecoder(bytes.NewReader(body)).Decode(&v) == nil
}
