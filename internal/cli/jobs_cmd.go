package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// newJobsCmd is stowage jobs (#15).
func newJobsCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List and watch stowage's S3 Batch Operations jobs",
		Long: `List the S3 Batch Operations jobs stowage created (redrive --engine batch-ops), newest
first, with their state and task counts. stowage's jobs are told apart by their description.

  stowage jobs [-o json]
  stowage jobs watch ID

watch follows a job to its end from any terminal or machine. On the machine whose redrive
created it, it also finishes that run: the completion report becomes stowage's report, the
audit log gets the final entry and the lease claims are released. Ctrl+C asks S3 to cancel
the job; tasks it has already run are not undone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runJobsList(cmd.Context(), g)
		},
	}
	addOutputFlag(cmd, g)
	var poll time.Duration
	watch := &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a Batch Operations job to its end (and finish its run when this machine started it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runJobsWatch(cmd.Context(), g, args[0], poll)
		},
	}
	watch.Flags().DurationVar(&poll, "batch-poll", defaultBatchPoll, "how often the job is described")
	_ = watch.Flags().MarkHidden("batch-poll")
	addOutputFlag(watch, g)
	cmd.AddCommand(watch)
	return cmd
}

// openJobStore loads the environment and its JobStore.
func openJobStore(ctx context.Context, g *Globals) (*config.Env, *awsclient.Clients, error) {
	env, _, err := g.LoadEnv()
	if err != nil {
		return nil, nil, err
	}
	c, err := g.openEnv(ctx, env)
	if err != nil {
		return nil, nil, exitForAWS(err)
	}
	if c.Jobs == nil {
		return nil, nil, exitf(ExitUsage, "environment %q has no batch_ops section (role_arn, manifest_prefix, report_prefix): stowage has no jobs there", env.Name)
	}
	return env, c, nil
}

// jobJSON is one job in -o json.
type jobJSON struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	Operation   string    `json:"operation"`
	Total       int64     `json:"total"`
	Succeeded   int64     `json:"succeeded"`
	Failed      int64     `json:"failed"`
	Created     time.Time `json:"created,omitzero"`
	Terminated  time.Time `json:"terminated,omitzero"`
	Description string    `json:"description"`
}

func runJobsList(ctx context.Context, g *Globals) error {
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	_, c, err := openJobStore(ctx, g)
	if err != nil {
		return err
	}
	jobs, err := c.Jobs.List(ctx)
	if err != nil {
		return exitForAWS(err)
	}
	if format == outputJSON {
		bw := bufio.NewWriter(g.Stdout)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for _, j := range jobs {
			if err := enc.Encode(jobJSON{ID: j.ID, Status: j.Status, Operation: j.Operation, Total: j.Total, Succeeded: j.Succeeded,
				Failed: j.Failed, Created: j.Created, Terminated: j.Terminated, Description: j.Description}); err != nil {
				return err
			}
		}
		return bw.Flush()
	}
	if len(jobs) == 0 {
		fmt.Fprintln(g.stderr(), "No stowage jobs (S3 lists jobs for 90 days after they end).")
		return nil
	}
	// On a terminal each row is cut to its width (-o json has it all); the description
	// leaves out the "stowage redrive" every listed job's starts with.
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB ID\tSTATUS\tOP\tSUCCEEDED\tFAILED\tTOTAL\tCREATED\tDESCRIPTION")
	for _, j := range jobs {
		created := ""
		if !j.Created.IsZero() {
			created = j.Created.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", clipOutside(j.ID, maxTableID), sanitize.Line(j.Status), shortOperation(j.Operation),
			j.Succeeded, j.Failed, j.Total, created, clipOutside(strings.TrimSpace(strings.TrimPrefix(j.Description, awsclient.JobDescriptionPrefix)), maxTableText))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	width := 0
	if g.isTerminal(g.Stdout) {
		width = g.terminalWidth(g.Stdout)
	}
	bw := bufio.NewWriter(g.Stdout)
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		if width > 0 && ansi.StringWidth(strings.TrimSuffix(line, "\n")) > width {
			line = ansi.Truncate(strings.TrimSuffix(line, "\n"), width-1, "…") + "\n"
		}
		bw.WriteString(line)
	}
	return bw.Flush()
}

func runJobsWatch(ctx context.Context, g *Globals, id string, poll time.Duration) error {
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	env, c, err := openJobStore(ctx, g)
	if err != nil {
		return err
	}
	if poll <= 0 {
		poll = defaultBatchPoll
	}
	prefix := stowageCommand(g, g.ConfigPath) + " --env " + sanitize.Line(shellQuote(env.Name))
	stderr := g.stderr()
	path, err := redrive.FindBatchRecord(id)
	if err != nil {
		fmt.Fprintf(stderr, "stowage: warning: %s\n", sanitize.Line(err.Error()))
	}
	if path == "" {
		return watchForeignJob(ctx, g, c.Jobs, id, poll)
	}
	sc := redrive.SessionConfig{Now: g.clock()}
	sess, err := redrive.AttachBatch(redrive.BatchDepsFor(c), path, sc)
	if err != nil {
		return exitf(ExitUsage, "%s", sanitize.Line(err.Error()))
	}
	rec := sess.Record()
	if rec.Plan.Manifest.Env != env.Name {
		return exitf(ExitUsage, "job %s is a run on environment %q: pass --env %s", sanitize.Line(id), sanitize.Line(rec.Plan.Manifest.Env), sanitize.Line(rec.Plan.Manifest.Env))
	}
	sess.Poll = poll
	fmt.Fprintf(stderr, "Job %s: run %s on %s, %d requests (record %s).\n", sanitize.Line(id), sanitize.Line(rec.Plan.Manifest.RunID),
		sanitize.Line(env.Name), len(rec.Claimed), path)
	if !rec.Finished {
		writeClaimsState(stderr, sess, g.now())
		// The operator confirmed this plan; its process ended before confirming every job.
		confirmed, err := sess.ConfirmSuspended(ctx)
		if err != nil {
			return exitForAWS(err)
		}
		if len(confirmed) > 0 {
			fmt.Fprintf(stderr, "Confirmed job(s) %s, left Suspended by the run that created them (its plan was confirmed).\n", sanitize.Line(strings.Join(confirmed, ", ")))
		}
	}
	if err := watchBatch(ctx, g, stderr, sess, prefix); err != nil {
		return err
	}
	if rec.Finished {
		fmt.Fprintln(stderr, "This run was finished already; its report is beside the record.")
	}
	writeFinishing(stderr, sess)
	rep, fin, auditErr := sess.Finish(context.WithoutCancel(ctx))
	if rep == nil {
		return exitForAWS(auditErr)
	}
	if auditErr != nil {
		fmt.Fprintf(stderr, "stowage: warning: audit log: %s\n", sanitize.Line(auditErr.Error()))
	}
	if format == outputJSON {
		err = rep.WriteJSONLines(g.Stdout)
	} else {
		err = rep.WriteTable(g.Stdout, func(s string) string { return clipOutside(s, maxTableID) }, func(s string) string { return clipOutside(s, maxTableText) })
	}
	if err != nil {
		return err
	}
	writeBatchOutcome(stderr, rep, fin.ReportPath, sess, prefix, env)
	return batchExit(rep)
}

// watchForeignJob follows a job this machine has no record of: progress to its end, the
// counts and where its report is. Ctrl+C asks S3 to cancel it.
func watchForeignJob(ctx context.Context, g *Globals, jobs *awsclient.JobStore, id string, poll time.Duration) error {
	stderr := g.stderr()
	j, err := jobs.Describe(ctx, id)
	if err != nil {
		return exitForAWS(err)
	}
	if !j.IsStowage() {
		fmt.Fprintf(stderr, "stowage: note: job %s was not created by stowage (%s)\n", sanitize.Line(id), clipOutside(j.Description, maxTableText))
	}
	fmt.Fprintf(stderr, "Job %s: %s. This machine has no record of its run: it is watched only (the run that created it finishes its report and claims).\n",
		sanitize.Line(id), clipOutside(j.Description, maxTableText))
	tty := g.isTerminal(g.Stderr)
	width := g.terminalWidth(g.Stderr)
	var first *struct {
		at   time.Time
		done int64
	}
	cancelled := false
	lastStatus := ""
	for {
		p := redrive.BatchProgress{Job: j}
		if j.Status == "Active" {
			if first == nil {
				first = &struct {
					at   time.Time
					done int64
				}{time.Now(), j.Done()}
			} else if el := time.Since(first.at).Seconds(); el > 0 && j.Done() > first.done {
				p.Rate, p.RateMeasured = float64(j.Done()-first.done)/el, true
				p.ETA = time.Duration(float64(j.Total-j.Done()) / p.Rate * float64(time.Second))
			}
		}
		line := batchProgressLine(p, width)
		if tty {
			fmt.Fprint(stderr, "\r\x1b[2K"+line)
		} else if j.Status != lastStatus || j.Terminal() {
			fmt.Fprintln(stderr, line)
			lastStatus = j.Status
		}
		if j.Terminal() {
			break
		}
		if !sleepOrDone(ctx, poll) && !cancelled {
			cancelled = true
			fmt.Fprintf(stderr, "\nstowage: cancelling job %s: %s.\n", sanitize.Line(id), redrive.BatchCancelNote)
			if err := jobs.Cancel(context.WithoutCancel(ctx), id, "cancelled in stowage by the operator"); err != nil {
				return exitForAWS(err)
			}
		}
		if j, err = jobs.Describe(context.WithoutCancel(ctx), id); err != nil {
			return exitForAWS(err)
		}
	}
	if tty {
		fmt.Fprintln(stderr)
	}
	fmt.Fprintf(stderr, "Job %s %s: %d succeeded, %d failed of %d.\n", sanitize.Line(id), sanitize.Line(j.Status), j.Succeeded, j.Failed, j.Total)
	if j.Done() > 0 {
		fmt.Fprintf(stderr, "Completion report: %s\n", jobs.ReportURI(id))
	}
	for _, f := range j.FailureReasons {
		fmt.Fprintf(stderr, "Failure: %s\n", clipEchoed(f, maxMessage))
	}
	switch {
	case j.Status == "Complete" && j.Failed == 0:
		return nil
	case j.Status == "Cancelled":
		return &ExitError{Code: ExitCancelled, Err: fmt.Errorf("job %s was cancelled", sanitize.Line(id))}
	}
	return &ExitError{Code: ExitNotFound, Err: fmt.Errorf("job %s ended %s with %d failed task(s)", sanitize.Line(id), strings.ToLower(j.Status), j.Failed)}
}

// sleepOrDone waits d; false when ctx ended first (once ended, it no longer waits).
func sleepOrDone(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		time.Sleep(d)
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// shortOperation names a job's operation in the table: copy or lambda (-o json has
// S3's name).
func shortOperation(op string) string {
	switch op {
	case string(awsclient.JobCopy):
		return "copy"
	case string(awsclient.JobLambda):
		return "lambda"
	}
	return sanitize.Line(op)
}
