package tui

import (
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// lineEdit is a one-line text field: typing, paste, backspace, ctrl+w, ctrl+u, ←/→,
// home/end. It is ours rather than bubbles' textinput to keep the cursor static (so
// frames are deterministic) and to avoid a clipboard dependency the TUI does not need.
type lineEdit struct {
	prompt      string
	placeholder string
	value       []rune
	pos         int // cursor, in runes
}

func (e *lineEdit) Value() string { return string(e.value) }

func (e *lineEdit) SetValue(s string) {
	e.value = []rune(s)
	e.pos = len(e.value)
}

// update applies a key or a paste; it reports whether the value changed.
func (e *lineEdit) update(msg tea.Msg) bool {
	switch msg := msg.(type) {
	case tea.PasteMsg:
		e.insert(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(msg.Content))
		return true
	case tea.KeyPressMsg:
		k := editKeys
		switch {
		case key.Matches(msg, k.DeleteBack):
			if e.pos > 0 {
				e.value = append(e.value[:e.pos-1], e.value[e.pos:]...)
				e.pos--
				return true
			}
		case key.Matches(msg, k.DeleteForward):
			if e.pos < len(e.value) {
				e.value = append(e.value[:e.pos], e.value[e.pos+1:]...)
				return true
			}
		case key.Matches(msg, k.DeleteToStart):
			if e.pos > 0 {
				e.value = e.value[e.pos:]
				e.pos = 0
				return true
			}
		case key.Matches(msg, k.DeleteToEnd):
			if e.pos < len(e.value) {
				e.value = e.value[:e.pos]
				return true
			}
		case key.Matches(msg, k.DeleteWord):
			i := e.pos
			for i > 0 && e.value[i-1] == ' ' {
				i--
			}
			for i > 0 && e.value[i-1] != ' ' {
				i--
			}
			if i != e.pos {
				e.value = append(e.value[:i], e.value[e.pos:]...)
				e.pos = i
				return true
			}
		case key.Matches(msg, k.Left):
			e.pos = max(0, e.pos-1)
		case key.Matches(msg, k.Right):
			e.pos = min(len(e.value), e.pos+1)
		case key.Matches(msg, k.Home):
			e.pos = 0
		case key.Matches(msg, k.End):
			e.pos = len(e.value)
		case key.Matches(msg, k.Space):
			e.insert(" ")
			return true
		default:
			if msg.Text != "" && msg.Mod&^tea.ModShift == 0 {
				e.insert(msg.Text)
				return true
			}
		}
	}
	return false
}

func (e *lineEdit) insert(s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "�")
	}
	rs := []rune(s)
	v := make([]rune, 0, len(e.value)+len(rs))
	v = append(v, e.value[:e.pos]...)
	v = append(v, rs...)
	v = append(v, e.value[e.pos:]...)
	e.value = v
	e.pos += len(rs)
}

// view draws the field in at most width cells with a block cursor, scrolled so the
// cursor is visible. The value is what the operator typed or pasted: sanitized.
func (e *lineEdit) view(st Styles, width int) string {
	prompt := st.Prompt.Render(e.prompt)
	avail := max(4, width-ansi.StringWidth(e.prompt)-1)
	if len(e.value) == 0 {
		return prompt + st.DialogSel.Render(" ") + st.Faint.Render(ansi.Truncate(e.placeholder, avail-1, "…"))
	}
	before := sanitize.Line(string(e.value[:e.pos]))
	at, after := " ", ""
	if e.pos < len(e.value) {
		at = sanitize.Line(string(e.value[e.pos : e.pos+1]))
		after = sanitize.Line(string(e.value[e.pos+1:]))
	}
	if w := ansi.StringWidth(before); w > avail-1 {
		before = "…" + ansi.TruncateLeft(before, w-avail+2, "")
	}
	line := before + st.DialogSel.Render(at) + after
	return prompt + ansi.Truncate(line, avail+ansi.StringWidth(e.prompt), "…")
}
