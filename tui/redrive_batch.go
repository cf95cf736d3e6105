package tui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// The batch-ops engine (#15) in the redrive dialog: where the environment has batch_ops,
// B hands the plan to S3 Batch Operations instead of sending from this machine. The plan
// is redrive.PrepareBatch's (count, cost estimate, completion-report location); the same
// confirmation rule applies (typed in production); redrive.StartBatch creates and
// confirms the job in a command; Watch's looks come back as messages and are drawn as the
// local progress is; c asks S3 to cancel; Finish reads the completion report into
// stowage's report, and the summary and the status watch follow as for a local run.

// batchState is a batch-ops run's part of the redrive.
type batchState struct {
	plan      *redrive.BatchPlan
	sess      *redrive.BatchSession
	w         *batchWatcher
	prog      redrive.BatchProgress
	looked    bool  // a look at the job came back
	watchErr  error // watching stopped before the job ended (the job goes on)
	cancelErr error
	// The start (claims, CreateJob, confirmation) runs in a command: stopStart ends it,
	// startDone closes once it has returned (with the jobs it created cancelled when it
	// was stopped), quitAsked is the first q during it and quit the second.
	stopStart context.CancelFunc
	startDone chan struct{}
	stopAsked bool
	quitAsked bool
	quit      atomic.Bool
	// leaveAsked is a first q while the job runs: a second one quits and leaves the job
	// running in S3.
	leaveAsked bool
}

// leaveRunningJob answers q while a batch-ops job runs: the job runs in S3 whether
// stowage watches it or not, so stowage may quit, but only on a second q, after saying
// how to follow the job and finish the run (its report, its claims). quit reports
// whether to quit now; handled is false when no batch job runs.
func (m *Model) leaveRunningJob() (quit, handled bool) {
	s := m.rd
	if s == nil || s.batch == nil || s.batch.sess == nil || s.phase != rdRunning {
		return false, false
	}
	if s.batch.leaveAsked {
		return true, true
	}
	s.batch.leaveAsked = true
	watch := "stowage jobs watch"
	if ids := s.batch.sess.JobIDs(); len(ids) > 0 {
		watch = s.command() + " jobs watch " + ids[0]
	}
	m.setNote(noteWarn, sanitize.Line("the job runs on in S3 after stowage quits; "+watch+
		" follows it, reads its report and releases its claims. q again quits, c in the redrive (R) cancels the job"))
	return false, true
}

// batchQuitWait bounds how long quitting during a start follows the jobs it cancelled
// to their end, so that their reports are read and their claims released before stowage
// quits; past it, stowage jobs watch finishes the run.
const batchQuitWait = 10 * time.Second

// batchWatcher carries Watch's looks from its goroutine to Update: the latest one only,
// so a slow screen never holds the watch up.
type batchWatcher struct {
	ch  chan redrive.BatchProgress
	err error // Watch's answer, set before ch closes
}

type (
	batchStartedMsg struct {
		seq  int
		sess *redrive.BatchSession
		w    *batchWatcher
		err  error
		// interrupted: the start was stopped; the jobs created were asked to cancel
		// (cancelErr says how that went). quit: the operator is quitting; finished:
		// the run was followed to its end and finished before.
		interrupted, quit, finished bool
		cancelErr                   error
	}
	batchProgressMsg struct {
		seq    int
		p      redrive.BatchProgress
		closed bool
		err    error
	}
	batchCancelledMsg struct {
		seq int
		err error
	}
	// batchStopStartMsg is c (or q twice) while the jobs are created and confirmed.
	batchStopStartMsg struct {
		s    *redriveState
		quit bool
	}
)

// batchStartingQuitNote answers the first q while the jobs are created and confirmed.
const batchStartingQuitNote = "the job is being created and confirmed: q again cancels every job created and quits (" +
	redrive.BatchCancelNote + "); c cancels and stays; esc hides this"

// batchAvailable reports whether the open environment can hand a redrive to S3 Batch
// Operations: it has a batch_ops section and the session the S3 Control client.
func (m *Model) batchAvailable() bool {
	env := m.sess.Env
	return env != nil && env.BatchOps.Configured() && m.sess.Redrive.Batch.Jobs != nil
}

// batchReportLocation is where the jobs' completion reports go (awsclient.JobStore's).
func (m *Model) batchReportLocation() string {
	if r, ok := m.sess.Redrive.Batch.Jobs.(interface{ ReportLocation() string }); ok {
		return r.ReportLocation()
	}
	return ""
}

