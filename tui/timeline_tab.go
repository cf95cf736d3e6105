package tui

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/payload"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/internal/trace"
	"github.com/stowage-cli/stowage/redrive"
)

// The timeline tab of the detail: what happened to the request, oldest first, from S3,
// the status item, the processor's and the gateway's log lines and the redrive journals
// (internal/trace, as stowage trace prints it). Gathered in a command when the tab opens
// (bounded by timelineTimeout), again with r: the log lines around what the detail read
// come with the fresh S3 and DynamoDB reads, so it takes two round trips (the second
// reads the invocations' platform lines), not three. The cursor picks an entry;
// a log line's message shows under it, and enter opens it whole.

// timelineTimeout bounds the gathering: a Logs Insights query over a wide window may
// take tens of seconds.
const timelineTimeout = 45 * time.Second

// timelineState is the timeline tab's reading and where its cursor is.
type timelineState struct {
	seq     int
	id      string
	loading bool
	partial bool // tl is the first round's: the rest is on its way
	tl      trace.Timeline
	err     error
	cursor  int // the entry the cursor is on
	open    int // the log entry opened whole; -1: none
	oscroll int // the scroll of the opened entry
}

type timelineReadMsg struct {
	gen, seq int
	id       string
	tl       trace.Timeline
	err      error
	// partial marks the first round's timeline (trace.Sources.First); the whole one
	// follows in another message.
	partial bool
}

// gatherTimeline reads a timeline's inputs; a variable so tests can give fixed inputs.
var gatherTimeline = trace.Gather

// traceObjects gives trace.Gather the session's object store; a store without Versions
// (a test fake) reads no versions.
type traceObjects struct{ ObjectStore }

func (o traceObjects) Versions(ctx context.Context, key string) ([]awsclient.ObjectVersion, error) {
	if v, ok := o.ObjectStore.(interface {
		Versions(ctx context.Context, key string) ([]awsclient.ObjectVersion, error)
	}); ok {
		return v.Versions(ctx, key)
	}
	return nil, nil
}

// timelineSources are the sources of the open environment, as stowage trace reads them.
func (m *Model) timelineSources() trace.Sources {
	src := trace.Sources{Env: m.sess.Env, Objects: traceObjects{m.sess.Objects}, Statuses: m.sess.Statuses,
		MissingObject: inventory.IsMissingObject, Now: m.opts.Now,
		History: func(env, id string) ([]redrive.HistoryRun, error) {
			runs, err := requestHistory(env, id)
			if err != nil {
				return nil, nil // no state directory: no history, as stowage trace reads it
			}
			return runs, nil
		}}
	if m.sess.Logs != nil {
		src.Logs = m.sess.Logs
	}
	return src
}

// readTimeline gathers the open request's timeline in a command.
func (m *Model) readTimeline(d *detail) tea.Cmd {
	m.tlSeq++
	cursor, open := 0, -1
	if d.tl != nil && d.tl.id == d.id {
		cursor = d.tl.cursor // r keeps the place
	}
	d.tl = &timelineState{seq: m.tlSeq, id: d.id, loading: true, cursor: cursor, open: open}
	if m.sess.Env == nil || m.sess.Objects == nil || m.sess.Statuses == nil {
		d.tl.loading, d.tl.err = false, errors.New("no environment is open")
		return nil
	}
	src := m.timelineSources()
	src.Known = detailKnown(d)
	gen, seq, id, key := m.gen, m.tlSeq, d.id, d.key
	parent, timeout := m.ctx, max(timelineTimeout, m.opts.CallTimeout)
	return func() tea.Msg {
		// What the first round read is shown as soon as it is in (a round trip before
		// the invocations' lines); the whole timeline follows.
		first, done := make(chan trace.Inputs, 1), make(chan tea.Msg, 1)
		src.First = func(in trace.Inputs) { first <- in }
		go func() {
			ctx, cancel := context.WithTimeout(parent, timeout)
			defer cancel()
			in, err := gatherTimeline(ctx, src, id, key)
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					err = errors.New("the timeline took longer than " + timeout.String() + " to gather (press r to try again)")
				}
				done <- timelineReadMsg{gen: gen, seq: seq, id: id, err: err}
				return
			}
			done <- timelineReadMsg{gen: gen, seq: seq, id: id, tl: trace.Build(in)}
		}()
		select {
		case in := <-first:
			early := timelineReadMsg{gen: gen, seq: seq, id: id, tl: trace.Build(in), partial: true}
			return tea.BatchMsg{func() tea.Msg { return early }, func() tea.Msg { return <-done }}
		case msg := <-done:
			return msg
		}
	}
}

