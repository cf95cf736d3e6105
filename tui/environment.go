package tui

import (
	"context"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Environments (e): switching, and who the credentials belong to for the header.

type envOpenedMsg struct {
	seq  int
	name string
	sess Session
	err  error
}

func (m *Model) openEnvSwitch() {
	if m.opts.OpenEnv == nil || len(m.opts.EnvNames) == 0 {
		m.setNote(noteWarn, "no other environments: add them to the config file")
		return
	}
	cur := ""
	if m.sess.Env != nil {
		cur = m.sess.Env.Name
	}
	var items []menuItem
	sel := 0
	for i, name := range m.opts.EnvNames {
		hint := ""
		if name == cur {
			hint, sel = "current", i
		}
		var badges []string
		b := m.opts.EnvBadges[name]
		if b.Production {
			badges = append(badges, m.st.Production.Render("PRODUCTION"))
		}
		if b.ReadOnly {
			badges = append(badges, m.st.ReadOnly.Render("READ-ONLY"))
		}
		items = append(items, menuItem{label: sanitize.Line(name), badges: strings.Join(badges, " "), hint: hint,
			action: switchEnvMsg{name}})
	}
	m.pushDialog(&menuDialog{title: "Switch environment", items: items, cursor: sel})
}

func (m *Model) switchEnv(name string) tea.Cmd {
	m.envSeq++
	seq, open, parent := m.envSeq, m.opts.OpenEnv, m.ctx
	timeout := m.opts.CallTimeout
	m.setNote(noteInfo, sanitize.Line("opening "+name+"…"))
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, timeout)
		defer cancel()
		sess, err := open(ctx, name)
		return envOpenedMsg{seq: seq, name: name, sess: sess, err: err}
	}
}

func (m *Model) onEnvOpened(msg envOpenedMsg) tea.Cmd {
	if msg.seq != m.envSeq {
		return nil
	}
	if msg.err != nil {
		m.setErr("switch to "+msg.name, msg.err)
		return nil
	}
	m.resetSession(msg.sess)
	m.setNote(noteOK, sanitize.Line("switched to "+msg.name))
	return tea.Batch(m.startListing(), m.identity())
}

// identity asks who the credentials belong to, for the header.
func (m *Model) identity() tea.Cmd {
	id := m.sess.Identity
	if id == nil || m.sess.Account != "" {
		return nil
	}
	gen := m.gen
	return m.call(func(ctx context.Context) tea.Msg {
		who, err := id(ctx)
		return identityMsg{gen: gen, who: who, err: err}
	})
}

type identityMsg struct {
	gen int
	who string
	err error
}