// toggleEngine switches the plan between this machine and S3 Batch Operations; the
// plan is then made again.
func (s *redriveState) toggleEngine() tea.Msg {
	s.batchOn = !s.batchOn
	if s.batchOn {
		s.localMode, s.mode = s.mode, redrive.ModeS3Copy
	} else if s.localMode != "" {
		s.mode = s.localMode
	}
	return redriveReplanMsg{s}
}

// batchModes are the batch-ops engine's modes in s's environment.
func (s *redriveState) batchModes() []redrive.Mode {
	if s.env != nil && s.env.BatchOps.LambdaEnabled() {
		return []redrive.Mode{redrive.ModeS3Copy, redrive.ModeBatchLambda}
	}
	return []redrive.Mode{redrive.ModeS3Copy}
}

// planBatch is the command of a batch-ops plan: the manifest as for s3-copy, then
// PrepareBatch.
func (m *Model) planBatch(ctx context.Context, cancel context.CancelFunc, s *redriveState, sel redrive.Selection) tea.Cmd {
	env := m.sess.Env
	opts, err := redrive.PlanOptionsFor(env, redrive.ModeS3Copy)
	if err != nil {
		cancel()
		s.phase, s.planErr = rdPlanFailed, err
		return nil
	}
	opts.Rate, opts.Now = 0, m.opts.Now
	if m.opts.Redrive.RunID != nil {
		opts.RunID = m.opts.Redrive.RunID()
	}
	ratio := m.opts.Redrive.Run.MaxFailureRatio
	if ratio <= 0 {
		ratio = redrive.DefaultMaxFailureRatio
	}
	bo := redrive.BatchPlanOptions{Lambda: s.mode == redrive.ModeBatchLambda, FunctionARN: env.BatchFunction(), Force: s.force,
		Cost: env.BatchOps.Cost, ReportLocation: m.batchReportLocation(), MaxFailureRatio: ratio}
	deps := m.planDeps()
	objects := m.sess.Objects
	seq, envName, command := s.seq, env.Name, s.command()
	return func() tea.Msg {
		defer cancel()
		man, err := redrive.Plan(ctx, deps, sel, opts)
		if err != nil {
			return redrivePlanMsg{seq: seq, err: err}
		}
		if !bo.Lambda && objects != nil {
			// A copy job sets every object's content headers: those a listing did not
			// give are read first, or the copies would lose them.
			if _, err := redrive.DescribeForCopy(ctx, objects, man, 0); err != nil {
				return redrivePlanMsg{seq: seq, err: err}
			}
		}
		p, err := redrive.PrepareBatch(man, bo)
		if err != nil {
			return redrivePlanMsg{seq: seq, err: err}
		}
		overlaps, refusal := unfinishedOverlaps(envName, man, command)
		return redrivePlanMsg{seq: seq, manifest: man, batch: p, overlaps: overlaps, refusal: refusal}
	}
}

// batchConfirmation is the confirmation a job needs: in production always the name typed.
func batchConfirmation(p *redrive.BatchPlan, production bool) redrive.Confirmation {
	n := len(p.Sends)
	if production {
		n = max(n, redrive.BulkThreshold+1)
	}
	return redrive.ConfirmationFor(n, production)
}

// confirmBatch starts the confirmed batch-ops run in a command: claims, the manifest,
// CreateJob, and S3's confirmation (UpdateJobStatus Ready); then the watch starts. When
// the start is stopped (c, ctrl+c, q twice) or the TUI's context ends (the terminal
// closed) once a job exists, every job created is cancelled, confirmed or still
// Suspended, as the CLI does on Ctrl+C: the first may already run, and the others would
// wait forever for a confirmation no one gives.
func (m *Model) confirmBatch(s *redriveState) tea.Cmd {
	s.phase = rdStarting
	s.typing, s.mismatch = false, ""
	b := s.batch
	b.prog = redrive.BatchProgress{Job: awsclient.Job{Status: "New", Total: int64(len(b.plan.Sends))}}
	deps, p, seq := m.sess.Redrive.Batch, b.plan, s.seq
	tuiCtx := m.ctx
	ctx, stop := context.WithCancel(tuiCtx)
	b.stopStart, b.startDone = stop, make(chan struct{})
	done, quit := b.startDone, &b.quit
	force := s.force
	who, now := m.whoFunc(), m.opts.Now
	poll := m.opts.Redrive.BatchPoll
	return func() tea.Msg {
		defer close(done)
		defer stop()
		sess, err := redrive.StartBatch(ctx, deps, p, redrive.BatchStartOptions{Force: force, Poll: poll},
			redrive.SessionConfig{Who: who(ctx), Now: now})
		if sess != nil && poll > 0 {
			sess.Poll = poll
		}
		if sess != nil && ctx.Err() != nil {
			msg := batchStartedMsg{seq: seq, sess: sess, err: err, interrupted: true}
			if len(sess.JobIDs()) > 0 {
				msg.cancelErr = sess.CancelInterrupted(ctx)
			}
			if quit.Load() {
				msg.quit, msg.finished = true, finishQuitting(ctx, sess)
			}
			return msg
		}
		if err != nil || len(sess.JobIDs()) == 0 {
			return batchStartedMsg{seq: seq, sess: sess, err: err}
		}
		return batchStartedMsg{seq: seq, sess: sess, w: startBatchWatch(tuiCtx, sess)}
	}
}

