package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/pflag"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// redrive --engine batch-ops: the plan handed to S3 Batch Operations (#15).

// engineBatchOps is --engine's value that hands the run to S3 Batch Operations.
const engineBatchOps = "batch-ops"

// engineLocal is the default engine: this machine sends every request.
const engineLocal = "local"

// batchFlags are the flags of the batch-ops engine.
type batchFlags struct {
	engine string
	// poll is how often the job is described (hidden: tests).
	poll time.Duration
}

// defaultBatchPoll is how often a job is described: DescribeJob is cheap, and a job's
// counts move every few seconds.
const defaultBatchPoll = 2 * time.Second

// addBatchFlags registers --engine and its flags on redrive.
func addBatchFlags(fl *pflag.FlagSet, f *batchFlags) {
	fl.StringVar(&f.engine, "engine", engineLocal, "local (this machine sends) or batch-ops (one S3 Batch Operations job runs --mode s3-copy or lambda; see batch_ops in the config)")
	fl.DurationVar(&f.poll, "batch-poll", defaultBatchPoll, "how often a batch-ops job is described")
	_ = fl.MarkHidden("batch-poll")
}

// checkBatchFlags validates them before anything is read or sent.
func (r *redriveRun) checkBatchFlags(fl *pflag.FlagSet) error {
	f := r.f
	switch f.batch.engine {
	case engineLocal:
		return nil
	case engineBatchOps:
	default:
		return exitf(ExitUsage, "--engine %s: want local or batch-ops", sanitize.Line(f.batch.engine))
	}
	if f.resume != "" {
		return exitf(ExitUsage, "--resume continues a local run; a batch-ops job is followed with stowage jobs watch ID")
	}
	if m := string(r.mode); m != string(redrive.ModeS3Copy) && m != string(redrive.ModeBatchLambda) {
		return exitf(ExitUsage, "--engine batch-ops runs --mode s3-copy or --mode lambda, not %s", sanitize.Line(f.mode))
	}
	for _, name := range []string{"rate", "concurrency", "max-attempts", "timeout", "unknown-settle", "journal"} {
		if fl.Changed(name) {
			return exitf(ExitUsage, "--%s does not apply to --engine batch-ops: S3 runs the job's tasks at its own pace, with its own retries", name)
		}
	}
	if f.batch.poll <= 0 {
		return exitf(ExitUsage, "--batch-poll %s: want a duration above 0", f.batch.poll)
	}
	return nil
}

