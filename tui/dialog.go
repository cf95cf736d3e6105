package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// dialog is one overlay. Dialogs stack; the top one gets every key first. A dialog changes
// only itself: what it wants of the model it returns as an action message
// (dialog_actions.go), which only the root handles.
type dialog interface {
	// update handles a key; done pops the dialog; act is an action message or nil.
	update(km KeyMap, msg tea.KeyPressMsg) (done bool, act tea.Msg)
	// render draws the dialog's content at most width cells wide.
	render(st Styles, width int) string
	busy() bool
}

// pasteTaker is a dialog that accepts pasted text.
type pasteTaker interface {
	paste(text string)
}

// menuItem is one choice of a menu dialog.
type menuItem struct {
	key    string // a shortcut, "" for none
	label  string
	badges string // styled marks after the label (PRODUCTION, READ-ONLY)
	hint   string // shown faint after the label
	action tea.Msg
}

// menuDialog picks one of a few items with the arrows and enter, or a shortcut key.
type menuDialog struct {
	title  string
	items  []menuItem
	cursor int
}

func (d *menuDialog) busy() bool { return false }

func (d *menuDialog) update(km KeyMap, msg tea.KeyPressMsg) (bool, tea.Msg) {
	switch {
	case key.Matches(msg, km.DialogClose):
		return true, nil
	case key.Matches(msg, km.DialogPrev):
		d.cursor = (d.cursor - 1 + len(d.items)) % len(d.items)
		return false, nil
	case key.Matches(msg, km.DialogNext):
		d.cursor = (d.cursor + 1) % len(d.items)
		return false, nil
	case key.Matches(msg, km.Accept):
		return true, d.items[d.cursor].action
	}
	// An item's own shortcut, shown beside it in the menu.
	for _, it := range d.items {
		if it.key != "" && key.Matches(msg, key.NewBinding(key.WithKeys(it.key))) {
			return true, it.action
		}
	}
	return false, nil
}

func (d *menuDialog) render(st Styles, width int) string {
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render(d.title))
	for i, it := range d.items {
		b.WriteByte('\n')
		line := "  "
		if it.key != "" {
			line = st.Prompt.Render(it.key) + " "
		}
		line += it.label
		if it.badges != "" {
			line += " " + it.badges
		}
		if it.hint != "" {
			line += "  " + st.Faint.Render(it.hint)
		}
		line = ansi.Truncate(line, width-2, "…")
		if i == d.cursor {
			line = st.DialogSel.Render("▸ " + line)
		} else {
			line = "  " + line
		}
		b.WriteString(line)
	}
	b.WriteString("\n" + st.Faint.Render("enter select · esc close"))
	return b.String()
}

// promptDialog asks for one line of text.
type promptDialog struct {
	title  string
	help   string
	ti     lineEdit
	submit func(value string) tea.Msg // the action for the value entered
}

func newPromptDialog(title, help, value string, submit func(string) tea.Msg) *promptDialog {
	ti := lineEdit{prompt: "› "}
	ti.SetValue(value)
	return &promptDialog{title: title, help: help, ti: ti, submit: submit}
}

func (d *promptDialog) busy() bool { return false }

func (d *promptDialog) update(km KeyMap, msg tea.KeyPressMsg) (bool, tea.Msg) {
	switch {
	case key.Matches(msg, km.Back): // not q: it is typed
		return true, nil
	case key.Matches(msg, km.Accept):
		return true, d.submit(d.ti.Value())
	}
	d.ti.update(msg)
	return false, nil
}

func (d *promptDialog) paste(text string) {
	d.ti.update(tea.PasteMsg{Content: text})
}

func (d *promptDialog) render(st Styles, width int) string {
	out := st.DialogTitle.Render(d.title) + "\n" + d.ti.view(st, width)
	if d.help != "" {
		out += "\n" + st.Faint.Render(ansi.Truncate(d.help, width, "…"))
	}
	return out
}

// confirmDialog asks yes or no.
type confirmDialog struct {
	title, question string
	yes             tea.Msg // the action for yes
	no              tea.Msg // the action for no (and esc, enter); nil for none
}

func (d *confirmDialog) busy() bool { return false }

func (d *confirmDialog) update(km KeyMap, msg tea.KeyPressMsg) (bool, tea.Msg) {
	switch {
	case key.Matches(msg, km.Yes):
		return true, d.yes
	case key.Matches(msg, km.No, km.DialogClose, km.Accept): // enter answers no
		return true, d.no
	}
	return false, nil
}

func (d *confirmDialog) render(st Styles, width int) string {
	q := lipgloss.NewStyle().Width(width).Render(d.question)
	return st.DialogTitle.Render(d.title) + "\n" + q + "\n" + st.Prompt.Render("y") + " yes   " + st.Prompt.Render("n") + " no"
}

// pushDialog opens d on top of the stack.
func (m *Model) pushDialog(d dialog) { m.dialogs = append(m.dialogs, d) }

// overlay draws box centred over the body lines.
func overlay(body []string, box string, width int) []string {
	boxLines := strings.Split(box, "\n")
	bw := 0
	for _, l := range boxLines {
		bw = max(bw, ansi.StringWidth(l))
	}
	x := max(0, (width-bw)/2)
	y := max(0, (len(body)-len(boxLines))/3)
	out := make([]string, len(body))
	copy(out, body)
	for i, l := range boxLines {
		if y+i >= len(out) {
			break
		}
		under := out[y+i]
		left := ansi.Truncate(under, x, "")
		if w := ansi.StringWidth(left); w < x {
			left += strings.Repeat(" ", x-w)
		}
		right := ansi.TruncateLeft(under, x+ansi.StringWidth(l), "")
		out[y+i] = left + "\x1b[m" + l + "\x1b[m" + right
	}
	return out
}