// finishQuitting follows the jobs of a start stopped to quit until they have stopped (at
// most batchQuitWait), then reads their reports, releases the claims and audits; it
// reports whether the run was finished.
func finishQuitting(ctx context.Context, sess *redrive.BatchSession) bool {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchQuitWait)
	defer cancel()
	if len(sess.JobIDs()) > 0 {
		if _, err := sess.Watch(wctx, nil); err != nil {
			return false
		}
	}
	_, _, err := sess.Finish(wctx)
	return err == nil
}

// stopBatchStart answers c, ctrl+c and a second q while the jobs are created and
// confirmed: the start stops and its command cancels every job created.
func (m *Model) stopBatchStart(s *redriveState, quit bool) tea.Cmd {
	b := s.batch
	if s != m.rd || s.phase != rdStarting || b == nil || b.stopStart == nil {
		return nil
	}
	b.stopAsked = true
	if quit {
		b.quit.Store(true)
		m.setNote(noteWarn, "cancelling every job created, then quitting: "+redrive.BatchCancelNote)
	} else {
		m.setNote(noteWarn, "cancelling every job created: S3 stops starting tasks; "+redrive.BatchCancelNote)
	}
	b.stopStart()
	return nil
}

// waitForBatchStart is called once the program has stopped: a start still in its
// command is given the time to cancel the jobs it created (the TUI's context has ended,
// so it stops at once), so leaving the TUI never leaves a job confirmed by half a start.
func (m *Model) waitForBatchStart() {
	s := m.rd
	if s == nil || s.batch == nil || s.batch.startDone == nil {
		return
	}
	if stop := s.batch.stopStart; stop != nil {
		stop()
	}
	select {
	case <-s.batch.startDone:
	case <-time.After(redrive.BatchCancelTimeout + time.Second):
	}
}

// startBatchWatch runs Watch in a goroutine until the jobs end (or ctx does).
func startBatchWatch(ctx context.Context, sess *redrive.BatchSession) *batchWatcher {
	w := &batchWatcher{ch: make(chan redrive.BatchProgress, 1)}
	go func() {
		_, err := sess.Watch(ctx, func(p redrive.BatchProgress) {
			select { // keep only the latest look
			case <-w.ch:
			default:
			}
			w.ch <- p
		})
		w.err = err
		close(w.ch)
	}()
	return w
}

func waitBatch(seq int, w *batchWatcher) tea.Cmd {
	return func() tea.Msg {
		p, ok := <-w.ch
		if !ok {
			return batchProgressMsg{seq: seq, closed: true, err: w.err}
		}
		return batchProgressMsg{seq: seq, p: p}
	}
}

