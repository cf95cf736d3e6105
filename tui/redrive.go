package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// A redrive from the TUI runs the engine's lifecycle, as the CLI does: plan (a frozen
// manifest, in a command) → confirm (y/n, or the environment's name typed) → run (the
// engine's goroutines are started from a command; progress snapshots come back as
// messages through a command that reads its channel) → report and audit (written by a
// command with the engine's functions) → watch (the redriven requests' statuses are read
// until they settle). The dialog that shows it all is redriveState, on the dialog stack.

// redrivePhase is where a redrive stands.
type redrivePhase int

const (
	rdPlanning   redrivePhase = iota // the selection is being resolved into a manifest
	rdPlanFailed                     // planning failed; r tries again
	rdPlanned                        // the plan is shown, waiting for confirmation
	rdStarting                       // confirmed: the journal is being created
	rdRunning                        // sending
	rdFinished                       // stopped (or could not start): the summary shows
)

// redriveState is one redrive, from its plan to its summary. It is also the dialog that
// shows it. Only Update changes it; commands get copies of what they need.
type redriveState struct {
	seq     int
	envName string
	demo    bool // the demo stack: its config is a temporary file
	// commandPrefix runs stowage again in the hints (RedriveOptions.CommandPrefix).
	commandPrefix string
	production    bool
	env           *config.Env // what the modes are checked against
	doneName      string      // what the outcome calls a processed request (PROCESSED)
	ids           []string    // the selection, in table order
	// allIDs is the selection before P left the permanent failures out (nil: it did not);
	// perm is what the plan holds by failure kind.
	allIDs []string
	perm   redrive.Permanence
	mode   redrive.Mode
	force  bool
	// batchOK: the environment can hand the plan to S3 Batch Operations (B toggles
	// batchOn); localMode is the local mode to go back to. batch is the batch-ops plan
	// and run (redrive_batch.go).
	batchOK    bool
	batchOn    bool
	localMode  redrive.Mode
	batch      *batchState
	phase      redrivePhase
	full       bool // the running progress in full over the table (R), not docked
	cancelPlan context.CancelFunc

	manifest *redrive.Manifest // frozen once planned: the engine reads it while it runs
	summary  redrive.Summary
	overlaps []string // unfinished runs that hold some of the planned requests, as warnings
	// refusal is why the plan cannot run (those unfinished runs hold its requests). The
	// TUI offers no way round it: overriding is the CLI's explicit --allow-overlap.
	refusal string
	// noLeaseTable: the environment has no lease table, so runs on other machines cannot
	// see this one; the plan says so loudly.
	noLeaseTable bool
	planErr      error

	confirm  redrive.Confirmation
	typing   bool // the environment-name field has the keys
	field    lineEdit
	mismatch string // what was typed, when it was not the name

	session    *redrive.Session // the run with its audit trail (redrive.Start, Finish)
	run        *redrive.Run
	journal    string
	progress   redrive.Progress
	rate       float64 // asked for with +/-; shown until a snapshot confirms it
	conc       int
	cancelling bool
	aborting   bool

	watch       *watchState            // reads the statuses of what this run delivered, while it runs and after
	byClass     []redrive.OutcomeClass // the verdicts by the failure class each request had
	startErr    error
	summarySeen bool // the summary was shown and closed: R plans anew
	report      *redrive.Report
	reportPath  string
	reportErr   error
	auditPath   string
	auditErr    error
}

// Messages of a redrive; each carries the sequence number of its plan.
type (
	redrivePlanMsg struct {
		seq      int
		manifest *redrive.Manifest
		batch    *redrive.BatchPlan // the batch-ops plan of manifest (nil: a local run)
		overlaps []string           // warnings about unfinished runs holding some of its requests
		refusal  string             // why it cannot run because of them ("" when it can)
		err      error
	}
	redriveStartedMsg struct {
		seq     int
		session *redrive.Session
		journal string
		err     error
		// audited: the refusal is in the audit log already (redrive.Start records its own).
		audited bool
	}
	redriveProgressMsg struct {
		seq    int
		p      redrive.Progress
		closed bool // the run stopped: no more snapshots
	}
	redriveFinishedMsg struct {
		seq int
		out finishResult
	}
	auditDoneMsg struct {
		path string
		err  error
	}
)

