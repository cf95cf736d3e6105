package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestPrettyJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"object", `{"b":1,"a":[true,false,null]}`, "{\n  \"b\": 1,\n  \"a\": [\n    true,\n    false,\n    null\n  ]\n}"},
		{"keeps key order and duplicates", `{"z":1,"a":2,"z":3}`, "{\n  \"z\": 1,\n  \"a\": 2,\n  \"z\": 3\n}"},
		{"numbers are exact", `[1.50,1e400,-0,12345678901234567890123,0.1E-7]`, "[\n  1.50,\n  1e400,\n  -0,\n  12345678901234567890123,\n  0.1E-7\n]"},
		{"escapes are kept", `{"s":"a\u00e9\n\"\/\u001b[2J"}`, "{\n  \"s\": \"a\\u00e9\\n\\\"\\/\\u001b[2J\"\n}"},
		{"empty containers stay inline", `{"o":{},"a":[ ],"n":[{}]}`, "{\n  \"o\": {},\n  \"a\": [],\n  \"n\": [\n    {}\n  ]\n}"},
		{"whitespace is replaced", " {\r\n\t\"a\" :\n1 } \n", "{\n  \"a\": 1\n}"},
		{"scalar", ` "just a string" `, `"just a string"`},
		{"bom is dropped", "\ufeff{\"a\":1}", "{\n  \"a\": 1\n}"},
		{"json lines", "{\"a\":1}\n{\"b\":2}\n", "{\n  \"a\": 1\n}\n{\n  \"b\": 2\n}"},
		{"unicode text kept", `{"名前":"製品 ☕"}`, "{\n  \"名前\": \"製品 ☕\"\n}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PrettyJSON([]byte(tt.in))
			if err != nil {
				t.Fatalf("PrettyJSON(%q) error: %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("PrettyJSON(%q) =\n%s\nwant\n%s", tt.in, got, tt.want)
			}
		})
	}
}

func TestPrettyJSONErrors(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		line, col  int
		offset     int64
		truncated  bool
		msgContain string
	}{
		{"missing comma", "{\n  \"a\": 1\n  \"b\": 2\n}", 3, 3, 13, false, `invalid character '"' after object key:value pair`},
		{"bad literal", `[tru]`, 1, 5, 4, false, "in literal true"},
		{"trailing comma", `[1,]`, 1, 4, 3, false, "looking for beginning of value"},
		{"control in string", "{\"a\":\"x\ty\"}", 1, 8, 7, false, `invalid character '\t' in string literal`},
		{"bad escape", `"\q"`, 1, 3, 2, false, "in string escape code"},
		{"bad unicode escape", `"\u12x4"`, 1, 6, 5, false, "hexadecimal character escape"},
		{"leading zero", `01`, 1, 2, 1, false, "after top-level value"},
		{"bad number", `[-]`, 1, 3, 2, false, "in numeric literal"},
		{"bad fraction", `[1.]`, 1, 4, 3, false, "after decimal point"},
		{"column counts runes", `{"é": x}`, 1, 7, 7, false, "'x' looking for beginning of value"},
		{"hostile byte is escaped in message", "[\x1b]", 1, 2, 1, false, `'\x1b'`},
		{"invalid utf-8 byte in message", "[\xff]", 1, 2, 1, false, `'\xff'`},
		{"wrong closer", `{"a":1]`, 1, 7, 6, false, "after object key:value pair"},
		{"stray closer", `]`, 1, 1, 0, false, "looking for beginning of value"},
		{"empty", ``, 1, 1, 0, true, "no value"},
		{"cut in object", "{\"a\": [1, 2", 1, 12, 11, true, "unexpected end"},
		{"cut in string", `{"a": "hel`, 1, 11, 10, true, "in string literal"},
		{"cut in escape", `"a\u00`, 1, 7, 6, true, "unexpected end"},
		{"cut in number", `[1.`, 1, 4, 3, true, "unexpected end"},
		{"cut after colon", `{"a":`, 1, 6, 5, true, "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PrettyJSON([]byte(tt.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("PrettyJSON(%q) error = %v, want a *SyntaxError", tt.in, err)
			}
			if se.Line != tt.line || se.Column != tt.col || se.Offset != tt.offset {
				t.Errorf("PrettyJSON(%q) error at line %d col %d offset %d, want line %d col %d offset %d (%v)",
					tt.in, se.Line, se.Column, se.Offset, tt.line, tt.col, tt.offset, se)
			}
			if se.Truncated != tt.truncated || errors.Is(err, ErrTruncated) != tt.truncated {
				t.Errorf("PrettyJSON(%q) truncated = %v, want %v", tt.in, se.Truncated, tt.truncated)
			}
			if !strings.Contains(se.Msg, tt.msgContain) {
				t.Errorf("PrettyJSON(%q) message %q does not contain %q", tt.in, se.Msg, tt.msgContain)
			}
			if strings.ContainsAny(err.Error(), "\x1b\xff") {
				t.Errorf("error message carries a raw hostile byte: %q", err)
			}
		})
	}
}

