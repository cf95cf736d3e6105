package tui

import (
	"bytes"
	"charm.land/lipgloss/v2"
	"encoding/json"
	"fmt"

	"github.com/stowage-cli/stowage/internal/payload"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// renderDetail draws the open request in w×h cells: a title rule, a two-line summary,
// the tab line, then the payload or the info tab.
func (m *Model) renderDetail(w, h int) []string {
	st := m.st
	d := m.detail
	out := make([]string, 0, h)
	if d == nil {
		title := "preview"
		out = append(out, rule(st.PaneTitle.Render(title), w, st))
		if r, ok := m.selected(); ok {
			out = append(out, st.Muted.Render("  "+sanitize.Line(r.ID)+" — loading…"))
		} else {
			out = append(out, st.Muted.Render("  nothing selected"))
		}
		return out
	}

	// Title: the request id and its state.
	stateTxt, sty := m.detailState(d)
	title := st.PaneTitle.Render(sanitize.Line(d.id)) + " " + sty.Render(stateTxt)
	out = append(out, rule(title, w, st))

	// Summary line 1: where and what.
	var s1 []string
	s1 = append(s1, sanitize.Line(reqid.S3URI(m.bucket(), d.key)))
	switch {
	case !d.headDone:
		s1 = append(s1, st.Muted.Render("reading metadata…"))
	case d.missing:
		s1 = append(s1, st.StatusError.Render("not in the bucket"))
	case d.headErr != nil:
		s1 = append(s1, st.StatusError.Render("metadata unavailable"))
	default:
		s1 = append(s1, humanBytes(d.obj.Size))
		ct := d.obj.ContentType
		if ct == "" {
			ct = "no content type"
		}
		s1 = append(s1, sanitize.Line(ct))
		if d.obj.ContentEncoding != "" {
			s1 = append(s1, sanitize.Line(d.obj.ContentEncoding))
		}
		if !d.obj.LastModified.IsZero() {
			t := d.obj.LastModified.UTC()
			s1 = append(s1, "stored "+t.Format("2006-01-02 15:04:05Z")+" ("+ago(m.now.Sub(t))+")")
		}
	}
	out = append(out, ansi.Truncate(" "+strings.Join(s1, st.Faint.Render(" · ")), w, "…"))

	// Summary line 2: the status item; then its error, whole, wrapped.
	out = append(out, ansi.Truncate(" "+m.statusSummary(d), w, "…"))
	out = append(out, m.detailErrorLines(d, w, h)...)

	// Tab line.
	out = append(out, m.tabLine(d, w))

	bodyH := h - len(out)
	if bodyH <= 0 {
		return out[:h]
	}
	var body []string
	switch {
	case d.tab == tabHistory:
		body = m.renderHistory(d, w, bodyH)
	case d.tab == tabTimeline:
		body = m.renderTimeline(d, w, bodyH)
	case d.tab == tabInfo || d.missing || (d.headErr != nil && d.headDone):
		body = m.renderInfo(d, w, bodyH)
	default:
		body = m.renderPayload(d, w, bodyH)
	}
	return append(out, body...)
}

// detailState is the state cell of the open request.
func (m *Model) detailState(d *detail) (string, lipgloss.Style) {
	switch {
	case d.stErr != nil:
		return "status unavailable", m.st.StatusError
	case !d.stDone && !d.stFound:
		return "…", m.st.StateUnknown
	case !d.stFound:
		if d.headDone && d.headErr == nil && inventory.IsLost(d.obj, m.lostAfter(), m.now) {
			return stateLost, m.st.StateLost
		}
		return "no status item", m.st.StateUnknown
	}
	return sanitize.Line(d.st.State), m.st.stateStyle(m.class(d.st.State))
}

func (m *Model) statusSummary(d *detail) string {
	st := m.st
	switch {
	case d.stErr != nil:
		return st.ErrorText.Render(errorText("status", d.stErr))
	case !d.stDone && !d.stFound:
		return st.Muted.Render("reading the status item…")
	case !d.stFound:
		msg := "the status table has no item for this request"
		if state, _ := m.detailState(d); state == stateLost {
			msg += ": LOST (stored more than " + config.FormatDuration(m.lostAfter()) + " ago, never processed)"
		}
		return st.StateUnknown.Render(msg)
	}
	var parts []string
	parts = append(parts, "status "+st.stateStyle(m.class(d.st.State)).Render(sanitize.Line(d.st.State)))
	if d.st.Attempts > 0 {
		parts = append(parts, "attempts "+strconv.Itoa(d.st.Attempts))
	}
	if !d.st.UpdatedAt.IsZero() {
		t := d.st.UpdatedAt.UTC()
		parts = append(parts, "updated "+t.Format("2006-01-02 15:04:05Z")+" ("+ago(m.now.Sub(t))+")")
	}
	if h := m.history[d.id]; len(h) > 0 {
		parts = append(parts, st.Marked.Render("redriven "+strconv.Itoa(len(h))+"× here: "+h[len(h)-1].short()+" (tab: history)"))
	}
	return strings.Join(parts, st.Faint.Render(" · "))
}

// maxErrorLines bounds the error under the summary, so a stack trace leaves room for the
// payload; the info tab has the whole item.
const maxErrorLines = 6

// detailErrorLines is the status item's error, wrapped to w and cut to a few lines (a
// quarter of the pane at most).
func (m *Model) detailErrorLines(d *detail, w, h int) []string {
	if d == nil || !d.stFound || d.st.Error == "" {
		return nil
	}
	st := m.st
	const label = " error: "
	text := ansi.Wrap(sanitize.Line(d.st.Error), max(10, w-len(label)), " ,;:/")
	lines := strings.Split(text, "\n")
	limit := max(1, min(maxErrorLines, h/4))
	if len(lines) > limit {
		lines = lines[:limit]
		lines[limit-1] = ansi.Truncate(lines[limit-1], max(1, w-len(label)-16), "") + st.Muted.Render("… (tab: info)")
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		prefix := strings.Repeat(" ", len(label))
		if i == 0 {
			prefix = st.Label.Render(label)
		}
		out[i] = prefix + st.ErrorText.Render(l)
	}
	return out
}

func (m *Model) tabLine(d *detail, w int) string {
	st := m.st
	tab := func(name string, on bool) string {
		if on {
			return st.DialogSel.Render(" " + name + " ")
		}
		return st.Muted.Render(" " + name + " ")
	}
	showHist := d.tab == tabHistory
	showTL := d.tab == tabTimeline
	showInfo := !showHist && !showTL && (d.tab == tabInfo || d.missing || d.headErr != nil)
	line := " " + tab("payload", !showInfo && !showHist && !showTL) + tab("info", showInfo)
	if m.mode == modeDetail {
		line += tab("history"+historyCount(d), showHist) // full screen only: tab cycles there
		line += tab("timeline"+timelineCount(d), showTL)
	}
	var flags []string
	if !showInfo && !showHist && !showTL {
		if d.doc != nil {
			flags = append(flags, d.doc.label)
		}
		if d.wrap {
			flags = append(flags, "wrap")
		}
		if total := d.total(); total >= 0 && int64(len(d.body)) < total {
			flags = append(flags, st.Notice.Render(fmt.Sprintf("showing %s of %s — m more, x save",
				humanBytes(int64(len(d.body))), humanBytes(total))))
		}
		switch {
		case d.search != "" && d.found:
			count := ""
			if c := d.matchCount(); c != "" {
				count = " " + c
			}
			flags = append(flags, st.Prompt.Render("/"+sanitize.Line(d.search)+count)+st.Muted.Render(" n/N next/prev"))
		case d.search != "":
			flags = append(flags, st.StatusWarn.Render("/"+sanitize.Line(d.search)+" not found"))
		}
		if d.bodyLoading {
			flags = append(flags, st.Muted.Render("reading…"))
		}
	}
	if len(flags) > 0 {
		line += "  " + strings.Join(flags, st.Faint.Render(" · "))
	}
	return ansi.Truncate(line, w, "…")
}

// renderPayload draws the visible window of the payload with line numbers (a hex dump
// has its offsets instead). Only the lines on screen are read from the document and
// highlighted. A short payload leaves room for the info tab's lines below it.
func (m *Model) renderPayload(d *detail, w, h int) []string {
	st := m.st
	doc := d.doc
	if doc == nil {
		switch {
		case d.bodyErr != nil:
			return []string{" " + st.ErrorText.Render(errorText("read", d.bodyErr))}
		case d.headDone && d.obj.Size == 0 && !d.bodyLoading:
			return m.withInfoBelow(d, []string{" " + st.Muted.Render("(empty object)")}, w, h)
		}
		return []string{" " + st.Muted.Render("reading the payload…")}
	}
	out := make([]string, 0, h)
	if doc.errMsg != "" {
		out = append(out, " "+st.Marker.Render(" malformed at "+doc.errPos+" ")+" "+
			st.ErrorText.Render(sanitize.Line(doc.errMsg))+st.Muted.Render(" — shown raw"))
	}
	if doc.notice != "" {
		out = append(out, " "+st.Notice.Render(sanitize.Line(doc.notice)))
	}
	n := doc.Len()
	if n == 0 {
		return m.withInfoBelow(d, append(out, " "+st.Muted.Render("(empty payload)")), w, h)
	}
	// The gutter: line numbers and a bar; none for a hex dump, whose lines start with
	// their offset and need the width for the ASCII column.
	gutter, textW := 0, max(8, w-1)
	numbered := !doc.hex()
	if numbered {
		gutter = len(strconv.Itoa(max(1, doc.LineNumber(n-1))))
		textW = max(8, w-gutter-3)
	}
	blankGutter := " "
	if numbered {
		blankGutter = strings.Repeat(" ", gutter) + st.Faint.Render(" │ ")
	}
	from := min(d.scroll, max(0, n-1))
	lines := doc.Lines(payload.NewHighlighter(st.IsDark), from, from+h-len(out))
	all := from == 0
	for k, text := range lines {
		if len(out) >= h {
			all = false
			break
		}
		i := from + k
		prefix, cont := " ", " "
		if numbered {
			num := strings.Repeat(" ", gutter)
			if ln := doc.LineNumber(i); ln > 0 {
				num = st.LineNumber.Render(fmt.Sprintf("%*d", gutter, ln))
			}
			bar := st.Faint.Render(" │ ")
			if d.found && d.matchLine == i {
				bar = st.Prompt.Render(" ▶ ")
			}
			prefix, cont = num+bar, strings.Repeat(" ", gutter)+st.Faint.Render(" ┆ ")
		}
		marked := doc.errMsg != "" && doc.errLine == i
		if d.wrap {
			parts := strings.Split(ansi.Hardwrap(text, textW, true), "\n")
			seg, pad := -1, 0
			if marked {
				seg, pad = caretSegment(parts, doc.errCol, textW)
			}
			for j, p := range parts {
				if len(out) >= h {
					all = false
					break
				}
				if j == 0 {
					out = append(out, prefix+p)
				} else {
					out = append(out, cont+p)
				}
				if j == seg && len(out) < h {
					out = append(out, blankGutter+m.caretText(pad, textW, doc.errMsg))
				}
			}
			continue
		}
		visible := textW
		if d.xoff > 0 {
			text = ansi.Cut(text, d.xoff, d.xoff+textW)
		} else if ansi.StringWidth(text) > textW {
			text = ansi.Truncate(text, textW, "…")
			visible = textW - 1 // the last cell is the ellipsis
		}
		out = append(out, prefix+text)
		if marked && len(out) < h {
			col := doc.errCol - d.xoff
			var mark string
			switch {
			case col < 0:
				mark = st.Marker.Render(fmt.Sprintf("← column %d (scroll left)", doc.errSrcCol))
			case col >= visible:
				mark = st.Marker.Render(fmt.Sprintf("→ column %d (scroll right)", doc.errSrcCol))
			default:
				mark = m.caretText(col, textW, doc.errMsg)
			}
			out = append(out, blankGutter+ansi.Truncate(mark, textW, "…"))
		}
	}
	if all && from+len(lines) >= n {
		return m.withInfoBelow(d, out, w, h)
	}
	return out
}

// caretSegment finds the wrapped segment of a line that holds cell col, and the cell
// within it; an error at the very end of the line goes after its last segment's text.
func caretSegment(parts []string, col, textW int) (seg, pad int) {
	start := 0
	for j, p := range parts {
		pw := ansi.StringWidth(p)
		if col < start+pw {
			return j, col - start
		}
		if j == len(parts)-1 {
			return j, min(col-start, textW-1)
		}
		start += pw
	}
	return len(parts) - 1, 0
}

// caretText is "^ message" with the caret at cell pad, or "message ^" ending at pad when
// the message would not fit after it.
func (m *Model) caretText(pad, textW int, msg string) string {
	st := m.st
	msg = sanitize.Line(msg)
	right := "^ " + msg
	if pad+ansi.StringWidth(right) <= textW || pad < textW/2 {
		return ansi.Truncate(strings.Repeat(" ", pad)+st.Marker.Render(right), textW, "…")
	}
	left := msg + " ^"
	if lw := ansi.StringWidth(left); lw > pad+1 {
		left = ansi.TruncateLeft(left, lw-pad, "…")
	}
	return strings.Repeat(" ", max(0, pad+1-ansi.StringWidth(left))) + st.Marker.Render(left)
}

// infoBelowMin is the room a short payload must leave for the info to follow it.
const infoBelowMin = 4

// withInfoBelow fills the room a short payload leaves with the info tab's lines (S3
// metadata and the status item), so a one-line payload does not leave the screen empty.
func (m *Model) withInfoBelow(d *detail, out []string, w, h int) []string {
	room := h - len(out) - 2
	if d.info == nil || room < infoBelowMin {
		return out
	}
	title := m.st.Muted.Render("info")
	if m.mode == modeDetail {
		title += m.st.Faint.Render(" · tab shows it alone")
	}
	out = append(out, "", rule(title, w, m.st))
	for _, l := range d.info.Lines(nil, 0, room) {
		out = append(out, ansi.Truncate(" "+l, w, "…"))
	}
	return out
}

// renderInfo draws the S3 metadata and the whole DynamoDB item (laid out by Update:
// see ensureInfo).
func (m *Model) renderInfo(d *detail, w, h int) []string {
	doc := d.info
	if doc == nil {
		return []string{" " + m.st.Muted.Render("reading…")}
	}
	from := min(d.scroll, max(0, doc.Len()-1))
	lines := doc.Lines(nil, from, from+h)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = ansi.Truncate(" "+l, w, "…")
	}
	return out
}

