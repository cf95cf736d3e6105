package payload

import (
	"image/color"
	"os"
	"strings"
	"testing"

	"github.com/alecthomas/chroma/v2"
	"github.com/charmbracelet/x/ansi"
)

// wellFormed are valid documents whose windows are lexed from the middle: nested
// containers of both kinds, JSON Lines, long strings cut into continuation lines,
// comments, CDATA with markup characters, processing instructions and tags spread over
// several lines.
func wellFormed(t *testing.T) []struct {
	name   string
	kind   Kind
	pretty bool
	raw    []byte
} {
	t.Helper()
	productJSON, err := os.ReadFile("testdata/product.json")
	if err != nil {
		t.Fatal(err)
	}
	productXML, err := os.ReadFile("testdata/product.xml")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 3*MaxLineBytes)
	return []struct {
		name   string
		kind   Kind
		pretty bool
		raw    []byte
	}{
		{"product.json", JSON, true, productJSON},
		{"nested json", JSON, true, []byte(`{"orders":[{"id":1,"lines":[{"sku":"A","qty":[1,2,{"x":{}}]},{"sku":"B","tags":[]}],"ok":true},` +
			`{"id":2,"lines":[],"meta":{"a":{"b":{"c":[[1],[2,[3]]]}}}}],"total":{"eur":1.5e3,"note":null}}`)},
		{"top-level array", JSON, true, []byte(`[{"a":1},{"b":[{"c":2},{"d":[3,4]}]},[5,[6]],"s",7]`)},
		{"json lines", JSON, true, []byte("{\"a\":{\"b\":1}}\n{\"c\":[1,{\"d\":2}]}\n[3]\n")},
		{"long strings", JSON, true, []byte(`{"k":"` + long + `","arr":["` + long + `",{"z":"` + long + `"}],"tail":{"q":1}}`)},
		{"product.xml", XML, true, productXML},
		{"product.xml raw", XML, false, productXML},
		{"comments and cdata", XML, true, []byte("<a>\n<!--\n  a comment <b>\n  & more\n-->\n<c><![CDATA[\n if (x < y && y > z) {\n   return ]];\n }\n]]></c>\n<?pi\n  data <x>\n?>\n<d e=\"1\"\n   f='2'\n   g=\"&lt;\">t</d>\n</a>")},
		{"long text", XML, true, []byte("<a><b>" + long + "</b><c x=\"" + long + "\"/></a>")},
	}
}

// TestHighlightAnyWindowOfAWellFormedDocumentHasNoErrors lexes every window of valid
// documents, as scrolling does, and checks that the lexer never thinks the text is
// malformed (it used to, for every window that started inside an object or array) and
// that nothing is drawn in the style's error colour.
func TestHighlightAnyWindowOfAWellFormedDocumentHasNoErrors(t *testing.T) {
	for _, tt := range wellFormed(t) {
		t.Run(tt.name, func(t *testing.T) {
			doc := NewDocument(tt.raw, tt.kind, tt.pretty, false)
			if doc.ParseErr() != nil {
				t.Fatalf("the test document is malformed: %v", doc.ParseErr())
			}
			if tt.pretty && !doc.Pretty() {
				t.Fatal("not pretty-printed")
			}
			for _, size := range []int{1, 3, 8} {
				for from := range doc.Lines() {
					to := min(from+size, doc.Lines())
					ctx := doc.lexContext(from, to)
					window := make([]string, 0, to-from+ctx.lead)
					for i := from - ctx.lead; i < to; i++ {
						window = append(window, doc.Line(i))
					}
					tokens, ok := lexBody(lexerFor(tt.kind), tt.kind, ctx, strings.Join(window, "\n")+"\n")
					if !ok {
						t.Fatalf("window %d-%d of a well-formed document is left uncoloured", from, to)
					}
					for tok := range tokens {
						if tok.Type == chroma.Error {
							t.Fatalf("window %d-%d: the lexer calls %q an error\nwindow:\n%s", from, to, tok.Value, strings.Join(window, "\n"))
						}
					}
					for _, dark := range []bool{true, false} {
						errSGR := styleSGR(NewHighlighter(dark).style.Get(chroma.Error))
						for i, l := range NewHighlighter(dark).Window(doc, from, to) {
							if stripSGR(l) != doc.Line(from+i) {
								t.Fatalf("window %d-%d line %d: highlighting changed the text: %q", from, to, from+i, l)
							}
							if errSGR != "" && strings.Contains(l, errSGR) {
								t.Fatalf("window %d-%d line %d is drawn in the error colour: %q", from, to, from+i, l)
							}
						}
					}
				}
			}
		})
	}
}