// runBatchOps plans the run and hands it to S3 Batch Operations.
func (r *redriveRun) runBatchOps(ctx context.Context) error {
	env := r.env
	lambda := string(r.mode) == string(redrive.ModeBatchLambda)
	if !env.BatchOps.Configured() || r.clients.Jobs == nil {
		return exitf(ExitUsage, "environment %q has no batch_ops section (role_arn, manifest_prefix, report_prefix): --engine batch-ops needs it; see stowage doctor and the README", env.Name)
	}
	if lambda && !env.BatchOps.LambdaEnabled() {
		return exitf(ExitUsage, "--engine batch-ops --mode lambda invokes the processor with S3 Batch Operations' own event (invocation schema 2.0), not an S3 notification: set batch_ops.lambda_schema: \"2.0\" in environment %q once the processor accepts it (see the README), or use --mode s3-copy", env.Name)
	}
	opts, err := redrive.PlanOptionsFor(env, redrive.ModeS3Copy)
	if err != nil {
		return exitf(ExitUsage, "%s", sanitize.Line(err.Error()))
	}
	opts.Rate, opts.Now = 0, r.g.clock()
	m, err := r.plan(ctx, opts)
	if err != nil {
		return err
	}
	if !lambda {
		// A copy job sets every object's content headers: those a listing left unknown
		// are read first, or the copies would lose them.
		if _, err := redrive.DescribeForCopy(ctx, r.clients.Objects, m, 0); err != nil {
			return exitForAWS(err)
		}
	}
	p, err := redrive.PrepareBatch(m, redrive.BatchPlanOptions{Lambda: lambda, FunctionARN: env.BatchFunction(), Force: r.f.force,
		Cost: env.BatchOps.Cost, ReportLocation: r.clients.Jobs.ReportLocation(), MaxFailureRatio: r.f.maxFailureRatio})
	if err != nil {
		return exitf(ExitUsage, "%s", sanitize.Line(err.Error()))
	}
	summary := m.Summary()
	if r.f.dryRun {
		r.auditDecision(ctx, m, redrive.OutcomeDryRun, "", false)
		r.overlaps(m)
		return r.writeBatchDryRun(m, summary, p)
	}
	r.writeBatchSummary(r.stderr, summary, r.g.isTerminal(r.g.Stderr))
	r.writeBatchPlan(r.stderr, p)
	if reason := r.overlaps(m); reason != "" {
		r.auditDecision(ctx, m, redrive.OutcomeRefused, reason, false)
		return exitf(ExitUsage, "redrive refused, nothing was sent: %s", reason)
	}
	if len(m.Items) == 0 {
		r.auditDecision(ctx, m, redrive.OutcomeEmpty, "", false)
		return exitf(ExitNotFound, "nothing to redrive: %s matched no stored request", sanitize.Line(r.sel.Describe()))
	}
	if len(p.Sends) == 0 {
		reason := "every planned request is left out of the job (see the plan)"
		r.auditDecision(ctx, m, redrive.OutcomeRefused, reason, false)
		return exitf(ExitNotFound, "nothing to hand to S3 Batch Operations: %s", reason)
	}
	count := len(p.Sends)
	if env.Production {
		count = max(count, redrive.BulkThreshold+1) // a job in production always needs the name typed
	}
	jobs := "one S3 Batch Operations job"
	if len(p.Groups) > 1 {
		jobs = fmt.Sprintf("%d S3 Batch Operations jobs", len(p.Groups))
	}
	what := fmt.Sprintf("%d requests as %s (estimated %.2f %s)", len(p.Sends), jobs, p.Cost, p.Currency)
	if ok, err := r.confirm(ctx, count, what); !ok {
		outcome, reason := redrive.OutcomeDeclined, "the operator declined"
		if err != nil {
			outcome, reason = redrive.OutcomeRefused, "no confirmation possible"
		}
		r.auditDecision(ctx, m, outcome, reason, false)
		if err != nil {
			return err
		}
		return &ExitError{Code: ExitCancelled, Err: errors.New("not confirmed; nothing was sent and no job was created")}
	}
	sess, err := redrive.StartBatch(ctx, redrive.BatchDepsFor(r.clients), p, redrive.BatchStartOptions{Force: r.f.force, Poll: r.f.batch.poll},
		r.sessionConfig(ctx))
	if err != nil {
		if sess == nil {
			return exitf(ExitUsage, "%s", sanitize.Line(err.Error())) // StartBatch audited the refusal
		}
		// Claims or a job may exist: finish the record so the claims are released.
		interrupted := errors.Is(err, context.Canceled) || ctx.Err() != nil
		switch ids := sess.JobIDs(); {
		case interrupted && len(ids) == 0:
			fmt.Fprintln(r.stderr, "stowage: interrupted before any job was created: nothing was sent, and the claims made are released")
		case interrupted:
			// Ctrl+C while the jobs were created or confirmed: those confirmed already
			// run in S3, and the operator wanted the work stopped. Every job is
			// cancelled (an unconfirmed one too), then the run ends as a cancel
			// mid-job does: the reports read, the claims released, the report and
			// the audit written.
			fmt.Fprintf(r.stderr, "stowage: interrupted while %s being created and confirmed.\n",
				map[bool]string{true: "the jobs were", false: "the job was"}[len(p.Groups) > 1])
			return r.followBatch(ctx, sess, m, true)
		default:
			fmt.Fprintf(r.stderr, "stowage: %s\n", sanitize.Line(err.Error()))
		}
		if ids := sess.JobIDs(); len(ids) > 0 {
			fmt.Fprintf(r.stderr, "Job(s) %s were created but not all confirmed or followed: follow them with %s jobs watch %s\n",
				sanitize.Line(strings.Join(ids, ", ")), r.commandPrefix(), sanitize.Line(ids[0]))
			return exitForAWS(err)
		}
		rep, fin, _ := sess.Finish(context.WithoutCancel(ctx))
		if rep != nil {
			r.writeBatchOutcome(rep, fin.ReportPath, sess)
		}
		return exitForAWS(err)
	}
	sess.Poll = r.f.batch.poll
	if ids := sess.JobIDs(); len(ids) == 0 {
		fmt.Fprintln(r.stderr, "No request could be claimed: no job was created.")
	} else {
		fmt.Fprintf(r.stderr, "%s confirmed (both confirmations given): S3 runs %s now.\n", jobsNamed(ids), itOrThem(ids))
	}
	return r.followBatch(ctx, sess, m, false)
}

