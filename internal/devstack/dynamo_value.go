package devstack

import (
	"encoding/json"
	"math/big"
	"strings"
	"unicode/utf8"
)

// attrValue is one DynamoDB AttributeValue. It is parsed from and written back to the
// JSON protocol's {"S":"..."} form, so that what a client puts is what it gets.
type attrValue struct {
	kind string // S N B BOOL NULL SS NS BS L M
	str  string // S; N as sent; B as raw bytes
	bool bool   // BOOL
	set  []string
	list []attrValue
	m    map[string]attrValue
}

type item map[string]attrValue

func stringValue(s string) attrValue { return attrValue{kind: "S", str: s} }
func numberValue(n string) attrValue { return attrValue{kind: "N", str: n} }

var attrKinds = map[string]bool{"S": true, "N": true, "B": true, "BOOL": true, "NULL": true,
	"SS": true, "NS": true, "BS": true, "L": true, "M": true}

func (v *attrValue) UnmarshalJSON(data []byte) error {
	if str, ok := plainString(data); ok {
		*v = attrValue{kind: "S", str: str}
		return nil
	}
	return v.unmarshalGeneral(data)
}

func (v *attrValue) unmarshalGeneral(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	if len(raw) != 1 {
		return validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
	}
	for kind, body := range raw {
		if !attrKinds[kind] {
			return validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
		}
		*v = attrValue{kind: kind}
		switch kind {
		case "S":
			return json.Unmarshal(body, &v.str)
		case "N":
			if err := json.Unmarshal(body, &v.str); err != nil {
				return err
			}
			if _, ok := parseNumber(v.str); !ok {
				return validation("The parameter cannot be converted to a numeric value: " + v.str)
			}
		case "B":
			var b []byte
			if err := json.Unmarshal(body, &b); err != nil {
				return validation("Invalid Binary: " + err.Error())
			}
			v.str = string(b)
		case "BOOL":
			return json.Unmarshal(body, &v.bool)
		case "NULL":
			var b bool
			if err := json.Unmarshal(body, &b); err != nil || !b {
				return validation("One or more parameter values were invalid: Null attribute value types must have the value of true")
			}
		case "SS", "NS":
			if err := json.Unmarshal(body, &v.set); err != nil {
				return err
			}
			if kind == "NS" {
				for _, n := range v.set {
					if _, ok := parseNumber(n); !ok {
						return validation("The parameter cannot be converted to a numeric value: " + n)
					}
				}
			}
		case "BS":
			var bs [][]byte
			if err := json.Unmarshal(body, &bs); err != nil {
				return err
			}
			for _, b := range bs {
				v.set = append(v.set, string(b))
			}
		case "L":
			if err := json.Unmarshal(body, &v.list); err != nil {
				return err
			}
			if v.list == nil {
				v.list = []attrValue{}
			}
		case "M":
			if err := json.Unmarshal(body, &v.m); err != nil {
				return err
			}
			if v.m == nil {
				v.m = map[string]attrValue{}
			}
		}
		if v.isSet() {
			if len(v.set) == 0 {
				return validation("One or more parameter values were invalid: An number set  may not be empty")
			}
			if hasDuplicates(v.kind, v.set) {
				return validation("One or more parameter values were invalid: Input collection contains duplicates")
			}
		}
	}
	return nil
}