// styleSGR is the SGR a style entry would be drawn with, computed independently of the
// highlighter's cache.
func styleSGR(e chroma.StyleEntry) string {
	if !e.Colour.IsSet() {
		return ""
	}
	var st ansi.Style
	st = st.ForegroundColor(color.RGBA{R: e.Colour.Red(), G: e.Colour.Green(), B: e.Colour.Blue(), A: 0xff})
	return st.String()
}

// TestHighlightWindowStartingInsideAnObjectColoursKeysAsKeys: a window that starts on a
// member line is lexed in the object's state, so the key is a key, not a string.
func TestHighlightWindowStartingInsideAnObjectColoursKeysAsKeys(t *testing.T) {
	doc := NewDocument([]byte(`{"items":[{"sku":"A-1","qty":2}],"total":3}`), JSON, true, false)
	// 0 {  1 "items": [  2 {  3 "sku": "A-1",  4 "qty": 2  5 }  6 ],  7 "total": 3  8 }
	h := NewHighlighter(true)
	key, str := h.open(chroma.NameTag), h.open(chroma.LiteralStringDouble)
	if key == str {
		t.Fatal("the style draws keys and strings alike; the test cannot tell them apart")
	}
	for _, from := range []int{3, 4, 7} {
		out := h.Window(doc, from, doc.Lines())
		if !strings.Contains(out[0], key+`"`) {
			t.Errorf("window from line %d: the key of %q is not drawn as a key: %q", from, doc.Line(from), out[0])
		}
	}
	if out := h.Window(doc, 3, 4); !strings.Contains(out[0], str+`"A-1"`) {
		t.Errorf("the value is not drawn as a string: %q", out[0])
	}
}

func TestHighlightDrawsLexerErrorsAsPlainText(t *testing.T) {
	// Text that is not JSON at all, as the raw view of a malformed payload shows it: the
	// parse error has its own marker, so the lexer's opinion must not paint it red.
	h := NewHighlighter(true)
	errSGR := styleSGR(h.style.Get(chroma.Error))
	out := h.Lines(JSON, []string{`}} ]] :: not json ;;`}, 0, 1)
	if strings.Contains(out[0], errSGR) {
		t.Errorf("lexer errors are drawn in the error colour: %q", out[0])
	}
	if stripSGR(out[0]) != `}} ]] :: not json ;;` {
		t.Errorf("text changed: %q", out[0])
	}
}