// finishResult is what finishing a run wrote.
type finishResult struct {
	report     *redrive.Report
	reportPath string
	reportErr  error
	auditPath  string
	auditErr   error
}

// redriveActive reports whether a run is starting or sending.
func (m *Model) redriveActive() bool {
	return m.rd != nil && (m.rd.phase == rdStarting || m.rd.phase == rdRunning)
}

// redriveShown reports whether the redrive dialog is on the dialog stack.
func (m *Model) redriveShown() bool {
	for _, d := range m.dialogs {
		if d == dialog(m.rd) && m.rd != nil {
			return true
		}
	}
	return false
}

// redriveTargets is what R redrives: the open request in the detail view; else the
// selection; else the row under the cursor.
func (m *Model) redriveTargets() []string {
	if m.mode == modeClasses && len(m.marked) == 0 {
		if cl, ok := m.selectedClass(); ok {
			return cl.IDs
		}
		return nil
	}
	if m.mode == modeDetail {
		if d := m.detail; d != nil {
			return []string{d.id}
		}
		return nil
	}
	if len(m.marked) > 0 {
		return m.markedIDs()
	}
	if r, ok := m.selected(); ok {
		return []string{r.ID}
	}
	return nil
}

// openRedrive answers R: it shows a running redrive, or plans a new one.
func (m *Model) openRedrive() tea.Cmd {
	if m.rd != nil && (m.rd.phase != rdFinished || !m.rd.summarySeen) {
		// R shows the progress docked; on the docked progress, in full (the ETA, the
		// last errors and the journal).
		if !m.redriveShown() {
			m.rd.full = false
			m.pushDialog(m.rd)
			if m.note.text == redriveHiddenNote {
				m.note = note{} // shown again: the note would now be untrue
			}
		} else if m.dockedDialog() == dialog(m.rd) {
			m.rd.full = true
		}
		return nil
	}
	env := m.sess.Env
	if env == nil {
		m.setNote(noteWarn, "no environment is open: nothing to redrive")
		return nil
	}
	ids := m.redriveTargets()
	if len(ids) == 0 {
		m.setNote(noteInfo, "nothing to redrive: move to a request, or select some with space or a")
		return nil
	}
	if env.ReadOnly {
		m.pushDialog(readOnlyDialog(sanitize.Line(env.Name), len(ids)))
		return m.auditRefusal(ids, "the environment is read-only")
	}
	if !m.sess.Redrive.enabled() {
		m.setNote(noteWarn, "redrive is not available in this session: it was opened without the gateway and write clients")
		return nil
	}
	mode := redrive.ModeInplace
	if env.GatewayURL() == "" {
		mode = redrive.ModeS3Copy // the only mode without a gateway
	}
	s := &redriveState{envName: env.Name, production: env.Production, env: env, doneName: redrive.DoneStateName(env), ids: ids, mode: mode, demo: m.sess.Operator == "demo",
		commandPrefix: m.opts.Redrive.CommandPrefix, noLeaseTable: m.sess.Redrive.Run.Leases == nil, batchOK: m.batchAvailable()}
	m.rd = s
	m.pushDialog(s)
	return m.plan(s)
}

// planDeps is what planning reads: the environment's inventory source, or the session's
// stores when the caller gave none.
func (m *Model) planDeps() redrive.PlanDeps {
	d := m.sess.Redrive.Plan
	if d.Source.Objects == nil || d.Source.Statuses == nil {
		env := m.sess.Env
		d.Source = inventory.Source{Objects: m.sess.Objects, Statuses: m.sess.Statuses, Prefix: env.Storage.Prefix, Key: env.Key}
	}
	return d
}

