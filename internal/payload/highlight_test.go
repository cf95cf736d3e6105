package payload

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

func TestHighlightGolden(t *testing.T) {
	for _, kind := range []Kind{JSON, XML} {
		name := "testdata/product." + strings.ToLower(kind.String())
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		doc := NewDocument(raw, kind, true, false)
		if doc.ParseErr() != nil {
			t.Fatalf("%s: %v", name, doc.ParseErr())
		}
		t.Run(kind.String(), func(t *testing.T) {
			for _, mode := range []struct {
				name string
				dark bool
			}{{"Dark", true}, {"Light", false}} {
				t.Run(mode.name, func(t *testing.T) {
					out := NewHighlighter(mode.dark).Window(doc, 0, doc.Lines())
					if len(out) != doc.Lines() {
						t.Fatalf("got %d lines, want %d", len(out), doc.Lines())
					}
					for i, l := range out {
						if plain := stripSGR(l); plain != doc.Line(i) {
							t.Errorf("line %d: highlighting changed the text:\n got %q\nwant %q", i, plain, doc.Line(i))
						}
					}
					golden.RequireEqual(t, strings.Join(out, "\n")+"\n")
				})
			}
		})
	}
}

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

func stripSGR(s string) string { return sgr.ReplaceAllString(s, "") }

func TestHighlightCarriesNoHostileBytes(t *testing.T) {
	// A caller that forgets to sanitize still gets safe output.
	lines := []string{"{", "  \"note\": \"\x1b[2J\x1b]52;c;cHduZWQ=\x07\u202e\xff\",", "  \"n\": 1", "}"}
	for _, dark := range []bool{true, false} {
		out := NewHighlighter(dark).Lines(JSON, lines, 0, len(lines))
		if len(out) != len(lines) {
			t.Fatalf("got %d lines, want %d", len(out), len(lines))
		}
		for _, l := range out {
			plain := stripSGR(l)
			if strings.ContainsFunc(plain, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x202e }) {
				t.Errorf("line carries a raw control outside chroma's SGR: %q", l)
			}
		}
		if !strings.Contains(stripSGR(out[1]), `"␛[2J␛]52;c;cHduZWQ=␇\u202e\xff"`) {
			t.Errorf("hostile string not shown inert: %q", stripSGR(out[1]))
		}
	}
}

func TestHighlightWindowOnly(t *testing.T) {
	lines := []string{`{`, `  "a": 1,`, `  "b": 2`, `}`}
	out := NewHighlighter(true).Lines(JSON, lines, 1, 3)
	if len(out) != 2 || stripSGR(out[0]) != lines[1] || stripSGR(out[1]) != lines[2] {
		t.Errorf("Lines(1, 3) = %q", out)
	}
	if got := NewHighlighter(true).Lines(JSON, lines, 3, 99); len(got) != 1 {
		t.Errorf("Lines(3, 99) returned %d lines, want 1 (clamped)", len(got))
	}
	if got := NewHighlighter(true).Lines(Text, []string{"a\tb"}, 0, 1); got[0] != "a   b" {
		t.Errorf("text is returned %q, want sanitized and uncoloured", got[0])
	}
	if NewHighlighter(true) != NewHighlighter(true) || NewHighlighter(false) == NewHighlighter(true) {
		t.Error("highlighters are not memoized per background")
	}
}

func TestHighlightStartingMidComment(t *testing.T) {
	doc := NewDocument([]byte("<a>\n<!--\n  comment with <b>\n-->\n<c/>\n</a>"), XML, false, false)
	out := NewHighlighter(false).Window(doc, 2, doc.Lines())
	for i, l := range out {
		if stripSGR(l) != doc.Line(2+i) {
			t.Errorf("line %d: %q, want text %q", 2+i, stripSGR(l), doc.Line(2+i))
		}
	}
}

// BenchmarkHighlightWindow highlights one 60-line screen of a small and of a 50 MB
// document: the cost must not depend on the document's size.
func BenchmarkHighlightWindow(b *testing.B) {
	docs := []struct {
		name string
		raw  func() []byte
	}{
		{"1KB", func() []byte { return bigJSON(1 << 10) }},
		{"50MB", big50MB},
	}
	h := NewHighlighter(true)
	for _, d := range docs {
		doc := NewDocument(d.raw(), JSON, true, false)
		b.Run(d.name, func(b *testing.B) {
			from := doc.Lines() / 2
			b.ReportAllocs()
			for b.Loop() {
				if out := h.Window(doc, from, from+60); len(out) == 0 {
					b.Fatal("nothing highlighted")
				}
			}
		})
	}
}