// followBatch watches the job to its end, cancels it on Ctrl+C, reads its report and
// says how it went. interrupted (Ctrl+C during the start) cancels the jobs at once.
func (r *redriveRun) followBatch(ctx context.Context, sess *redrive.BatchSession, m *redrive.Manifest, interrupted bool) error {
	if len(sess.JobIDs()) > 0 {
		var err error
		if interrupted {
			err = cancelBatch(ctx, r.g, r.stderr, sess, r.commandPrefix(), newBatchDraw(r.g, r.stderr))
		} else {
			err = watchBatch(ctx, r.g, r.stderr, sess, r.commandPrefix())
		}
		if err != nil {
			return err
		}
	}
	writeFinishing(r.stderr, sess)
	rep, fin, auditErr := sess.Finish(context.WithoutCancel(ctx))
	if rep == nil {
		return exitForAWS(auditErr)
	}
	if fin.ReportErr != nil {
		fmt.Fprintf(r.stderr, "stowage: warning: %s\n", sanitize.Line(fin.ReportErr.Error()))
	}
	if auditErr != nil {
		fmt.Fprintf(r.stderr, "stowage: warning: audit log: %s\n", sanitize.Line(auditErr.Error()))
	}
	verdict, waited := r.waitVerdicts(context.WithoutCancel(ctx), rep, m)
	if waited && fin.ReportPath != "" {
		if err := rep.SaveJSONLines(fin.ReportPath); err != nil {
			fmt.Fprintf(r.stderr, "stowage: warning: %s\n", sanitize.Line(err.Error()))
		}
	}
	if err := r.writeReport(rep); err != nil {
		return err
	}
	r.writeBatchOutcome(rep, fin.ReportPath, sess)
	if waited {
		r.writeVerdict(verdict)
	}
	exit := batchExit(rep)
	if auditErr != nil && exit == nil {
		return exitf(ExitUsage, "%s", sanitize.Line(auditErr.Error()))
	}
	if exit == nil && waited && !verdict.out.AllProcessed() {
		return &ExitError{Code: exitNotProcessed, Err: fmt.Errorf("delivered, but not processed: %s", verdict.out.Text(redrive.DoneStateName(r.env)))}
	}
	return exit
}

// watchBatch draws the job's progress on stderr until it ends. The first Ctrl+C asks S3
// to cancel the job (saying plainly that what ran is not undone) and keeps watching; a
// second one stops watching and leaves the job to stowage jobs watch.
func watchBatch(ctx context.Context, g *Globals, stderr io.Writer, sess *redrive.BatchSession, prefix string) error {
	tty := g.isTerminal(g.Stderr)
	draw := newBatchDraw(g, stderr)
	// On a terminal, c (and Enter: the terminal is not raw) asks to cancel too.
	wctx, stopKeys := context.WithCancel(ctx)
	defer stopKeys()
	if g.isTerminal(g.Stdin) && g.Stdin != nil {
		go func() {
			sc := bufio.NewScanner(g.Stdin)
			for sc.Scan() {
				if strings.EqualFold(strings.TrimSpace(sc.Text()), "c") {
					stopKeys()
					return
				}
				if wctx.Err() != nil {
					return
				}
			}
		}()
		if tty {
			fmt.Fprintf(stderr, "(c and Enter, or Ctrl+C, cancels %s)\n", map[bool]string{true: "the jobs", false: "the job"}[len(sess.JobIDs()) > 1])
		}
	}
	_, err := sess.Watch(wctx, draw)
	if tty {
		fmt.Fprintln(stderr)
	}
	if err == nil {
		return nil
	}
	if wctx.Err() == nil {
		return exitForAWS(err)
	}
	// c or Ctrl+C: cancel the job, then follow it to its end.
	return cancelBatch(ctx, g, stderr, sess, prefix, draw)
}