// plan resolves s's selection into a manifest in a command. A plan asked before is
// cancelled and its answer dropped.
func (m *Model) plan(s *redriveState) tea.Cmd {
	m.rdSeq++
	s.seq = m.rdSeq
	s.phase = rdPlanning
	s.manifest, s.planErr, s.overlaps, s.refusal, s.batch = nil, nil, nil, "", nil
	s.typing, s.mismatch = false, ""
	s.field = lineEdit{prompt: "› "}
	if s.cancelPlan != nil {
		s.cancelPlan()
		s.cancelPlan = nil
	}
	if s.batchOn {
		ctx, cancel := context.WithCancel(m.ctx)
		s.cancelPlan = cancel
		return m.planBatch(ctx, cancel, s, redrive.Selection{IDs: s.ids, Source: "tui"})
	}
	opts, err := redrive.PlanOptionsFor(m.sess.Env, s.mode)
	if err != nil {
		s.phase, s.planErr = rdPlanFailed, err
		return nil
	}
	opts.Now = m.opts.Now
	if m.opts.Redrive.RunID != nil {
		opts.RunID = m.opts.Redrive.RunID()
	}
	deps := m.planDeps()
	sel := redrive.Selection{IDs: s.ids, Source: "tui"}
	ctx, cancel := context.WithCancel(m.ctx)
	s.cancelPlan = cancel
	seq, env, command := s.seq, m.sess.Env.Name, s.command()
	return func() tea.Msg {
		defer cancel()
		man, err := redrive.Plan(ctx, deps, sel, opts)
		if err != nil {
			return redrivePlanMsg{seq: seq, err: err}
		}
		overlaps, refusal := unfinishedOverlaps(env, man, command)
		return redrivePlanMsg{seq: seq, manifest: man, overlaps: overlaps, refusal: refusal}
	}
}

// unfinishedOverlaps warns about the runs of env that have not finished and hold some of
// man's requests, and says why the plan is refused when there are any (the audit log and
// those runs' journals are read: call it in a command).
func unfinishedOverlaps(env string, man *redrive.Manifest, command string) (warnings []string, refusal string) {
	if len(man.Items) == 0 {
		return nil, ""
	}
	path, err := redrive.AuditPath()
	if err != nil {
		return nil, "" // the run's own audit entry reports the state directory
	}
	ids := make([]string, len(man.Items))
	for i, it := range man.Items {
		ids[i] = it.RequestID
	}
	found, err := redrive.UnfinishedOverlaps(path, env, ids)
	if err != nil {
		return []string{"could not look for unfinished runs: " + err.Error()}, ""
	}
	if len(found) == 0 {
		return nil, ""
	}
	for _, o := range found {
		warnings = append(warnings, o.Warning())
	}
	return warnings, redrive.OverlapRefusal(found, command)
}

func (m *Model) onRedrivePlan(msg redrivePlanMsg) {
	s := m.rd
	if s == nil || msg.seq != s.seq || s.phase != rdPlanning {
		return
	}
	s.cancelPlan = nil
	if msg.err != nil {
		s.phase, s.planErr = rdPlanFailed, msg.err
		return
	}
	s.manifest, s.overlaps, s.refusal = msg.manifest, msg.overlaps, msg.refusal
	s.summary = msg.manifest.Summary()
	s.perm = permanenceOf(msg.manifest, m.failRules(), func(id string) string {
		if e, ok := m.statuses.get(id); ok && e.found {
			return e.st.Error
		}
		return ""
	})
	s.confirm = redrive.ConfirmationFor(len(msg.manifest.Items), s.production)
	if msg.batch != nil {
		s.batch = &batchState{plan: msg.batch}
		s.confirm = batchConfirmation(msg.batch, s.production)
	}
	s.phase = rdPlanned
}

// canConfirm reports whether the plan can run: it has items and the mode can send some.
func (s *redriveState) canConfirm() bool {
	if s.batch != nil {
		return s.phase == rdPlanned && len(s.batch.plan.Sends) > 0 && s.refusal == ""
	}
	return s.phase == rdPlanned && s.summary.Count > 0 && s.summary.TooLarge < s.summary.Count && s.refusal == ""
}

// closeRedrive closes the dialog of a redrive that did not run, auditing the decision as
// the CLI does (declined, nothing selected, or refused as too large).
func (m *Model) closeRedrive(s *redriveState) tea.Cmd {
	if s.cancelPlan != nil {
		s.cancelPlan()
		s.cancelPlan = nil
	}
	if m.rd == s {
		m.rd = nil
	}
	if s.phase != rdPlanned || s.manifest == nil {
		return nil // nothing was planned: nothing to record
	}
	man, force := s.manifest, s.force
	outcome, reason := redrive.OutcomeDeclined, "the operator declined"
	switch {
	case s.summary.Count == 0:
		outcome, reason = redrive.OutcomeEmpty, ""
	case s.refusal != "":
		outcome, reason = redrive.OutcomeRefused, s.refusal
	case s.summary.TooLarge == s.summary.Count:
		outcome, reason = redrive.OutcomeRefused, "every request is over the gateway's 10 MiB limit"
	}
	m.setNote(noteInfo, "redrive cancelled: nothing was sent")
	return m.auditCmd(func(c redrive.AuditContext) redrive.AuditEntry {
		c.Force = force
		return redrive.AuditDecision(man, outcome, reason, c)
	})
}

