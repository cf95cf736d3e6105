package tui

import (
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// The status filter (f): which rows the table shows, by state or LOST.

func (m *Model) openStatusFilter() {
	items := []menuItem{
		{key: "a", label: "all requests", hint: "the bucket listing", action: showAllMsg{}},
		{key: "F", label: "FAILED", hint: "from the status table", action: showStateMsg{state: "FAILED"}},
	}
	terminal := []string{config.DefaultTerminalState}
	if m.sess.Env != nil && len(m.sess.Env.Status.TerminalStates) > 0 {
		terminal = m.sess.Env.Status.TerminalStates
	}
	seen := map[string]bool{"FAILED": true}
	for _, s := range terminal {
		seen[s] = true
		items = append(items, menuItem{key: firstKey(items, s), label: sanitize.Line(s), hint: "terminal", action: showStateMsg{state: s}})
	}
	var others []string
	for _, s := range m.statesSeen() {
		if !seen[s] {
			others = append(others, s)
		}
	}
	for _, s := range others {
		items = append(items, menuItem{label: sanitize.Line(s), hint: "seen in loaded rows", action: showStateMsg{state: s}})
	}
	items = append(items, menuItem{key: "L", label: "LOST", hint: "older than " + config.FormatDuration(m.lostAfter()) + " with no status item",
		action: showLostMsg{}})
	items = append(items, menuItem{key: firstKey(items, "t"), label: "type a state…", hint: "any state the processor writes",
		action: askStateMsg{}})
	m.pushDialog(&menuDialog{title: "Show requests", items: items})
}

// statesSeen are the states of the loaded rows, sorted.
func (m *Model) statesSeen() []string {
	var states []string
	for s := range m.statuses.counts {
		if s != "" {
			states = append(states, s)
		}
	}
	sort.Strings(states)
	return states
}

// openStatePrompt asks for a state to list, exactly as the processor writes it.
func (m *Model) openStatePrompt() {
	m.pushDialog(newPromptDialog("Show requests in state",
		"as the processor writes it (case matters), e.g. RETRYING", "",
		func(state string) tea.Msg { return stateSubmittedMsg{state: state} }))
}

// firstKey picks a shortcut for a state: its first letter when free.
func firstKey(items []menuItem, state string) string {
	if state == "" {
		return ""
	}
	k := strings.ToLower(state[:1])
	for _, it := range items {
		if it.key == k {
			return ""
		}
	}
	return k
}

// showAll goes back to the bucket listing.
func (m *Model) showAll() tea.Cmd {
	var keep string
	if r, ok := m.selected(); ok {
		keep = r.ID
	}
	m.src = sourceAll
	m.byState, m.stateFilter, m.lostSet = nil, "", nil
	m.stateList = listState{seq: m.stateList.seq + 1}
	m.lost = lostState{seq: m.lost.seq + 1}
	m.cursor, m.top = 0, 0
	if keep != "" {
		m.keepCursorOn(keep)
	}
	m.detail = nil
	return m.schedulePreview()
}
