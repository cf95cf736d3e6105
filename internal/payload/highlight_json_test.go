package payload

import (
	"encoding/json"
	"strings"
	"testing"
)

// chromaWhole colours all of doc's lines with chroma, lexed from the top: the colours
// prettyJSONLines must reproduce.
func chromaWhole(h *Highlighter, d *Document) []string {
	lines := make([]string, d.Lines())
	for i := range lines {
		lines[i] = d.Line(i)
	}
	return h.highlight(JSON, lines, lexContext{})
}

func checkPrettyJSONLikeChroma(t *testing.T, src string) (fast bool) {
	t.Helper()
	d := NewDocument([]byte(src), JSON, true, false)
	if !d.Pretty() || d.ParseErr() != nil {
		return false
	}
	for _, dark := range []bool{true, false} {
		h := NewHighlighter(dark)
		want := chromaWhole(h, d)
		lines := make([]string, d.Lines())
		for i := range lines {
			lines[i] = d.Line(i)
		}
		got, ok := h.prettyJSONLines(lines)
		if !ok {
			continue // chroma colours it; nothing to compare
		}
		fast = true
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%q line %d:\n got %q\nwant %q", src, i, got[i], want[i])
			}
		}
		// Window takes the fast path for this document; any window agrees too.
		for _, from := range []int{0, d.Lines() / 3, d.Lines() - 1} {
			w := h.Window(d, from, from+7)
			for i, l := range w {
				if l != want[from+i] {
					t.Fatalf("%q window at %d, line %d:\n got %q\nwant %q", src, from, from+i, l, want[from+i])
				}
			}
		}
	}
	return fast
}

func TestPrettyJSONLinesLikeChroma(t *testing.T) {
	for _, src := range []string{
		`{"a":[1,2.5,-3e7,1E+2,0.25e-3,-0,true,false,null,{},[],"x\"y\\",{"b":{"c":[[]]}}],"d":"é ☃ \u202e \u001b"}`,
		`[]`, `"just a string"`, `12`, `null`, `[{"k:":":v"},{"":""}]`, `{"a\\":"b\\\\"}`,
	} {
		if !checkPrettyJSONLikeChroma(t, src) {
			t.Errorf("%q did not take the fast path", src)
		}
	}
	var many strings.Builder
	many.WriteString("[")
	for i := range 200 {
		if i > 0 {
			many.WriteString(",")
		}
		b, _ := json.Marshal(map[string]any{"id": i, "name": "p\t\"" + strings.Repeat("x", i%7), "price": float64(i) / 3, "ok": i%2 == 0, "nil": nil})
		many.Write(b)
	}
	many.WriteString("]")
	if !checkPrettyJSONLikeChroma(t, many.String()) {
		t.Error("the array of objects did not take the fast path")
	}
}

func FuzzPrettyJSONLinesLikeChroma(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,true,null,"x\"y"]}`, `[{"":{}},[],-0.5e-7]`, `"\u2028"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if !json.Valid([]byte(src)) || len(src) > 4096 {
			return
		}
		checkPrettyJSONLikeChroma(t, src)
	})
}