// detailKnown is what the detail has read of its request: Gather reads the log lines
// around it at once, beside its own fresh reads, instead of after them.
func detailKnown(d *detail) *trace.Known {
	var k trace.Known
	if d.headDone && d.headErr == nil && !d.missing {
		obj := d.obj
		k.Object = &obj
	}
	if d.stDone && d.stErr == nil && d.stFound {
		st := d.st
		k.Status = &st
	}
	if k.Object == nil && k.Status == nil {
		return nil
	}
	return &k
}

// onTimelineRead keeps a timeline only for the request and reading that asked for it.
func (m *Model) onTimelineRead(msg timelineReadMsg) {
	d := m.detail
	if msg.gen != m.gen || d == nil || d.tl == nil || d.tl.seq != msg.seq || d.id != msg.id {
		return
	}
	t := d.tl
	if msg.partial && !t.loading && !t.partial {
		return // the whole timeline came first
	}
	// The cursor and an opened line stay on their entries: the whole timeline adds
	// entries before them.
	before := t.tl.Entries
	wasPartial := t.partial
	t.loading, t.partial, t.tl, t.err = false, msg.partial, msg.tl, msg.err
	if wasPartial {
		t.cursor = sameEntry(before, t.cursor, t.tl.Entries)
		if t.open >= 0 {
			t.open = sameEntry(before, t.open, t.tl.Entries)
		}
	}
	t.cursor = max(0, min(t.cursor, len(t.tl.Entries)-1))
}

// sameEntry is where entry i of before is in after (i itself when it is not there).
func sameEntry(before []trace.Entry, i int, after []trace.Entry) int {
	if i < 0 || i >= len(before) {
		return i
	}
	on := before[i]
	for j, e := range after {
		if e.At.Equal(on.At) && e.Source == on.Source && e.Summary == on.Summary {
			return j
		}
	}
	return i
}

// timelinePainter colours a timeline with the Styles.
func (m *Model) timelinePainter() trace.Painter {
	st := m.st
	return trace.Painter{
		Time: func(s string) string { return st.Muted.Render(s) },
		Source: func(src trace.Source, s string) string {
			switch src {
			case trace.SourceProcessor:
				return st.Label.Render(s)
			case trace.SourceStowage:
				return st.Prompt.Render(s)
			case trace.SourceStatus:
				return st.StatePending.Render(s)
			}
			return st.HeaderKey.Render(s)
		},
		Error: func(s string) string { return st.ErrorText.Render(s) },
		Note:  func(s string) string { return st.Notice.Render(s) },
	}
}

