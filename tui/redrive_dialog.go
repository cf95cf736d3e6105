package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// The redrive dialog: the plan and its confirmation, the progress view, the summary.

func (s *redriveState) busy() bool { return s.phase == rdPlanning || s.phase == rdStarting }

// writes: the redrive dialog plans, confirms and runs a write.
func (s *redriveState) writes() bool { return true }

// maxWidth lets the redrive dialog use more of a wide screen than the small dialogs.
func (s *redriveState) maxWidth() int { return 104 }

func (s *redriveState) paste(text string) {
	if s.phase == rdPlanned && s.typing {
		s.field.update(tea.PasteMsg{Content: text})
		s.mismatch = ""
	}
}

// update changes only the dialog's own fields (mode, force, the typed name); what the
// model must do (plan, run, close, cancel) it returns as an action message.
func (s *redriveState) update(km KeyMap, msg tea.KeyPressMsg) (bool, tea.Msg) {
	switch s.phase {
	case rdPlanning, rdPlanFailed:
		switch {
		case key.Matches(msg, km.DialogClose):
			return true, redriveClosedMsg{s}
		case s.phase == rdPlanFailed && key.Matches(msg, km.Refresh):
			return false, redriveReplanMsg{s}
		case key.Matches(msg, km.RedriveModePrev, km.RedriveModeNext):
			return false, s.switchMode(km, msg)
		case s.batchOK && key.Matches(msg, km.RedriveEngine):
			return false, s.toggleEngine()
		}
	case rdPlanned:
		return s.updatePlanned(km, msg)
	case rdStarting, rdRunning:
		switch {
		case key.Matches(msg, km.Back):
			return true, noteMsg{noteInfo, redriveHiddenNote}
		case s.phase == rdStarting && s.batch != nil && key.Matches(msg, km.Quit):
			// Mid-start some jobs may run and others wait for stowage's confirmation:
			// quitting leaves neither half behind. The first q says so, the second
			// cancels every job created and quits.
			if s.batch.quitAsked {
				return false, batchStopStartMsg{s: s, quit: true}
			}
			s.batch.quitAsked = true
			return false, noteMsg{noteWarn, batchStartingQuitNote}
		case s.phase == rdStarting && s.batch != nil && key.Matches(msg, km.RedriveCancel):
			return false, batchStopStartMsg{s: s}
		case key.Matches(msg, km.Quit) && s.batch != nil:
			return false, noteMsg{noteWarn, "the job runs in S3 whatever stowage does: c asks S3 to cancel it, esc hides this; stowage jobs watch follows it from any terminal"}
		case key.Matches(msg, km.Quit):
			return false, noteMsg{noteWarn, "a redrive is running: c cancels it (the requests in flight finish); q quits once it has stopped"}
		case key.Matches(msg, km.RedriveFaster, km.RedriveSlower):
			return false, redriveRateMsg{s, key.Matches(msg, km.RedriveFaster)}
		case key.Matches(msg, km.RedriveMore, km.RedriveFewer):
			return false, redriveConcurrencyMsg{s, key.Matches(msg, km.RedriveMore)}
		case key.Matches(msg, km.RedriveCancel):
			return false, redriveCancelMsg{}
		}
	case rdFinished:
		if key.Matches(msg, km.Dismiss) {
			s.summarySeen = true
			return true, redriveSummaryClosedMsg{}
		}
	}
	return false, nil
}

func (s *redriveState) updatePlanned(km KeyMap, msg tea.KeyPressMsg) (bool, tea.Msg) {
	if s.typing {
		switch {
		case key.Matches(msg, km.Back):
			s.typing, s.mismatch = false, ""
			s.field.SetValue("")
		case key.Matches(msg, km.Accept):
			// The name, as the CLI takes it: spaces around it trimmed, case kept.
			if v := strings.TrimSpace(s.field.Value()); v == s.envName {
				return false, redriveConfirmedMsg{s}
			} else {
				s.mismatch = v
				s.field.SetValue("")
			}
		default:
			if s.field.update(msg) {
				s.mismatch = ""
			}
		}
		return false, nil
	}
	switch {
	case key.Matches(msg, km.DialogClose, km.No):
		return true, redriveClosedMsg{s}
	case key.Matches(msg, km.RedriveModePrev, km.RedriveModeNext):
		return false, s.switchMode(km, msg)
	case s.batchOK && key.Matches(msg, km.RedriveEngine):
		return false, s.toggleEngine()
	case key.Matches(msg, km.RedriveForce) && s.batch != nil:
		s.force = !s.force // the job's manifest leaves out what is processed: plan again
		return false, redriveReplanMsg{s}
	case key.Matches(msg, km.RedriveForce):
		s.force = !s.force
	case key.Matches(msg, km.RedriveSkipPerm) && s.canSkipPermanent():
		return false, s.toggleSkipPermanent()
	case key.Matches(msg, km.Yes) && s.canConfirm() && s.confirm == redrive.ConfirmYesNo:
		return false, redriveConfirmedMsg{s}
	case key.Matches(msg, km.Accept) && s.canConfirm() && s.confirm == redrive.ConfirmTypeEnv:
		s.typing = true
	}
	return false, nil
}

