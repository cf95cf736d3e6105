package payload

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

func TestPrettyXMLProduct(t *testing.T) {
	in, err := os.ReadFile("testdata/product.xml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := PrettyXML(in)
	if err != nil {
		t.Fatalf("PrettyXML: %v", err)
	}
	golden.RequireEqual(t, out)
	assertSameXML(t, in, out)
}

func TestPrettyXML(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"nested", `<a><b><c>1</c></b></a>`, "<a>\n  <b>\n    <c>1</c>\n  </b>\n</a>"},
		{"text element stays on one line", "<a>\n<b>  spaced  text </b></a>", "<a>\n  <b>  spaced  text </b>\n</a>"},
		{"mixed content is verbatim", "<p>Hi <b>you</b>,\n  <i>there</i></p>", "<p>Hi <b>you</b>,\n  <i>there</i></p>"},
		{"tag whitespace is normalised", "<a  x = \"1\"\n   y='a  b' ></a >", `<a x="1" y='a  b'></a>`},
		{"empty element", `<r><a /><b/></r>`, "<r>\n  <a/>\n  <b/>\n</r>"},
		{"comment cdata pi", `<r><!--c--><![CDATA[ <x> ]]></r>`, `<r><!--c--><![CDATA[ <x> ]]></r>`},
		{"pi and comment as children", `<r><?pi x?><!-- c --><a/></r>`, "<r>\n  <?pi x?>\n  <!-- c -->\n  <a/>\n</r>"},
		{"prolog", "<?xml version=\"1.0\"?>\n\n<!DOCTYPE r [<!ELEMENT r ANY>]>\n<r/>", "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ELEMENT r ANY>]>\n<r/>"},
		{"namespaces kept", `<n:a xmlns:n="urn:x"><n:b/></n:a>`, "<n:a xmlns:n=\"urn:x\">\n  <n:b/>\n</n:a>"},
		{"gt in attribute value", `<a x="1>2"><b/></a>`, "<a x=\"1>2\">\n  <b/>\n</a>"},
		{"bom is dropped", "\ufeff<a/>", "<a/>"},
		{"latin-1 declaration is accepted", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<a>caf\xe9</a>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PrettyXML([]byte(tt.in))
			if err != nil {
				t.Fatalf("PrettyXML(%q) error: %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("PrettyXML(%q) =\n%s\nwant\n%s", tt.in, got, tt.want)
			}
		})
	}
}

func TestPrettyXMLErrors(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		line, col  int
		truncated  bool
		msgContain string
	}{
		{"unquoted attribute", "<a>\n  <b x=1/></a>", 2, 8, false, "unquoted or missing attribute value"},
		{"mismatched end", "<a>\n</b>", 2, 1, false, "element <a> closed by </b>"},
		{"html entity", "<a>&nbsp;</a>", 1, 4, false, "invalid character entity &nbsp;"},
		{"control character", "<a>\x01</a>", 1, 4, false, "illegal character code U+0001"},
		{"column counts runes", "<a>é</b>", 1, 5, false, "closed by"},
		{"bom shifts offset not column", "\ufeff<a></b>", 1, 5, false, "closed by"},
		{"cut in text names the open element", "<a><b>te", 1, 9, true, "unexpected EOF: element <b> opened at line 1, column 4 is not closed"},
		{"unclosed root", "<a>\n<b/>\n", 3, 1, true, "unexpected EOF: element <a> opened at line 1, column 1"},

		// encoding/xml reports how far it read; the error points at what is wrong.
		{"cut in tag points at the tag", `<a><b x="1`, 1, 4, true, "unexpected EOF: the tag is not closed"},
		{"cut in comment points at the comment", "<a>\n  <!-- comm\n ent", 2, 3, true, "unexpected EOF: the comment is not closed"},
		{"cut in cdata points at the section", "<a><![CDATA[xx", 1, 4, true, "unexpected EOF: the CDATA section is not closed"},
		{"cut in pi points at it", "<a><?pi x", 1, 4, true, "unexpected EOF: the processing instruction"},
		{"control character in a long text run", "<a>hello \x01 world and a lot more text after it</a>", 1, 10, false, "illegal character code U+0001"},
		{"invalid utf-8 in a long text run", "<a>\n  caf\xff and a lot more text after it</a>", 2, 6, false, "invalid UTF-8"},
		{"control character in an attribute value", "<a x=\"abc\x01defghijkl\">t</a>", 1, 10, false, "illegal character code U+0001"},
		{"control character as a reference", "<a>x &#1; yyyyyyyyyyyy</a>", 1, 6, false, "illegal character code U+0001"},
		{"control character in cdata", "<a><![CDATA[abc \x01 defghijkl]]></a>", 1, 17, false, "illegal character code U+0001"},
		{"unknown entity points at its &", "<a>x &bogus; yyyyyyyyyyyy</a>", 1, 6, false, "invalid character entity &bogus;"},
		{"]]> in text points at its start", "<a>x ]]> yyyyyyy</a>", 1, 6, false, "unescaped ]]>"},
		{"-- in a comment points at it", "<a><!-- c -- d --></a>", 1, 11, false, `invalid sequence "--"`},
		{"mismatched end points at the end tag", "<a>\n  <b>1</c>\n</a>", 2, 7, false, "element <b> closed by </c>"},
		{"bad name points at the name", "<a><1b/></a>", 1, 5, false, "invalid XML name: 1b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := PrettyXML([]byte(tt.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("PrettyXML(%q) error = %v, want a *SyntaxError", tt.in, err)
			}
			if se.Line != tt.line || se.Column != tt.col {
				t.Errorf("PrettyXML(%q) error at line %d col %d (offset %d), want line %d col %d: %v",
					tt.in, se.Line, se.Column, se.Offset, tt.line, tt.col, se)
			}
			if errors.Is(err, ErrTruncated) != tt.truncated {
				t.Errorf("PrettyXML(%q) truncated = %v, want %v", tt.in, se.Truncated, tt.truncated)
			}
			if !strings.Contains(se.Msg, tt.msgContain) {
				t.Errorf("PrettyXML(%q) message %q does not contain %q", tt.in, se.Msg, tt.msgContain)
			}
			if !tt.truncated && out != nil {
				t.Errorf("PrettyXML(%q) returned output with a real syntax error: %q", tt.in, out)
			}
		})
	}
}