// confirmRedrive starts the confirmed run: the journal is created and the engine's
// goroutines start in a command.
func (m *Model) confirmRedrive(s *redriveState) tea.Cmd {
	if s.batch != nil {
		return m.confirmBatch(s)
	}
	s.phase = rdStarting
	s.typing, s.mismatch = false, ""
	s.rate, s.conc = s.manifest.Rate, s.manifest.Concurrency
	opts := runOptionsFor(m.sess.Env, m.opts.Redrive.Run)
	opts.Force = s.force
	deps, man, seq, ctx := m.sess.Redrive.Run, s.manifest, s.seq, m.ctx
	who, now := m.whoFunc(), m.opts.Now
	return func() tea.Msg {
		path, err := redrive.DefaultJournalPath(man)
		if err != nil {
			return redriveStartedMsg{seq: seq, err: fmt.Errorf("no place for the journal: %w", err)}
		}
		opts.JournalPath = path
		// The CLI starts its runs here too: started entry, journal, run, refusals audited.
		sess, err := redrive.Start(ctx, deps, man, opts, redrive.SessionConfig{Who: who(ctx), Now: now})
		if err != nil {
			return redriveStartedMsg{seq: seq, journal: path, err: err, audited: true}
		}
		return redriveStartedMsg{seq: seq, session: sess, journal: path}
	}
}

func (m *Model) onRedriveStarted(msg redriveStartedMsg) tea.Cmd {
	s := m.rd
	if s == nil || msg.seq != s.seq || s.phase != rdStarting {
		return nil
	}
	if msg.err != nil {
		s.phase, s.startErr = rdFinished, msg.err
		if msg.audited {
			return nil
		}
		man, force, reason := s.manifest, s.force, msg.err.Error()
		return m.auditCmd(func(c redrive.AuditContext) redrive.AuditEntry {
			c.Force = force
			return redrive.AuditDecision(man, redrive.OutcomeRefused, reason, c)
		})
	}
	s.session, s.run, s.journal, s.phase = msg.session, msg.session.Run(), msg.journal, rdRunning
	s.progress = redrive.Progress{RunID: s.manifest.RunID, Total: len(s.manifest.Items),
		Counts: redrive.Counts{Pending: len(s.manifest.Items)}, TargetRate: s.rate, Concurrency: s.conc}
	return tea.Batch(waitProgress(s.seq, s.run), m.watchLive(s))
}

// runOptionsFor is what a run from the TUI runs with: the tuning of base (retries,
// backoff, clocks) and what the environment says, as the CLI takes it (OptionsFor).
func runOptionsFor(env *config.Env, base redrive.Options) redrive.Options {
	o := base
	e := redrive.OptionsFor(env)
	o.OriginalIDHeader, o.RedriveIDHeader, o.ReadOnly = e.OriginalIDHeader, e.RedriveIDHeader, e.ReadOnly
	if e.LeaseTTL > 0 {
		o.LeaseTTL = e.LeaseTTL // the config's redrive.lease_ttl
	}
	return o
}

// waitProgress reads the next snapshot of a run. The engine keeps only the latest one
// when nobody reads, so a busy screen never slows the run.
func waitProgress(seq int, run *redrive.Run) tea.Cmd {
	return func() tea.Msg {
		p, ok := <-run.Updates()
		return redriveProgressMsg{seq: seq, p: p, closed: !ok}
	}
}

func (m *Model) onRedriveProgress(msg redriveProgressMsg) tea.Cmd {
	s := m.rd
	if s == nil || msg.seq != s.seq || s.run == nil || s.phase != rdRunning {
		return nil
	}
	if msg.closed {
		return m.finishRun(s)
	}
	s.progress = msg.p
	return waitProgress(s.seq, s.run)
}

