package tui

import (
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// headerField is one field of a header line. Fields with drop > 0 give way, highest
// drop first, when the line is wider than the screen.
type headerField struct {
	text string
	drop int
}

// fitFields joins fields with sep, leaving out droppable fields until the line fits w.
func fitFields(fields []headerField, sep string, w int) string {
	fields = append([]headerField(nil), fields...)
	for {
		parts := make([]string, len(fields))
		for i, f := range fields {
			parts[i] = f.text
		}
		line := strings.Join(parts, sep)
		at, hi := -1, 0
		for i, f := range fields {
			if f.drop > hi {
				at, hi = i, f.drop
			}
		}
		if at < 0 || ansi.StringWidth(line) <= w {
			return line
		}
		fields = append(fields[:at], fields[at+1:]...)
	}
}

// The header: the environment, its badges, who, where; then what is loaded and shown.
// On a narrow screen the table goes first, then the region, the credentials and the
// account; the environment, its badges, the bucket and the selection always show.
func (m *Model) renderHeader() []string {
	st := m.st
	env := m.sess.Env
	kv := func(k, v string) string { return st.HeaderKey.Render(k+" ") + st.HeaderVal.Render(sanitize.Line(v)) }
	var l1 []headerField
	if env != nil {
		name := sanitize.Line(env.Name)
		if env.Production {
			name += " · PRODUCTION"
		}
		l1 = append(l1, headerField{text: st.envStyle(env.Production, env.Color).Render(name)})
		if env.ReadOnly {
			l1 = append(l1, headerField{text: st.ReadOnly.Render("READ-ONLY")})
		}
		l1 = append(l1, headerField{text: m.credsLabel(), drop: 2})
		if m.sess.Account != "" {
			l1 = append(l1, headerField{text: kv("account", consoleAccount(m.sess.Account)), drop: 1})
		}
		if m.principal != "" {
			l1 = append(l1, headerField{text: kv("as", m.principal), drop: 2})
		}
		if m.region() != "" {
			l1 = append(l1, headerField{text: kv("region", m.region()), drop: 3})
		}
		l1 = append(l1, headerField{text: kv("bucket", reqid.S3URI(env.Storage.Bucket, env.Storage.Prefix))})
		if env.Status.Table != "" {
			l1 = append(l1, headerField{text: kv("table", env.Status.Table), drop: 4})
		}
	} else {
		l1 = append(l1, headerField{text: st.EnvName.Render("no environment")})
	}

	var l2 []headerField
	listed := commas(m.all.Len()) + " listed"
	switch {
	case m.list.err != nil:
		listed += st.StatusError.Render(" (stopped)")
	case !m.list.done:
		listed += st.Muted.Render(" (paging…)")
	}
	l2 = append(l2, headerField{text: listed})
	if c := m.countsLine(); c != "" {
		l2 = append(l2, headerField{text: c, drop: 3})
	}
	s := m.active()
	switch m.src {
	case sourceStatus:
		l2 = append(l2, headerField{text: "view " + st.stateStyle(m.class(m.stateFilter)).Render(sanitize.Line(m.stateFilter)) +
			" " + commas(s.Len())})
	case sourceLost:
		l2 = append(l2, headerField{text: "view " + st.StateLost.Render("LOST") + " " + commas(s.Len())})
	case sourceClass:
		l2 = append(l2, headerField{text: "view " + st.StateFailed.Render("class") + " " + commas(s.Len())})
	}
	if !m.win.all() {
		// The window in force: what the table, the counts, LOST and the classes cover.
		l2 = append(l2, headerField{text: st.Muted.Render("window ") + st.HeaderVal.Render(m.win.label())})
		if s.Query() == "" && s.ViewLen() != s.Len() {
			// Before the counts give way: the status line said it when the window was set.
			l2 = append(l2, headerField{text: st.Muted.Render(commas(s.ViewLen()) + " of " + commas(s.Len()) + " in it"), drop: 4})
		}
	}
	if m.hist.spark != "" {
		l2 = append(l2, headerField{text: st.Muted.Render("arrivals ") + st.StateProcessed.Render(m.hist.spark), drop: 6})
	}
	if a := m.autoLabel(); a != "" {
		sty := st.Muted
		if m.auto.throttled || m.auto.err != nil {
			sty = st.StatusWarn
		}
		l2 = append(l2, headerField{text: sty.Render(a), drop: 7})
	}
	dir := "↓"
	if s.asc {
		dir = "↑"
	}
	l2 = append(l2, headerField{text: st.Muted.Render("sort " + s.field.String() + " " + dir), drop: 5})
	if q := s.Query(); q != "" {
		match := " " + commas(s.ViewLen()) + " of " + commas(s.Len()) + " match"
		if known := m.statuses.listedKnown(); m.src == sourceAll && known < s.Len() {
			// Statuses are read for the rows shown: the others match on key and id only.
			match += " (status read for " + commas(known) + ")"
		}
		l2 = append(l2, headerField{text: st.Prompt.Render("/"+sanitize.Line(q)) + st.Muted.Render(match), drop: 2})
	}
	if n := len(m.marked); n > 0 {
		l2 = append(l2, headerField{text: st.Marked.Render("✓ " + commas(n) + " selected")})
	}
	if rd := m.rd; rd != nil && (rd.phase == rdRunning || rd.phase == rdStarting) {
		p := rd.progress
		text := "redrive " + commas(p.Counts.Done()) + "/" + commas(p.Total)
		if b := rd.batch; b != nil {
			text = "batch job " + commas(int(b.prog.Job.Done())) + "/" + commas(int(b.prog.Job.Total))
		}
		l2 = append(l2, headerField{text: st.Prompt.Render(text)})
	} else if m.watch.active() {
		l2 = append(l2, headerField{text: st.Muted.Render("watching " + commas(m.watch.pending())), drop: 4})
	}
	lines := []string{fitFields(l1, " ", m.width), fitFields(l2, st.Faint.Render(" · "), m.width)}
	if m.production() {
		lines = append([]string{m.productionBar()}, lines...)
	}
	return lines
}

// production reports whether the open environment is production.
func (m *Model) production() bool { return m.sess.Env != nil && m.sess.Env.Production }

// productionBar is the full-width red line over a production environment, so that no one
// mistakes it for staging at 3 a.m.
func (m *Model) productionBar() string {
	text := " PRODUCTION · " + sanitize.Line(m.sess.Env.Name)
	switch {
	case m.sess.Env.ReadOnly:
		text += " · read-only"
	default:
		text += " · a redrive here sends to production"
	}
	return m.st.ProductionBar.Render(padRight(ansi.Truncate(text, m.width, "…"), m.width))
}

// credsLabel says whose credentials the environment uses: a named profile, the keys of
// a local stack, or the SDK's default chain (environment variables, then the default
// profile, then the instance role).
func (m *Model) credsLabel() string {
	st, env := m.st, m.sess.Env
	switch {
	case env.Profile != "":
		return st.HeaderKey.Render("profile ") + st.HeaderVal.Render(sanitize.Line(env.Profile))
	case env.LocalCredentials != nil:
		return st.HeaderVal.Render("local stack")
	}
	return st.HeaderKey.Render("creds ") + st.HeaderVal.Render("env/default chain")
}

func (m *Model) region() string {
	if m.sess.Env == nil {
		return ""
	}
	return m.sess.Env.Region
}

// countsLine is "FAILED 3 PROCESSED 120 LOST 2 no status yet 1" over the listed rows
// whose status is known, worst first. A row with no status item is LOST once it is older
// than lost_after, and has "no status yet" before.
func (m *Model) countsLine() string {
	type kv struct {
		state string
		n     int
		class inventory.Class
	}
	c := m.statuses
	var kvs []kv
	for state, n := range c.counts {
		cl := m.class(state)
		if state == "" {
			cl = inventory.ClassPending
		}
		kvs = append(kvs, kv{state, n, cl})
	}
	sort.Slice(kvs, func(i, j int) bool {
		if a, b := kvs[i].class.Severity(), kvs[j].class.Severity(); a != b {
			return a > b
		}
		return kvs[i].state < kvs[j].state
	})
	var parts []string
	for _, e := range kvs {
		name := sanitize.Line(e.state)
		if name == "" {
			name = "(empty state)"
		}
		parts = append(parts, m.st.stateStyle(e.class).Render(name)+" "+commas(e.n))
	}
	if c.lost > 0 {
		parts = append(parts, m.st.StateLost.Render("LOST")+" "+commas(c.lost))
	}
	if n := len(c.young); n > 0 {
		parts = append(parts, m.st.StateUnknown.Render("no status yet")+" "+commas(n))
	}
	// Statuses are read lazily for the rows on screen; say when the counts cover only part
	// of the listing, so "FAILED 14" is not read as "14 failed in the bucket".
	known := c.listedKnown()
	if len(parts) > 0 && known < m.all.Len() {
		parts = append(parts, m.st.Muted.Render("(of "+commas(known)+" checked)"))
	}
	return strings.Join(parts, " ")
}
