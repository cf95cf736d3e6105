package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

func newAuditCmd(g *Globals) *cobra.Command {
	var limit int
	var run string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List the redrive runs recorded in the audit log",
		Long: `List every redrive run recorded on this machine, oldest first: dry runs, declined and
refused runs included. The log is $XDG_STATE_HOME/stowage/audit.jsonl (default
~/.local/state/stowage/audit.jsonl), one JSON object per run with who ran it (the STS
caller ARN), when, the environment, the selection, the manifest hash, the mode, the rate,
the counts per outcome and the outcome. With --env only that environment's runs are
listed.

Each run writes a "started" entry before it sends anything and its own entry when it
ends; a run with only the first (killed, or still running) is listed as "unfinished"
with its journal, which --resume continues.

With -o json every entry is one JSON object per line, as stored (started ones included).

Exit codes:
  0  ok (an empty log too)
  1  --run names no recorded run
  2  usage error, or the log cannot be read`,
		Example: `  # The last 10 runs
  stowage audit --limit 10

  # Every production run, for a postmortem
  stowage --env prod audit -o json | jq 'select(.outcome != "dry-run")'

  # One run
  stowage audit --run 3f2a9c1e-8b7d-4e2f-9a61-0c5d7e8f9a10 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAudit(g, limit, run)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "only the last N runs (0: all)")
	cmd.Flags().StringVar(&run, "run", "", "only the entries of this run ID")
	addOutputFlag(cmd, g)
	return cmd
}

func runAudit(g *Globals, limit int, run string) error {
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	if limit < 0 {
		return exitf(ExitUsage, "--limit %d: want 0 (all) or more", limit)
	}
	path, err := redrive.AuditPath()
	if err != nil {
		return exitf(ExitUsage, "audit log: %v", err)
	}
	entries, bad, err := redrive.LoadAudit(path)
	if err != nil {
		return exitf(ExitUsage, "%s", sanitize.Line(err.Error()))
	}
	if bad > 0 {
		g.printErr("stowage: warning: %s has %d unreadable line(s), skipped\n", path, bad)
	}
	unfinished := redrive.Unfinished(entries)
	var kept []redrive.AuditEntry
	for i, e := range entries {
		if e.Outcome == redrive.OutcomeStarted && !unfinished[i] && format != outputJSON {
			continue // its run's own entry follows
		}
		if g.Env != "" && e.Env != g.Env {
			continue
		}
		if run != "" && e.RunID != run {
			continue
		}
		kept = append(kept, e)
	}
	if limit > 0 && len(kept) > limit {
		kept = kept[len(kept)-limit:]
	}
	if run != "" && len(kept) == 0 {
		return exitf(ExitNotFound, "no run %s in %s", sanitize.Line(run), path)
	}
	if len(kept) == 0 {
		g.printErr("stowage: no redrive runs recorded in %s\n", path)
	}
	if format == outputJSON {
		bw := bufio.NewWriter(g.Stdout)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for _, e := range kept {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return bw.Flush()
	}
	if len(kept) == 0 {
		return nil
	}
	text := func(s string) string { return clipOutside(s, maxTableText) }
	tw := tabwriter.NewWriter(g.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tWHO\tENV\tMODE\tCOUNT\tDELIVERED\tFAILED\tOUTCOME\tSELECTION\tRUN\tREASON")
	for _, e := range kept {
		env := e.Env
		if e.Production {
			env += "!"
		}
		outcome := string(e.Outcome)
		if e.Outcome == redrive.OutcomeStarted {
			// No entry of its end: killed, or still running.
			outcome = "unfinished (journal " + e.Journal + ")"
		}
		if e.Resumed {
			outcome += " (resumed)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n",
			e.At.UTC().Format(time.DateTime), text(whoCell(e)), text(env), text(string(e.Mode)), e.Count,
			e.Counts.Delivered, e.Counts.Failed, text(outcome), text(e.Selection), clipOutside(e.RunID, maxTableID), text(e.Reason))
	}
	return tw.Flush()
}

// whoCell names the operator and, when known, the account the run wrote to.
func whoCell(e redrive.AuditEntry) string {
	if e.Account == "" {
		return shortARN(e.Who)
	}
	return shortARN(e.Who) + " (account " + e.Account + ")"
}

// shortARN keeps what identifies the operator: "assumed-role/ops/alice" of
// "arn:aws:sts::123456789012:assumed-role/ops/alice".
func shortARN(arn string) string {
	if !strings.HasPrefix(arn, "arn:") {
		return arn
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return arn
	}
	return parts[5]
}