// canSkipPermanent reports whether P means something: some planned requests failed
// with a permanent error, or they were left out (allIDs keeps the selection).
func (s *redriveState) canSkipPermanent() bool { return s.allIDs != nil || s.perm.Permanent > 0 }

// toggleSkipPermanent leaves the requests that failed with a permanent error out of the
// selection, or puts them back; the plan is then made again, so what is confirmed is a
// manifest without them.
func (s *redriveState) toggleSkipPermanent() tea.Msg {
	if s.allIDs != nil {
		s.ids, s.allIDs = s.allIDs, nil
		return redriveReplanMsg{s}
	}
	skip := make(map[string]bool, len(s.perm.PermanentIDs))
	for _, id := range s.perm.PermanentIDs {
		skip[id] = true
	}
	keep := make([]string, 0, len(s.ids))
	for _, id := range s.ids {
		if !skip[id] {
			keep = append(keep, id)
		}
	}
	if len(keep) == 0 {
		return noteMsg{noteWarn, "every planned request failed with a permanent error: leaving them out leaves nothing to redrive"}
	}
	s.allIDs, s.ids = s.ids, keep
	return redriveReplanMsg{s}
}

// switchMode moves to the previous or next mode; the plan is then made again.
func (s *redriveState) switchMode(km KeyMap, msg tea.KeyPressMsg) tea.Msg {
	if s.batchOn {
		modes := s.batchModes()
		if len(modes) == 1 {
			return noteMsg{noteInfo, "the batch-ops engine runs s3-copy here; lambda needs batch_ops.lambda_schema: \"2.0\" (see the README)"}
		}
		if s.mode == modes[0] {
			s.mode = modes[1]
		} else {
			s.mode = modes[0]
		}
		return redriveReplanMsg{s}
	}
	s.mode = cycleMode(s.mode, key.Matches(msg, km.RedriveModeNext), s.env)
	return redriveReplanMsg{s}
}

// clearHintsForRun drops a hint in the status line (such as "selected 56 requests shown ·
// R redrives them") that is stale once the run starts; warnings and errors stay.
func (m *Model) clearHintsForRun() {
	if m.note.level == noteInfo || m.note.level == noteOK {
		m.note = note{}
	}
}

// cycleMode is the next (or previous) mode in redrive.Modes' order that env can use.
func cycleMode(cur redrive.Mode, next bool, env *config.Env) redrive.Mode {
	modes := usableModes(env)
	n := len(modes)
	for i, md := range modes {
		if md == cur {
			if next {
				return modes[(i+1)%n]
			}
			return modes[(i+n-1)%n]
		}
	}
	return modes[0]
}

// usableModes are the modes of redrive.Modes that env can use: a mode that says it is
// not available (the event modes without their target in events:) is skipped.
func usableModes(env *config.Env) []redrive.Mode {
	var out []redrive.Mode
	for _, md := range redrive.Modes {
		if a, ok := any(md).(interface {
			Available(*config.Env) (bool, string)
		}); ok && env != nil {
			if usable, _ := a.Available(env); !usable {
				continue
			}
		}
		out = append(out, md)
	}
	if len(out) == 0 {
		return redrive.Modes
	}
	return out
}

// modeHelp says what a mode does, for the plan: redrive says it, for every mode (the
// event modes had no line here).
func modeHelp(md redrive.Mode) string { return md.Help() }

// render draws the dialog in w cells; renderSized also keeps it within h lines.
func (s *redriveState) render(st Styles, w int) string { return s.renderSized(st, w, 1000) }

func (s *redriveState) renderSized(st Styles, w, h int) string {
	var head, middle, tail []string
	switch s.phase {
	case rdPlanning, rdPlanFailed, rdPlanned:
		head, middle, tail = s.renderPlan(st, w)
	case rdStarting, rdRunning:
		if s.batch != nil {
			if h > dockMaxLines {
				head, middle, tail = s.renderBatchProgress(st, w)
			} else {
				head = s.renderBatchDock(st, w, h)
			}
			break
		}
		if h > dockMaxLines {
			head, middle, tail = s.renderProgress(st, w)
		} else {
			head = s.renderDock(st, w, h) // docked, or a very small screen
		}
	default:
		if s.batch != nil && s.batch.watchErr != nil {
			head, middle, tail = s.renderBatchStopped(st, w)
			break
		}
		head, middle, tail = s.renderSummary(st, w)
	}
	lines := fitLines(st, head, middle, tail, h)
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "…")
	}
	return strings.Join(lines, "\n")
}

