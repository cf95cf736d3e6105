package tui

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
)

// statePager reads the items of some states from the status table (ListByStatus: the
// index when there is one), page after page, one state after the other. The classes view
// reads the failures with one, the histogram the processed times with another.
type statePager struct {
	seq    int      // unique to this reading (Model.pagerSeq): older readings' pages are dropped
	states []string // the states to read, in order
	at     int      // the state being read
	token  string
	pages  int
	loading,
	done bool
	err  error
	wrap func(statesPage) tea.Msg // the message a page comes back in
}

// statesPage is one page a statePager asked for.
type statesPage struct {
	gen, seq int
	state    string
	page     awsclient.StatusPage
	err      error
}

// newStatePager is a reading of states from the start; wrap makes the message each page
// comes back in.
func (m *Model) newStatePager(states []string, wrap func(statesPage) tea.Msg) statePager {
	m.pagerSeq++
	return statePager{seq: m.pagerSeq, states: states, wrap: wrap}
}

// next asks for the next page.
func (p *statePager) next(m *Model) tea.Cmd {
	if p.loading || p.done || m.sess.Statuses == nil || p.at >= len(p.states) {
		return nil
	}
	p.loading, p.err = true, nil
	pg := statesPage{gen: m.gen, seq: p.seq, state: p.states[p.at]}
	token, statuses, size, wrap := p.token, m.sess.Statuses, m.opts.PageSize, p.wrap
	return m.call(func(ctx context.Context) tea.Msg {
		pg.page, pg.err = statuses.ListByStatus(ctx, pg.state, token, size)
		return wrap(pg)
	})
}

// took records that pg arrived and reports whether its items are to be used: not when
// it is stale, nor when it failed (the error is shown, under what, and r resumes).
func (p *statePager) took(m *Model, pg statesPage, what string) bool {
	if pg.gen != m.gen || pg.seq != p.seq {
		return false
	}
	p.loading = false
	if pg.err != nil {
		p.err = pg.err
		m.setErr(what+": reading "+pg.state, pg.err)
		return false
	}
	p.pages++
	p.token = pg.page.NextToken
	if p.token == "" {
		p.at++
		p.done = p.at == len(p.states)
	}
	return true
}
