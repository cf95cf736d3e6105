package tui

import "strconv"

// openColumns offers the columns that can be hidden; choosing one toggles it.
func (m *Model) openColumns() {
	items := make([]menuItem, 0, columnCount)
	for c := range columnCount {
		hint := "shown"
		if m.cols.hidden[c] {
			hint = "hidden"
		}
		items = append(items, menuItem{key: strconv.Itoa(int(c) + 1), label: c.String(), hint: hint, action: toggleColumnMsg{col: c}})
	}
	m.pushDialog(&menuDialog{title: "Hide or show a column (W: wide)", items: items})
}