// fitLines keeps a dialog within h lines. The middle (samples, errors) gives way first;
// then the head below its title, then the top of the tail, so that the title and the last
// lines (the question and the keys) always show.
func fitLines(st Styles, head, middle, tail []string, h int) []string {
	h = max(2, h)
	more := st.Faint.Render("…")
	if room := h - len(head) - len(tail); room < len(middle) {
		if room <= 1 {
			middle = nil
		} else {
			middle = append(middle[:room-1:room-1], more)
		}
	}
	if len(head)+len(middle)+len(tail) <= h {
		return append(append(head, middle...), tail...)
	}
	tail = tail[max(0, len(tail)-(h-1)):]
	out := []string{head[0]}
	if room := h - 1 - len(tail); room > 0 {
		rest := head[1:]
		if len(rest) > room {
			rest = append(rest[:room-1:room-1], more)
		}
		out = append(out, rest...)
	}
	return append(out, tail...)
}

func (s *redriveState) title(st Styles, what string) string {
	t := st.DialogTitle.Render(what) + st.Faint.Render(" · ") + st.HeaderVal.Render(sanitize.Line(s.envName))
	if s.production {
		t += " " + st.Production.Render("PRODUCTION")
	}
	return t
}

// field is one "label  value" line of the dialog.
func field(st Styles, label, value string) string {
	return st.Label.Render(fmt.Sprintf("%-10s", label)) + " " + value
}

func wrapLines(text string, w int) []string {
	return strings.Split(ansi.Wrap(text, max(10, w), " /"), "\n")
}

func rateText(rate float64) string {
	if rate <= 0 {
		return "unlimited"
	}
	return strconv.FormatFloat(rate, 'f', -1, 64) + "/s"
}

func (s *redriveState) modeLine(st Styles, w int) string {
	modes := usableModes(s.env)
	if s.batchOn {
		modes = s.batchModes()
	}
	var parts []string
	at := 0
	for i, md := range modes {
		if md == s.mode {
			at = i
			parts = append(parts, st.DialogSel.Render("["+string(md)+"]"))
		} else {
			parts = append(parts, st.Muted.Render(" "+string(md)+" "))
		}
	}
	keys := st.Faint.Render("  ←/→")
	line := field(st, "mode", strings.Join(parts, " ")+keys)
	if ansi.StringWidth(line) <= w {
		return line
	}
	// Too many modes for the width (six at 80 columns): the one chosen, and where it is.
	return field(st, "mode", st.DialogSel.Render("["+string(s.mode)+"]")+
		st.Muted.Render(fmt.Sprintf(" %d of %d", at+1, len(modes)))+keys)
}

