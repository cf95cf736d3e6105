package tui

import (
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// selection is the set of requests marked for a redrive, by request ID, so that it
// survives sorting, filtering and switching between the listing and a status view.
type selection map[string]struct{}

func (s selection) has(id string) bool { _, ok := s[id]; return ok }

// toggleMark marks or unmarks the row under the cursor and moves down, so that a run of
// rows is marked by holding space.
func (m *Model) toggleMark() tea.Cmd {
	r, ok := m.selected()
	if !ok {
		return nil
	}
	if m.marked.has(r.ID) {
		delete(m.marked, r.ID)
	} else {
		m.marked[r.ID] = struct{}{}
	}
	if m.cursor < m.active().ViewLen()-1 {
		m.cursor++
		m.clampScroll()
		return m.schedulePreview()
	}
	return nil
}

// markAll marks every row the table shows (the current filter, the current status view);
// when they are all marked already, it unmarks them.
func (m *Model) markAll() {
	s := m.active()
	n := s.ViewLen()
	if n == 0 {
		m.setNote(noteInfo, "nothing to select: the table is empty")
		return
	}
	all := true
	for i := range n {
		if !m.marked.has(s.IDAt(i)) {
			all = false
			break
		}
	}
	if all {
		for i := range n {
			delete(m.marked, s.IDAt(i))
		}
		m.setNote(noteInfo, "unselected "+plural(n, "request")+" ("+commas(len(m.marked))+" still selected)")
		return
	}
	for i := range n {
		m.marked[s.IDAt(i)] = struct{}{}
	}
	text := "selected " + plural(n, "request") + " shown"
	if m.src == sourceAll && !m.list.done || m.src == sourceStatus && !m.stateList.done {
		// "All" means what is loaded: say so while pages are still coming.
		text += " (the listing is still paging: later pages are not selected)"
	}
	m.setNote(noteInfo, text+" · R redrives them · a again unselects")
}

// markedIDs lists the selection in the order the table shows it, then the marked
// requests it does not show (another view or filter), sorted.
func (m *Model) markedIDs() []string {
	out := make([]string, 0, len(m.marked))
	seen := make(map[string]bool, len(m.marked))
	s := m.active()
	for i := 0; i < s.ViewLen() && len(out) < len(m.marked); i++ {
		id := s.IDAt(i)
		if m.marked.has(id) {
			out = append(out, id)
			seen[id] = true
		}
	}
	var rest []string
	for id := range m.marked {
		if !seen[id] {
			rest = append(rest, id)
		}
	}
	slices.SortFunc(rest, strings.Compare)
	return append(out, rest...)
}
