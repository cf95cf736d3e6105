package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// The frame: View composes the header, the body (table, pane, detail or help), the
// dialogs over it and the footer; each part is drawn by the view_*.go file named for it.

// View draws the screen. It reads only the model: no clock, no I/O, and only the rows
// and payload lines that are on screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "stowage"
	if m.sess.Env != nil {
		v.WindowTitle = "stowage · " + sanitize.Line(m.sess.Env.Name)
		if m.production() {
			v.WindowTitle = "stowage · PRODUCTION · " + sanitize.Line(m.sess.Env.Name)
		}
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
	case m.mode == modeClasses:
		body = append(body, m.renderClasses(m.width, l.bodyH)...)
	case m.mode == modeHistogram:
		body = append(body, m.renderHistogram(m.width, l.bodyH)...)
	case l.beside:
		table := m.renderTable(l.tableW-1, l.tableH) // then a blank and the rule
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
	if n := len(m.dialogs); n > 0 && l.dockH == 0 {
		body = overlay(body, m.renderDialog(m.dialogs[n-1], l.bodyH), m.width)
	}
	lines = append(lines, body...)
	if l.dockH > 0 {
		dock := strings.Split(m.renderDock(m.dockedDialog(), l.dockH), "\n")
		for len(dock) < l.dockH {
			dock = append([]string{""}, dock...)
		}
		lines = append(lines, dock[len(dock)-l.dockH:]...)
	}
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

// writeDialog is a dialog through which the operator writes to the environment (the
// redrive): in production its border is red, whatever else the screen shows.
type writeDialog interface {
	writes() bool
}

func (m *Model) renderDialog(d dialog, bodyH int) string {
	frame := m.dialogFrame(d)
	if sd, ok := d.(sizedDialog); ok {
		w := min(sd.maxWidth(), m.width-4)
		return frame.Render(sd.renderSized(m.st, w-4, max(3, bodyH-2)))
	}
	w := min(72, m.width-4)
	return frame.Render(d.render(m.st, w-4))
}

// renderDock draws a docked dialog across the screen in h lines, frame included.
func (m *Model) renderDock(d dialog, h int) string {
	return m.dialogFrame(d).Width(m.width).Render(d.(sizedDialog).renderSized(m.st, m.width-4, h-2))
}

// dialogFrame is a dialog's border: red in production for one that writes.
func (m *Model) dialogFrame(d dialog) lipgloss.Style {
	if wd, ok := d.(writeDialog); ok && wd.writes() && m.production() {
		return m.st.DialogProd
	}
	return m.st.Dialog
}
