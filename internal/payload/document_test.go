package payload

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func lines(d *Document) []string {
	out := make([]string, d.Lines())
	for i := range out {
		out[i] = d.Line(i)
	}
	return out
}

func TestDocumentLines(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		kind   Kind
		pretty bool
		want   []string
	}{
		{"empty", "", Empty, true, []string{}},
		{"text", "a\nb", Text, false, []string{"a", "b"}},
		{"trailing newline adds no line", "a\nb\n", Text, false, []string{"a", "b"}},
		{"blank lines kept", "a\n\n\nb", Text, false, []string{"a", "", "", "b"}},
		{"only a newline", "\n", Text, false, []string{""}},
		{"crlf", "a\r\nb\r\n", Text, false, []string{"a", "b"}},
		{"lone cr is visible", "a\rb", Text, false, []string{"a␍b"}},
		{"hostile text is sanitized", "ok\x1b[2J\tx\n\x1b]0;t\x07", Text, false, []string{"ok␛[2J  x", "␛]0;t␇"}},
		{"raw json", `{"a":1}`, JSON, false, []string{`{"a":1}`}},
		{"pretty json", `{"a":1}`, JSON, true, []string{"{", `  "a": 1`, "}"}},
		{"pretty xml", `<a><b/></a>`, XML, true, []string{"<a>", "  <b/>", "</a>"}},
		{"malformed json is shown raw", "{\"a\":\n1,}", JSON, true, []string{`{"a":`, "1,}"}},
		{"binary is a hex dump", "\x00\x01abc", Binary, true, []string{"00000000  00 01 61 62 63                                    |..abc|"}},
		{"gzip is a hex dump", "\x1f\x8b", Gzip, true, []string{"00000000  1f 8b                                             |..|"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDocument([]byte(tt.raw), tt.kind, tt.pretty, false)
			if got := lines(d); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lines = %q, want %q", got, tt.want)
			}
			if d.Line(-1) != "" || d.Line(d.Lines()) != "" {
				t.Error("out-of-range Line is not empty")
			}
		})
	}
}

func TestDocumentParseError(t *testing.T) {
	raw := []byte("{\n  \"sku\": \"A-1\",\n  \"qty\": 2,\n}")
	d := NewDocument(raw, JSON, true, false)
	e := d.ParseErr()
	if e == nil {
		t.Fatal("ParseErr is nil for malformed JSON")
	}
	if e.Line != 4 || e.Column != 1 {
		t.Errorf("error at line %d column %d, want line 4 column 1", e.Line, e.Column)
	}
	if d.Pretty() {
		t.Error("malformed JSON is reported as pretty")
	}
	if line, col := d.Locate(e.Offset); line != 3 || col != 0 {
		t.Errorf("Locate(error) = %d, %d; want line index 3, col 0", line, col)
	}
	if !bytes.Equal(d.Bytes(), raw) {
		t.Error("Bytes of a malformed document are not the raw payload")
	}
}

func TestDocumentLocateCountsSanitizedBytes(t *testing.T) {
	d := NewDocument([]byte("ok\n\x1b\tx"), Text, false, false)
	// "␛" is 3 bytes, the tab expands to 3 spaces: 'x' is at byte 6 of Line(1).
	if line, col := d.Locate(5); line != 1 || col != 6 || d.Line(1)[col:] != "x" {
		t.Errorf("Locate(5) = %d, %d (line %q)", line, col, d.Line(1))
	}
}

func TestDocumentPartial(t *testing.T) {
	raw := []byte(`{"items":[{"sku":"A-1"},{"sku":"A-`)
	d := NewDocument(raw, JSON, true, true)
	if d.ParseErr() != nil {
		t.Errorf("a cut document was reported malformed: %v", d.ParseErr())
	}
	if !d.Pretty() || !d.Partial() {
		t.Errorf("pretty %v partial %v, want both", d.Pretty(), d.Partial())
	}
	if got := d.Line(d.Lines() - 1); got != `      "sku": "A-` {
		t.Errorf("last line = %q", got)
	}

	// The whole object was fetched and it is cut: that is malformed.
	if d := NewDocument(raw, JSON, true, false); d.ParseErr() == nil || !d.ParseErr().Truncated {
		t.Errorf("a whole object that ends early was not reported: %v", d.ParseErr())
	}
	// A real error inside the part we have is reported even when partial.
	if d := NewDocument([]byte(`{"a":tru,"b":`), JSON, true, true); d.ParseErr() == nil {
		t.Error("a real syntax error in a partial document was not reported")
	}
}

