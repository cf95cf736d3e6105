package tui

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// layout is where each part goes; View and the mouse handler share it.
type layout struct {
	headerH, footerH int
	bodyY, bodyH     int
	tableW, tableH   int // tableH counts the column header line
	paneX, paneY     int
	paneW, paneH     int
	pane             bool
	beside           bool
}

const (
	headerLines  = 2
	besideMinW   = 160 // the pane goes beside the table from this width
	belowMinBody = 20  // and below it when the body has this many lines
)

func (m *Model) footerLines() int { return len(m.statusLines()) + 1 }

func (m *Model) layout() layout {
	l := layout{headerH: headerLines, footerH: m.footerLines()}
	l.bodyY = l.headerH
	l.bodyH = max(3, m.height-l.headerH-l.footerH)
	l.tableW, l.tableH = m.width, l.bodyH
	if m.mode == modeDetail {
		l.pane, l.paneX, l.paneY, l.paneW, l.paneH = true, 0, l.bodyY, m.width, l.bodyH
		l.tableH = 0
		return l
	}
	if !m.pane {
		return l
	}
	switch {
	case m.width >= besideMinW:
		l.pane, l.beside = true, true
		l.tableW = m.width * 11 / 20
		l.paneX, l.paneY, l.paneW, l.paneH = l.tableW, l.bodyY, m.width-l.tableW, l.bodyH
	case l.bodyH >= belowMinBody:
		l.pane = true
		l.tableH = l.bodyH / 2
		l.paneX, l.paneY, l.paneW, l.paneH = 0, l.bodyY+l.tableH, m.width, l.bodyH-l.tableH
	}
	return l
}

func (m *Model) paneVisible() bool { return m.layout().pane }

// tableRows is how many data rows the table shows.
func (m *Model) tableRows() int { return max(1, m.layout().tableH-1) }

// clampScroll keeps the cursor inside the view and on screen.
func (m *Model) clampScroll() {
	n := m.active().ViewLen()
	if m.cursor >= n {
		m.cursor = n - 1
	}
	if m.cursor < 0 {
		m.cursor = 0
	}
	rows := m.tableRows()
	if m.cursor < m.top {
		m.top = m.cursor
	}
	if m.cursor >= m.top+rows {
		m.top = m.cursor - rows + 1
	}
	m.top = max(0, min(m.top, n-rows))
}

// View draws the screen. It reads only the model: no clock, no I/O, and only the rows
// and payload lines that are on screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "stowage"
	if m.sess.Env != nil {
		v.WindowTitle = "stowage · " + sanitize.Line(m.sess.Env.Name)
	}
	return v
}

func (m *Model) render() string {
	if m.quitting {
		return ""
	}
	l := m.layout()
	lines := make([]string, 0, m.height)
	lines = append(lines, m.renderHeader()...)

	body := make([]string, 0, l.bodyH)
	switch {
	case m.fullHelp:
		body = append(body, m.renderHelp(m.width, l.bodyH)...)
	case m.mode == modeDetail:
		body = append(body, m.renderDetail(l.paneW, l.paneH)...)
	case l.beside:
		table := m.renderTable(l.tableW, l.tableH)
		pane := m.renderDetail(l.paneW-2, l.paneH)
		for i := range l.bodyH {
			t, p := "", ""
			if i < len(table) {
				t = table[i]
			}
			if i < len(pane) {
				p = pane[i]
			}
			body = append(body, padRight(t, l.tableW-1)+" "+m.st.Faint.Render("│")+" "+p)
		}
	default:
		body = append(body, m.renderTable(l.tableW, l.tableH)...)
		if l.pane {
			body = append(body, m.renderDetail(l.paneW, l.paneH)...)
		}
	}
	for len(body) < l.bodyH {
		body = append(body, "")
	}
	body = body[:l.bodyH]
	if n := len(m.dialogs); n > 0 {
		body = overlay(body, m.renderDialog(m.dialogs[n-1], l.bodyH), m.width)
	}
	lines = append(lines, body...)
	lines = append(lines, m.renderFooter()...)
	for i, ln := range lines {
		lines[i] = ansi.Truncate(ln, m.width, "")
	}
	return strings.Join(lines, "\n")
}