func TestPrettyJSONTruncatedIsBestEffort(t *testing.T) {
	in := []byte(`{"order":{"id":"A-1","lines":[{"sku":"X","qty":2},{"sku":"Y","na`)
	out, err := PrettyJSON(in)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("error = %v, want ErrTruncated", err)
	}
	want := "{\n  \"order\": {\n    \"id\": \"A-1\",\n    \"lines\": [\n      {\n        \"sku\": \"X\",\n        \"qty\": 2\n      },\n      {\n        \"sku\": \"Y\",\n        \"na"
	if string(out) != want {
		t.Errorf("best-effort output =\n%s\nwant\n%s", out, want)
	}
}

func TestPrettyJSONDeepNestingIsLinear(t *testing.T) {
	const depth = 100_000
	in := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	out, err := PrettyJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	// Each of the 2*depth lines is indented at most maxIndentDepth levels.
	if limit := 2 * depth * (len(indentUnit)*maxIndentDepth + 2); len(out) > limit {
		t.Errorf("output is %d bytes, want at most %d", len(out), limit)
	}
}

// decodeAll decodes every top-level value of a JSON text, keeping numbers exact.
func decodeAll(b []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(b, utf8BOM)))
	dec.UseNumber()
	var vals []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return vals, nil
		}
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
}

func FuzzPrettyJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,2,{"b":null}]}`, `[]`, `{}`, `"x\u00e9"`, `1e5`, `{"a":`, "\ufeff[1]", `[1,]`,
		"{\"a\":1}\n{\"a\":2}", `[[[[[]]]]]`, `{"a":"\ud800"}`, "[\"\xff\"]", `-0.0e+1`, `truefalse`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := PrettyJSON(in)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("PrettyJSON(%q) error %v is not a *SyntaxError", in, err)
			}
			if se.Offset < 0 || se.Offset > int64(len(in)) || se.Line < 1 || se.Column < 1 {
				t.Fatalf("PrettyJSON(%q) error position out of range: %+v", in, se)
			}
			if json.Valid(in) {
				t.Fatalf("PrettyJSON(%q) rejected valid JSON: %v", in, err)
			}
			return
		}
		want, werr := decodeAll(in)
		if werr != nil {
			if strings.Contains(werr.Error(), "exceeded max depth") {
				return
			}
			t.Fatalf("PrettyJSON accepted %q, which encoding/json rejects: %v", in, werr)
		}
		got, gerr := decodeAll(out)
		if gerr != nil {
			t.Fatalf("pretty output of %q does not parse: %v\n%s", in, gerr, out)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("pretty output of %q decodes to %#v, want %#v", in, got, want)
		}
		again, err := PrettyJSON(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("pretty-printing is not idempotent for %q: %v\n%s\n---\n%s", in, err, out, again)
		}
	})
}

func BenchmarkPrettyJSON(b *testing.B) {
	in := bigJSON(1 << 20)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PrettyJSON(in); err != nil {
			b.Fatal(err)
		}
	}
}

// bigJSON returns a compact JSON array of product records of about size bytes.
func bigJSON(size int) []byte {
	var b bytes.Buffer
	b.WriteString("[")
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"sku":"SKU-`)
		b.WriteString(strings.Repeat("7", i%7+1))
		b.WriteString(`","name":"Widget & Gadget","price":19.990,"tags":["tools","hardware"],"stock":{"DUB-1":12,"FRA-2":null},"active":true}`)
	}
	b.WriteString("]")
	return b.Bytes()
}