// timelineRows are the tab's lines and the line each entry starts at.
func (m *Model) timelineRows(d *detail, w int) (lines []string, at []int) {
	st := m.st
	t := d.tl
	switch {
	case t == nil || t.loading:
		return []string{st.Muted.Render("gathering the timeline: the object, the status item, the redrive journals, the log lines…")}, nil
	case t.err != nil:
		return []string{st.ErrorText.Render(ansi.Truncate(errorText("timeline", t.err), w, "…"))}, nil
	}
	if t.open >= 0 && t.open < len(t.tl.Entries) {
		return m.timelineOpenLines(t.tl.Entries[t.open], w), nil
	}
	tl := t.tl
	p := m.timelinePainter()
	h := payload.NewHighlighter(st.IsDark)
	title := st.SectionHead.Render("What happened to this request") + st.Muted.Render(" · "+entriesText(len(tl.Entries))+", oldest first")
	if tl.Query != "" {
		title += st.Faint.Render(" · y copies the Logs Insights query")
	}
	lines = append(lines, ansi.Truncate(title, w, "…"), st.TableHeader.Render(ansi.Truncate("  "+trace.Header(w-2), w, "")))
	if len(tl.Entries) == 0 {
		lines = append(lines, st.Muted.Render("(nothing is known of this request)"))
	}
	at = make([]int, len(tl.Entries))
	for i, e := range tl.Entries {
		at[i] = len(lines)
		mark := "  "
		if i == t.cursor {
			mark = st.Cursor.Render("▸") + " "
		}
		lines = append(lines, mark+trace.Line(e, w-2, p))
		if i == t.cursor && e.Message != "" {
			// The cursor's log line, coloured when it is JSON; enter opens it whole.
			pre := "    " + st.Faint.Render("│ ")
			lines = append(lines, pre+trace.HighlightLine(h, e, max(8, w-6)))
			lines = append(lines, "    "+st.Faint.Render(ansi.Truncate(sanitize.Line(e.Group)+" · enter opens the line", max(8, w-4), "…")))
		}
	}
	if len(tl.Notes) > 0 {
		lines = append(lines, "")
		for _, n := range tl.Notes {
			for i, l := range strings.Split(n, "\n") {
				if i > 0 {
					// Set lines (a config section, a query) stay whole, to be copied.
					lines = append(lines, st.Notice.Render("  "+l))
					continue
				}
				for j, part := range strings.Split(ansi.Wordwrap(l, max(20, w-2), ""), "\n") {
					prefix := "  "
					if j == 0 {
						prefix = "- "
					}
					lines = append(lines, st.Notice.Render(prefix+part))
				}
			}
		}
	}
	return lines, at
}

// timelineOpenLines are a log line whole: pretty and coloured when it is JSON; an
// invocation's platform lines, one a line.
func (m *Model) timelineOpenLines(e trace.Entry, w int) []string {
	st := m.st
	what := "Log line"
	if e.Invocation != "" {
		what = "Lambda invocation " + sanitize.Line(e.Invocation) // its START, END and REPORT lines
	}
	head := st.SectionHead.Render(what) + st.Muted.Render(" · "+e.At.UTC().Format(trace.TimeLayout)+" · "+sanitize.Line(e.Group))
	out := []string{ansi.Truncate(head, w, "…"), st.Faint.Render(ansi.Truncate("esc back to the timeline · y copies it", w, "…")), ""}
	// Whole: long lines wrap, keeping their colours.
	for _, l := range trace.Highlight(payload.NewHighlighter(m.st.IsDark), e) {
		out = append(out, strings.Split(ansi.Wrap(l, max(10, w), " ,"), "\n")...)
	}
	return out
}

// renderTimeline draws the timeline tab, scrolled to keep the cursor on screen.
func (m *Model) renderTimeline(d *detail, w, h int) []string {
	lines, _ := m.timelineRows(d, w-1)
	from := min(d.scroll, max(0, len(lines)-1))
	if t := d.tl; t != nil && t.open >= 0 {
		from = min(t.oscroll, max(0, len(lines)-1))
	}
	lines = lines[from:min(len(lines), from+h)]
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = " " + l
	}
	return out
}

