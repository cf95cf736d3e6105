package tui

// layout is where each part goes; View and the mouse handler share it.
type layout struct {
	headerH, footerH int
	bodyY, bodyH     int
	dockH            int // a docked dialog's lines under the body, frame included
	tableW, tableH   int // tableH counts the column header line
	paneX, paneY     int
	paneW, paneH     int
	pane             bool
	beside           bool
}

const (
	headerLines = 2   // plus the production bar in a production environment
	besideMinW  = 160 // the pane goes beside the table from this width
	// and below it when the body has this many lines: on a smaller screen (80x24) the list
	// keeps the whole height and enter opens the request full screen.
	belowMinBody = 30
)

func (m *Model) headerLines() int {
	if m.production() {
		return headerLines + 1
	}
	return headerLines
}

func (m *Model) footerLines() int { return len(m.statusLines()) + 1 }

func (m *Model) layout() layout {
	l := layout{headerH: m.headerLines(), footerH: m.footerLines()}
	l.bodyY = l.headerH
	l.bodyH = max(3, m.height-l.headerH-l.footerH)
	undocked := l.bodyH
	if m.dockedDialog() != nil {
		l.dockH = dockLines(l.bodyH)
		l.bodyH -= l.dockH
	}
	l.tableW, l.tableH = m.width, l.bodyH
	if m.mode == modeDetail {
		l.pane, l.paneX, l.paneY, l.paneW, l.paneH = true, 0, l.bodyY, m.width, l.bodyH
		l.tableH = 0
		return l
	}
	if !m.pane || m.mode == modeClasses || m.mode == modeHistogram {
		return l
	}
	switch {
	case m.width >= besideMinW:
		l.pane, l.beside = true, true
		l.tableW = m.width * 11 / 20
		l.paneX, l.paneY, l.paneW, l.paneH = l.tableW, l.bodyY, m.width-l.tableW, l.bodyH
	case undocked >= belowMinBody: // the dock does not move the pane: the layout stays put as a run starts and ends
		l.pane = true
		l.tableH = l.bodyH / 2
		l.paneX, l.paneY, l.paneW, l.paneH = 0, l.bodyY+l.tableH, m.width, l.bodyH-l.tableH
	}
	return l
}

// dockMinBody is the smallest body that docks a dialog: on a smaller one it stays an
// overlay, and keeps every key, since a table of two rows helps no one.
const dockMinBody = 9

// dockedDialog is the top dialog when it is docked under the body (a running redrive's
// progress), else nil.
func (m *Model) dockedDialog() dialog {
	n := len(m.dialogs)
	if n == 0 || m.height-m.headerLines()-m.footerLines() < dockMinBody {
		return nil
	}
	if d, ok := m.dialogs[n-1].(interface{ docked() bool }); ok && d.docked() {
		return m.dialogs[n-1]
	}
	return nil
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
