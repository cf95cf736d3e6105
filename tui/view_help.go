package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

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