// FuzzHighlightWindow highlights windows of arbitrary documents: the text must come back
// unchanged, and for well-formed JSON the lexer must not meet anything it calls an error,
// wherever the window starts.
func FuzzHighlightWindow(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"c"}],"d":{}}`, "[[1],[2,[3]]]\n{\"x\":null}", `<a x="1"><!-- c --><b><![CDATA[<]]></b></a>`,
		"<a\n b='1'\n>t</a>", `{"k":"` + strings.Repeat("é", 700) + `"}`, "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY e \"x\">]>\n<a>&e;</a>"} {
		f.Add([]byte(s), true, uint16(1), uint8(3))
	}
	f.Fuzz(func(t *testing.T, raw []byte, pretty bool, from uint16, size uint8) {
		for _, kind := range []Kind{JSON, XML} {
			doc := NewDocument(raw, kind, pretty, false)
			if doc.Lines() == 0 {
				continue
			}
			start := int(from) % doc.Lines()
			end := min(doc.Lines(), start+1+int(size)%16)
			out := NewHighlighter(true).Window(doc, start, end)
			if len(out) != end-start {
				t.Fatalf("%v: %d lines for window %d-%d", kind, len(out), start, end)
			}
			for i, l := range out {
				if stripSGR(l) != doc.Line(start+i) {
					t.Fatalf("%v line %d: %q, want %q", kind, start+i, stripSGR(l), doc.Line(start+i))
				}
			}
			// encoding/xml accepts markup no lexer would (<!>), so the property is for the
			// JSON this package parses itself; XML has the table of documents above.
			if kind != JSON || doc.ParseErr() != nil || !doc.Pretty() || hasControls(raw) {
				continue
			}
			ctx := doc.lexContext(start, end)
			window := make([]string, 0, end-start+ctx.lead)
			for i := start - ctx.lead; i < end; i++ {
				window = append(window, doc.Line(i))
			}
			tokens, ok := lexBody(lexerFor(kind), kind, ctx, strings.Join(window, "\n")+"\n")
			if !ok {
				t.Fatalf("%v window %d-%d of a well-formed document is left uncoloured", kind, start, end)
			}
			for tok := range tokens {
				if tok.Type == chroma.Error {
					t.Fatalf("%v window %d-%d of a well-formed document: the lexer calls %q an error\n%s", kind, start, end, tok.Value, strings.Join(window, "\n"))
				}
			}
		}
	})
}

// hasControls reports bytes the sanitizer shows as something else, which may lex
// differently from what they stand for.
func hasControls(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' || c >= 0x7f {
			return true
		}
	}
	return false
}

func TestJSONStringOpen(t *testing.T) {
	for _, tt := range []struct {
		text string
		open bool
	}{
		{`{"a": "b"}`, false},
		{`"cut at the window's end`, true},
		{`"escaped quote \" still open`, true},
		{`"escaped backslash \\" closed`, false},
		{"\"across\nlines\"", false},
		{"// a comment with a \" quote\n1", false},
		{`"` + strings.Repeat(`\\a`, 100), true},
	} {
		if got := jsonStringOpen(tt.text); got != tt.open {
			t.Errorf("jsonStringOpen(%q) = %v, want %v", tt.text, got, tt.open)
		}
	}
}

func TestEntityScanCost(t *testing.T) {
	for _, tt := range []struct {
		text string
		cost int
	}{
		{"a &amp; b &lt;c&gt;", 4 + 3 + 3},
		{"no entities", 0},
		{"&& x", 2 + 1},
		{"&", 1},
	} {
		if got := entityScanCost(tt.text); got != tt.cost {
			t.Errorf("entityScanCost(%q) = %d, want %d", tt.text, got, tt.cost)
		}
	}
	if entityScanCost(strings.Repeat("&", 2048)) <= maxEntityScanCost {
		t.Error("a run of 2048 '&' is within the budget")
	}
	if entityScanCost(strings.Repeat("<p>Fish &amp; chips &#233;</p>\n", 2000)) > maxEntityScanCost {
		t.Error("well-formed text with many references is over the budget")
	}
}

// TestHighlightHostileWindowsStayPlainAndExact: windows whose lexing would cost the
// square of their length (or worse) come back as their text, coloured or not.
func TestHighlightHostileWindowsStayPlainAndExact(t *testing.T) {
	for _, tt := range []struct {
		kind Kind
		raw  string
	}{
		{JSON, `"` + strings.Repeat(`\\`, 64) + "\n}"},
		{JSON, `{"a":"` + strings.Repeat(`\\a`, 400) + "\n"},
		{XML, strings.Repeat("&", 8000)},
		{XML, strings.Repeat("<?", 4000)},
		{XML, strings.Repeat("<![CDATA[", 1000)},
	} {
		doc := NewDocument([]byte(tt.raw), tt.kind, false, false)
		out := NewHighlighter(true).Window(doc, 0, doc.Lines())
		for i, l := range out {
			if stripSGR(l) != doc.Line(i) {
				t.Fatalf("%v %.20q line %d changed", tt.kind, tt.raw, i)
			}
		}
	}
}

// BenchmarkHighlightHostileWindow highlights 16 KiB windows built to make chroma's
// patterns backtrack; compare with BenchmarkHighlightWindow.
func BenchmarkHighlightHostileWindow(b *testing.B) {
	for _, tt := range []struct {
		name string
		kind Kind
		raw  string
	}{
		{"JSONBackslashes", JSON, strings.Repeat(`"`+strings.Repeat(`\\a`, 40)+"\n", 200)},
		{"XMLAmpersands", XML, strings.Repeat("&", 16<<10)},
		{"XMLProcessingInstructions", XML, strings.Repeat("<?", 8<<10)},
	} {
		doc := NewDocument([]byte(tt.raw), tt.kind, false, false)
		h := NewHighlighter(true)
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				h.Window(doc, 0, 16)
			}
		})
	}
}