// finishRun saves the report beside the journal and appends the audit entry, in a
// command, through the session: the same files the CLI writes.
func (m *Model) finishRun(s *redriveState) tea.Cmd {
	sess, seq := s.session, s.seq
	return func() tea.Msg { return redriveFinishedMsg{seq: seq, out: finishWork(sess)} }
}

// finishWork waits for the run and records it (once: later calls return the same).
func finishWork(sess *redrive.Session) finishResult {
	rep, fin, _ := sess.Finish()
	// Finish's error repeats AuditErr, which the summary shows with its remedy.
	return finishResult{report: rep, reportPath: fin.ReportPath, reportErr: fin.ReportErr, auditPath: fin.AuditPath, auditErr: fin.AuditErr}
}

func (m *Model) onRedriveFinished(msg redriveFinishedMsg) tea.Cmd {
	s := m.rd
	if s == nil || msg.seq != s.seq || s.phase != rdRunning {
		return nil
	}
	out := msg.out
	s.phase = rdFinished
	s.report, s.reportPath, s.reportErr, s.auditPath, s.auditErr = out.report, out.reportPath, out.reportErr, out.auditPath, out.auditErr
	if out.report != nil {
		s.progress.Counts = out.report.Counts
	}
	s.progress.Done = true
	m.recordHistory(s)
	if m.note.text == cancellingNote || m.note.text == abortingNote {
		// The run has stopped: "cancelling" would now be untrue.
		m.setNote(noteWarn, "redrive "+out.report.Headline())
	}
	if !m.redriveShown() {
		// The operator hid the progress: say it ended rather than take the keys.
		m.setNote(noteOK, "redrive "+out.report.Headline()+" · R shows the summary")
	}
	return m.watchRun(s)
}

// recordHistory adds each item of the finished run to its request's redrive history.
func (m *Model) recordHistory(s *redriveState) {
	rep := s.report
	if rep == nil {
		return
	}
	for _, it := range rep.Items {
		reason := it.Error
		if reason == "" {
			reason = it.Note
		}
		m.history[it.RequestID] = append(m.history[it.RequestID], redriveEvent{
			runID: rep.RunID, mode: rep.Mode, at: m.now, state: it.State, attempts: it.Attempts,
			http: it.HTTPStatus, newID: it.NewRequestID, reason: reason,
		})
	}
	if d := m.detail; d != nil {
		if _, ok := m.history[d.id]; ok {
			d.info = nil // the info tab lists the history
		}
	}
}

// ---- controls while running ----

// rateSteps are the rates +/- move through; above the last is unlimited (0).
var rateSteps = []float64{0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}

// nextRate is the rate one step faster or slower than cur (0 = unlimited). Slowing down
// from unlimited starts below the measured rate.
func nextRate(cur, measured float64, faster bool) float64 {
	if faster {
		if cur == 0 {
			return 0
		}
		for _, r := range rateSteps {
			if r > cur {
				return r
			}
		}
		return 0
	}
	if cur == 0 {
		cur = measured
		if cur <= 0 {
			return rateSteps[len(rateSteps)-1]
		}
	}
	for i := len(rateSteps) - 1; i >= 0; i-- {
		if rateSteps[i] < cur {
			return rateSteps[i]
		}
	}
	return rateSteps[0]
}

// maxConcurrency bounds > so a stuck key cannot open hundreds of connections.
const maxConcurrency = 64

func (m *Model) changeRate(s *redriveState, faster bool) tea.Cmd {
	if s.run == nil {
		return nil
	}
	s.rate = nextRate(s.rate, s.progress.Rate, faster)
	run, rate := s.run, s.rate
	return func() tea.Msg { run.SetRate(rate); return nil }
}

func (m *Model) changeConcurrency(s *redriveState, more bool) tea.Cmd {
	if s.run == nil {
		return nil
	}
	if more {
		s.conc = min(maxConcurrency, s.conc+1)
	} else {
		s.conc = max(1, s.conc-1)
	}
	run, n := s.run, s.conc
	return func() tea.Msg { run.SetConcurrency(n); return nil }
}