func TestPrettyXMLTruncatedIsBestEffort(t *testing.T) {
	in := []byte(`<orders><order id="1"><sku>X</sku><qty>2</qty></order><order id="2"><sku>Y</sku><note>fragile, ha`)
	out, err := PrettyXML(in)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("error = %v, want ErrTruncated", err)
	}
	want := "<orders>\n  <order id=\"1\">\n    <sku>X</sku>\n    <qty>2</qty>\n  </order>\n  <order id=\"2\">\n    <sku>Y</sku>\n    <note>fragile, ha"
	if string(out) != want {
		t.Errorf("best-effort output =\n%s\nwant\n%s", out, want)
	}
}

func TestPrettyXMLDeepNestingIsLinear(t *testing.T) {
	const depth = 50_000
	in := strings.Repeat("<a>", depth) + strings.Repeat("</a>", depth)
	out, err := PrettyXML([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if limit := 2 * depth * (len(indentUnit)*maxIndentDepth + 5); len(out) > limit {
		t.Errorf("output is %d bytes, want at most %d", len(out), limit)
	}
}

// xmlTokens lists a document's tokens as encoding/xml reads them, with text trimmed and
// whitespace-only text dropped: what pretty-printing must not change.
func xmlTokens(b []byte) ([]any, error) {
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(b, utf8BOM)))
	d.Strict = true
	d.CharsetReader = charsetReader
	var toks []any
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return toks, nil
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); s != "" {
				toks = append(toks, s)
			}
		default:
			toks = append(toks, xml.CopyToken(tok))
		}
	}
}

func assertSameXML(t *testing.T, in, out []byte) {
	t.Helper()
	want, err := xmlTokens(in)
	if err != nil {
		t.Fatalf("input does not parse: %v", err)
	}
	got, err := xmlTokens(out)
	if err != nil {
		t.Fatalf("pretty output does not parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pretty output changed the document:\n got %#v\nwant %#v\n%s", got, want, out)
	}
}

func FuzzPrettyXML(f *testing.F) {
	for _, s := range []string{
		`<a><b x="1">t</b><!--c--><![CDATA[d]]><?p q?></a>`, `<p>Hi <b>you</b></p>`, `<a x='>'/>`,
		"<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY e \"x\">]><a/>", `<a><b>`, `<a></b>`, `<n:a xmlns:n="u"/>`,
		"\ufeff<a/>", `<a>&amp;&#x41;</a>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := PrettyXML(in)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("PrettyXML(%q) error %v is not a *SyntaxError", in, err)
			}
			if se.Offset < 0 || se.Offset > int64(len(in)) || se.Line < 1 || se.Column < 1 {
				t.Fatalf("PrettyXML(%q) error position out of range: %+v", in, se)
			}
			return
		}
		assertSameXML(t, in, out)
		again, err := PrettyXML(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("pretty-printing is not idempotent for %q: %v\n%s\n---\n%s", in, err, out, again)
		}
	})
}

func BenchmarkPrettyXML(b *testing.B) {
	var doc bytes.Buffer
	doc.WriteString("<products>")
	for doc.Len() < 1<<20 {
		doc.WriteString(`<product id="SKU-1"><name>Widget &amp; Gadget</name><price currency="EUR">19.99</price><tags><tag>tools</tag><tag>hardware</tag></tags></product>`)
	}
	doc.WriteString("</products>")
	in := doc.Bytes()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PrettyXML(in); err != nil {
			b.Fatal(err)
		}
	}
}