// sizedDialog is a dialog that can be wider than the default and fit a height.
type sizedDialog interface {
	maxWidth() int
	renderSized(st Styles, width, height int) string
}

func (m *Model) renderDialog(d dialog, bodyH int) string {
	if sd, ok := d.(sizedDialog); ok {
		w := min(sd.maxWidth(), m.width-4)
		return m.st.Dialog.Render(sd.renderSized(m.st, w-4, max(3, bodyH-2)))
	}
	w := min(72, m.width-4)
	return m.st.Dialog.Render(d.render(m.st, w-4))
}

// ---- header ----

// headerField is one field of a header line. Fields with drop > 0 give way, highest
// drop first, when the line is wider than the screen.
type headerField struct {
	text string
	drop int
}

// fitFields joins fields with sep, leaving out droppable fields until the line fits w.
func fitFields(fields []headerField, sep string, w int) string {
	fields = append([]headerField(nil), fields...)
	for {
		parts := make([]string, len(fields))
		for i, f := range fields {
			parts[i] = f.text
		}
		line := strings.Join(parts, sep)
		at, hi := -1, 0
		for i, f := range fields {
			if f.drop > hi {
				at, hi = i, f.drop
			}
		}
		if at < 0 || ansi.StringWidth(line) <= w {
			return line
		}
		fields = append(fields[:at], fields[at+1:]...)
	}
}

// The header: the environment, its badges, who, where; then what is loaded and shown.
// On a narrow screen the table goes first, then the region, the credentials and the
// account; the environment, its badges, the bucket and the selection always show.
func (m *Model) renderHeader() []string {
	st := m.st
	env := m.sess.Env
	kv := func(k, v string) string { return st.HeaderKey.Render(k+" ") + st.HeaderVal.Render(sanitize.Line(v)) }
	var l1 []headerField
	if env != nil {
		name := sanitize.Line(env.Name)
		if env.Production {
			name += " · PRODUCTION"
		}
		l1 = append(l1, headerField{text: st.envStyle(env.Production, env.Color).Render(name)})
		if env.ReadOnly {
			l1 = append(l1, headerField{text: st.ReadOnly.Render("READ-ONLY")})
		}
		l1 = append(l1, headerField{text: m.credsLabel(), drop: 2})
		if m.sess.Account != "" {
			l1 = append(l1, headerField{text: kv("account", m.sess.Account), drop: 1})
		}
		if m.region() != "" {
			l1 = append(l1, headerField{text: kv("region", m.region()), drop: 3})
		}
		l1 = append(l1, headerField{text: kv("bucket", reqid.S3URI(env.Storage.Bucket, env.Storage.Prefix))})
		if env.Status.Table != "" {
			l1 = append(l1, headerField{text: kv("table", env.Status.Table), drop: 4})
		}
	} else {
		l1 = append(l1, headerField{text: st.EnvName.Render("no environment")})
	}

	var l2 []headerField
	listed := commas(m.all.Len()) + " listed"
	switch {
	case m.list.err != nil:
		listed += st.StatusError.Render(" (stopped)")
	case !m.list.done:
		listed += st.Muted.Render(" (paging…)")
	}
	l2 = append(l2, headerField{text: listed})
	if c := m.countsLine(); c != "" {
		l2 = append(l2, headerField{text: c, drop: 3})
	}
	s := m.active()
	switch m.src {
	case sourceStatus:
		l2 = append(l2, headerField{text: "view " + st.stateStyle(m.stateFilter, m.isTerminal(m.stateFilter)).Render(sanitize.Line(m.stateFilter)) +
			" " + commas(s.Len())})
	case sourceLost:
		l2 = append(l2, headerField{text: "view " + st.StateLost.Render("LOST") + " " + commas(s.Len())})
	}
	dir := "↓"
	if s.asc {
		dir = "↑"
	}
	l2 = append(l2, headerField{text: st.Muted.Render("sort " + s.field.String() + " " + dir), drop: 5})
	if q := s.Query(); q != "" {
		l2 = append(l2, headerField{text: st.Prompt.Render("/"+sanitize.Line(q)) + st.Muted.Render(" "+commas(s.ViewLen())+" match"), drop: 2})
	}
	if n := len(m.marked); n > 0 {
		l2 = append(l2, headerField{text: st.Marked.Render("✓ " + commas(n) + " selected")})
	}
	if rd := m.rd; rd != nil && (rd.phase == rdRunning || rd.phase == rdStarting) {
		p := rd.progress
		l2 = append(l2, headerField{text: st.Prompt.Render("redrive " + commas(p.Counts.Done()) + "/" + commas(p.Total))})
	} else if m.watch.active() {
		l2 = append(l2, headerField{text: st.Muted.Render("watching " + commas(m.watch.pending())), drop: 4})
	}
	return []string{fitFields(l1, " ", m.width), fitFields(l2, st.Faint.Render(" · "), m.width)}
}