func TestDocumentLongLinesAreCut(t *testing.T) {
	long := strings.Repeat("é", MaxLineBytes) // 2 bytes each: 2 KiB
	d := NewDocument([]byte("first\n"+long+"\nlast"), Text, false, false)
	if d.Lines() != 4 {
		t.Fatalf("Lines = %d, want 4 (first, two halves, last)", d.Lines())
	}
	wantNumbers := []int{1, 2, 2, 3}
	wantCont := []bool{false, false, true, false}
	var joined string
	for i := range d.Lines() {
		if n := d.LineNumber(i); n != wantNumbers[i] {
			t.Errorf("LineNumber(%d) = %d, want %d", i, n, wantNumbers[i])
		}
		if c := d.Continued(i); c != wantCont[i] {
			t.Errorf("Continued(%d) = %v, want %v", i, c, wantCont[i])
		}
		if len(d.Line(i)) > MaxLineBytes || !utf8.ValidString(d.Line(i)) {
			t.Errorf("line %d is %d bytes or cuts a rune", i, len(d.Line(i)))
		}
		if i == 1 || i == 2 {
			joined += d.Line(i)
		}
	}
	if joined != long {
		t.Error("the pieces of a cut line do not add up to the line")
	}
}

func TestDocumentSearch(t *testing.T) {
	d := NewDocument([]byte("alpha\nBeta beta\ngamma\nbeta\x1b[2J"), Text, false, false)
	tests := []struct {
		name      string
		query     string
		from      int
		forward   bool
		line, col int
		ok        bool
	}{
		{"forward from top", "beta", 0, true, 1, 0, true},
		{"smart case sensitive", "Beta", 2, true, 1, 0, true},
		{"case sensitive skips", "beta", 2, true, 3, 0, true},
		{"wraps", "alpha", 2, true, 0, 0, true},
		{"backward takes last in line", "beta", 1, false, 1, 5, true},
		{"backward wraps", "gamma", 1, false, 2, 0, true},
		{"sanitized text is searched", "␛[2j", 0, true, 3, 4, true},
		{"missing", "delta", 0, true, 0, 0, false},
		{"empty query", "", 0, true, 0, 0, false},
		{"from out of range is clamped", "alpha", 99, true, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, col, ok := d.Search(tt.query, tt.from, tt.forward)
			if line != tt.line || col != tt.col || ok != tt.ok {
				t.Errorf("Search(%q, %d, %v) = %d, %d, %v; want %d, %d, %v",
					tt.query, tt.from, tt.forward, line, col, ok, tt.line, tt.col, tt.ok)
			}
		})
	}
}