// cancelRedrive stops dispatching (c, ctrl+c); asked again, it cuts the requests in
// flight too, whose outcome is then journaled unknown.
func (m *Model) cancelRedrive() tea.Cmd {
	s := m.rd
	if s != nil && s.batch != nil && s.phase == rdStarting {
		return m.stopBatchStart(s, false) // cancels every job created so far
	}
	if s != nil && s.batch != nil && s.phase == rdRunning {
		return m.cancelBatch(s)
	}
	if s == nil || s.run == nil || s.phase != rdRunning {
		return nil
	}
	run := s.run
	if !s.cancelling {
		s.cancelling = true
		m.setNote(noteWarn, cancellingNote)
		return func() tea.Msg { run.Cancel(); return nil }
	}
	if s.aborting {
		return nil
	}
	s.aborting = true
	m.setNote(noteWarn, abortingNote)
	return func() tea.Msg { run.Abort(); return nil }
}

// waitForRedrive is called once the program has stopped: a run still going is cancelled
// and waited for, and its report and audit entry written, so leaving the TUI never
// leaves a run half recorded.
func (m *Model) waitForRedrive() {
	m.waitForBatchStart() // a batch start interrupted by the exit cancels its jobs first
	s := m.rd
	if s == nil || s.run == nil || s.phase != rdRunning {
		return
	}
	s.run.Cancel()
	finishWork(s.session)
}

// ---- audit ----

// whoFunc names the operator for the audit log: the session's fixed operator ("demo"),
// else the STS caller ARN.
func (m *Model) whoFunc() func(context.Context) string {
	op, id := m.sess.Operator, m.sess.Identity
	return func(ctx context.Context) string {
		if op != "" {
			return op
		}
		return redrive.Operator(ctx, id)
	}
}

// auditCmd appends the entry build returns to the audit log, in a command; build gets
// who the operator is and the time.
func (m *Model) auditCmd(build func(redrive.AuditContext) redrive.AuditEntry) tea.Cmd {
	who, ctx, now := m.whoFunc(), m.ctx, m.opts.Now
	return func() tea.Msg {
		path, err := appendAudit(build(redrive.AuditContext{Who: who(ctx), At: now()}))
		return auditDoneMsg{path: path, err: err}
	}
}

// auditRefusal records a redrive refused before anything was planned, as the CLI does.
func (m *Model) auditRefusal(ids []string, reason string) tea.Cmd {
	env := m.sess.Env
	mode := redrive.ModeInplace
	if env.GatewayURL() == "" {
		mode = redrive.ModeS3Copy
	}
	rf := redrive.Refusal{Env: env.Name, Production: env.Production, Selection: redrive.Selection{IDs: ids, Source: "tui"},
		Mode: mode, Rate: env.Rate, Concurrency: redrive.DefaultConcurrency, Reason: reason}
	return m.auditCmd(func(c redrive.AuditContext) redrive.AuditEntry { return redrive.NewRefusalEntry(rf, c) })
}

func appendAudit(e redrive.AuditEntry) (string, error) {
	path, err := redrive.AuditPath()
	if err == nil {
		err = redrive.AppendAudit(path, e)
	}
	return path, err
}

func (m *Model) onAuditDone(msg auditDoneMsg) {
	if msg.err != nil {
		m.setNote(noteWarn, "audit log: "+sanitize.Line(msg.err.Error())+" — the redrive itself is journaled; fix the state directory (XDG_STATE_HOME)")
	}
}

// cancellingNote is the status line while a cancelled run lets its requests finish.
// redriveHiddenNote is the status line while a running redrive's progress is hidden (esc).
const redriveHiddenNote = "the redrive keeps running · R shows it"

const cancellingNote = "cancelling the redrive: nothing new is sent; the requests in flight finish · c again cuts them"

// abortingNote is the status line while a second cancel cuts the requests in flight.
const abortingNote = "cutting the requests in flight: their outcome is journaled unknown and re-checked on --resume"

// outcomeText is how a run ended, in words that do not contradict its counts: the
// title of the summary. Whether the processor took the deliveries is the verdict's line.
func outcomeText(rep *redrive.Report) string {
	if rep == nil {
		return "stopped"
	}
	how, _, _ := strings.Cut(rep.Headline(), ":")
	return how
}

// errIsReadOnly reports whether err is the read-only refusal, from the engine or the
// client layer.
func errIsReadOnly(err error) bool {
	return errors.Is(err, awsclient.ErrReadOnly) || errors.Is(err, redrive.ErrRefusedReadOnly)
}
