package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/payload"
)

// gunzipLimit bounds how much of a gzip payload the preview decompresses.
const gunzipLimit = 16 << 20

// payloadDoc is what the detail body scrolls: a payload Document (split into lines
// once, highlighted only for the window on screen) or the prepared lines of the info tab.
type payloadDoc struct {
	label  string // "XML · pretty"
	doc    *payload.Document
	lines  []string // the info tab's lines when doc is nil, already styled
	notice string   // e.g. a damaged gzip stream

	// A parse error, placed under display line errLine at cell errCol.
	errMsg          string
	errPos          string // "line 3, column 17" in the source
	errSrcLine      int    // the source line and column, 1-based
	errSrcCol       int
	errLine, errCol int
}

// hex reports whether the document is a hex dump (whose lines carry their own offsets).
func (d *payloadDoc) hex() bool { return d.doc != nil && d.doc.Hex() }

func (d *payloadDoc) Len() int {
	if d.doc != nil {
		return d.doc.Lines()
	}
	return len(d.lines)
}

// Lines returns display lines [from, to), highlighted for a payload.
func (d *payloadDoc) Lines(hl *payload.Highlighter, from, to int) []string {
	if d.doc != nil {
		return hl.Window(d.doc, from, to)
	}
	from = max(0, min(from, len(d.lines)))
	to = max(from, min(to, len(d.lines)))
	return d.lines[from:to]
}

// LineNumber is the source line number shown in the gutter, 0 for a continuation.
func (d *payloadDoc) LineNumber(i int) int {
	if d.doc == nil {
		return i + 1
	}
	if d.doc.Continued(i) {
		return 0
	}
	return d.doc.LineNumber(i)
}

// docBuiltMsg carries a payload document built off the update loop: pretty-printing a
// large payload must not freeze the keyboard.
type docBuiltMsg struct {
	gen, seq int
	version  int // the detail's docVersion when the build was asked for
	doc      *payloadDoc
}

// buildDoc prepares the loaded bytes in a command. The bytes are never modified after
// they are appended, so the command may read them while Update appends more.
func (m *Model) buildDoc(d *detail) tea.Cmd {
	d.docVersion++
	gen, seq, version := m.gen, d.seq, d.docVersion
	body, obj, complete, pretty := d.body, d.obj, d.complete(), d.pretty
	return func() tea.Msg {
		return docBuiltMsg{gen: gen, seq: seq, version: version, doc: buildPayloadDoc(body, obj, complete, pretty)}
	}
}

func (m *Model) onDocBuilt(msg docBuiltMsg) {
	d := m.detailFor(msg.gen, msg.seq)
	if d == nil || msg.version != d.docVersion {
		return
	}
	d.doc, d.building = msg.doc, false
	d.scroll = min(d.scroll, max(0, d.doc.Len()-1))
	if d.search != "" {
		m.applySearch(d.search)
	}
}

// buildPayloadDoc detects, decompresses, pretty-prints and indexes a payload.
func buildPayloadDoc(raw []byte, obj awsclient.Object, complete, pretty bool) *payloadDoc {
	body := payload.Decode(obj.ContentType, obj.ContentEncoding, raw, !complete, gunzipLimit)
	doc := payload.NewDocument(body.Bytes, body.Kind, pretty, body.Partial)
	p := &payloadDoc{doc: doc}
	label := body.Kind.String()
	if body.Gzipped {
		label = "gzip → " + label
	}
	switch {
	case doc.Hex():
		label += " · hex dump"
	case doc.Pretty():
		label += " · pretty"
	case body.Kind == payload.JSON || body.Kind == payload.XML:
		label += " · raw"
	}
	p.label = label
	if body.Err != nil {
		p.notice = "gzip stream damaged: " + body.Err.Error() + " — showing what decompressed"
	}
	if se := doc.ParseErr(); se != nil {
		p.errMsg = se.Msg
		p.errPos = fmt.Sprintf("line %d, column %d", se.Line, se.Column)
		p.errSrcLine, p.errSrcCol = se.Line, se.Column
		line, col := doc.Locate(se.Offset)
		p.errLine = line
		p.errCol = ansi.StringWidth(doc.Line(line)[:min(col, len(doc.Line(line)))])
	}
	return p
}

func buildInfoDoc(lines []string) *payloadDoc {
	return &payloadDoc{label: "info", lines: lines}
}

// highlightJSON colours an already indented JSON text, line by line.
func highlightJSON(js []byte, dark bool) []string {
	doc := payload.NewDocument(js, payload.JSON, false, false)
	return payload.NewHighlighter(dark).Window(doc, 0, doc.Lines())
}

func humanBytes(n int64) string { return payload.Human(n) }