// ensureInfo lays out the info tab of the open request when what it shows changed (its
// HEAD, its status item, its redrive history, the styles): in Update, once, so View only
// reads it.
func (m *Model) ensureInfo() {
	if d := m.detail; d != nil && d.info == nil {
		d.info = m.buildInfo(d)
	}
}

// buildInfo lays out the info tab. Its lines are styled here, once, not on every frame.
func (m *Model) buildInfo(d *detail) *payloadDoc {
	st := m.st
	var lines []string
	kv := func(k, v string) {
		lines = append(lines, "  "+st.Label.Render(fmt.Sprintf("%-14s", k))+" "+v)
	}
	lines = append(lines, st.SectionHead.Render("S3 object"))
	switch {
	case !d.headDone:
		lines = append(lines, "  "+st.Muted.Render("reading…"))
	case d.missing:
		lines = append(lines, "  "+st.StatusError.Render("not in the bucket: ")+sanitize.Line(reqid.S3URI(m.bucket(), d.key)))
	case d.headErr != nil:
		lines = append(lines, "  "+st.ErrorText.Render(errorText("head", d.headErr)))
	default:
		o := d.obj
		kv("key", sanitize.Line(o.Key))
		kv("size", commas(int(o.Size))+" bytes ("+humanBytes(o.Size)+")")
		kv("etag", sanitize.Line(o.ETag))
		kv("content type", orDash(sanitize.Line(o.ContentType)))
		kv("encoding", orDash(sanitize.Line(o.ContentEncoding)))
		if !o.LastModified.IsZero() {
			kv("last modified", o.LastModified.UTC().Format(time.RFC3339))
		}
		kv("version id", orDash(sanitize.Line(o.VersionID)))
		kv("storage class", orDash(sanitize.Line(o.StorageClass)))
		if len(o.Metadata) == 0 {
			kv("metadata", "—")
		}
		keys := make([]string, 0, len(o.Metadata))
		for k := range o.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			label := ""
			if i == 0 {
				label = "metadata"
			}
			kv(label, sanitize.Line(k)+": "+sanitize.Line(o.Metadata[k]))
		}
	}
	lines = append(lines, "")
	if h := m.history[d.id]; len(h) > 0 {
		lines = append(lines, st.SectionHead.Render("Redrive history")+" "+st.Muted.Render("this session, newest first"))
		for i := len(h) - 1; i >= 0; i-- {
			lines = append(lines, "  "+h[i].long())
		}
		lines = append(lines, "")
	}
	table := ""
	if m.sess.Env != nil {
		table = m.sess.Env.Status.Table
	}
	lines = append(lines, st.SectionHead.Render("DynamoDB item")+" "+st.Muted.Render(sanitize.Line(table)))
	switch {
	case d.stErr != nil:
		lines = append(lines, "  "+st.ErrorText.Render(errorText("get-item", d.stErr)))
	case !d.stDone && !d.stFound:
		lines = append(lines, "  "+st.Muted.Render("reading…"))
	case !d.stFound:
		lines = append(lines, "  "+st.StateUnknown.Render("no item for "+sanitize.Line(d.id)))
	default:
		item := d.st.Item
		if item == nil {
			item = map[string]any{"requestId": d.st.RequestID, "status": d.st.State}
		}
		for _, l := range highlightJSON(itemJSON(item), st.IsDark) {
			lines = append(lines, "  "+l)
		}
	}
	return buildInfoDoc(lines)
}

// itemJSON is the item as indented JSON with sorted keys and no HTML escaping.
func itemJSON(item map[string]any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(item); err != nil {
		return []byte(err.Error())
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// rule is a horizontal line with a title at its left.
func rule(title string, w int, st Styles) string {
	left := st.Faint.Render("── ") + title + " "
	n := ansi.StringWidth(left)
	if n >= w {
		return ansi.Truncate(left, w, "…")
	}
	return left + st.Faint.Render(strings.Repeat("─", w-n))
}