// newBatchDraw is the progress drawer of a watch: the line redrawn on a terminal, else a
// line when the status changes and at every tenth.
func newBatchDraw(g *Globals, stderr io.Writer) func(redrive.BatchProgress) {
	tty := g.isTerminal(g.Stderr)
	width := g.terminalWidth(g.Stderr)
	lastStatus, lastTenth := "", int64(-1)
	return func(p redrive.BatchProgress) {
		line := batchProgressLine(p, width)
		if tty {
			fmt.Fprint(stderr, "\r\x1b[2K"+line)
			return
		}
		tenth := int64(-1)
		if p.Job.Total > 0 {
			tenth = p.Job.Done() * 10 / p.Job.Total
		}
		if p.Job.Status != lastStatus || tenth != lastTenth {
			fmt.Fprintln(stderr, line)
			lastStatus, lastTenth = p.Job.Status, tenth
		}
	}
}

// cancelBatch asks S3 to cancel every job of the run that has not ended (confirmed or
// still Suspended), with a fresh short context since the run's has ended, says that what
// ran is not undone, and follows the jobs to their end. Ctrl+C again stops following and
// leaves the jobs to stowage jobs watch.
func cancelBatch(ctx context.Context, g *Globals, stderr io.Writer, sess *redrive.BatchSession, prefix string, draw func(redrive.BatchProgress)) error {
	tty := g.isTerminal(g.Stderr)
	bg := context.WithoutCancel(ctx)
	ids := sess.JobIDs()
	fmt.Fprintf(stderr, "stowage: cancelling %s: S3 stops starting tasks; %s. (Ctrl+C again stops watching; %s on: %s jobs watch %s)\n",
		strings.ToLower(jobsNamed(ids)[:1])+jobsNamed(ids)[1:], redrive.BatchCancelNote, map[bool]string{true: "the jobs go", false: "the job goes"}[len(ids) > 1], prefix, sanitize.Line(ids[0]))
	kctx, kcancel := context.WithTimeout(bg, redrive.BatchCancelTimeout)
	err := sess.Cancel(kctx, "cancelled in stowage by the operator")
	kcancel()
	if err != nil && awsclient.KindOf(err) != awsclient.KindInvalid {
		fmt.Fprintf(stderr, "stowage: warning: the job could not be cancelled: %s\n", clipEchoed(err.Error(), maxMessage))
	}
	sig, stop := notifyStop()
	defer stop()
	cctx, cancel := context.WithCancel(bg)
	defer cancel()
	go func() {
		select {
		case <-sig:
			cancel()
		case <-cctx.Done():
		}
	}()
	if _, err := sess.Watch(cctx, draw); err != nil {
		if tty {
			fmt.Fprintln(stderr)
		}
		if cctx.Err() != nil {
			return &ExitError{Code: ExitCancelled, Err: fmt.Errorf("stopped watching job %s; it may still be cancelling: follow it with %s jobs watch %s",
				sanitize.Line(strings.Join(ids, ", ")), prefix, sanitize.Line(ids[0]))}
		}
		return exitForAWS(err)
	}
	if tty {
		fmt.Fprintln(stderr)
	}
	return nil
}

// batchProgressLine renders a job's progress in at most width cells (0: no limit):
// tasks succeeded / failed / total, rate, ETA.
func batchProgressLine(p redrive.BatchProgress, width int) string {
	const barWidth = 24
	filled := int(p.Fraction() * barWidth)
	bar := "[" + strings.Repeat("█", filled) + strings.Repeat("░", barWidth-filled) + "]"
	j := p.Job
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s  %d/%d  succeeded %d  failed %d", bar, sanitize.Line(j.Status), j.Done(), j.Total, j.Succeeded, j.Failed)
	if p.RateMeasured {
		fmt.Fprintf(&b, "  • %.1f tasks/s", p.Rate)
	}
	if p.ETA > 0 {
		fmt.Fprintf(&b, "  • ETA %s", p.ETA.Round(time.Second))
	}
	if p.Stopping != "" {
		b.WriteString("  • cancelling: " + sanitize.Line(p.Stopping))
	}
	if width > 0 {
		return ansi.Truncate(b.String(), width-1, "…")
	}
	return b.String()
}

// writeBatchSummary is the plan's summary without the local engine's rate line (S3 runs
// the tasks at its own pace).
func (r *redriveRun) writeBatchSummary(w io.Writer, s redrive.Summary, samples bool) {
	var b bytes.Buffer
	r.writeSummary(&b, s, samples)
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if !strings.HasPrefix(line, "  rate ") {
			io.WriteString(w, line)
		}
	}
}

