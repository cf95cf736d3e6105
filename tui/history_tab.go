package tui

import (
	"context"
	"path/filepath"
	"strconv"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// The history tab of the detail: the request's redrives from every journal on this
// machine (redrive.RequestHistory), not only this session's. Read in a command when the
// tab opens (journals are files), again with r.

// historyState is the history tab's reading.
type historyState struct {
	seq     int
	id      string
	loading bool
	runs    []redrive.HistoryRun
	err     error
}

type historyReadMsg struct {
	gen, seq int
	id       string
	runs     []redrive.HistoryRun
	err      error
}

// requestHistory reads the runs; a variable so tests can point it at their journals.
var requestHistory = func(env, id string) ([]redrive.HistoryRun, error) {
	dir, err := redrive.StateDir()
	if err != nil {
		return nil, err
	}
	return redrive.RequestHistory(filepath.Join(dir, "redrives"), env, id)
}

// readHistory reads the open request's history in a command.
func (m *Model) readHistory(d *detail) tea.Cmd {
	m.histSeq++
	d.hist = &historyState{seq: m.histSeq, id: d.id, loading: true}
	env := ""
	if m.sess.Env != nil {
		env = m.sess.Env.Name
	}
	gen, seq, id := m.gen, m.histSeq, d.id
	return m.call(func(ctx context.Context) tea.Msg {
		runs, err := requestHistory(env, id)
		return historyReadMsg{gen: gen, seq: seq, id: id, runs: runs, err: err}
	})
}

func (m *Model) onHistoryRead(msg historyReadMsg) {
	d := m.detail
	if msg.gen != m.gen || d == nil || d.hist == nil || d.hist.seq != msg.seq || d.id != msg.id {
		return
	}
	d.hist.loading, d.hist.runs, d.hist.err = false, msg.runs, msg.err
}

// historyLines is the history tab's text, newest run first.
func (m *Model) historyLines(d *detail, w int) []string {
	st := m.st
	hs := d.hist
	switch {
	case hs == nil || hs.loading:
		return []string{st.Muted.Render("reading the redrive journals on this machine…")}
	case hs.err != nil:
		return []string{st.ErrorText.Render(errorText("redrive history", hs.err))}
	case len(hs.runs) == 0:
		return []string{st.Muted.Render("no redrive on this machine has held this request")}
	}
	out := []string{st.SectionHead.Render("Redrives of this request") + st.Muted.Render(" · "+plural(len(hs.runs), "run")+" in the journals on this machine")}
	for i := len(hs.runs) - 1; i >= 0; i-- {
		r := hs.runs[i]
		when := r.At
		if when.IsZero() {
			when = r.Started
		}
		outcome := sanitize.Line(r.Outcome)
		sty := st.Muted
		switch r.Outcome {
		case "delivered":
			sty = st.StateProcessed
		case "failed", "unknown", "sending":
			sty = st.StateFailed
		}
		line := st.Muted.Render(when.UTC().Format("2006-01-02 15:04:05Z")) + " " + sty.Render(cell(outcome, 9)) + " " +
			sanitize.Line(r.Mode)
		if r.Attempts > 0 {
			line += st.Faint.Render(" · ") + plural(r.Attempts, "attempt")
		}
		if r.Operator != "" {
			line += st.Faint.Render(" · by ") + sanitize.Line(r.Operator)
		}
		if r.Env != "" && (m.sess.Env == nil || r.Env != m.sess.Env.Name) {
			line += st.Faint.Render(" · env ") + sanitize.Line(r.Env)
		}
		if r.NewRequestID != "" {
			line += st.Faint.Render(" · new ID ") + sanitize.Line(r.NewRequestID)
		}
		out = append(out, ansi.Truncate(line, w, "…"))
		if r.Error != "" {
			out = append(out, "  "+st.ErrorText.Render(ansi.Truncate(sanitize.Line(r.Error), max(1, w-2), "…")))
		}
		out = append(out, "  "+st.Faint.Render(ansi.Truncate("run "+sanitize.Line(r.RunID)+" · "+sanitize.Line(r.Journal), max(1, w-2), "…")))
	}
	return out
}

// renderHistory draws the history tab, scrolled.
func (m *Model) renderHistory(d *detail, w, h int) []string {
	lines := m.historyLines(d, w-1)
	from := min(d.scroll, max(0, len(lines)-1))
	lines = lines[from:min(len(lines), from+h)]
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = " " + l
	}
	return out
}

func historyCount(d *detail) string {
	if d.hist == nil || d.hist.loading || len(d.hist.runs) == 0 {
		return ""
	}
	return " (" + strconv.Itoa(len(d.hist.runs)) + ")"
}
