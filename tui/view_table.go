package tui

import (
	"strconv"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// rowPrefix is the cells before a row's request ID: the cursor and the selection mark.
const rowPrefix = 3

// column names a column the operator can hide (C); the request ID and STATUS always show,
// and ERROR takes what is left.
type column int

const (
	colReceived column = iota
	colSize
	colType
	colAttempts
	colRedrive
	columnCount
)

func (c column) String() string {
	return [...]string{"RECEIVED", "SIZE", "TYPE", "ATT (attempts)", "REDRIVE (this session's last redrive)"}[c]
}

// colPrefs are the operator's column choices: hidden columns and the wide toggle (W).
type colPrefs struct {
	wide   bool // every column at full width, even when ERROR gets little
	hidden [columnCount]bool
}

// columns are the table's column widths for a table width; 0 hides a column.
type columns struct {
	id, received, size, ctype, state, attempts, redrive, err int
	longTime                                                 bool
}

// redriveColW fits "↻ 09:28 no news" and the start of "↻ 09:28 → <new id>".
const redriveColW = 16

// errRoom is the ERROR width the default (not wide) layout keeps: columns give way to it,
// since the error is what an operator reads to decide.
func errRoom(w int) int { return max(24, min(40, w/3)) }

// tableColumns lays the table out in w cells. The columns give ERROR its room in this
// order: the absolute time, TYPE, ATT, SIZE, then the request ID is cut; wide, they give
// way only so far as the row fits the screen.
func tableColumns(w int, p colPrefs, redriven bool) columns {
	c := columns{id: 36, received: 22, size: 9, ctype: 16, state: 11, attempts: 3, longTime: true}
	if redriven {
		c.redrive = redriveColW
	}
	for col, hide := range p.hidden {
		if !hide {
			continue
		}
		switch column(col) {
		case colReceived:
			c.received = 0
		case colSize:
			c.size = 0
		case colType:
			c.ctype = 0
		case colAttempts:
			c.attempts = 0
		case colRedrive:
			c.redrive = 0
		}
	}
	fixed := func() int {
		n := rowPrefix
		for _, x := range []int{c.id, c.received, c.size, c.ctype, c.state, c.attempts, c.redrive} {
			if x > 0 {
				n += x + 1
			}
		}
		return n
	}
	// Wide keeps every column that fits whole; STATUS and ERROR never go off screen.
	room := errRoom(w)
	if p.wide {
		room = 0
	}
	if c.received > 0 && w-fixed() < room {
		c.received, c.longTime = 8, false
	}
	for _, x := range []*int{&c.ctype, &c.attempts, &c.size} {
		if w-fixed() < room {
			*x = 0
		}
	}
	if short := room - (w - fixed()); short > 0 {
		c.id = max(13, c.id-short)
	}
	if c.received > 0 && c.received < 22 {
		c.longTime = false
	}
	c.err = max(0, w-fixed())
	return c
}

func (m *Model) renderTable(w, h int) []string {
	st := m.st
	s := m.active()
	rows := h - 1
	bar := scrollbar(rows, m.top, s.ViewLen())
	c := tableColumns(w, m.cols, len(m.history) > 0 || m.anyRedrivenShown())
	if bar != nil {
		c.err = max(0, c.err-1) // the last cell is the scrollbar's
	}
	out := make([]string, 0, h)
	head := strings.Repeat(" ", rowPrefix) + cell("REQUEST ID", c.id)
	if c.received > 0 {
		head += " " + cell("RECEIVED", c.received)
	}
	if c.size > 0 {
		head += " " + cellRight("SIZE", c.size)
	}
	if c.ctype > 0 {
		head += " " + cell("TYPE", c.ctype)
	}
	head += " " + cell("STATUS", c.state)
	if c.attempts > 0 {
		head += " " + cellRight("ATT", c.attempts)
	}
	if c.redrive > 0 {
		head += " " + cell("REDRIVE", c.redrive)
	}
	if c.err > 0 {
		head += " " + cell("ERROR", c.err)
	}
	// The position, as k9s shows it: which row of how many; left out rather than written
	// over a column title when the columns take the whole width (wide mode at 80).
	if n := s.ViewLen(); n > 0 {
		pos := " " + commas(m.cursor+1) + "/" + commas(n)
		if room := w - ansi.StringWidth(pos); ansi.StringWidth(strings.TrimRight(head, " ")) <= room {
			head = padRight(ansi.Truncate(head, room, ""), room) + pos
		}
	}
	out = append(out, st.TableHeader.Render(head))

	if s.ViewLen() == 0 {
		out = append(out, "  "+st.Muted.Render(m.emptyText()))
		for len(out) < h {
			out = append(out, "")
		}
		return out
	}
	end := min(s.ViewLen(), m.top+rows)
	for i := m.top; i < end; i++ {
		line := m.renderRow(s.At(i), c, i == m.cursor)
		if bar != nil {
			line = padRight(line, w-1) + st.Faint.Render(bar[i-m.top])
		}
		out = append(out, line)
	}
	for len(out) < h {
		line := ""
		if bar != nil && len(out)-1 < len(bar) {
			line = strings.Repeat(" ", w-1) + st.Faint.Render(bar[len(out)-1])
		}
		out = append(out, line)
	}
	return out
}

// scrollbar is the one-cell track beside rows visible rows of n, from top; nil when every
// row is on screen.
func scrollbar(rows, top, n int) []string {
	if n <= rows || rows <= 0 {
		return nil
	}
	thumb := max(1, rows*rows/n)
	at := 0
	if n > rows {
		at = top * (rows - thumb) / (n - rows)
	}
	bar := make([]string, rows)
	for i := range bar {
		if i >= at && i < at+thumb {
			bar[i] = "┃"
		} else {
			bar[i] = "│"
		}
	}
	return bar
}

func (m *Model) emptyText() string {
	if s := m.active(); s.Query() != "" && s.Len() > 0 {
		return m.noMatchText(s)
	}
	switch {
	case m.src == sourceStatus && m.stateList.loading:
		return "asking the status table for " + sanitize.Line(m.stateFilter) + " requests…"
	case m.src == sourceStatus:
		// A misspelt state must not read like an all-clear: name the nearest known one.
		if near := inventory.SuggestState(m.stateFilter, m.sess.Env, m.statesSeen()); near != "" {
			return "no requests in state " + sanitize.Line(m.stateFilter) + " (states are compared exactly: did you mean " + sanitize.Line(near) + "?)"
		}
		return "no requests in state " + sanitize.Line(m.stateFilter)
	case m.src == sourceLost && !m.lostDone():
		return "looking for LOST requests…"
	case m.src == sourceLost:
		return "no LOST requests: every object older than " + config.FormatDuration(m.lostAfter()) + " has a status item"
	case m.list.err != nil:
		return "the listing failed: see below, r retries"
	case !m.list.done:
		return "listing the bucket…"
	}
	return "the bucket is empty under this prefix"
}

func (m *Model) renderRow(r *row, c columns, selected bool) string {
	st := m.st
	var b strings.Builder
	// A selected row keeps its colours on the selection's background: every piece is
	// styled with it, so no reset in between drops it.
	style := func(s string, sty lipgloss.Style) string {
		if selected {
			return sty.Inherit(st.RowSelected).Render(s)
		}
		return sty.Render(s)
	}
	plain := func(s string) string {
		if selected {
			return st.RowSelected.Render(s)
		}
		return s
	}
	// The prefix: the cursor, then the redrive selection mark.
	if selected {
		b.WriteString(plain("▸"))
	} else {
		b.WriteString(" ")
	}
	if m.marked.has(r.ID) {
		b.WriteString(style("✓", st.Marked) + plain(" "))
	} else if m.auto.fresh[r.ID] {
		b.WriteString(style("●", st.StateFailed) + plain(" ")) // a new failure, brought by the auto-refresh
	} else {
		b.WriteString(plain("  "))
	}
	b.WriteString(plain(cell(sanitize.Line(r.ID), c.id)))
	if c.received > 0 {
		b.WriteString(plain(" ") + style(cell(m.received(r, c.longTime), c.received), st.Muted))
	}
	if c.size > 0 {
		size := "—"
		if r.Size >= 0 {
			size = humanBytes(r.Size)
		}
		b.WriteString(plain(" " + cellRight(size, c.size)))
	}
	if c.ctype > 0 {
		ct := "…"
		if h, ok := m.heads[r.Key]; ok {
			ct = h.ContentType
			if h.ContentEncoding != "" {
				ct += "+" + h.ContentEncoding
			}
			if ct == "" {
				ct = "—"
			}
		}
		b.WriteString(plain(" ") + style(cell(sanitize.Line(mediaType(ct)), c.ctype), st.Muted))
	}
	state, attempts, errText, sty := m.rowStatus(r)
	b.WriteString(plain(" ") + style(cell(state, c.state), sty))
	if c.attempts > 0 {
		b.WriteString(plain(" " + cellRight(attempts, c.attempts)))
	}
	if c.redrive > 0 {
		b.WriteString(plain(" ") + style(cell(m.redriveNote(r), c.redrive), st.Marked))
	} else if note := m.redriveNote(r); note != "" && errText != "" {
		errText = note + " · " + errText // the column is hidden: the note still shows
	} else if note != "" {
		errText = note
	}
	if c.err > 0 {
		b.WriteString(plain(" ") + style(cell(errText, c.err), st.ErrorText))
	}
	if selected {
		return solidBlanks(b.String())
	}
	return b.String()
}

// mediaType is a content type without its parameters ("; charset=utf-8").
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		return strings.TrimSpace(ct[:i])
	}
	return ct
}