// writeBatchDryRun is writeDryRun with the batch-ops plan: its summary (without the rate
// line) and the jobs, then the items.
func (r *redriveRun) writeBatchDryRun(m *redrive.Manifest, s redrive.Summary, p *redrive.BatchPlan) error {
	stdout, stderr := r.g.Stdout, r.stderr
	var out, errb bytes.Buffer
	r.g.Stdout, r.stderr = &out, &errb
	err := r.writeDryRun(m, s)
	r.g.Stdout, r.stderr = stdout, stderr
	// writeDryRun put the summary on one of them, the items on stdout and "Dry run" last
	// on stderr: the summary loses its rate line and gains the jobs.
	summaryOn, summary := &out, out.String()
	if r.format == outputJSON {
		summaryOn, summary = &errb, errb.String()
	}
	head, rest, _ := strings.Cut(summary, "\n\n") // the table follows the summary after a blank line
	if r.format == outputJSON {
		head, rest, _ = strings.Cut(summary, "Dry run: ")
		rest = "Dry run: " + rest
	} else {
		rest = "\n" + rest
	}
	var plan bytes.Buffer
	for _, line := range strings.SplitAfter(head, "\n") {
		if !strings.HasPrefix(line, "  rate ") {
			plan.WriteString(line)
		}
	}
	if !strings.HasSuffix(plan.String(), "\n") && plan.Len() > 0 {
		plan.WriteString("\n")
	}
	r.writeBatchPlan(&plan, p)
	summaryOn.Reset()
	summaryOn.WriteString(plan.String() + rest)
	if _, werr := stdout.Write(out.Bytes()); werr != nil {
		return werr
	}
	io.WriteString(stderr, errb.String())
	return err
}

// writeBatchPlan adds what the job will do to the plan: the engine, the operation (and,
// for a copy, what it does to each object's settings), the count, the estimated cost,
// where the manifest and the report go, and the failure threshold. Each line fits 80
// columns but for the names (ARNs, URIs) it quotes.
func (r *redriveRun) writeBatchPlan(w io.Writer, p *redrive.BatchPlan) {
	theJob := "the job"
	if len(p.Groups) > 1 {
		theJob = "the jobs"
	}
	fmt.Fprintf(w, "  engine       S3 Batch Operations; stowage confirms %s after you do\n", theJob)
	switch p.Op {
	case awsclient.JobLambda:
		fmt.Fprintf(w, "  operation    LambdaInvoke %s (invocation schema 2.0)\n", sanitize.Line(p.FunctionARN))
	default:
		// What S3's CopyObject does with what a copy job does not set (a job gives every
		// object the same settings, so the objects' own cannot be passed on as the local
		// s3-copy passes them): the plan says so before anything is sent.
		fmt.Fprintf(w, "  operation    S3PutObjectCopy onto the same key, metadata REPLACE\n")
		fmt.Fprintf(w, "  keeps        Content-Type, Content-Encoding (one job per pair), tags\n")
		fmt.Fprintf(w, "  sets         %s (user metadata)\n", awsclient.RedrivenAtMeta)
		fmt.Fprintf(w, "  drops        other user metadata, Cache-Control, Content-Disposition,\n")
		fmt.Fprintf(w, "               Content-Language, Expires\n")
		fmt.Fprintf(w, "  resets       storage class to STANDARD, SSE-KMS to the bucket's default\n")
		fmt.Fprintf(w, "               key (the local s3-copy keeps both); as any copy: ACLs to\n")
		fmt.Fprintf(w, "               private, object lock to the bucket's default retention\n")
	}
	if len(p.Groups) > 1 {
		fmt.Fprintf(w, "  jobs         %d requests in %d jobs\n", len(p.Sends), len(p.Groups))
		for i, g := range p.Groups {
			if i == 5 {
				fmt.Fprintf(w, "                 … and %d more\n", len(p.Groups)-5)
				break
			}
			fmt.Fprintf(w, "                 job %d: %d requests, %s\n", i+1, len(g.IDs), sanitize.Line(g.Headers()))
		}
	} else {
		fmt.Fprintf(w, "  jobs         %d requests in 1 job\n", len(p.Sends))
	}
	fmt.Fprintf(w, "  cost         %s\n", sanitize.Line(p.CostText()))
	fmt.Fprintf(w, "               (request fees: not data transfer, KMS or Lambda duration)\n")
	if jobs := r.clients.Jobs; jobs != nil {
		key := jobs.ManifestKey(p.Manifest.RunID)
		if len(p.Groups) > 1 {
			key = strings.TrimSuffix(key, ".csv") + "-N.csv"
		}
		fmt.Fprintf(w, "  csv          s3://%s/%s\n", sanitize.Line(jobs.Options().ManifestBucket), sanitize.Line(key))
		fmt.Fprintf(w, "               (the job manifest, uploaded after your confirmation)\n")
	}
	fmt.Fprintf(w, "  report       %s/job-ID/ (all tasks)\n", sanitize.Line(strings.TrimSuffix(p.ReportLocation, "/")))
	if r.clients.Leases != nil {
		for i, line := range wrapWords(redrive.BatchClaimsNote, 62) {
			fmt.Fprintf(w, "  %-12s %s\n", map[bool]string{true: "claims", false: ""}[i == 0], line)
		}
	}
	if p.MaxFailureRatio < 1 {
		fmt.Fprintf(w, "  threshold    stowage cancels once over %g%% of the finished tasks failed\n", p.MaxFailureRatio*100)
		fmt.Fprintf(w, "               (and S3 fails a job over 50%% failed after 1,000 tasks)\n")
	}
}