// onTimelineKey handles the timeline tab's own keys: the cursor, enter, esc on an opened
// line. It reports whether it used the key.
func (m *Model) onTimelineKey(msg tea.KeyPressMsg) bool {
	km, d := m.km, m.detail
	t := d.tl
	if t == nil || t.loading || t.err != nil {
		return false
	}
	h := m.detailBodyHeight()
	if t.open >= 0 {
		n := len(m.timelineOpenLines(t.tl.Entries[t.open], m.width))
		switch {
		case key.Matches(msg, km.Back):
			t.open = -1
		case key.Matches(msg, km.Up):
			t.oscroll = max(0, t.oscroll-1)
		case key.Matches(msg, km.Down):
			t.oscroll = max(0, min(t.oscroll+1, n-h))
		case key.Matches(msg, km.PageUp, km.HalfPageUp):
			t.oscroll = max(0, t.oscroll-h)
		case key.Matches(msg, km.PageDown, km.HalfPageDown):
			t.oscroll = max(0, min(t.oscroll+h, n-h))
		case key.Matches(msg, km.Top):
			t.oscroll = 0
		case key.Matches(msg, km.Bottom):
			t.oscroll = max(0, n-h)
		default:
			return false
		}
		return true
	}
	n := len(t.tl.Entries)
	move := func(to int) {
		t.cursor = max(0, min(to, n-1))
		m.timelineFollow(d, h)
	}
	switch {
	case key.Matches(msg, km.Up):
		move(t.cursor - 1)
	case key.Matches(msg, km.Down):
		move(t.cursor + 1)
	case key.Matches(msg, km.PageUp, km.HalfPageUp):
		move(t.cursor - max(1, h/2))
	case key.Matches(msg, km.PageDown, km.HalfPageDown):
		move(t.cursor + max(1, h/2))
	case key.Matches(msg, km.Top):
		move(0)
		d.scroll = 0
	case key.Matches(msg, km.Bottom):
		move(n - 1)
		lines, _ := m.timelineRows(d, m.width-1)
		d.scroll = max(0, len(lines)-h) // the notes below the last entry
	case key.Matches(msg, km.Open):
		if t.cursor < n && t.tl.Entries[t.cursor].Message != "" {
			t.open, t.oscroll = t.cursor, 0
		} else {
			m.setNote(noteInfo, "only a log line opens: this entry is all there is")
		}
	default:
		return false
	}
	return true
}

// timelineFollow scrolls so that the cursor's entry (and its message line) is on screen.
func (m *Model) timelineFollow(d *detail, h int) {
	lines, at := m.timelineRows(d, m.width-1)
	t := d.tl
	if t.cursor >= len(at) {
		return
	}
	top := at[t.cursor]
	bottom := top
	if t.cursor+1 < len(at) {
		bottom = at[t.cursor+1] - 1
	} else if e := t.tl.Entries[t.cursor]; e.Message != "" {
		bottom = top + 2
	}
	if t.cursor == 0 {
		top = 0 // the title and the header with the first entry
	}
	switch {
	case top < d.scroll:
		d.scroll = top
	case bottom >= d.scroll+h:
		d.scroll = bottom - h + 1
	}
	d.scroll = max(0, min(d.scroll, len(lines)-1))
}

// timelineCopyItems are what y offers on the timeline tab: the opened (or the cursor's)
// log line, and the Logs Insights query.
func (m *Model) timelineCopyItems() []menuItem {
	d := m.detail
	if d == nil || m.mode != modeDetail || d.tab != tabTimeline || d.tl == nil || d.tl.loading {
		return nil
	}
	t := d.tl
	var items []menuItem
	i := t.cursor
	if t.open >= 0 {
		i = t.open
	}
	if i < len(t.tl.Entries) && t.tl.Entries[i].Message != "" {
		e := t.tl.Entries[i]
		items = append(items, menuItem{key: "l", label: "log line", hint: sanitize.Line(ansi.Truncate(e.Message, 60, "…")), action: copyMsg{"log line", e.Pretty()}})
	}
	if t.tl.Query != "" {
		items = append(items, menuItem{key: "q", label: "Logs Insights query", hint: sanitize.Line(t.tl.Query), action: copyMsg{"Logs Insights query", t.tl.Query}})
	}
	return items
}

func entriesText(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return strconv.Itoa(n) + " entries"
}

func timelineCount(d *detail) string {
	if d.tl == nil || d.tl.loading || len(d.tl.tl.Entries) == 0 {
		return ""
	}
	return " (" + strconv.Itoa(len(d.tl.tl.Entries)) + ")"
}