// solidRun is the shortest run of blanks solidBlanks replaces: the renderer erases runs
// longer than an ECH plus a cursor move (at least 11 cells) rather than write them.
const solidRun = 8

// solidBlanks turns long runs of blanks, and the blanks at the end, into no-break spaces
// so the selected row's background spans the whole table. The renderer erases such runs
// with ECH/EL, and terminals without background-colour erase draw the erased cells
// without the row's background.
func solidBlanks(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		if s[i] != ' ' {
			j := i
			for j < len(s) && s[j] != ' ' {
				j++
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		j := i
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j-i < solidRun && ansi.Strip(s[j:]) != "" {
			b.WriteString(s[i:j])
		} else {
			b.WriteString(strings.Repeat("\u00a0", j-i))
		}
		i = j
	}
	return b.String()
}

// rowStatus is the status cells of a row: state, attempts and error, sanitized.
func (m *Model) rowStatus(r *row) (state, attempts, errText string, sty lipgloss.Style) {
	e, ok := m.statuses.get(r.ID)
	switch {
	case !ok:
		return "…", "", "", m.st.StateUnknown
	case !e.found && m.isLostCandidate(r):
		return stateLost, "", "", m.st.StateLost
	case !e.found:
		return "—", "", "", m.st.StateUnknown
	}
	if e.st.Attempts > 0 {
		attempts = strconv.Itoa(e.st.Attempts)
	}
	return sanitize.Line(e.st.State), attempts, sanitize.Line(e.st.Error), m.st.stateStyle(m.rowClass(r.ID))
}

// redriveNote is the REDRIVE column: this session's last redrive of the request
// ("↻ 09:28 sent"), else "redriven 3m" when an earlier redrive in place stored it again
// (see arrival), "" when neither.
func (m *Model) redriveNote(r *row) string {
	if h := m.history[r.ID]; len(h) > 0 {
		return h[len(h)-1].short()
	}
	if _, t := m.arrival(r); !t.IsZero() {
		// Stored again by an earlier redrive in place: RECEIVED is the original arrival.
		return "redriven " + strings.TrimSuffix(ago(m.now.Sub(t)), " ago")
	}
	return ""
}

// received is "Mar 14 09:28:00Z (3m)" (UTC, as in the detail pane and the CLI) or,
// narrow, "3m ago".
func (m *Model) received(r *row, long bool) string {
	if r.Modified == 0 {
		return "—"
	}
	t, _ := m.arrival(r) // the original arrival, not a redrive's rewrite
	rel := ago(m.now.Sub(t))
	if !long {
		return rel
	}
	return t.Format("Jan 02 15:04:05Z") + " (" + strings.TrimSuffix(rel, " ago") + ")"
}

// ago is a short relative age.
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "future"
	case d < 5*time.Second:
		return "now"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d ago"
}