func TestDocumentNext(t *testing.T) {
	d := NewDocument([]byte("beta beta\nx\nbeta"), Text, false, false)
	type pos struct{ line, col int }
	var got []pos
	p := pos{0, 0}
	for range 4 {
		line, col, ok := d.Next("beta", p.line, p.col, true)
		if !ok {
			t.Fatal("Next found nothing")
		}
		p = pos{line, col}
		got = append(got, p)
	}
	want := []pos{{0, 5}, {2, 0}, {0, 0}, {0, 5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("forward Next = %v, want %v", got, want)
	}
	got = nil
	for range 4 {
		line, col, _ := d.Next("beta", p.line, p.col, false)
		p = pos{line, col}
		got = append(got, p)
	}
	want = []pos{{0, 0}, {2, 0}, {0, 5}, {0, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("backward Next = %v, want %v", got, want)
	}
}

func TestSearchUnicodeFold(t *testing.T) {
	d := NewDocument([]byte("x\nGRÜN und Grün"), Text, false, false)
	if line, col, ok := d.Search("grün", 0, true); !ok || line != 1 || col != 0 {
		t.Errorf("Search(grün) = %d, %d, %v", line, col, ok)
	}
	if line, col, ok := d.Search("Grün", 0, true); !ok || line != 1 || col != 10 {
		t.Errorf("Search(Grün) = %d, %d, %v", line, col, ok)
	}
}

func FuzzDocument(f *testing.F) {
	f.Add([]byte(`{"a":[1,2]}`), uint8(JSON), true, false, "a")
	f.Add([]byte("<a><b>x</b>"), uint8(XML), true, true, "B")
	f.Add([]byte("l1\r\nl2\x1b[2J\t\xff"), uint8(Text), false, false, "\x1b")
	f.Add([]byte("\x00\x01\x02"), uint8(Binary), false, false, "00")
	f.Fuzz(func(t *testing.T, raw []byte, kind uint8, pretty, partial bool, query string) {
		d := NewDocument(raw, Kind(kind%6), pretty, partial)
		number := 0
		for i := range d.Lines() {
			l := d.Line(i)
			if !utf8.ValidString(l) || strings.ContainsFunc(l, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
				t.Fatalf("line %d is not safe: %q", i, l)
			}
			if n := d.LineNumber(i); n < number || n > number+1 {
				t.Fatalf("LineNumber(%d) = %d after %d", i, n, number)
			} else {
				number = n
			}
		}
		if e := d.ParseErr(); e != nil {
			line, col := d.Locate(e.Offset)
			if line < 0 || line >= max(d.Lines(), 1) || col < 0 || col > len(d.Line(line)) {
				t.Fatalf("Locate(%d) = %d, %d outside the document", e.Offset, line, col)
			}
		}
		if line, col, ok := d.Search(query, 0, true); ok {
			l := d.Line(line)
			if col < 0 || col > len(l) || newMatcher(query).index(l[col:], true) != 0 {
				t.Fatalf("Search(%q) = %d, %d but line %q has no match there", query, line, col, l)
			}
			if ascii := !strings.ContainsFunc(query, func(r rune) bool { return r >= utf8.RuneSelf }); ascii &&
				!strings.EqualFold(l[col:min(len(l), col+len(query))], query) {
				t.Fatalf("Search(%q) = %d, %d but line %q does not hold it there", query, line, col, l)
			}
			if _, _, ok := d.Next(query, line, col, true); !ok {
				t.Fatalf("Next(%q) found nothing after a match", query)
			}
		}
	})
}

var (
	big50Once sync.Once
	big50     []byte
)

// big50MB is a compact 50 MB JSON document (one line, as APIs usually send it).
func big50MB() []byte {
	big50Once.Do(func() { big50 = bigJSON(50 << 20) })
	return big50
}

func BenchmarkNewDocument50MBRaw(b *testing.B) {
	raw := big50MB()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		d := NewDocument(raw, JSON, false, false)
		if d.Lines() == 0 {
			b.Fatal("no lines")
		}
	}
}

func BenchmarkNewDocument1MiBPretty(b *testing.B) {
	raw := bigJSON(1 << 20)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		NewDocument(raw, JSON, true, false)
	}
}

func BenchmarkSearch50MBPretty(b *testing.B) {
	d := NewDocument(big50MB(), JSON, true, false)
	b.ResetTimer()
	for b.Loop() {
		// Not present: the worst case scans every line.
		if _, _, ok := d.Search("no-such-sku", 0, true); ok {
			b.Fatal("found")
		}
	}
}

// TestDocumentRawViewKeepsTheParseError: switching to the raw view (p) must not hide
// that the payload is malformed, nor where.
func TestDocumentRawViewKeepsTheParseError(t *testing.T) {
	for _, tt := range []struct {
		name       string
		raw        string
		kind       Kind
		line, col  int
		markerLine int
	}{
		{"json", "{\n  \"sku\": \"A-1\",\n  \"qty\": 2,\n}", JSON, 4, 1, 3},
		{"xml", "<a>\n  <b>1</c>\n</a>", XML, 2, 7, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pretty := NewDocument([]byte(tt.raw), tt.kind, true, false)
			raw := NewDocument([]byte(tt.raw), tt.kind, false, false)
			if raw.ParseErr() == nil {
				t.Fatal("the raw view has no ParseErr")
			}
			if *raw.ParseErr() != *pretty.ParseErr() {
				t.Errorf("raw view error %+v differs from pretty view error %+v", *raw.ParseErr(), *pretty.ParseErr())
			}
			if e := raw.ParseErr(); e.Line != tt.line || e.Column != tt.col {
				t.Errorf("error at line %d column %d, want %d, %d (%s)", e.Line, e.Column, tt.line, tt.col, e.Msg)
			}
			if line, _ := raw.Locate(raw.ParseErr().Offset); line != tt.markerLine {
				t.Errorf("marker on line %d, want %d", line, tt.markerLine)
			}
			if raw.Pretty() {
				t.Error("the raw view is pretty")
			}
		})
	}
	// Well-formed and merely cut documents have none in either view.
	for _, pretty := range []bool{true, false} {
		if d := NewDocument([]byte(`{"a":[1,2]}`), JSON, pretty, false); d.ParseErr() != nil {
			t.Errorf("pretty=%v: well-formed JSON reported malformed: %v", pretty, d.ParseErr())
		}
		if d := NewDocument([]byte(`{"a":[1,2`), JSON, pretty, true); d.ParseErr() != nil {
			t.Errorf("pretty=%v: a cut document reported malformed: %v", pretty, d.ParseErr())
		}
	}
}