func (s *redriveState) renderPlan(st Styles, w int) (head, middle, tail []string) {
	what := "Redrive " + plural(len(s.ids), "request")
	if s.manifest != nil {
		what = "Redrive " + plural(s.summary.Count, "request") // the selected ones that are stored
	}
	head = append(head, s.title(st, what), s.modeLine(st, w))
	for _, l := range wrapLines(s.modeHelp(), w-11) { // wrapped: the event modes' lines are long
		head = append(head, field(st, "", st.Faint.Render(l)))
	}
	switch s.phase {
	case rdPlanning:
		head = append(head, "", st.Muted.Render("planning: reading the metadata and status of "+plural(len(s.ids), "request")+"…"))
		tail = append(tail, "", st.Faint.Render("←/→ mode · esc cancel"))
		return head, nil, tail
	case rdPlanFailed:
		head = append(head, "")
		for _, l := range wrapLines(errorText("plan", s.planErr), w-2) {
			head = append(head, st.StatusError.Render("✗ ")+st.ErrorText.Render(l))
		}
		tail = append(tail, "", st.Faint.Render("←/→ mode · r plan again · esc close"))
		return head, nil, tail
	}

	sum := s.summary
	head = append(head,
		field(st, "target", sanitize.Line(sum.Target)),
		field(st, "requests", commas(sum.Count)+" · "+humanBytes(sum.TotalBytes)+st.Faint.Render(" · status now ")+sanitize.Line(sum.StatusCounts())))
	if s.batch != nil {
		head = append(head, s.batchPlanLines(st, w)...)
	} else {
		head = append(head,
			field(st, "rate", rateText(sum.Rate)+" · "+strconv.Itoa(sum.Concurrency)+" at a time · ETA "+etaText(sum.ETA, sum.Count)),
			field(st, "manifest", "sha256 "+shortHash(sum.Hash)+st.Faint.Render(" · run "+sanitize.Line(sum.RunID))))
		if s.batchOK {
			head = append(head, field(st, "engine", st.DialogSel.Render("[local]")+st.Muted.Render(" S3 Batch Operations ")+st.Faint.Render("  B")))
		}
	}
	warn := func(text string) {
		for i, l := range wrapLines(text, w-2) {
			mark := st.StatusWarn.Render("! ")
			if i > 0 {
				mark = "  "
			}
			head = append(head, mark+st.StatusWarn.Render(l))
		}
	}
	if sum.TooLarge > 0 && s.mode.UsesGateway() {
		warn(plural(sum.TooLarge, "request") + " over API Gateway's 10 MiB limit: refused unsent — → switches to s3-copy")
	}
	if sum.AlreadyDone > 0 {
		if s.force {
			warn("force: " + plural(sum.AlreadyDone, "request") + " already processed will be sent again (! turns it off)")
		} else {
			head = append(head, st.Muted.Render("· "+plural(sum.AlreadyDone, "request")+" already processed: skipped, nothing is sent for them (! forces)"))
		}
	}
	if t := s.perm.Text(sum.Count); t != "" {
		warn(t + " — P leaves them out")
	} else if s.allIDs != nil {
		left := len(s.allIDs) - len(s.ids)
		head = append(head, st.Muted.Render("· "+plural(left, "request")+" that failed with a permanent error left out (P puts them back)"))
	}
	if p := s.perm; p.Transient > 0 || p.Unknown > 0 {
		head = append(head, st.Muted.Render("· by failure kind: "+commas(p.Transient)+" transient, "+commas(p.Permanent)+" permanent, "+
			commas(p.Unknown)+" other (no error, or one no pattern names)"))
	}
	for _, o := range s.overlaps {
		warn(sanitize.Line(o))
	}
	if s.noLeaseTable {
		warn("NO LEASE TABLE" + strings.TrimPrefix(redrive.NoLeaseTableWarning, "no lease table") + " (set redrive.lease_table; see stowage doctor)")
	}
	if n := len(sum.Missing); n > 0 {
		shown := sum.Missing[:min(n, 3)]
		text := plural(n, "selected request") + " with no stored object: left out (" + sanitize.Line(strings.Join(shown, ", "))
		if n > 3 {
			text += ", …"
		}
		warn(text + ")")
	}
	if len(sum.Samples) > 0 {
		middle = append(middle, "", st.SectionHead.Render("first requests"))
		for _, it := range sum.Samples {
			line := "  " + cell(sanitize.Line(it.RequestID), 36) + " " + cellRight(humanBytes(it.Size), 9) + " " +
				st.stateStyle(s.classify(it.Status)).Render(cell(stateOrNone(it.Status), 12))
			if it.Key != it.RequestID {
				line += " " + st.Muted.Render(sanitize.Line(it.Key))
			}
			middle = append(middle, line)
		}
		if sum.Count > len(sum.Samples) {
			middle = append(middle, st.Faint.Render("  … and "+commas(sum.Count-len(sum.Samples))+" more"))
		}
	}

	tail = append(tail, "")
	where := "environment " + sanitize.Line(s.envName)
	if s.production {
		where = "PRODUCTION environment " + sanitize.Line(s.envName)
	}
	switch {
	case sum.Count == 0:
		tail = append(tail, st.StatusWarn.Render("Nothing to redrive: none of the selected requests has a stored object."),
			"", st.Faint.Render("esc close"))
	case s.refusal != "":
		// No key sends them anyway: overriding is the CLI's --allow-overlap, typed on purpose.
		for i, l := range wrapLines("Refused, nothing is sent: "+sanitize.Line(s.refusal)+" (from the command line).", w-2) {
			mark := st.StatusError.Render("✗ ")
			if i > 0 {
				mark = "  "
			}
			tail = append(tail, mark+st.ErrorText.Render(l))
		}
		tail = append(tail, "", st.Faint.Render("esc close"))
	case !s.canConfirm():
		tail = append(tail, wrapLines(st.StatusWarn.Render("Every request is over API Gateway's 10 MiB limit: this mode can send none. → switches to s3-copy."), w)...)
		tail = append(tail, "", st.Faint.Render("←/→ mode · esc close"))
	case s.confirm == redrive.ConfirmYesNo:
		tail = append(tail, appLines(st, "Send "+s.sendText()+" to "+where+"? What is sent is not undone.", w)...)
		tail = append(tail, "", st.Prompt.Render("y")+" send   "+st.Prompt.Render("n")+" cancel"+st.Faint.Render("   ←/→ mode · ! force"+s.engineHint()))
	case !s.typing:
		tail = append(tail, appLines(st, "This sends "+s.sendText()+" to "+where+". What is sent is not undone.", w)...)
		tail = append(tail, st.App.Render("To confirm, press enter and type the environment name ("+sanitize.Line(s.envName)+")."),
			"", st.Prompt.Render("enter")+" confirm   "+st.Prompt.Render("esc")+" cancel"+st.Faint.Render("   ←/→ mode · ! force"+s.engineHint()))
	default:
		tail = append(tail, appLines(st, "This sends "+s.sendText()+" to "+where+". What is sent is not undone.", w)...)
		tail = append(tail, st.App.Render("Type the environment name ("+sanitize.Line(s.envName)+") and press enter:"),
			s.field.view(st, w))
		if s.mismatch != "" {
			tail = append(tail, st.ErrorText.Render("“"+sanitize.Line(s.mismatch)+"” is not “"+sanitize.Line(s.envName)+"”: nothing was sent; type the name exactly"))
		}
		tail = append(tail, "", st.Prompt.Render("enter")+" send   "+st.Prompt.Render("esc")+" back")
	}
	return head, middle, tail
}

