package tui

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

func (m *Model) renderFooter() []string {
	lines := m.statusLines()
	help := m.help // a copy: View changes nothing in the model
	help.SetWidth(m.width)
	var bindings []key.Binding
	switch {
	case m.fullHelp:
		bindings = m.km.helpOpenShortHelp()
	case m.mode == modeDetail && m.detail != nil && m.detail.tab == tabTimeline:
		bindings = m.km.timelineShortHelp(m.detail.tl != nil && m.detail.tl.open >= 0)
	case m.mode == modeDetail:
		bindings = m.km.detailShortHelp()
	case m.mode == modeClasses:
		bindings = m.km.classesShortHelp()
	case m.mode == modeHistogram:
		bindings = m.km.histogramShortHelp()
	default:
		bindings = m.km.ShortHelp()
	}
	return append(lines, help.ShortHelpView(bindings))
}

// helpGap is the space between two columns of the full help.

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
		parts = append(parts, m.listingProgress())
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