// credsLabel says whose credentials the environment uses: a named profile, the keys of
// a local stack, or the SDK's default chain (environment variables, then the default
// profile, then the instance role).
func (m *Model) credsLabel() string {
	st, env := m.st, m.sess.Env
	switch {
	case env.Profile != "":
		return st.HeaderKey.Render("profile ") + st.HeaderVal.Render(sanitize.Line(env.Profile))
	case env.LocalCredentials != nil:
		return st.HeaderVal.Render("local stack")
	}
	return st.HeaderKey.Render("creds ") + st.HeaderVal.Render("env/default chain")
}

func (m *Model) region() string {
	if m.sess.Env == nil {
		return ""
	}
	return m.sess.Env.Region
}

// countsLine is "FAILED 3 PROCESSED 120 LOST 2 no status yet 1" over the listed rows
// whose status is known, worst first. A row with no status item is LOST once it is older
// than lost_after, and has "no status yet" before.
func (m *Model) countsLine() string {
	type kv struct {
		state string
		n     int
		rank  int
	}
	c := m.statuses
	var kvs []kv
	for state, n := range c.counts {
		r := rankPending
		switch {
		case m.isTerminal(state):
			r = rankTerminal
		case isFailure(state):
			r = rankFailed
		}
		kvs = append(kvs, kv{state, n, r})
	}
	sort.Slice(kvs, func(i, j int) bool {
		if kvs[i].rank != kvs[j].rank {
			return kvs[i].rank > kvs[j].rank
		}
		return kvs[i].state < kvs[j].state
	})
	var parts []string
	for _, e := range kvs {
		name := sanitize.Line(e.state)
		if name == "" {
			name = "(empty state)"
		}
		parts = append(parts, m.st.stateStyle(e.state, e.rank == rankTerminal).Render(name)+" "+commas(e.n))
	}
	if c.lost > 0 {
		parts = append(parts, m.st.StateLost.Render("LOST")+" "+commas(c.lost))
	}
	if n := len(c.young); n > 0 {
		parts = append(parts, m.st.StateUnknown.Render("no status yet")+" "+commas(n))
	}
	// Statuses are read lazily for the rows on screen; say when the counts cover only part
	// of the listing, so "FAILED 14" is not read as "14 failed in the bucket".
	known := c.lost + len(c.young)
	for _, e := range kvs {
		known += e.n
	}
	if len(parts) > 0 && known < m.all.Len() {
		parts = append(parts, m.st.Muted.Render("(of "+commas(known)+" checked)"))
	}
	return strings.Join(parts, " ")
}

// ---- table ----

// rowPrefix is the cells before a row's request ID: the cursor and the selection mark.
const rowPrefix = 3

// columns are the table's column widths for a table width; 0 hides a column.
type columns struct {
	id, received, size, ctype, state, attempts, err int
	longTime                                        bool
}