func (m *Model) onBatchStarted(msg batchStartedMsg) tea.Cmd {
	s := m.rd
	if s == nil || msg.seq != s.seq || s.phase != rdStarting || s.batch == nil {
		return nil
	}
	b := s.batch
	b.sess, b.stopStart = msg.sess, nil
	switch {
	case msg.quit:
		m.quitting = true
		return tea.Quit
	case msg.sess == nil:
		s.phase, s.startErr = rdFinished, msg.err // StartBatch audited the refusal
		return nil
	case msg.interrupted:
		// Stopped during the start: the jobs created were asked to cancel; they are
		// followed to their end and the run finished as a cancel mid-job is.
		s.cancelling = true
		if msg.cancelErr != nil {
			b.cancelErr = msg.cancelErr
			m.setErr("cancel the job", msg.cancelErr)
		}
	case msg.err != nil && len(msg.sess.JobIDs()) > 0:
		// Jobs exist but were not all confirmed or followed: the record lets jobs watch
		// take them over.
		s.phase, b.watchErr = rdFinished, msg.err
		return nil
	}
	s.phase = rdRunning
	s.journal = msg.sess.Record().Path()
	b.prog = redrive.BatchProgress{Job: awsclient.Job{Status: "Ready", Total: int64(len(b.plan.Sends))}}
	if msg.interrupted && len(msg.sess.JobIDs()) > 0 {
		msg.w = startBatchWatch(context.WithoutCancel(m.ctx), msg.sess)
	}
	if msg.w == nil {
		return m.finishBatch(s) // no job (nothing claimed, or stopped before CreateJob): Finish releases and audits
	}
	b.w = msg.w
	if b.stopAsked && !msg.interrupted {
		// The start had ended when the stop was asked: the jobs are cancelled now.
		cancel := m.cancelBatch(s)
		if b.quit.Load() {
			m.quitting = true
			return tea.Sequence(cancel, tea.Quit)
		}
		return tea.Batch(waitBatch(s.seq, msg.w), cancel)
	}
	return waitBatch(s.seq, msg.w)
}

// onBatchLook takes one look at the job, or the end of the watch.
func (m *Model) onBatchLook(msg batchProgressMsg) tea.Cmd {
	s := m.rd
	if s == nil || msg.seq != s.seq || s.phase != rdRunning || s.batch == nil {
		return nil
	}
	b := s.batch
	if !msg.closed {
		b.prog, b.looked = msg.p, true
		return waitBatch(s.seq, b.w)
	}
	if msg.err != nil && !errors.Is(msg.err, context.Canceled) {
		s.phase, b.watchErr = rdFinished, msg.err
		return nil
	}
	if msg.err != nil {
		return nil // the TUI is closing: the job goes on; jobs watch finishes it
	}
	return m.finishBatch(s)
}

// finishBatch reads the completion report into stowage's report, releases the claims and
// audits, in a command; the summary and the status watch then follow as for a local run.
func (m *Model) finishBatch(s *redriveState) tea.Cmd {
	sess, seq, ctx := s.batch.sess, s.seq, context.WithoutCancel(m.ctx)
	return func() tea.Msg {
		rep, fin, _ := sess.Finish(ctx)
		return redriveFinishedMsg{seq: seq, out: finishResult{report: rep, reportPath: fin.ReportPath, reportErr: fin.ReportErr,
			auditPath: fin.AuditPath, auditErr: fin.AuditErr}}
	}
}

// cancelBatch asks S3 to cancel the run's jobs (c, ctrl+c); the watch goes on until they
// have stopped.
func (m *Model) cancelBatch(s *redriveState) tea.Cmd {
	b := s.batch
	if b.sess == nil {
		return nil
	}
	if s.cancelling {
		m.setNote(noteWarn, "cancelling the job: S3 stops starting tasks; "+redrive.BatchCancelNote)
		return nil
	}
	s.cancelling = true
	m.setNote(noteWarn, "cancelling the job: S3 stops starting tasks; "+redrive.BatchCancelNote)
	sess, seq, ctx := b.sess, s.seq, context.WithoutCancel(m.ctx)
	return func() tea.Msg {
		err := sess.Cancel(ctx, "cancelled in stowage by the operator")
		if awsclient.KindOf(err) == awsclient.KindInvalid {
			err = nil // it had ended already
		}
		return batchCancelledMsg{seq: seq, err: err}
	}
}

func (m *Model) onBatchCancelled(msg batchCancelledMsg) {
	s := m.rd
	if s == nil || msg.seq != s.seq || s.batch == nil || msg.err == nil {
		return
	}
	s.batch.cancelErr = msg.err
	m.setErr("cancel the job", msg.err)
}

// ---- drawing ----

// batchPlanLines are the plan's engine lines: the jobs, what they cost, where the
// report goes, what is left out.
func (s *redriveState) batchPlanLines(st Styles, w int) []string {
	p := s.batch.plan
	jobs := "1 job"
	if len(p.Groups) > 1 {
		jobs = strconv.Itoa(len(p.Groups)) + " jobs (by content type)"
	}
	out := []string{
		field(st, "engine", st.DialogSel.Render("[S3 Batch Operations]")+st.Muted.Render(" local ")+st.Faint.Render("  B")),
		field(st, "job", commas(len(p.Sends))+" tasks in "+jobs+st.Faint.Render(" · stops past "+
			strconv.FormatFloat(p.MaxFailureRatio*100, 'f', -1, 64)+"% failed")),
		field(st, "cost", sanitize.Line(p.CostText())),
		field(st, "report", sanitize.Line(strings.TrimSuffix(p.ReportLocation, "/"))+"/job-ID/"+st.Faint.Render(" (all tasks)")),
		field(st, "manifest", "sha256 "+shortHash(s.summary.Hash)+st.Faint.Render(" · run "+sanitize.Line(s.summary.RunID))),
	}
	if p.FunctionARN != "" {
		out = append(out, field(st, "function", sanitize.Line(p.FunctionARN)))
	}
	return out
}