// engineHint names B where the engine can be chosen.
func (s *redriveState) engineHint() string {
	hint := ""
	if s.canSkipPermanent() {
		// Also in the plan's permanence line, which a short screen may cut.
		hint = " · P permanent"
	}
	if s.batchOK {
		hint += " · B engine"
	}
	return hint
}

// appLines is text wrapped to w in the dialog's text style.
func appLines(st Styles, text string, w int) []string {
	lines := wrapLines(text, w)
	for i, l := range lines {
		lines[i] = st.App.Render(l)
	}
	return lines
}

// sendText is what a confirmed plan sends (redrive.Summary.SendText).
func (s *redriveState) sendText() string {
	if s.batch != nil {
		return s.batchSendText()
	}
	sum := s.summary
	sum.Mode = s.mode
	return sum.SendText(s.force)
}

func etaText(eta time.Duration, count int) string {
	switch {
	case count == 0:
		return "—"
	case eta <= 0:
		return "unknown until it runs"
	case eta < time.Second:
		return "under a second"
	}
	return "about " + fmtSeconds(eta)
}

// fmtSeconds is "45s", "3m20s", "1h05m".
func fmtSeconds(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// classify is what a sampled item's state means, by the plan's own success states.
func (s *redriveState) classify(state string) inventory.Class {
	env := &config.Env{}
	if s.manifest != nil {
		env.Status.TerminalStates = s.manifest.SuccessStates
	}
	return inventory.Classify(state, env)
}

func stateOrNone(s string) string {
	if s == "" {
		return "(no status)"
	}
	return sanitize.Line(s)
}

func (s *redriveState) renderProgress(st Styles, w int) (head, middle, tail []string) {
	p := s.progress
	man := s.manifest
	what := "Redriving " + plural(p.Total, "request")
	if s.phase == rdStarting {
		what = "Starting a redrive of " + plural(len(man.Items), "request")
	}
	head = append(head, s.title(st, what)+st.Faint.Render(" · ")+string(man.Mode),
		st.Muted.Render(sanitize.Line(man.Target.String())), "")
	bar := st.Progress
	bar.SetWidth(max(10, w))
	head = append(head, bar.ViewAs(p.Fraction()))
	c := p.Counts
	done := commas(c.Done()) + " of " + commas(p.Total) + " done · elapsed " + fmtSeconds(p.Elapsed)
	switch {
	case p.ETA <= 0 || p.Stopping:
	case p.ETA < time.Second:
		done += " · ETA under a second"
	default:
		done += " · ETA " + fmtSeconds(p.ETA)
	}
	head = append(head, done)
	count := func(label string, n int, sty func(...string) string) string {
		txt := label + " " + commas(n)
		if n > 0 && sty != nil {
			return sty(txt)
		}
		return txt
	}
	red, green, yellow := st.StateFailed.Render, st.StateProcessed.Render, st.StatePending.Render
	head = append(head, strings.Join([]string{
		count("pending", c.Pending, nil), count("sending", c.Sending, yellow), count("retrying", c.Retrying, yellow),
		count("delivered", c.Delivered, green), count("failed", c.Failed, red), count("unknown", c.Unknown, red),
		count("skipped", c.Skipped, st.Muted.Render),
	}, st.Faint.Render(" · ")))
	rate := s.rate
	conc := s.conc
	// The engine measures the rate over redrive.RateWindow, so the first burst of the
	// token bucket does not read as the rate; until then it says so.
	measured := "measuring…"
	if p.RateMeasured {
		measured = strconv.FormatFloat(p.Rate, 'f', 1, 64) + "/s"
	}
	head = append(head, fmt.Sprintf("rate %s (limit %s) · %d in flight, at most %d · %s",
		measured, rateText(rate), p.InFlight, conc, plural(p.Sent, "request")+" sent"))
	if o, ok := s.liveOutcome(); ok && o.Delivered > 0 {
		// The rows change as these come in: the table is read while the run runs.
		head = append(head, field(st, "processor", fmt.Sprintf("so far %d %s · %d failed again · %d no verdict yet",
			o.Processed, sanitize.Line(s.doneName), o.Failed, o.Waiting)))
	}
	switch {
	case s.aborting:
		head = append(head, st.StatusWarn.Render("cutting the requests in flight: their outcome is journaled unknown"))
	case p.Stopping && p.StopReason != "":
		head = append(head, st.StatusWarn.Render("stopping: "+sanitize.Line(p.StopReason)+" — waiting for "+plural(p.InFlight, "request")+" in flight"))
	case s.cancelling:
		head = append(head, st.StatusWarn.Render("cancelling: nothing new is sent — waiting for "+plural(p.InFlight, "request")+" in flight · c again cuts them"))
	}
	if len(p.LastErrors) > 0 {
		middle = append(middle, "", st.SectionHead.Render("last errors"))
		for i := len(p.LastErrors) - 1; i >= 0; i-- {
			e := p.LastErrors[i]
			line := "  " + sanitize.Line(e.RequestID)
			if e.Attempt > 0 {
				line += st.Faint.Render(" attempt " + strconv.Itoa(e.Attempt))
			}
			middle = append(middle, line)
			middle = append(middle, errorLines(st, e.Err, w)...)
		}
	}
	if s.journal != "" {
		// One line, cut in the middle: the directory and the run's file name both show.
		// The summary shows the whole path.
		tail = append(tail, "", field(st, "journal", middleTruncate(sanitize.Line(s.journal), max(10, w-11))))
	}
	tail = append(tail, "", st.Prompt.Render("+/-")+" rate   "+st.Prompt.Render(">/<")+" concurrency   "+
		st.Prompt.Render("c")+" cancel   "+st.Prompt.Render("esc")+" hide (it keeps running)")
	return head, middle, tail
}

// docked says where the dialog belongs: a running redrive's progress goes under the
// table, not over it, so the rows it changes stay in view (view.go places it, dockLines
// high). The plan and the summary stay dialogs: they ask or tell before the rows matter;
// R shows the progress in full (s.full) over the table.
func (s *redriveState) docked() bool {
	return (s.phase == rdStarting || s.phase == rdRunning) && !s.full
}

// dockMaxLines is the most a docked progress takes, frame excluded; dockLines is its
// height, frame included, on a body of bodyH lines.
const dockMaxLines = 6

func dockLines(bodyH int) int { return min(dockMaxLines+2, max(6, bodyH/3)) }

// renderDock is the progress in at most h lines: what runs, the bar, the counts, the
// processor's verdicts so far, the keys. The last errors and the journal are in the
// full view (R).
func (s *redriveState) renderDock(st Styles, w, h int) []string {
	p := s.progress
	man := s.manifest
	what := "Redriving " + plural(p.Total, "request")
	if s.phase == rdStarting {
		what = "Starting a redrive of " + plural(len(man.Items), "request")
	}
	c := p.Counts
	measured := "measuring…"
	if p.RateMeasured {
		measured = strconv.FormatFloat(p.Rate, 'f', 1, 64) + "/s"
	}
	bar := st.Progress
	bar.SetWidth(max(10, w))
	counts := commas(c.Done()) + " of " + commas(p.Total) + " done · delivered " + commas(c.Delivered) +
		" · failed " + commas(c.Failed) + " · skipped " + commas(c.Skipped)
	if n := c.Unknown; n > 0 {
		counts += " · unknown " + commas(n)
	}
	counts += st.Faint.Render(" · " + measured + " (limit " + rateText(s.rate) + ")")
	lines := []string{s.title(st, what) + st.Faint.Render(" · "+string(man.Mode)), counts}
	if o, ok := s.liveOutcome(); ok && o.Delivered > 0 {
		lines = append(lines, field(st, "processor", fmt.Sprintf("so far %d %s · %d failed again · %d no verdict yet",
			o.Processed, sanitize.Line(s.doneName), o.Failed, o.Waiting)))
	}
	switch {
	case s.aborting:
		lines = append(lines, st.StatusWarn.Render("cutting the requests in flight"))
	case s.cancelling || p.Stopping:
		lines = append(lines, st.StatusWarn.Render("stopping: waiting for "+plural(p.InFlight, "request")+" in flight"))
	}
	keys := st.Prompt.Render("+/-") + " rate  " + st.Prompt.Render(">/<") + " concurrency  " + st.Prompt.Render("c") + " cancel  " +
		st.Prompt.Render("esc") + " hide  " + st.Prompt.Render("R") + " details"
	// The bar is the first to go: the counts say the same in fewer cells.
	if len(lines)+2 <= h {
		lines = append(lines[:1], append([]string{bar.ViewAs(p.Fraction())}, lines[1:]...)...)
	}
	if len(lines) >= h {
		lines = lines[:max(1, h-1)]
	}
	return append(lines, keys)
}

func (s *redriveState) renderSummary(st Styles, w int) (head, middle, tail []string) {
	man := s.manifest
	if s.startErr != nil {
		head = append(head, s.title(st, "Redrive not started"), "")
		text := errorText("", s.startErr)
		if errIsReadOnly(s.startErr) {
			text = "the environment is read-only (read_only in the config, or --read-only): nothing was sent"
		}
		for _, l := range wrapLines(text, w-2) {
			head = append(head, st.StatusError.Render("✗ ")+st.ErrorText.Render(l))
		}
		head = append(head, st.App.Render("Nothing was sent."))
		tail = append(tail, "", st.Faint.Render("esc close"))
		return head, nil, tail
	}
	rep := s.report
	c := rep.Counts
	head = append(head, s.title(st, "Redrive "+outcomeText(rep))+st.Faint.Render(" · ")+string(man.Mode)+s.batchSummaryTag(), "")
	head = append(head, s.batchSummaryLines(st, w)...)
	verdict, vo, waiting := s.verdictLine(s.doneName)
	// ✓ only when the processor took every delivery: delivered is not done.
	mark := st.StatusOK.Render("✓ ")
	switch {
	case c.Failed+c.Unknown > 0 || rep.Outcome != redrive.OutcomeDelivered || (verdict != "" && vo.Failed > 0):
		mark = st.StatusWarn.Render("! ")
	case c.Delivered == 0:
	case verdict == "" || waiting:
		mark = st.Muted.Render("… ")
	case !vo.AllProcessed():
		mark = st.StatusWarn.Render("! ") // no verdict within the watch
	}
	_, counts, _ := strings.Cut(rep.Headline(), ": ")
	head = append(head, mark+plural(c.Total(), "request")+": "+counts+" · took "+fmtSeconds(rep.Finished.Sub(rep.Started)))
	if rep.StopReason != "" && rep.Outcome != redrive.OutcomeCanceled {
		head = append(head, st.StatusWarn.Render("stopped: "+sanitize.Line(rep.StopReason)))
	}
	unfinished := c.Total() - c.Done()
	if rep.Outcome == redrive.OutcomeCanceled || unfinished > 0 {
		sent := c.Delivered + c.Failed + c.Unknown + c.Sending + c.Retrying
		for _, l := range wrapLines("What was sent is not undone: "+plural(sent, "request")+" sent or attempted (they stay sent), "+
			commas(c.Pending)+" not sent. "+s.resumeHint(rep.JournalPath), w) {
			head = append(head, st.StatusWarn.Render(sanitize.Line(l)))
		}
	}
	if c.Unknown > 0 {
		for _, l := range wrapLines("Some deliveries are unknown (the connection was lost after sending): the processor may have them twice and can deduplicate on the idempotency headers.", w) {
			head = append(head, st.StatusWarn.Render(l))
		}
	}
	for _, l := range leaseWarningLines(rep, w) {
		head = append(head, st.StatusWarn.Render(l))
	}
	if verdict != "" {
		sty := st.StatusOK.Render
		switch {
		case vo.Failed > 0:
			sty = st.StatusError.Render
		case vo.Waiting > 0:
			sty = st.StatusWarn.Render
		}
		label := "processor"
		if waiting {
			label = "waiting"
		}
		for i, l := range wrapLines(verdict, w-11) {
			if i == 0 {
				head = append(head, field(st, label, sty(l)))
			} else {
				head = append(head, field(st, "", sty(l)))
			}
		}
		if vo.SameError > 0 {
			// Under the verdict, but the first to give way on a small screen.
			middle = append(middle, field(st, "", st.Muted.Render("the same error again: another redrive will not fix these")))
		}
		middle = append(middle, s.byClassLines(st, w)...)
	}
	var failures []redrive.ItemResult
	for _, it := range rep.Items {
		if it.State == redrive.StateFailed {
			failures = append(failures, it)
		}
	}
	if len(failures) > 0 {
		middle = append(middle, "", st.SectionHead.Render("failed"))
		for _, it := range failures {
			line := "  " + sanitize.Line(it.RequestID)
			if it.HTTPStatus > 0 {
				line += st.Faint.Render(" HTTP " + strconv.Itoa(it.HTTPStatus))
			}
			middle = append(middle, line)
			middle = append(middle, errorLines(st, it.Error, w)...)
		}
	}
	tail = append(tail, "")
	tail = append(tail, pathLines(st, "journal", rep.JournalPath, nil, w)...)
	tail = append(tail, pathLines(st, "report", s.reportPath, s.reportErr, w)...)
	tail = append(tail, pathLines(st, "audit", s.auditPath, s.auditErr, w)...)
	if c.Failed > 0 && s.reportPath != "" {
		for _, l := range wrapLines(sanitize.Line(s.retryHint()), w) {
			tail = append(tail, st.Faint.Render(l))
		}
	}
	tail = append(tail, "", st.Faint.Render("enter/esc close · the table keeps updating as the statuses change"))
	return head, middle, tail
}

// leaseWarningLines are the lease problems the run met, the first few, wrapped to w:
// another run may not see that these requests were sent.
func leaseWarningLines(rep *redrive.Report, w int) []string {
	const shown = 3
	var out []string
	for i, lw := range rep.LeaseWarnings {
		if i == shown {
			out = append(out, "… and "+plural(len(rep.LeaseWarnings)-shown, "more lease warning"))
			break
		}
		out = append(out, wrapLines("lease: "+sanitize.Line(lw), w)...)
	}
	return out
}

// errorLines shows an item's error under it, on at most two lines: the reason and its
// remedy usually come at the end of a long message.
func errorLines(st Styles, text string, w int) []string {
	lines := wrapLines(sanitize.Line(text), w-4)
	if len(lines) > 2 {
		lines[1] = ansi.Truncate(lines[1]+" "+strings.Join(lines[2:], " "), w-4, "…")
		lines = lines[:2]
	}
	for i, l := range lines {
		lines[i] = "    " + st.ErrorText.Render(l)
	}
	return lines
}

// pathLines shows a file the run wrote, wrapped rather than cut so it can be copied; or
// why it was not written.
func pathLines(st Styles, label, path string, err error, w int) []string {
	switch {
	case err != nil:
		return wrapLines(field(st, label, st.ErrorText.Render("not written: "+sanitize.Line(err.Error()))), w)
	case path == "":
		return nil
	}
	var out []string
	// Break after a slash or a dash where possible, so the name reads in pieces.
	for i, l := range strings.Split(ansi.Wrap(sanitize.Line(path), max(10, w-11), "/-"), "\n") {
		if i == 0 {
			out = append(out, field(st, label, l))
		} else {
			out = append(out, field(st, "", l))
		}
	}
	return out
}

// middleTruncate cuts s to w cells by replacing its middle with "…".
func middleTruncate(s string, w int) string {
	n := ansi.StringWidth(s)
	if n <= w {
		return s
	}
	head := (w - 1) / 2
	tail := w - 1 - head
	return ansi.Truncate(s, head, "") + "…" + ansi.TruncateLeft(s, n-tail, "")
}

// readOnlyDialog explains why R does nothing here and how to lift it.
func readOnlyDialog(env string, count int) *messageDialog {
	return &messageDialog{
		title: "Redrive refused: " + env + " is read-only",
		level: noteError,
		paragraphs: []string{
			"Environment " + env + " is read-only (read_only: true in the config, or --read-only on the command line). " +
				"stowage sends nothing from it: no gateway request, no CopyObject, no PutObject — the client layer refuses them too. " +
				"Nothing was sent for the " + plural(count, "selected request") + ".",
			"To redrive, remove read_only: true from environment " + env + " in the config file (or drop --read-only) and open stowage again. " +
				"Meanwhile, stowage redrive --dry-run shows what a run would send.",
		},
	}
}

// messageDialog shows a few paragraphs until esc or enter.
type messageDialog struct {
	title      string
	level      noteLevel
	paragraphs []string
}

func (d *messageDialog) busy() bool { return false }

func (d *messageDialog) update(km KeyMap, msg tea.KeyPressMsg) (bool, tea.Msg) {
	return key.Matches(msg, km.Dismiss), nil
}

func (d *messageDialog) render(st Styles, width int) string {
	title := st.DialogTitle.Render(d.title)
	if d.level == noteError {
		title = st.StatusError.Render("✗ ") + st.StatusError.Render(d.title)
	}
	lines := []string{title}
	for _, p := range d.paragraphs {
		lines = append(lines, "")
		lines = append(lines, wrapLines(p, width)...)
	}
	lines = append(lines, "", st.Faint.Render("enter/esc close"))
	return strings.Join(lines, "\n")
}

// resumeHint says how to continue a run. The demo's config is a temporary file the demo
// removes, so there the hint says the journal resumes only while the demo runs.
func (s *redriveState) resumeHint(journal string) string {
	if s.demo {
		return "The demo's journal " + journal + " can be resumed while the demo runs: " + s.command() + " redrive --resume " + shellWord(journal)
	}
	return "Continue with: " + s.command() + " redrive --resume " + shellWord(journal)
}

// retryHint says how to send the failures again, in the run's mode.
func (s *redriveState) retryHint() string {
	mode := ""
	if s.manifest != nil {
		mode = " --mode " + string(s.manifest.Mode)
		if s.batch != nil {
			// --mode lambda alone is the local event mode: another event than the job's.
			mode = " --engine batch-ops" + mode
		}
	}
	if s.demo {
		return "retry the failures (while the demo runs): " + s.command() + " redrive --from-report " + shellWord(s.reportPath) + " --only failed" + mode
	}
	return "retry the failures: " + s.command() + " redrive --from-report " + shellWord(s.reportPath) + " --only failed" + mode
}

// command is how the hints run stowage on this run's environment: the caller's prefix
// (which names the config file) and the environment.
func (s *redriveState) command() string {
	p := s.commandPrefix
	if p == "" {
		p = "stowage"
		if s.demo {
			p += " --config <the demo's config>" // the caller did not say where it is
		}
	}
	return p + " --env " + shellWord(s.envName)
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// byClassLines is the outcome by failure class ("did the fix work", cause by cause); none
// when the requests had no recorded error.
func (s *redriveState) byClassLines(st Styles, w int) []string {
	if len(s.byClass) == 0 || len(s.byClass) == 1 && s.byClass[0].Key == "" {
		return nil
	}
	out := []string{""}
	for i, c := range s.byClass {
		label := ""
		if i == 0 {
			label = "by class"
		}
		key := c.Key
		if key == "" {
			key = "(no error recorded)"
		}
		var parts []string
		sty := st.StatusOK
		if c.Processed > 0 || c.Failed+c.Waiting == 0 {
			parts = append(parts, commas(c.Processed)+" processed")
		}
		if c.Failed > 0 {
			parts = append(parts, commas(c.Failed)+" failed again")
			sty = st.StatusError
		}
		if c.Waiting > 0 {
			parts = append(parts, commas(c.Waiting)+" waiting")
		}
		counts := strings.Join(parts, ", ")
		head := sty.Render(counts) + st.Faint.Render(" · "+string(c.Kind)+" · ")
		room := max(10, w-11-ansi.StringWidth(head))
		out = append(out, field(st, label, head+middleTruncate(sanitize.Line(key), room)))
	}
	return out
}
