package tui

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// inputKind is what the bottom input line is for.
type inputKind int

const (
	inputNone   inputKind = iota
	inputFilter           // / in the list: incremental substring filter
	inputJump             // : jump to a request
	inputSearch           // / in the detail: search the payload
)

// inputLine is the one-line prompt that replaces the status line.
type inputLine struct {
	kind   inputKind
	ti     lineEdit
	before string // the filter or search in force before the prompt opened, for esc
	err    string // why the typed filter cannot be used (an invalid /re/)
}

func (in *inputLine) active() bool { return in.kind != inputNone }

func (m *Model) openInput(kind inputKind, value string) tea.Cmd {
	var ti lineEdit
	switch kind {
	case inputFilter:
		ti.prompt = "/"
		ti.placeholder = "text in any column · !text excludes · /regexp/"
	case inputJump:
		ti.prompt = ":"
		ti.placeholder = "paste a request id, s3://bucket/key, console URL or a log line"
	case inputSearch:
		ti.prompt = "search: "
	}
	ti.SetValue(value)
	m.input = inputLine{kind: kind, ti: ti, before: value}
	return nil
}

// updateInput handles a key or paste while the input line is open.
func (m *Model) updateInput(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.km.Back):
			return m.cancelInput()
		case key.Matches(k, m.km.Accept):
			kind, value := m.input.kind, m.input.ti.Value()
			if m.input.err != "" {
				return nil // the prompt stays open on what to fix
			}
			m.input = inputLine{}
			if kind == inputJump {
				return m.jump(value)
			}
			return m.applyInput(kind, value)
		}
	}
	if p, ok := msg.(tea.PasteMsg); ok && strings.ContainsAny(p.Content, "\r\n") {
		if m.input.kind == inputJump {
			// A multi-line paste (a JSON log record) is jumped to as a whole: the id may
			// be on any of its lines.
			m.input = inputLine{}
			return m.jump(p.Content)
		}
		msg = tea.PasteMsg{Content: firstLine(p.Content)}
	}
	if m.input.ti.update(msg) {
		return m.applyInput(m.input.kind, m.input.ti.Value())
	}
	return nil
}

// cancelInput closes the prompt and puts back the filter or search it started from.
func (m *Model) cancelInput() tea.Cmd {
	kind, before := m.input.kind, m.input.before
	m.input = inputLine{}
	return m.applyInput(kind, before)
}

// applyInput applies a filter or a payload search as it is typed (or restored by esc); a
// jump waits for enter.
func (m *Model) applyInput(kind inputKind, value string) tea.Cmd {
	switch kind {
	case inputFilter:
		return m.applyFilter(value)
	case inputSearch:
		m.applySearch(value)
	}
	return nil
}

func (in *inputLine) view(m *Model) string {
	line := " " + in.ti.view(m.st, max(20, m.width-30))
	switch in.kind {
	case inputFilter:
		if in.err != "" {
			line += m.st.StatusWarn.Render("  " + in.err)
			break
		}
		line += m.st.Muted.Render("  " + commas(m.active().ViewLen()) + " of " + commas(m.active().Len()))
	case inputSearch:
		if d := m.detail; d != nil && d.search != "" && in.ti.Value() != "" { // a fresh prompt has no result yet
			if d.found {
				if c := d.matchCount(); c != "" {
					line += m.st.Prompt.Render("  " + c)
				}
				line += m.st.Muted.Render("  at line " + strconv.Itoa(d.doc.LineNumber(d.matchLine)))
			} else {
				line += m.st.StatusWarn.Render("  not found")
			}
		}
	}
	return line
}

// applyFilter filters the active rows by q and shows the first row: what the filter
// found, from the top. A q that does not parse keeps the rows as they were and says why
// in the prompt.
func (m *Model) applyFilter(q string) tea.Cmd {
	m.dropNoteAbout("")
	m.input.err = ""
	if err := m.active().SetQuery(q); err != nil {
		m.input.err = filterMessage(err)
		return nil
	}
	m.toTop()
	return m.schedulePreview()
}

// toTop puts the cursor on the first row, with the first row on screen.
func (m *Model) toTop() {
	m.cursor, m.top = 0, 0
	m.clampScroll()
}

// applySearch looks for q in the open payload from the top of the screen on (smart
// case, wrapping around) and scrolls to the match.
func (m *Model) applySearch(q string) {
	d := m.detail
	if d == nil {
		return
	}
	d.search, d.found = q, false
	if q == "" || d.doc == nil || d.doc.doc == nil {
		return
	}
	d.matchLine, d.matchCol, d.found = d.doc.doc.Search(q, d.scroll, true)
	d.countMatches()
	m.showMatch()
}

// maxCountedMatches bounds the count of a search ("10,000+"): counting walks the matches.
const maxCountedMatches = 10_000

// countMatches counts the search's matches in the document, and finds which one is
// current, by walking them with Next from the first: the payload package's own matcher,
// so the count is of exactly what n and N visit.
func (d *detail) countMatches() {
	d.matches, d.matchAt, d.countedDoc = 0, 0, nil
	if !d.found || d.doc == nil || d.doc.doc == nil {
		return
	}
	doc := d.doc.doc
	l0, c0, ok := doc.Search(d.search, 0, true)
	l, c := l0, c0
	for ok && d.matches < maxCountedMatches {
		d.matches++
		if l == d.matchLine && c == d.matchCol {
			d.matchAt = d.matches
		}
		l, c, ok = doc.Next(d.search, l, c, true)
		if l == l0 && c == c0 {
			break
		}
	}
	d.countedDoc = d.doc
}

// matchCount is "3/17" for the current search, "" when it is not counted.
func (d *detail) matchCount() string {
	if !d.found || d.countedDoc != d.doc || d.matches == 0 {
		return ""
	}
	total := commas(d.matches)
	if d.matches >= maxCountedMatches {
		total += "+"
	}
	at := "?"
	if d.matchAt > 0 {
		at = commas(d.matchAt)
	}
	return at + "/" + total
}

// nextMatch moves to the next (or previous) match, wrapping around.
func (m *Model) nextMatch(forward bool) {
	d := m.detail
	if d == nil || d.search == "" || d.doc == nil || d.doc.doc == nil {
		return
	}
	if !d.found {
		m.applySearch(d.search)
		return
	}
	d.matchLine, d.matchCol, d.found = d.doc.doc.Next(d.search, d.matchLine, d.matchCol, forward)
	if d.countedDoc == d.doc && d.matches > 0 && d.matchAt > 0 && d.matches < maxCountedMatches {
		if forward {
			d.matchAt = d.matchAt%d.matches + 1
		} else {
			d.matchAt = (d.matchAt+d.matches-2)%d.matches + 1
		}
	} else {
		d.countMatches()
	}
	m.showMatch()
}

// showMatch scrolls the payload so the current match is on screen.
func (m *Model) showMatch() {
	d := m.detail
	if d == nil || !d.found {
		return
	}
	h := m.detailBodyHeight()
	if d.matchLine < d.scroll || d.matchLine >= d.scroll+h {
		d.scroll = max(0, d.matchLine-h/3)
	}
}

// detailBodyHeight is how many payload lines the detail shows: the pane less its title,
// two summary lines, the error and the tab line.
func (m *Model) detailBodyHeight() int {
	l := m.layout()
	w := l.paneW
	if l.beside && m.mode != modeDetail {
		w -= 2
	}
	return max(1, l.paneH-4-len(m.detailErrorLines(m.detail, w, l.paneH)))
}