// firstLost names one lost claim: "req-1: claimed by …".
func firstLost(lost map[string]string) string {
	ids := make([]string, 0, len(lost))
	for id := range lost {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids[0] + ": " + lost[ids[0]]
}

// writeClaimsState says, as a watch reattaches, until when the run's claims hold, or
// that they lapsed and when.
func writeClaimsState(w io.Writer, sess *redrive.BatchSession, now time.Time) {
	until := sess.ClaimsUntil()
	switch {
	case until.IsZero():
	case now.After(until):
		fmt.Fprintf(w, "stowage: warning: this run's claims lapsed at %s, %s ago (held 24 h; no stowage watched the job to renew them): another run may have redriven some of its requests since; while this watch runs they are claimed again, and those taken are named at the end\n",
			until.UTC().Format(time.RFC3339), now.Sub(until).Round(time.Minute))
	default:
		fmt.Fprintf(w, "Claims held until %s (in %s); renewed while this watch runs.\n", until.UTC().Format(time.RFC3339), until.Sub(now).Round(time.Minute))
	}
}

// writeBatchOutcome says on stderr how the job ended and what to do next.
func (r *redriveRun) writeBatchOutcome(rep *redrive.Report, reportPath string, sess *redrive.BatchSession) {
	writeBatchOutcome(r.stderr, rep, reportPath, sess, r.commandPrefix(), r.env)
}

func writeBatchOutcome(w io.Writer, rep *redrive.Report, reportPath string, sess *redrive.BatchSession, prefix string, env *config.Env) {
	if lost := sess.LostClaims(); len(lost) > 0 {
		fmt.Fprintf(w, "stowage: warning: %d claim(s) lapsed while no stowage watched the job and were taken by other runs (%s): those requests may have been sent twice\n",
			len(lost), sanitize.Line(firstLost(lost)))
	}
	c := rep.Counts
	fmt.Fprintf(w, "Run %s %s.\n", sanitize.Line(rep.RunID), rep.Headline())
	if ids := sess.JobIDs(); len(ids) > 0 {
		fmt.Fprintf(w, "Jobs:    %s\n", sanitize.Line(strings.Join(ids, ", ")))
	}
	if rep.StopReason != "" && rep.Outcome != redrive.OutcomeCanceled {
		fmt.Fprintf(w, "Stopped: %s\n", sanitize.Line(rep.StopReason))
	}
	if reportPath != "" {
		fmt.Fprintf(w, "Report:  %s\n", reportPath)
	}
	if rep.Outcome == redrive.OutcomeCanceled || rep.Outcome == redrive.OutcomeTripped {
		fmt.Fprintf(w, "What S3 ran is not undone: %d request(s) were redriven and stay so.\n", c.Delivered+c.Failed)
	}
	if c.Failed > 0 && reportPath != "" {
		// On the same engine: --mode lambda alone is the local event mode (an S3
		// notification, not the job's schema 2.0 event).
		fmt.Fprintf(w, "Retry the failures with: %s redrive --from-report %s --only failed --engine batch-ops --mode %s\n", prefix, sanitize.Line(shellQuote(reportPath)), rep.Mode)
	}
	if c.Pending > 0 && reportPath != "" {
		fmt.Fprintf(w, "Send the %d not sent with: %s redrive --from-report %s --only pending --mode s3-copy (add --engine batch-ops for another job)\n",
			c.Pending, prefix, sanitize.Line(shellQuote(reportPath)))
	}
	for i, lw := range rep.LeaseWarnings {
		if i == 5 {
			fmt.Fprintf(w, "stowage: warning: … and %d more lease warnings\n", len(rep.LeaseWarnings)-5)
			break
		}
		fmt.Fprintf(w, "stowage: warning: lease: %s\n", clipEchoed(lw, maxMessage))
	}
	if env != nil && isDemoEnv(env) {
		fmt.Fprintln(w, "(The demo's stack, and its config unless --config-out kept it, go when the demo stops; the record and report above stay.)")
	}
}

// batchExit maps a batch-ops report to the exit code.
func batchExit(rep *redrive.Report) error {
	c := rep.Counts
	switch rep.Outcome {
	case redrive.OutcomeDelivered:
		return nil
	case redrive.OutcomeCanceled:
		return &ExitError{Code: ExitCancelled, Err: fmt.Errorf("job cancelled: %d redriven, %d not run", c.Delivered, c.Pending)}
	}
	return &ExitError{Code: ExitNotFound, Err: fmt.Errorf("%d of %d requests not redriven (%s)", c.Total()-c.Delivered-c.Skipped, c.Total(), c)}
}

// batchSuggestion is the line a local plan adds when the batch-ops engine would suit it
// better ("" when not): more than batch_ops.suggest_above requests, or requests the
// gateway route cannot take (tooLarge of them, in a gateway mode).
func batchSuggestion(env *config.Env, count, tooLarge int) string {
	b := env.BatchOps
	if !b.Configured() {
		return ""
	}
	switch {
	case b.SuggestAbove > 0 && count > b.SuggestAbove:
		return fmt.Sprintf("  suggestion   %d requests is more than batch_ops.suggest_above (%d): --engine batch-ops --mode s3-copy hands them to S3 Batch Operations (about %.2f %s)",
			count, b.SuggestAbove, b.Cost.Estimate(count, false), b.Cost.Currency)
	case tooLarge > 0:
		return fmt.Sprintf("  suggestion   %d request(s) are too large for the gateway: --engine batch-ops --mode s3-copy (or the local --mode s3-copy) redrives them without it", tooLarge)
	}
	return ""
}

// jobsNamed is "Job ID" or "Jobs ID1, ID2".
func jobsNamed(ids []string) string {
	if len(ids) == 1 {
		return "Job " + sanitize.Line(ids[0])
	}
	return "Jobs " + sanitize.Line(strings.Join(ids, ", "))
}

func itOrThem(ids []string) string {
	if len(ids) == 1 {
		return "it"
	}
	return "them"
}

// writeFinishing says what Finish does before it does it: reading the completion reports
// and releasing a claim for each request takes a while for a large run (about 15 s for
// 14,000 requests on the demo), and the screen would otherwise stand still.
func writeFinishing(w io.Writer, sess *redrive.BatchSession) {
	rec := sess.Record()
	reports := "the completion report"
	if len(rec.JobIDs()) > 1 {
		reports = "the completion reports"
	}
	if len(rec.JobIDs()) == 0 {
		reports = ""
	}
	n := len(rec.Claimed) + len(rec.Interrupted)
	switch {
	case rec.NoLease || n == 0:
		if reports != "" {
			fmt.Fprintf(w, "Reading %s…\n", reports)
		}
	case reports == "":
		fmt.Fprintf(w, "Releasing the claims of %d requests…\n", n)
	default:
		fmt.Fprintf(w, "Reading %s and releasing the claims of %d requests…\n", reports, n)
	}
}

// wrapWords breaks text into lines of at most width cells, at spaces.
func wrapWords(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case ansi.StringWidth(line)+1+ansi.StringWidth(w) > width:
			lines, line = append(lines, line), w
		default:
			line += " " + w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
