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
	return tea.Batch(m.startListing(), m.identity(), m.startAutoRefresh())
}

// identity asks who the credentials belong to, for the header.
func (m *Model) identity() tea.Cmd {
	id := m.sess.Identity
	if id == nil || m.sess.Account != "" {
		return nil
	}
	gen, account := m.gen, m.sess.AccountID
	return m.call(func(ctx context.Context) tea.Msg {
		who, err := id(ctx)
		msg := identityMsg{gen: gen, who: who, err: err}
		if err == nil && account != nil {
			msg.account, msg.accountKnown = "", true
			if a, aerr := account(ctx); aerr == nil {
				msg.account = a
			}
		}
		return msg
	})
}

type identityMsg struct {
	gen          int
	who          string // the caller's ARN
	account      string
	accountKnown bool // account came from AccountID ("" there: a local stack, none to show)
	err          error
}

// onIdentity shows who the credentials are, as the AWS console does: the account ID and
// the principal (a role and its session, or a user).
func (m *Model) onIdentity(msg identityMsg) {
	if msg.gen != m.gen {
		return
	}
	if msg.err != nil {
		if m.note.text == "" {
			m.setErr("who am I", msg.err)
		}
		return
	}
	account, principal := splitCallerARN(msg.who)
	if msg.accountKnown {
		account = msg.account
	}
	if account == "" {
		return // a local stack: no AWS account to name
	}
	m.sess.Account, m.principal = account, principal
}

// splitCallerARN splits arn:aws:sts::123456789012:assumed-role/Ops/alice into the account
// and the principal as the console names it (Ops/alice; user/alice → alice).
func splitCallerARN(arn string) (account, principal string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || !strings.HasPrefix(arn, "arn:") {
		return "", sanitize.Line(arn)
	}
	account, principal = parts[4], parts[5]
	for _, p := range []string{"assumed-role/", "user/", "federated-user/"} {
		principal = strings.TrimPrefix(principal, p)
	}
	return sanitize.Line(account), sanitize.Line(principal)
}

// consoleAccount writes a 12-digit account ID as the console does: 1234-5678-9012.
func consoleAccount(id string) string {
	if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
		return sanitize.Line(id)
	}
	return id[:4] + "-" + id[4:8] + "-" + id[8:]
}