// absoluteTimeMinErr is the ERROR width below which the received column drops its
// absolute time ("Mar 14 09:28:00Z (2m)" → "2m ago"): the error says more.
const absoluteTimeMinErr = 30

func tableColumns(w int) columns {
	c := columns{id: 36, received: 22, size: 9, ctype: 16, state: 11, attempts: 3, longTime: true}
	fixed := func() int {
		n := rowPrefix
		for _, x := range []int{c.id, c.received, c.size, c.ctype, c.state, c.attempts} {
			if x > 0 {
				n += x + 1
			}
		}
		return n
	}
	if w-fixed() < absoluteTimeMinErr {
		c.received, c.longTime = 8, false
	}
	if w-fixed() < 15 {
		c.ctype = 0
	}
	if w-fixed() < 10 {
		c.attempts = 0
	}
	if w-fixed() < 8 {
		c.id = max(12, w-fixed()+c.id-8)
	}
	c.err = max(0, w-fixed())
	return c
}

func (m *Model) renderTable(w, h int) []string {
	st := m.st
	c := tableColumns(w)
	s := m.active()
	out := make([]string, 0, h)
	head := strings.Repeat(" ", rowPrefix) + cell("REQUEST ID", c.id)
	if c.received > 0 {
		head += " " + cell("RECEIVED", c.received)
	}
	head += " " + cellRight("SIZE", c.size)
	if c.ctype > 0 {
		head += " " + cell("TYPE", c.ctype)
	}
	head += " " + cell("STATUS", c.state)
	if c.attempts > 0 {
		head += " " + cellRight("ATT", c.attempts)
	}
	if c.err > 0 {
		head += " " + cell("ERROR", c.err)
	}
	out = append(out, st.TableHeader.Render(head))

	rows := h - 1
	if s.ViewLen() == 0 {
		out = append(out, "  "+st.Muted.Render(m.emptyText()))
		for len(out) < h {
			out = append(out, "")
		}
		return out
	}
	end := min(s.ViewLen(), m.top+rows)
	for i := m.top; i < end; i++ {
		out = append(out, m.renderRow(s.At(i), c, i == m.cursor))
	}
	for len(out) < h {
		out = append(out, "")
	}
	return out
}