// plainString reads the commonest value of a request, a key's {"S":"..."}, when it is
// written compactly and its string needs no unescaping (no quote, backslash or control
// byte, valid UTF-8): what json.Unmarshal would read, without its reflection and maps.
// Anything else is left to the general path (FuzzAttrValueRoundTrip compares the two).
func plainString(data []byte) (string, bool) {
	const head, tail = `{"S":"`, `"}`
	if len(data) < len(head)+len(tail) || string(data[:len(head)]) != head || string(data[len(data)-len(tail):]) != tail {
		return "", false
	}
	body := data[len(head) : len(data)-len(tail)]
	for _, c := range body {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(body) {
		return "", false
	}
	return string(body), true
}

func (v attrValue) MarshalJSON() ([]byte, error) { return appendValueJSON(nil, v), nil }

func (it item) MarshalJSON() ([]byte, error) { return appendItemJSON(nil, it), nil }

func (v attrValue) isSet() bool { return v.kind == "SS" || v.kind == "NS" || v.kind == "BS" }

func hasDuplicates(kind string, set []string) bool {
	seen := make(map[string]bool, len(set))
	for _, s := range set {
		k := s
		if kind == "NS" {
			r, _ := parseNumber(s)
			k = r.RatString()
		}
		if seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}

// parseNumber reads a DynamoDB number exactly; decimal fractions stay exact in a Rat.
func parseNumber(s string) (*big.Rat, bool) {
	t := strings.TrimSpace(s)
	if t == "" || strings.ContainsAny(t, "/xXpP_") || strings.EqualFold(t, "nan") || strings.Contains(strings.ToLower(t), "inf") {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(t)
	return r, ok
}

func formatNumber(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	s := r.FloatString(38)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// equal is DynamoDB equality: same type and same value (sets ignore order).
func (v attrValue) equal(w attrValue) bool {
	if v.kind != w.kind {
		return false
	}
	switch v.kind {
	case "S", "B":
		return v.str == w.str
	case "N":
		a, _ := parseNumber(v.str)
		b, _ := parseNumber(w.str)
		return a != nil && b != nil && a.Cmp(b) == 0
	case "BOOL":
		return v.bool == w.bool
	case "NULL":
		return true
	case "SS", "BS", "NS":
		if len(v.set) != len(w.set) {
			return false
		}
		for _, s := range v.set {
			if !w.setHas(s) {
				return false
			}
		}
		return true
	case "L":
		if len(v.list) != len(w.list) {
			return false
		}
		for i := range v.list {
			if !v.list[i].equal(w.list[i]) {
				return false
			}
		}
		return true
	case "M":
		if len(v.m) != len(w.m) {
			return false
		}
		for k, e := range v.m {
			f, ok := w.m[k]
			if !ok || !e.equal(f) {
				return false
			}
		}
		return true
	}
	return false
}

func (v attrValue) setHas(s string) bool {
	for _, e := range v.set {
		if v.kind == "NS" {
			if (attrValue{kind: "N", str: e}).equal(attrValue{kind: "N", str: s}) {
				return true
			}
		} else if e == s {
			return true
		}
	}
	return false
}

// compare orders two scalars of the same ordered type (S, N, B); ok is false otherwise.
func (v attrValue) compare(w attrValue) (c int, ok bool) {
	if v.kind != w.kind {
		return 0, false
	}
	switch v.kind {
	case "S", "B":
		return strings.Compare(v.str, w.str), true
	case "N":
		a, _ := parseNumber(v.str)
		b, _ := parseNumber(w.str)
		if a == nil || b == nil {
			return 0, false
		}
		return a.Cmp(b), true
	}
	return 0, false
}

// size approximates DynamoDB's item size accounting (name plus value bytes).
func (v attrValue) size() int {
	switch v.kind {
	case "S", "B":
		return len(v.str)
	case "N":
		return len(v.str)/2 + 1
	case "BOOL", "NULL":
		return 1
	case "SS", "NS", "BS":
		n := 0
		for _, s := range v.set {
			n += len(s)
		}
		return n
	case "L":
		n := 3
		for _, e := range v.list {
			n += e.size() + 1
		}
		return n
	case "M":
		n := 3
		for k, e := range v.m {
			n += len(k) + e.size() + 1
		}
		return n
	}
	return 0
}

func (it item) size() int {
	n := 0
	for k, v := range it {
		n += len(k) + v.size()
	}
	return n
}

func (it item) clone() item {
	c := make(item, len(it))
	for k, v := range it {
		c[k] = v // values are never mutated in place
	}
	return c
}

// valueText renders a value for error messages the way DynamoDB does, roughly.
func (v attrValue) String() string {
	b, _ := v.MarshalJSON()
	return string(b)
}