// noMatchText names what the filter was applied to: "0 of 56 FAILED match /timeout".
func (m *Model) noMatchText(s *rowSet) string {
	what := "listed"
	switch m.src {
	case sourceStatus:
		what = sanitize.Line(m.stateFilter)
	case sourceLost:
		what = stateLost
	}
	text := "0 of " + commas(s.Len()) + " " + what + " match /" + sanitize.Line(s.Query())
	switch {
	case m.src == sourceStatus && m.stateList.loading, m.src == sourceLost && !m.lostDone(), m.src == sourceAll && !m.list.done:
		text += " so far"
	}
	if m.src == sourceAll {
		if known := m.statuses.listedKnown(); known < s.Len() {
			// Statuses are read for the rows on screen: the others cannot match on them.
			text += " (status known for " + commas(known) + "; f lists a state from the status table)"
		}
	}
	return text + " · esc clears it"
}

// rowText is what the / filter searches beyond the key and id: the type, status, error
// and redrive columns as the table shows them, lower-case, one per line. It is "" for a
// row the model knows nothing more about, which most rows of a large listing are.
func (m *Model) rowText(r *row) string {
	// textedIDs names every row this says something of: keep the two together.
	var parts []string
	if h, ok := m.heads[r.Key]; ok {
		ct := h.ContentType
		if h.ContentEncoding != "" {
			ct += "+" + h.ContentEncoding
		}
		parts = append(parts, mediaType(ct))
	}
	if e, ok := m.statuses.get(r.ID); ok {
		switch {
		case e.found:
			parts = append(parts, e.st.State, e.st.Error)
		case m.isLostCandidate(r):
			parts = append(parts, stateLost)
		}
	}
	if h := m.history[r.ID]; len(h) > 0 {
		parts = append(parts, h[len(h)-1].short())
	}
	if len(parts) == 0 {
		return ""
	}
	for i, p := range parts {
		parts[i] = sanitize.Line(p) // as shown, so a search for what is on screen finds it
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}

// textedIDs calls fn with the id of every request rowText has more than its key and id
// for: those with a status read, a HEAD answer or a redrive this session.
func (m *Model) textedIDs(fn func(id string)) {
	for id := range m.statuses.entries {
		fn(id)
	}
	for key, h := range m.heads {
		id := h.RequestID
		if id == "" && m.sess.Env != nil {
			id = m.sess.Env.RequestID(key)
		}
		if id == "" {
			id = key
		}
		fn(id)
	}
	for id := range m.history {
		fn(id)
	}
}