func (m *Model) emptyText() string {
	switch {
	case m.src == sourceStatus && m.stateList.loading:
		return "asking the status table for " + sanitize.Line(m.stateFilter) + " requests…"
	case m.src == sourceStatus:
		return "no requests in state " + sanitize.Line(m.stateFilter)
	case m.src == sourceLost && !m.lostDone():
		return "looking for LOST requests…"
	case m.src == sourceLost:
		return "no LOST requests: every object older than " + config.FormatDuration(m.lostAfter()) + " has a status item"
	case m.active().Query() != "":
		return "nothing matches the filter (esc clears it)"
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
	plain := selected // a selected row is drawn in one style so its background holds
	style := func(s string, sty lipgloss.Style) string {
		if plain {
			return s
		}
		return sty.Render(s)
	}
	// The prefix: the cursor, then the redrive selection mark.
	if selected {
		b.WriteString("▸")
	} else {
		b.WriteString(" ")
	}
	if m.marked.has(r.ID) {
		b.WriteString(style("✓", st.Marked) + " ")
	} else {
		b.WriteString("  ")
	}
	b.WriteString(cell(sanitize.Line(r.ID), c.id))
	if c.received > 0 {
		b.WriteByte(' ')
		b.WriteString(style(cell(m.received(r, c.longTime), c.received), st.Muted))
	}
	b.WriteByte(' ')
	size := "—"
	if r.Size >= 0 {
		size = humanBytes(r.Size)
	}
	b.WriteString(cellRight(size, c.size))
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
		b.WriteByte(' ')
		b.WriteString(style(cell(sanitize.Line(mediaType(ct)), c.ctype), st.Muted))
	}
	state, attempts, errText, sty := m.rowStatus(r)
	errText = m.rowNotes(r, errText)
	b.WriteByte(' ')
	b.WriteString(style(cell(state, c.state), sty))
	if c.attempts > 0 {
		b.WriteByte(' ')
		b.WriteString(cellRight(attempts, c.attempts))
	}
	if c.err > 0 {
		b.WriteByte(' ')
		b.WriteString(style(cell(errText, c.err), st.ErrorText))
	}
	if selected {
		return st.RowSelected.Render(solidBlanks(b.String()))
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
		if j-i < solidRun && j < len(s) {
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
	return sanitize.Line(e.st.State), attempts, sanitize.Line(e.st.Error), m.st.stateStyle(e.st.State, m.isTerminal(e.st.State))
}

// rowNotes is the error column: the processor's error, after this session's last
// redrive of the request when there was one.
func (m *Model) rowNotes(r *row, errText string) string {
	h := m.history[r.ID]
	switch {
	case len(h) == 0:
		return errText
	case errText == "":
		return h[len(h)-1].short()
	}
	return h[len(h)-1].short() + " · " + errText
}

// received is "Mar 14 09:28:00Z (3m)" (UTC, as in the detail pane and the CLI) or,
// narrow, "3m ago".
func (m *Model) received(r *row, long bool) string {
	if r.Modified == 0 {
		return "—"
	}
	t := r.modified()
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

// ---- footer ----

func (m *Model) renderFooter() []string {
	lines := m.statusLines()
	help := m.help // a copy: View changes nothing in the model
	help.SetWidth(m.width)
	var bindings []key.Binding
	switch {
	case m.fullHelp:
		bindings = m.km.helpOpenShortHelp()
	case m.mode == modeDetail:
		bindings = m.km.detailShortHelp()
	default:
		bindings = m.km.ShortHelp()
	}
	return append(lines, help.ShortHelpView(bindings))
}

// helpGap is the space between two columns of the full help.
const helpGap = 3

// helpLines lays the full help out for width w: KeyMap.FullHelp's columns side by side
// while they fit, the rest re-flowed into further bands below, so every key shows at
// any width.
func (m *Model) helpLines(w int) []string {
	st := m.st
	type column struct {
		lines []string
		width int
	}
	var cols []column
	for _, group := range m.km.FullHelp() {
		keyW := 0
		for _, b := range group {
			keyW = max(keyW, ansi.StringWidth(b.Help().Key))
		}
		var c column
		for _, b := range group {
			h := b.Help()
			if b.Help().Key == m.km.Help.Help().Key {
				h.Desc = "close help"
			}
			line := st.Help.FullKey.Render(cell(h.Key, keyW)) + " " + st.Help.FullDesc.Render(h.Desc)
			c.lines = append(c.lines, line)
			c.width = max(c.width, ansi.StringWidth(line))
		}
		cols = append(cols, c)
	}
	out := []string{" " + st.SectionHead.Render("Keys") + st.Muted.Render(" · ↑/↓ scroll · ? or esc closes"), ""}
	for i := 0; i < len(cols); {
		// One band: as many columns as fit beside each other (at least one).
		j, used := i+1, cols[i].width
		for j < len(cols) && used+helpGap+cols[j].width <= w {
			used += helpGap + cols[j].width
			j++
		}
		if i > 0 {
			out = append(out, "")
		}
		rows := 0
		for _, c := range cols[i:j] {
			rows = max(rows, len(c.lines))
		}
		for r := range rows {
			var b strings.Builder
			for k, c := range cols[i:j] {
				text := ""
				if r < len(c.lines) {
					text = c.lines[r]
				}
				if k < j-i-1 {
					text = padRight(text, c.width+helpGap)
				}
				b.WriteString(text)
			}
			out = append(out, " "+b.String())
		}
		i = j
	}
	return out
}

// renderHelp draws the full help in the body, scrolled by helpScroll.
func (m *Model) renderHelp(w, h int) []string {
	lines := m.helpLines(w - 1)
	from := max(0, min(m.helpScroll, len(lines)-h))
	end := min(len(lines), from+h)
	out := append([]string(nil), lines[from:end]...)
	if from > 0 {
		out[0] = m.st.Faint.Render(" ↑ more above")
	}
	if end < len(lines) && len(out) > 0 {
		out[len(out)-1] = m.st.Faint.Render(" ↓ more below (↓ or pgdn)")
	}
	return out
}

// statusLines are the input line when it is open, else the note (wrapped to two lines
// when long, since errors carry their remedy at the end), else what is in flight.
func (m *Model) statusLines() []string {
	if m.input.active() {
		return []string{m.input.view(m)}
	}
	st := m.st
	prefix := "  "
	if m.busy() {
		prefix = m.spin.View() + " "
	}
	if m.note.text == "" {
		return []string{prefix + st.Muted.Render(ansi.Truncate(m.activity(), max(1, m.width-2), "…"))}
	}
	text := m.note.text
	if m.note.retry && !strings.Contains(text, "press r") {
		text += " · press r to retry"
	}
	mark, sty := "", st.App
	switch m.note.level {
	case noteError:
		mark, sty = st.StatusError.Render("✗ "), st.ErrorText
	case noteWarn:
		mark, sty = st.StatusWarn.Render("! "), st.StatusWarn
	case noteOK:
		mark = st.StatusOK.Render("✓ ")
	}
	w := max(10, m.width-4)
	parts := strings.Split(ansi.Wrap(text, w, " /"), "\n")
	if len(parts) > 2 {
		parts[1] = ansi.Truncate(parts[1]+" "+parts[2], w, "…")
		parts = parts[:2]
	}
	out := []string{prefix + mark + sty.Render(parts[0])}
	if len(parts) > 1 {
		out = append(out, "    "+sty.Render(parts[1]))
	}
	return out
}

// activity describes the work in flight.
func (m *Model) activity() string {
	var parts []string
	switch {
	case m.list.loading && m.all.Len() == 0:
		parts = append(parts, "listing "+reqid.S3URI(m.bucket(), m.prefix())+"…")
	case m.list.loading:
		parts = append(parts, "listing: "+commas(m.all.Len())+" objects, page "+strconv.Itoa(m.list.pages+1)+"…")
	case m.list.done:
		parts = append(parts, "listed "+plural(m.all.Len(), "object"))
	}
	if m.src == sourceStatus && m.stateList.loading {
		parts = append(parts, "reading "+sanitize.Line(m.stateFilter)+" items: "+commas(m.byState.Len()))
	}
	if m.src == sourceLost {
		p := "LOST check: " + commas(m.lost.checked) + " of " + commas(m.lost.candidates) +
			" old objects checked, " + commas(m.lostSet.Len()) + " LOST"
		if !m.list.done {
			p += " (listing still running)"
		} else if m.lostDone() {
			p += " — done"
		}
		parts = append(parts, p)
	}
	if n := len(m.statuses.pending); n > 0 {
		parts = append(parts, "status of "+plural(n, "request")+"…")
	}
	if d := m.detail; d != nil && d.loading() {
		parts = append(parts, "opening "+sanitize.Line(d.id)+"…")
	}
	if rd := m.rd; rd != nil && rd.phase == rdRunning && !m.redriveShown() {
		p := rd.progress
		parts = append(parts, "redrive: "+commas(p.Counts.Done())+" of "+commas(p.Total)+" done, "+
			strconv.FormatFloat(p.Rate, 'f', 1, 64)+"/s · R shows it")
	}
	if w := m.watch; w.active() {
		text := "watching the status of " + plural(w.pending(), "redriven request")
		if w.err != nil {
			text += " (the last read failed: " + errorText("", w.err) + "; trying again)"
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, " · ")
}

// ---- text helpers ----

// cell pads or truncates s to exactly w cells.
func cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-n)
}

func cellRight(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "…")
	}
	return strings.Repeat(" ", w-n) + s
}

// padRight pads a styled line to w cells, truncating it when longer.
func padRight(s string, w int) string {
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-n)
}

// commas formats 1234567 as 1,234,567.
func commas(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
