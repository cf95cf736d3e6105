package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/payload"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/internal/trace"
	"github.com/stowage-cli/stowage/redrive"
)

type traceFlags struct {
	messages bool
}

// newTraceCmd is stowage trace (#16).
func newTraceCmd(g *Globals) *cobra.Command {
	var f traceFlags
	cmd := &cobra.Command{
		Use:   "trace ID|s3-URI|log-line",
		Short: "Print one request's timeline from S3, the gateway, the processor's logs, its status and redrives",
		Long: `Print what happened to one request, oldest first: its arrival and every later store of
the object (each version, where storage.received_from_versions says the bucket is
versioned), the gateway's access-log lines, the processor's log lines that mention the
request ID, the status item, and every redrive run on this machine (who, mode, outcome,
and the status it read before sending).

The log lines are read from CloudWatch Logs, from the groups the environment's logs:
section names, in a window around each store and redrive (logs.window_before and
logs.window_after, 1m and 15m unless set): every group and window at once with
FilterLogEvents, or with one Logs Insights query when the windows are wide or many. At
most logs.max_bytes are read; past that the output says so and prints the Logs Insights
query to run in the console. Without a logs: section the timeline has the S3, status and
redrive entries, and a note on how to add one.

Lambda's START, END and REPORT lines name only the invocation's own request ID (the
awsRequestId), not the request's: trace reads them by the awsRequestId the function's
lines carry (awsRequestId, function_request_id, aws_request_id, or the runtime's
tab-separated text format) and joins each invocation's into one entry: how long it ran,
the memory it used, a cold start's init time, and its status when it did not succeed.
The function's own lines stay entries of their own.

With -o json (the default when stdout is not a terminal) the timeline is one JSON object:
id, key, entries (time, source, summary, error, message, group, invocation, and raw: the
event as read; an invocation's: its platform lines' events), notes, insightsQuery and
capped.
` + exitCodesHelp + `
  trace exits 1 when nothing at all is known of the request, and 3 when a source (S3,
  the table or a log group) could not be read; what could be read is printed first.`,
		Example: `  # The story of a request, from a pasted log line
  stowage --env prod trace 'ERROR requestId=0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11 parse failed'

  # With each log line whole (JSON lines pretty-printed)
  stowage --env prod trace 0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11 --messages

  # For a ticket
  stowage --env prod trace s3://prod-requests/0b7c1b9e-4d6f-4c3a-9a57-2f1f0c8e7d11 -o json`,
		Args: oneRequest,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrace(cmd.Context(), g, args[0], f)
		},
	}
	addOutputFlag(cmd, g)
	cmd.Flags().BoolVar(&f.messages, "messages", false, "print each log line whole under its entry (JSON pretty-printed)")
	return cmd
}

// traceHistory reads a request's redrive runs from this machine's journals.
func traceHistory(env, id string) ([]redrive.HistoryRun, error) {
	dir, err := redrive.StateDir()
	if err != nil {
		return nil, nil // no state directory: no history
	}
	return redrive.RequestHistory(filepath.Join(dir, "redrives"), env, id)
}

// TraceSources are the timeline's sources for env's clients: the TUI's timeline tab
// builds the same.
func traceSources(s *session) trace.Sources {
	src := trace.Sources{Env: s.env, Objects: s.clients.Objects, Statuses: s.clients.Statuses,
		History: traceHistory, MissingObject: inventory.IsMissingObject}
	if s.clients.Logs != nil {
		src.Logs = s.clients.Logs
	}
	return src
}

func runTrace(ctx context.Context, g *Globals, arg string, f traceFlags) error {
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	ref, words, err := parseRef(arg)
	if err != nil {
		return err
	}
	s, err := g.openSession(ctx)
	if err != nil {
		return err
	}
	t, err := s.resolve(ref)
	if err != nil {
		return err
	}
	in, err := trace.Gather(ctx, traceSources(s), t.id, t.key)
	if err != nil {
		return exitForAWS(err)
	}
	// Nothing known at all: the operator mistyped, or chose the wrong environment.
	if in.Object == nil && in.Status == nil && len(in.Runs) == 0 && len(in.Errors) == 0 &&
		(in.Logs == nil || len(in.Logs.Events) == 0) {
		if words != nil {
			return wordsError(words)
		}
		if err := s.checkBucket(ctx, t.key); err != nil {
			return err
		}
		return exitf(ExitNotFound, "no request %s: no object at %s, no status item, no redrive on this machine and no log line; check the ID and --env",
			clipEchoed(t.id, maxEchoed), clipEchoed("s3://"+s.env.Storage.Bucket+"/"+t.key, maxEchoed))
	}
	tl := trace.Build(in)
	w := bufio.NewWriterSize(g.Stdout, 64<<10)
	if format == outputJSON {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(tl); err != nil {
			return err
		}
		out := buf.String()
		if g.isTerminal(g.Stdout) {
			// JSON escapes control characters but not bidi overrides (as show --meta).
			out = sanitize.Block(out)
		}
		w.WriteString(out)
	} else {
		g.writeTimeline(w, tl, f.messages)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return traceFailure(in)
}

// writeTimeline writes the table: a row per entry, the notes after them.
func (g *Globals) writeTimeline(w *bufio.Writer, tl trace.Timeline, messages bool) {
	color := g.color(g.Stdout)
	width := g.terminalWidth(g.Stdout)
	var p trace.Painter
	var h *payload.Highlighter
	if color {
		p = tracePainter
		h = payload.NewHighlighter(darkBackground())
	}
	lines := trace.Lines(tl, width, p)
	rows := 1 + len(tl.Entries)
	if len(tl.Entries) == 0 {
		rows++
	}
	fmt.Fprintln(w, lines[0])
	for i, e := range tl.Entries {
		fmt.Fprintln(w, lines[1+i])
		if messages && e.Message != "" {
			for _, l := range trace.Highlight(h, e) {
				fmt.Fprintln(w, "    "+l)
			}
		}
	}
	for _, l := range lines[min(rows, len(lines)):] {
		fmt.Fprintln(w, l)
	}
}

// tracePainter colours the timeline on a terminal: sources apart, failures red.
var tracePainter = trace.Painter{
	Time: func(s string) string { return "\x1b[2m" + s + "\x1b[0m" },
	Source: func(src trace.Source, s string) string {
		c := map[trace.Source]string{trace.SourceS3: "34", trace.SourceGateway: "35", trace.SourceProcessor: "36",
			trace.SourceStatus: "33", trace.SourceStowage: "32"}[src]
		return "\x1b[" + c + "m" + s + "\x1b[0m"
	},
	Error: func(s string) string { return "\x1b[31m" + s + "\x1b[0m" },
	Note:  func(s string) string { return "\x1b[33m" + s + "\x1b[0m" },
}

// traceFailure is the exit for a timeline some source of which could not be read: the
// first such error, on stderr with its remedy (the rest are in the notes).
func traceFailure(in trace.Inputs) error {
	var errs []error
	errs = append(errs, in.Errors...)
	if in.Logs != nil {
		errs = append(errs, in.Logs.Errors...)
	} else if in.LogsErr != nil {
		errs = append(errs, in.LogsErr)
	}
	if len(errs) == 0 {
		return nil
	}
	err := exitForAWS(errs[0])
	var ee *ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ee.Code == ExitNotFound || ee.Code == ExitUsage {
		ee.Code = ExitAWS // a log group or a bucket missing: the environment is wrong, not the ID
	}
	if n := len(errs) - 1; n > 0 {
		ee.Err = fmt.Errorf("%w\n(and %d more: see the notes above)", ee.Err, n)
	}
	return ee
}