// modeHelp says what the chosen mode does, on the chosen engine.
func (s *redriveState) modeHelp() string {
	if !s.batchOn {
		return modeHelp(s.mode)
	}
	if s.mode == redrive.ModeBatchLambda {
		return "S3 invokes the processor with its job event (schema 2.0)"
	}
	return "S3 copies each object onto itself: its event fires again"
}

// batchSummaryTag marks the summary of a batch-ops run.
func (s *redriveState) batchSummaryTag() string {
	if s.batch == nil {
		return ""
	}
	return " · S3 Batch Operations"
}

// batchSummaryLines name the run's jobs in the summary.
func (s *redriveState) batchSummaryLines(st Styles, w int) []string {
	if s.batch == nil || s.batch.sess == nil {
		return nil
	}
	ids := s.batch.sess.JobIDs()
	if len(ids) == 0 {
		return nil
	}
	label := "job"
	if len(ids) > 1 {
		label = "jobs"
	}
	text := sanitize.Line(strings.Join(ids, ", "))
	if len(ids) > 1 {
		text = strconv.Itoa(len(ids)) + ": " + text
	}
	return []string{field(st, label, ansi.Truncate(text, max(10, w-11), "…"))}
}

// batchSendText is what a confirmed batch-ops plan does.
func (s *redriveState) batchSendText() string {
	p := s.batch.plan
	jobs := "one S3 Batch Operations job"
	if len(p.Groups) > 1 {
		jobs = strconv.Itoa(len(p.Groups)) + " S3 Batch Operations jobs"
	}
	return fmt.Sprintf("%s as %s (estimated %.2f %s)", plural(len(p.Sends), "request"), jobs, p.Cost, sanitize.Line(p.Currency))
}

// batchCounts is the job's tasks in words.
func batchCounts(p redrive.BatchProgress) string {
	j := p.Job
	return commas(int(j.Done())) + " of " + commas(int(j.Total)) + " tasks · succeeded " + commas(int(j.Succeeded)) +
		" · failed " + commas(int(j.Failed))
}

func batchRate(p redrive.BatchProgress) string {
	rate := "measuring…"
	if p.RateMeasured {
		rate = strconv.FormatFloat(p.Rate, 'f', 1, 64) + " tasks/s"
	}
	if p.ETA > 0 {
		rate += " · ETA " + fmtSeconds(p.ETA)
	}
	return rate
}

func (s *redriveState) batchTitle(st Styles) string {
	b := s.batch
	what := "Batch Operations job"
	if ids := b.sess.JobIDs(); len(ids) > 1 {
		what = strconv.Itoa(len(ids)) + " Batch Operations jobs"
	} else if len(ids) == 1 {
		what += " " + sanitize.Line(ids[0])
	}
	if s.phase == rdStarting {
		what = "Creating a Batch Operations job for " + plural(len(b.plan.Sends), "request")
	}
	return s.title(st, what)
}

// batchStateLine is the job's status and what stowage asked of it.
func (s *redriveState) batchStateLine(st Styles) string {
	p := s.batch.prog
	line := field(st, "status", sanitize.Line(p.Job.Status))
	switch {
	case p.Stopping != "":
		line += "  " + st.StatusWarn.Render("stopping: "+sanitize.Line(p.Stopping))
	case s.cancelling:
		line += "  " + st.StatusWarn.Render("cancel asked: "+redrive.BatchCancelNote)
	}
	return line
}

// startingKeys are the keys while the jobs are created and confirmed.
func (s *redriveState) startingKeys(st Styles) string {
	if s.batch.stopAsked {
		return st.StatusWarn.Render("cancelling every job created…")
	}
	return st.Prompt.Render("c") + " stop and cancel the jobs created   " + st.Prompt.Render("esc") + " hide"
}

