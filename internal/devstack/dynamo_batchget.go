package devstack

import (
	"bytes"
	"unicode/utf8"
)

// fastBatchGet reads the BatchGetItem request the SDK sends for a page of keys,
//
//	{"RequestItems":{"<table>":{"Keys":[{"<attr>":{"S":"<value>"}},...]}}}
//
// compact, and with no string that needs unescaping, without encoding/json's reflection
// (`stowage ls` sends ten thousand of them for a million requests). Anything else (another
// member, whitespace, an escape, invalid UTF-8) is left to decodeRequest: ok is false.
// FuzzFastBatchGet holds what it reads to what decodeRequest reads.
func fastBatchGet(body []byte) (in *batchGetInput, table string, ok bool) {
	p := body
	lit := func(s string) bool {
		if !bytes.HasPrefix(p, []byte(s)) {
			return false
		}
		p = p[len(s):]
		return true
	}
	// str reads a string that needs no unescaping and returns its bytes, still in body.
	str := func() ([]byte, bool) {
		if len(p) == 0 || p[0] != '"' {
			return nil, false
		}
		for i := 1; i < len(p); i++ {
			switch c := p[i]; {
			case c == '"':
				s := p[1:i]
				p = p[i+1:]
				return s, utf8.Valid(s)
			case c < 0x20 || c == '\\':
				return nil, false
			}
		}
		return nil, false
	}
	if !lit(`{"RequestItems":{`) {
		return nil, "", false
	}
	name, ok := str()
	if !ok || !lit(`:{"Keys":[`) {
		return nil, "", false
	}
	var attr string // one copy of the key's name for every key
	keys := make([]map[string]attrValue, 0, 100)
	for {
		if !lit(`{`) {
			return nil, "", false
		}
		a, ok := str()
		if !ok || !lit(`:{"S":`) {
			return nil, "", false
		}
		v, ok := str()
		if !ok || !lit(`}}`) {
			return nil, "", false
		}
		if string(a) != attr {
			attr = string(a)
		}
		keys = append(keys, map[string]attrValue{attr: stringValue(string(v))})
		if lit(`,`) {
			continue
		}
		if !lit(`]}}}`) || len(p) != 0 {
			return nil, "", false
		}
		table = string(name)
		return &batchGetInput{RequestItems: map[string]*batchGetTable{table: {Keys: keys}}}, table, true
	}
}