// renderBatchProgress is the job's progress in full (R).
func (s *redriveState) renderBatchProgress(st Styles, w int) (head, middle, tail []string) {
	b := s.batch
	if s.phase == rdStarting || b.sess == nil {
		head = append(head, s.title(st, "Creating a Batch Operations job for "+plural(len(b.plan.Sends), "request")), "",
			st.Muted.Render("claiming the requests, uploading the manifest, CreateJob, then confirming it to S3…"))
		return head, nil, []string{"", s.startingKeys(st)}
	}
	p := b.prog
	head = append(head, s.batchTitle(st)+st.Faint.Render(" · "+string(s.mode)), st.Muted.Render(sanitize.Line(s.summary.Target)), "")
	bar := st.Progress
	bar.SetWidth(max(10, w))
	head = append(head, bar.ViewAs(p.Fraction()), batchCounts(p), field(st, "rate", batchRate(p)), s.batchStateLine(st))
	if b.cancelErr != nil {
		head = append(head, errorLines(st, errorText("cancel", b.cancelErr), w)...)
	}
	// The record's name: the state directory is in the summary.
	tail = append(tail, "", field(st, "record", middleTruncate(sanitize.Line(filepath.Base(s.journal)), max(10, w-11))),
		field(st, "report", sanitize.Line(strings.TrimSuffix(b.plan.ReportLocation, "/"))+"/job-ID/"))
	if until := b.sess.ClaimsUntil(); !until.IsZero() {
		tail = append(tail, field(st, "claims", "held until "+until.UTC().Format("Jan 2 15:04")+" UTC"+
			st.Faint.Render(" · renewed while stowage watches; unwatched, they lapse")))
	}
	tail = append(tail, "", st.Prompt.Render("c")+" cancel the job   "+st.Prompt.Render("esc")+" hide (S3 runs it on)")
	return head, nil, tail
}

// renderBatchDock is the job's progress docked under the table, in at most h lines.
func (s *redriveState) renderBatchDock(st Styles, w, h int) []string {
	b := s.batch
	if s.phase == rdStarting || b.sess == nil {
		lines := []string{s.title(st, "Creating a Batch Operations job for "+plural(len(b.plan.Sends), "request")),
			st.Muted.Render("claiming, uploading the manifest, CreateJob, confirming…"), s.startingKeys(st)}
		return lines[:min(len(lines), max(1, h))]
	}
	p := b.prog
	bar := st.Progress
	bar.SetWidth(max(10, w))
	lines := []string{s.batchTitle(st) + st.Faint.Render(" · "+sanitize.Line(p.Job.Status)),
		batchCounts(p) + st.Faint.Render(" · "+batchRate(p))}
	switch {
	case p.Stopping != "":
		lines = append(lines, st.StatusWarn.Render("stopping: "+sanitize.Line(p.Stopping)))
	case s.cancelling:
		lines = append(lines, st.StatusWarn.Render("cancel asked: "+redrive.BatchCancelNote))
	}
	keys := st.Prompt.Render("c") + " cancel the job  " + st.Prompt.Render("esc") + " hide  " + st.Prompt.Render("R") + " details"
	if len(lines)+2 <= h {
		lines = append(lines[:1], append([]string{bar.ViewAs(p.Fraction())}, lines[1:]...)...)
	}
	if len(lines) >= h {
		lines = lines[:max(1, h-1)]
	}
	return append(lines, keys)
}

// renderBatchStopped is the summary of a run whose job could not be followed to its end.
func (s *redriveState) renderBatchStopped(st Styles, w int) (head, middle, tail []string) {
	b := s.batch
	ids := b.sess.JobIDs()
	head = append(head, s.title(st, "Batch Operations job not followed to its end"), "")
	for _, l := range wrapLines(errorText("", b.watchErr), w-2) {
		head = append(head, st.StatusError.Render("✗ ")+st.ErrorText.Render(l))
	}
	if len(ids) > 0 {
		prefix := s.commandPrefix
		if prefix == "" {
			prefix = "stowage"
		}
		what := "The job runs on in S3: follow it and read its report with"
		if len(ids) > 1 {
			what = "The jobs run on in S3: follow them and read their reports with"
		}
		for _, l := range wrapLines(what, w) {
			head = append(head, st.StatusWarn.Render(l))
		}
		// The command whole, on its own line, to be copied.
		head = append(head, "  "+st.Prompt.Render(sanitize.Line(prefix+" jobs watch "+ids[0])))
	}
	return head, nil, []string{"", st.Faint.Render("esc close")}
}
