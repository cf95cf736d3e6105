package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/failclass"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/payload"
	"github.com/stowage-cli/stowage/internal/reqid"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// redriveFlags are redrive's own flags.
type redriveFlags struct {
	keys            []string
	fromFile        string
	status          string
	lost            bool
	since           string
	mode            string
	rate            float64
	concurrency     int
	maxAttempts     int
	maxFailureRatio float64
	unknownSettle   config.Duration // config's durations: 2d reads as it does everywhere
	timeout         config.Duration
	allowOverlap    bool
	force           bool
	dryRun          bool
	yes             bool
	journal         string
	resume          string
	fromReport      string
	only            string
	wait            config.Duration
	skipPermanent   bool
	events          eventFlags // redrive_events.go
	batch           batchFlags // redrive_batchops.go
}

func newRedriveCmd(g *Globals) *cobra.Command {
	var f redriveFlags
	cmd := &cobra.Command{
		Use:   "redrive [ID...]",
		Short: "Send stored requests through the pipeline again: plan, confirm, run, report",
		Long: `Redrive sends stored requests through the pipeline again, one or thousands, and is
stowage's only write. It runs in four steps:

  plan     the selection is resolved once into a frozen manifest: each request's key,
           size, ETag or version and status now. It is printed with the target, rate and
           ETA. --dry-run stops here.
  confirm  one request: y/n. More than 10, or more than one on a production
           environment: type the environment's name. --yes is for scripts; without a
           terminal and without --yes, stowage refuses.
  run      the exact stored bytes are sent with their Content-Type and Content-Encoding,
           pinned to the planned version (an object changed since fails as "changed since
           planning"). Each request's status is re-checked just before sending: one
           already in a terminal state (status.terminal_states) is skipped unless --force
           (a skip spends none of --rate).
           Idempotency headers (X-Stowage-Original-Request-Id, X-Stowage-Redrive-Id; see
           gateway.original_id_header and redrive_id_header) let processors deduplicate.
           429, 5xx and network errors are retried with backoff up to --max-attempts;
           other 4xx are not. More than --max-failure-ratio failures after the first 20
           requests stop the run (circuit breaker). A send whose outcome is unknown (the
           connection was lost after sending, or a 504) waits --unknown-settle (5s) for
           the processor to write its verdict, then re-checks the status table before
           trying again, so that a request that did arrive is not sent twice.
           --timeout (35s) bounds one attempt: with no answer by then its outcome
           is unknown, handled as above.
  report   one line per request (state, attempts, HTTP status, new request ID, error) on
           stdout, as a table or JSON Lines (-o json); saved beside the journal too.
  verdict  a delivery is not an outcome: the processor may fail the request again. With
           --wait (2m by default when stderr is a terminal, off otherwise; --wait 0 turns
           it off) stowage reads the delivered requests' statuses, a BatchGet a second,
           until each has a new done or failed status or the wait ends, and says
           "56 delivered → 11 PROCESSED, 45 FAILED again (same error), 0 no verdict yet".
           -o json gives each item its verdict.

Modes:
  inplace   (default) PUT the bytes to the {bucket}/{key} route (gateway.routes.inplace):
            the same key is stored again, the S3 event fires, the request keeps its ID.
  reupload  PUT the bytes to the reupload route (gateway.routes.reupload): the gateway
            assigns a new request ID; the report maps old → new.
  s3-copy   copy the object onto itself (CopyObject, REPLACE metadata) so S3 fires the
            event without the gateway: for payloads over API Gateway's 10 MiB limit,
            which the gateway modes refuse before sending, or when the gateway is down.
  sqs       send the S3 event S3 would send for the stored object to the processor's
            queue (events.sqs_queue_url), 10 a call: nothing is written (LastModified,
            version, replication, Object Lock untouched), no 10 MiB limit; a FIFO queue
            gets a deduplication ID from the redrive and request IDs.
  lambda    invoke the processor's function (events.lambda_function) asynchronously
            with that event; --qualifier picks an alias or version.
  eventbridge
            put S3's "Object Created" event on the processor's bus (events.event_bus),
            10 a call; on AWS set events.event_source (aws.* is refused).
  An event mode is offered only where the environment names its target (events:).

Every step is journaled to an append-only, fsynced file (0600) before it happens:
"sending" before each request, then "delivered", "failed" or "unknown" (the connection
was lost after sending). If stowage dies, --resume JOURNAL continues the run: nothing
delivered is sent again, requests whose outcome is unknown are re-checked against the
status table first, the rest are sent. Ctrl+C stops sending new requests and waits for
those in flight (Ctrl+C again cuts them); what was sent is not undone. SIGTERM and
SIGHUP (a closed terminal) do the same: the first stops sending, the second cuts the
requests in flight.

A run refuses requests that an unfinished run of the same environment holds (its
journal has no end and the audit log no final entry): --resume that run, or pass
--allow-overlap. A journal that lost records (its sequence has a gap, a checksum fails,
or its report or audit entry name records it no longer holds) is refused by --resume,
which then says how to recover from the run's report. Only a torn last line, which a
kill leaves, is tolerated. A journal written by an older stowage (without sequence
numbers and checksums) is still resumed, with a warning that its losses cannot be
detected.

Every run, dry runs included, is appended to $XDG_STATE_HOME/stowage/audit.jsonl (see
stowage audit). A read-only environment (read_only, --read-only) refuses to redrive.

Exit codes:
  0    every request delivered (or skipped as already processed); with --wait, and
       every delivered request processed
  1    some requests failed, or nothing matched
  2    usage or configuration error, or refusal (read-only, no confirmation possible,
       another environment's bucket, an unfinished overlapping run, a damaged journal)
  3    AWS access error while planning
  4    with --wait: every request delivered, but some failed again or have no verdict
       within the wait
  130  cancelled (Ctrl+C, or the confirmation was declined)`,
		Example: `  # What would a redrive of the last hour's failures do?
  stowage --env prod redrive --status FAILED --since 1h --dry-run

  # Redrive them at 5 requests/s, 2 at a time
  stowage --env prod redrive --status FAILED --since 1h --rate 5 --concurrency 2

  # One request, by ID
  stowage --env prod redrive 3f2a9c1e-8b7d-4e2f-9a61-0c5d7e8f9a10

  # From a listing, in a script (stdin holds the IDs, so --yes is required)
  stowage --env prod ls --status FAILED -o json | stowage --env prod redrive --from-file - --yes -o json

  # Requests the processor never saw
  stowage --env prod redrive --lost --since 24h

  # A payload over 10 MiB: bypass the gateway
  stowage --env prod redrive 3f2a9c1e-8b7d-4e2f-9a61-0c5d7e8f9a10 --mode s3-copy

  # stowage was killed mid-run: continue it
  stowage --env prod redrive --resume ~/.local/state/stowage/redrives/20260301T031500Z-<run>.journal.jsonl

  # Try the failures of a run again
  stowage --env prod redrive --from-report ~/.local/state/stowage/redrives/<run>.report.jsonl --only failed`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRedrive(cmd.Context(), g, cmd.Flags(), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.keys, "key", nil, "a request by its exact S3 key, byte for byte (repeatable): for keys that look like URIs or log lines, or hold control characters")
	fl.StringVar(&f.fromFile, "from-file", "", "read request IDs from FILE (- for stdin): plain IDs, JSON Lines with an id field (ls -o json), or log lines")
	fl.StringVar(&f.status, "status", "", "every request in this state (FAILED, ...; LOST = --lost)")
	fl.BoolVar(&f.lost, "lost", false, "every lost request: stored longer than status.lost_after ago with no status item")
	fl.StringVar(&f.since, "since", "", "with --status or --lost: only requests since this duration ago (1h) or time (RFC 3339)")
	fl.StringVar(&f.mode, "mode", string(redrive.ModeInplace), modeList())
	fl.Float64Var(&f.rate, "rate", 0, "requests per second (default: the environment's rate; 0 = unlimited)")
	fl.IntVar(&f.concurrency, "concurrency", redrive.DefaultConcurrency, "requests in flight at most")
	fl.IntVar(&f.maxAttempts, "max-attempts", redrive.DefaultMaxAttempts, "attempts per request (429, 5xx and network errors are retried)")
	fl.Float64Var(&f.maxFailureRatio, "max-failure-ratio", redrive.DefaultMaxFailureRatio, "stop when more than this share fails, after the first 20 requests (0-1]")
	f.unknownSettle.Duration = redrive.DefaultUnknownSettle
	fl.Var(&f.unknownSettle, "unknown-settle", "after a send whose outcome is unknown (connection lost, 504), wait this long for the processor's verdict before re-checking the status table (0 re-checks at once; at most 10m)")
	f.timeout.Duration = redrive.DefaultAttemptTimeout
	fl.Var(&f.timeout, "timeout", "time limit of one attempt: a request with no answer by then ends unknown and is re-checked before any retry (the default is just above API Gateway's 29s integration limit)")
	fl.BoolVar(&f.allowOverlap, "allow-overlap", false, "send requests that an unfinished run of this environment also holds (they may be delivered twice)")
	fl.BoolVar(&f.force, "force", false, "send requests already in a terminal state too")
	fl.BoolVar(&f.dryRun, "dry-run", false, "plan and print, send nothing")
	fl.BoolVar(&f.skipPermanent, "skip-permanent", false, "leave out requests that failed with a permanent error (status.permanent_errors and the defaults: parse, validation, schema): a redrive would fail again")
	fl.BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation (for scripts)")
	fl.StringVar(&f.journal, "journal", "", "journal file (default $XDG_STATE_HOME/stowage/redrives/<time>-<run>.journal.jsonl)")
	fl.StringVar(&f.resume, "resume", "", "continue the run journaled in this file")
	fl.StringVar(&f.fromReport, "from-report", "", "take the requests from a report (JSON Lines, as -o json writes and the run saves)")
	fl.StringVar(&f.only, "only", "", "with --from-report: states to take, comma-separated (failed, unknown, pending, unfinished, skipped, delivered; default failed)")
	f.wait.Duration = defaultVerdictWait
	fl.Var(&f.wait, "wait", "after delivery, wait this long for the processor's verdict and exit 4 unless every delivered request is processed (default 2m when stderr is a terminal, else 0; 0 does not wait)")
	addEventFlags(fl, &f.events)
	addBatchFlags(fl, &f.batch)
	_ = cmd.RegisterFlagCompletionFunc("mode", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var modes []string
		for _, m := range redrive.Modes {
			modes = append(modes, string(m))
		}
		return modes, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("status", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"FAILED", "LOST"}, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("only", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"failed", "unknown", "pending", "unfinished", "skipped", "delivered"}, cobra.ShellCompDirectiveNoFileComp
	})
	addOutputFlag(cmd, g)
	return cmd
}

// redriveRun carries one redrive command from flags to exit code.
type redriveRun struct {
	g       *Globals
	stderr  io.Writer // g.Stderr, locked: the progress and Ctrl+C goroutines write too
	f       redriveFlags
	format  string
	mode    redrive.Mode
	rate    float64
	rateSet bool
	waitSet bool
	concSet bool
	modeSet bool
	env     *config.Env
	file    *config.File // every configured environment, to name the one a bucket is in
	account string       // the AWS account the credentials resolved to ("" on a local stack)
	clients *awsclient.Clients
	sel     redrive.Selection
	journal *redrive.JournalState // --resume
	// permanence is what the plan held by failure kind before --skip-permanent; skipped
	// is how many that flag left out.
	permanence *redrive.Permanence
	skipped    int
	rules      *failclass.Rules
}

func runRedrive(ctx context.Context, g *Globals, fl *pflag.FlagSet, f redriveFlags, args []string) error {
	r := &redriveRun{g: g, f: f, rateSet: fl.Changed("rate"), concSet: fl.Changed("concurrency"), modeSet: fl.Changed("mode"), waitSet: fl.Changed("wait"), rate: f.rate, stderr: g.stderr()}
	if err := r.checkFlags(fl, args); err != nil {
		return err
	}
	env, file, err := g.LoadEnv()
	if err != nil {
		return err
	}
	r.env, r.file = env, file
	if !r.rateSet {
		r.rate = env.Rate
	}
	if f.resume != "" {
		st, err := redrive.LoadJournal(f.resume)
		var damaged *redrive.IntegrityError
		if errors.As(err, &damaged) {
			return exitf(ExitUsage, "--resume: journal %s cannot be trusted: %s. Resuming it could send requests twice or skip them, so nothing was sent; %s",
				sanitize.Line(damaged.Path), sanitize.Line(damaged.Reason), sanitize.Line(damaged.Remedy(stowageCommand(g, g.ConfigPath)+" --env "+shellQuote(env.Name))))
		}
		if err != nil {
			return exitf(ExitUsage, "--resume: %s", sanitize.Line(err.Error()))
		}
		if st.Legacy {
			fmt.Fprintf(r.stderr, "stowage: warning: journal %s was written by an older stowage, without sequence numbers or checksums: records it lost cannot be detected; compare it with its report before trusting it\n", sanitize.Line(st.Path))
		}
		if st.Manifest.Env != env.Name {
			return exitf(ExitUsage, "--resume: the journal is a run on environment %q, not %q; pass --env %s",
				sanitize.Line(st.Manifest.Env), env.Name, sanitize.Line(st.Manifest.Env))
		}
		if diffs := redrive.EnvMismatch(st.Manifest, env); len(diffs) > 0 {
			// The confirmed plan named where it sends; a changed config must not redirect it.
			for i := range diffs {
				diffs[i] = sanitize.Line(diffs[i])
			}
			return exitf(ExitUsage, "--resume: environment %q no longer matches the run's plan, so nothing was sent:\n  %s\nrestore the config, or plan a new run", env.Name,
				strings.Join(diffs, "\n  "))
		}
		r.journal, r.mode = st, st.Manifest.Mode
	} else if err := r.readSelection(args); err != nil {
		return err
	}
	c, err := g.openEnv(ctx, env) // --debug, and the notices (AWS_PROFILE overridden) once
	if err != nil {
		return exitForAWS(err)
	}
	r.clients = c
	r.account = r.accountOf(ctx)
	if env.ReadOnly && !f.dryRun {
		// Refused before anything is planned or sent; the client layer would refuse too.
		r.auditRefusal(ctx, "the environment is read-only")
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("environment %q is read-only (read_only in the config or --read-only): redrive refused, nothing was sent; --dry-run shows the plan", env.Name)}
	}
	if r.journal != nil {
		return r.resume(ctx)
	}
	if r.f.batch.engine == engineBatchOps {
		return r.runBatchOps(ctx) // redrive_batchops.go
	}
	return r.planAndRun(ctx)
}

// checkFlags validates what can be checked before anything is read or sent.
func (r *redriveRun) checkFlags(fl *pflag.FlagSet, args []string) error {
	f := r.f
	var err error
	if r.format, err = r.g.outputFormat(); err != nil {
		return err
	}
	if f.resume != "" {
		for _, name := range []string{"key", "from-file", "status", "lost", "since", "mode", "journal", "from-report", "only"} {
			if fl.Changed(name) {
				return exitf(ExitUsage, "--resume continues a planned run: --%s cannot change it (start a new run instead)", name)
			}
		}
		if len(args) > 0 {
			return exitf(ExitUsage, "--resume continues a planned run: request IDs cannot be added to it")
		}
	} else {
		if r.mode, err = redrive.ParseMode(f.mode); err != nil {
			return exitf(ExitUsage, "--mode: %s", sanitize.Line(err.Error()))
		}
		if len(args) == 0 && len(f.keys) == 0 && f.fromFile == "" && f.status == "" && !f.lost && f.fromReport == "" {
			return exitf(ExitUsage, "nothing selected: give request IDs, --key, --from-file, --status, --lost, --from-report or --resume (see stowage redrive --help)")
		}
	}
	if f.only != "" && f.fromReport == "" {
		return exitf(ExitUsage, "--only selects states from a report: add --from-report FILE")
	}
	if f.since != "" && f.status == "" && !f.lost {
		return exitf(ExitUsage, "--since narrows --status or --lost; named requests are taken as they are")
	}
	if strings.EqualFold(strings.TrimSpace(f.status), inventory.StateLost) && f.lost {
		return exitf(ExitUsage, "--status LOST and --lost say the same: give one")
	}
	if r.rateSet && r.rate < 0 {
		return exitf(ExitUsage, "--rate %g: want requests per second, 0 for unlimited", r.rate)
	}
	if f.concurrency < 1 {
		return exitf(ExitUsage, "--concurrency %d: want 1 or more", f.concurrency)
	}
	if f.maxAttempts < 1 {
		return exitf(ExitUsage, "--max-attempts %d: want 1 or more", f.maxAttempts)
	}
	if f.maxFailureRatio <= 0 || f.maxFailureRatio > 1 {
		return exitf(ExitUsage, "--max-failure-ratio %g: want more than 0 and at most 1 (1 never stops)", f.maxFailureRatio)
	}
	if f.wait.Duration < 0 {
		return exitf(ExitUsage, "--wait %s: want how long to wait for the processor's verdict, 0 not to wait", f.wait.Duration)
	}
	if f.unknownSettle.Duration < 0 || f.unknownSettle.Duration > maxUnknownSettle {
		return exitf(ExitUsage, "--unknown-settle %s: want 0 (re-check at once) up to %s", f.unknownSettle.Duration, maxUnknownSettle)
	}
	if f.timeout.Duration <= 0 {
		return exitf(ExitUsage, "--timeout %s: want a time limit above 0 for one attempt (default %s)", f.timeout.Duration, redrive.DefaultAttemptTimeout)
	}
	if f.fromFile == "-" && f.fromReport == "-" {
		return exitf(ExitUsage, "--from-file - and --from-report - cannot both read stdin")
	}
	if err := r.checkEventFlags(fl); err != nil {
		return err
	}
	return r.checkBatchFlags(fl)
}

// modeList is --mode's help: every mode, in help order.
func modeList() string {
	var names []string
	for _, m := range redrive.Modes {
		names = append(names, string(m))
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// readSelection gathers the IDs from the arguments, --from-file and --from-report.
func (r *redriveRun) readSelection(args []string) error {
	f := r.f
	var sources []string
	sel := redrive.Selection{}
	// Arguments and files may name requests as IDs, keys, s3:// URIs, console URLs or log
	// lines; keys map to IDs as the environment says.
	if len(args) > 0 {
		for _, a := range args {
			ids, err := redrive.ParseRefsWith(strings.NewReader(a), r.resolveRef)
			var refused *ExitError
			if errors.As(err, &refused) {
				return refused
			}
			if err != nil || len(ids) == 0 {
				return exitf(ExitUsage, "%s is not a request ID, key, s3:// URI or console URL", sanitize.Line(a))
			}
			sel.IDs = append(sel.IDs, ids...)
		}
		sources = append(sources, "arguments")
	}
	// A key given with --key is taken byte for byte; redrive addresses requests by ID, so
	// a key the environment's key mapping would not give back for its ID is refused.
	for _, k := range f.keys {
		id := r.env.RequestID(k)
		if id == "" || r.env.Key(id) != k {
			return exitf(ExitUsage, "--key %s is not a key of this environment's requests (storage.prefix, strip_prefix and strip_suffix map IDs to keys): check the key with stowage show --key, or give the request ID",
				clipEchoed(sanitize.Line(k), maxEchoed))
		}
		sel.IDs = append(sel.IDs, id)
	}
	if len(f.keys) > 0 {
		sources = append(sources, "--key")
	}
	if f.fromFile != "" {
		in, name, closeIn, err := r.open(f.fromFile, "--from-file")
		if err != nil {
			return err
		}
		ids, err := redrive.ParseRefsWith(in, r.resolveRef)
		closeIn()
		if err != nil {
			return exitf(ExitUsage, "--from-file %s: %s", name, sanitize.Line(err.Error()))
		}
		sel.IDs = append(sel.IDs, ids...)
		sources = append(sources, name)
	}
	if f.fromReport != "" {
		in, name, closeIn, err := r.open(f.fromReport, "--from-report")
		if err != nil {
			return err
		}
		items, err := redrive.ReadReport(in)
		closeIn()
		if err != nil {
			return exitf(ExitUsage, "--from-report %s: %s", name, sanitize.Line(err.Error()))
		}
		only, err := parseOnly(f.only)
		if err != nil {
			return err
		}
		ids := redrive.SelectFromReport(items, only)
		if len(ids) == 0 {
			return exitf(ExitNotFound, "--from-report %s: no request is %s; nothing to redrive", name, joinStates(only))
		}
		if !r.modeSet {
			// A retry goes the way the run went: an s3-copy failure resent inplace would
			// hit the gateway limit it was copied to avoid.
			mode, err := reportMode(items, ids)
			if err != nil {
				return exitf(ExitUsage, "--from-report %s: %s", name, err)
			}
			if mode != "" {
				r.mode = mode
			}
		}
		sel.IDs = append(sel.IDs, ids...)
		sources = append(sources, fmt.Sprintf("report %s (%s)", name, joinStates(only)))
	}
	status := strings.TrimSpace(f.status)
	if strings.EqualFold(status, inventory.StateLost) {
		status, sel.Lost = "", true
	}
	sel.Status = status
	sel.Lost = sel.Lost || f.lost
	if f.since != "" {
		since, err := parseSince(f.since, r.g.now())
		if err != nil {
			return exitf(ExitUsage, "--since: %v", err)
		}
		sel.Since = since
	}
	sel.Source = strings.Join(sources, " + ")
	if len(sel.IDs) == 0 && sel.Status == "" && !sel.Lost {
		return exitf(ExitNotFound, "no request IDs in %s; nothing to redrive", sanitize.Line(sel.Source))
	}
	r.sel = sel
	return nil
}

// resolveRef maps a reference to its request ID by the rule show and status follow, so
// an object in another environment's bucket is refused, never planned from this one's.
func (r *redriveRun) resolveRef(ref reqid.Ref) (string, error) {
	t, err := (&session{env: r.env}).resolve(ref)
	if err != nil {
		return "", r.bucketOwnerHint(ref, err)
	}
	return t.id, nil
}

// bucketOwnerHint adds to a refusal which configured environment has the bucket ref names.
func (r *redriveRun) bucketOwnerHint(ref reqid.Ref, err error) error {
	if ref.Bucket == "" || r.file == nil {
		return err
	}
	var owners []string
	for name, e := range r.file.Environments {
		if e != nil && e.Storage.Bucket == ref.Bucket && name != r.env.Name {
			owners = append(owners, name)
		}
	}
	sort.Strings(owners)
	if len(owners) == 0 {
		return exitf(ExitUsage, "%s; no configured environment uses bucket %s. Redrive refused, nothing was sent", err, sanitize.Line(ref.Bucket))
	}
	return exitf(ExitUsage, "%s. Redrive refused, nothing was sent: environment %s uses bucket %s; redrive it there with %s --env %s redrive …",
		err, strings.Join(owners, ", "), sanitize.Line(ref.Bucket), stowageCommand(r.g, r.g.ConfigPath), sanitize.Line(shellQuote(owners[0])))
}

// open opens a file argument; "-" is stdin.
func (r *redriveRun) open(path, flag string) (io.Reader, string, func(), error) {
	if path == "-" {
		if r.g.Stdin == nil {
			return nil, "", nil, exitf(ExitUsage, "%s -: there is no stdin", flag)
		}
		return r.g.Stdin, "stdin", func() {}, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, "", nil, exitf(ExitUsage, "%s: %s", flag, sanitize.Line(err.Error()))
	}
	return fh, path, func() { fh.Close() }, nil
}

// reportMode is the one mode the report's selected items were sent in ("" when the report
// does not say).
func reportMode(items []redrive.ItemResult, ids []string) (redrive.Mode, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var mode redrive.Mode
	for _, it := range items {
		if !want[it.RequestID] || it.Mode == "" {
			continue
		}
		m, err := redrive.ParseMode(string(it.Mode))
		if err != nil {
			return "", errors.New(sanitize.Line(err.Error()))
		}
		if mode != "" && m != mode {
			return "", fmt.Errorf("the requests were sent in modes %s and %s; pass --mode", mode, m)
		}
		mode = m
	}
	return mode, nil
}

func parseOnly(s string) ([]redrive.ItemState, error) {
	if strings.TrimSpace(s) == "" {
		return []redrive.ItemState{redrive.StateFailed}, nil
	}
	var out []redrive.ItemState
	for _, part := range strings.Split(s, ",") {
		st := redrive.ItemState(strings.ToLower(strings.TrimSpace(part)))
		switch st {
		case redrive.StateFailed, redrive.StateUnknown, redrive.StatePending, redrive.StateSkipped,
			redrive.StateDelivered, redrive.StateRetrying, redrive.StateSending, "unfinished":
			out = append(out, st)
		default:
			return nil, exitf(ExitUsage, "--only %s: want failed, unknown, pending, unfinished, skipped or delivered", sanitize.Line(part))
		}
	}
	return out, nil
}

func joinStates(states []redrive.ItemState) string {
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = string(s)
	}
	return strings.Join(parts, " or ")
}

// planAndRun plans the selection, confirms and runs it.
// plan freezes the selection into a manifest and weighs its failure classes: the plan
// says how many will fail again, and --skip-permanent leaves them out before the
// manifest is hashed and journaled. Both engines plan through it.
func (r *redriveRun) plan(ctx context.Context, opts redrive.PlanOptions) (*redrive.Manifest, error) {
	m, err := redrive.Plan(ctx, redrive.PlanDepsFor(r.clients, r.env), r.sel, opts)
	if err != nil {
		var ae *awsclient.Error
		if errors.As(err, &ae) || errors.Is(err, context.Canceled) {
			return nil, exitForAWS(err)
		}
		return nil, exitf(ExitUsage, "%s", sanitize.Line(err.Error()))
	}
	if r.rules, err = failclass.RulesFor(r.env); err != nil {
		return nil, exitf(ExitUsage, "%s", sanitize.Line(err.Error()))
	}
	perm := redrive.PermanenceOf(m, r.rules)
	r.permanence = &perm
	if r.f.skipPermanent {
		r.skipped = redrive.SkipPermanent(m, perm)
	}
	return m, nil
}

func (r *redriveRun) planAndRun(ctx context.Context) error {
	env := r.env
	if r.mode.UsesGateway() && r.clients.Gateway == nil {
		return exitf(ExitUsage, "mode %s sends through the gateway, but environment %q has no gateway.url; set it, or use --mode s3-copy", r.mode, env.Name)
	}
	opts, err := redrive.PlanOptionsFor(env, r.mode)
	if err != nil {
		return exitf(ExitUsage, "%s", sanitize.Line(err.Error()))
	}
	opts.Rate, opts.Concurrency, opts.Now = r.rate, r.f.concurrency, r.g.clock()
	if err := r.applyEventFlags(&opts); err != nil {
		return err
	}
	m, err := r.plan(ctx, opts)
	if err != nil {
		return err
	}
	summary := m.Summary()

	if r.f.dryRun {
		r.auditDecision(ctx, m, redrive.OutcomeDryRun, "", false)
		r.overlaps(m) // a dry run sends nothing: it only warns
		return r.writeDryRun(m, summary)
	}
	r.writeSummary(r.stderr, summary, r.g.isTerminal(r.g.Stderr))
	if reason := r.overlaps(m); reason != "" {
		r.auditDecision(ctx, m, redrive.OutcomeRefused, reason, false)
		return exitf(ExitUsage, "redrive refused, nothing was sent: %s", reason)
	}
	if len(m.Items) == 0 {
		r.auditDecision(ctx, m, redrive.OutcomeEmpty, "", false)
		if r.skipped > 0 {
			return exitf(ExitNotFound, "nothing to redrive: every request of %s failed with a permanent error, and --skip-permanent left them out", sanitize.Line(r.sel.Describe()))
		}
		return exitf(ExitNotFound, "nothing to redrive: %s matched no stored request", sanitize.Line(r.sel.Describe()))
	}
	if summary.TooLarge == len(m.Items) {
		reason := "every request is over the gateway's 10 MiB limit"
		r.auditDecision(ctx, m, redrive.OutcomeRefused, reason, false)
		return exitf(ExitUsage, "%s: API Gateway refuses bodies over 10 MiB, so nothing was sent; redrive them with --mode s3-copy", reason)
	}
	if ok, err := r.confirm(ctx, len(m.Items), summary.SendText(r.f.force)); !ok {
		outcome, reason := redrive.OutcomeDeclined, "the operator declined"
		if err != nil {
			outcome, reason = redrive.OutcomeRefused, "no confirmation possible"
		}
		r.auditDecision(ctx, m, outcome, reason, false)
		if err != nil {
			return err
		}
		return &ExitError{Code: ExitCancelled, Err: errors.New("not confirmed; nothing was sent")}
	}
	journal := r.f.journal
	if journal == "" {
		if journal, err = redrive.DefaultJournalPath(m); err != nil {
			return exitf(ExitUsage, "journal: %v; pass --journal FILE", err)
		}
	}
	sess, err := redrive.Start(ctx, r.deps(), m, r.runOptions(journal), r.sessionConfig(ctx))
	if err != nil {
		return exitf(ExitUsage, "%s", sanitize.Line(err.Error())) // Start audited the refusal
	}
	return r.execute(ctx, sess, m)
}

// overlaps looks, before any confirmation, for runs of this environment that have not
// finished and hold some of m's requests: sending those again now could deliver them
// twice. It warns about each on stderr and returns why the run is refused ("" when it is
// not: no overlap, --allow-overlap, or the log cannot be read, which is warned).
func (r *redriveRun) overlaps(m *redrive.Manifest) string {
	if len(m.Items) == 0 {
		return ""
	}
	path, err := redrive.AuditPath()
	if err != nil {
		return "" // the audit entry of this run warns about it
	}
	ids := make([]string, len(m.Items))
	for i, it := range m.Items {
		ids[i] = it.RequestID
	}
	overlaps, err := redrive.UnfinishedOverlaps(path, r.env.Name, ids)
	if err != nil {
		fmt.Fprintf(r.stderr, "stowage: warning: could not look for unfinished runs: %s\n", sanitize.Line(err.Error()))
		return ""
	}
	for _, o := range overlaps {
		fmt.Fprintf(r.stderr, "stowage: warning: %s\n", sanitize.Line(o.Warning()))
	}
	if len(overlaps) == 0 || r.f.allowOverlap || r.f.dryRun {
		return ""
	}
	return redrive.OverlapRefusal(overlaps, r.commandPrefix())
}

// resume continues the journaled run.
func (r *redriveRun) resume(ctx context.Context) error {
	st := r.journal
	m := st.Manifest
	left := st.Remaining()
	c := st.Counts()
	fmt.Fprintf(r.stderr, "Resuming run %s on %s (%s → %s), planned %s: %d of %d requests left (%s).\n",
		sanitize.Line(m.RunID), sanitize.Line(m.Env), sanitize.Line(string(m.Mode)), sanitize.Line(m.Target.String()), m.PlannedAt.Format(time.RFC3339),
		len(left), len(m.Items), c)
	if note := m.Mode.ResumeNote(c.Unknown + c.Sending + c.Retrying); note != "" {
		fmt.Fprintln(r.stderr, sanitize.Line(note))
	}
	if r.f.dryRun {
		r.auditDecision(ctx, m, redrive.OutcomeDryRun, "resume, dry run", true)
		rep := redrive.ReportFromJournal(st)
		return r.writeReport(rep)
	}
	if len(left) == 0 {
		rep := redrive.ReportFromJournal(st)
		fmt.Fprintln(r.stderr, "Nothing left to do: every request of this run is finished.")
		if err := r.writeReport(rep); err != nil {
			return err
		}
		return r.exitFor(rep)
	}
	if ok, err := r.confirm(ctx, len(left), ""); !ok {
		outcome, reason := redrive.OutcomeDeclined, "the operator declined to resume"
		if err != nil {
			outcome, reason = redrive.OutcomeRefused, "no confirmation possible"
		}
		r.auditDecision(ctx, m, outcome, reason, true)
		if err != nil {
			return err
		}
		return &ExitError{Code: ExitCancelled, Err: errors.New("not confirmed; nothing was sent")}
	}
	sc := r.sessionConfig(ctx)
	if r.rateSet {
		sc.Rate = &r.rate // the run starts with it: not "tuned"
	}
	if r.concSet {
		sc.Concurrency = &r.f.concurrency
	}
	sess, err := redrive.ResumeSession(ctx, r.deps(), st, r.runOptions(st.Path), sc)
	if err != nil {
		return exitf(ExitUsage, "%s", sanitize.Line(err.Error())) // ResumeSession audited the refusal
	}
	return r.execute(ctx, sess, m)
}

// sessionConfig is who runs the redrive, on which account, and the clock its audit
// entries use.
func (r *redriveRun) sessionConfig(ctx context.Context) redrive.SessionConfig {
	return redrive.SessionConfig{Who: r.who(ctx), Now: r.g.clock(), Account: r.account, AllowOverlap: r.f.allowOverlap}
}

func (r *redriveRun) deps() redrive.Deps { return redrive.DepsFor(r.clients) }

func (r *redriveRun) runOptions(journal string) redrive.Options {
	o := redrive.OptionsFor(r.env)
	o.JournalPath, o.MaxAttempts, o.MaxFailureRatio, o.Force = journal, r.f.maxAttempts, r.f.maxFailureRatio, r.f.force
	o.UnknownSettle, o.AttemptTimeout = r.f.unknownSettle.Duration, r.f.timeout.Duration
	if o.UnknownSettle == 0 {
		o.UnknownSettle = redrive.NoUnknownSettle // the engine reads 0 as its default
	}
	return o
}

// maxUnknownSettle bounds --unknown-settle: a longer wait per unknown item would stall a
// run for no gain, since --resume re-checks anyway.
const maxUnknownSettle = 10 * time.Minute

// execute shows the started session's progress, handles Ctrl+C, and reports.
func (r *redriveRun) execute(ctx context.Context, sess *redrive.Session, m *redrive.Manifest) error {
	run := sess.Run()
	stderr := r.stderr
	fmt.Fprintf(stderr, "Journal: %s\n", run.JournalPath())
	progressDone := r.showProgress(run)
	go r.watchInterrupts(ctx, run)
	rep, fin, auditErr := sess.Finish()
	<-progressDone

	if fin.ReportErr != nil {
		fmt.Fprintf(stderr, "stowage: warning: %s\n", sanitize.Line(fin.ReportErr.Error()))
	}
	if auditErr != nil {
		fmt.Fprintf(stderr, "stowage: warning: audit log: %s\n", sanitize.Line(fin.AuditErr.Error()))
	}
	verdict, waited := r.waitVerdicts(ctx, rep, m)
	if waited && fin.ReportPath != "" {
		// The saved report gains the verdicts, so --from-report can take them.
		if err := rep.SaveJSONLines(fin.ReportPath); err != nil {
			fmt.Fprintf(stderr, "stowage: warning: %s\n", sanitize.Line(err.Error()))
		}
	}
	if err := r.writeReport(rep); err != nil {
		return err
	}
	r.writeOutcome(rep, fin.ReportPath)
	if waited {
		r.writeVerdict(verdict)
	}
	exit := r.exitFor(rep)
	if auditErr != nil && exit == nil {
		// Everything was delivered, but the record is incomplete: do not say all is well.
		return exitf(ExitUsage, "%s", sanitize.Line(auditErr.Error()))
	}
	if exit == nil && waited && !verdict.out.AllProcessed() {
		return &ExitError{Code: exitNotProcessed, Err: fmt.Errorf("delivered, but not processed: %s", verdict.out.Text(redrive.DoneStateName(r.env)))}
	}
	return exit
}

// exitNotProcessed is redrive's exit code when --wait saw deliveries fail again or get no
// verdict. (root.go keeps the other codes.)
const exitNotProcessed = 4

// defaultVerdictWait is --wait on a terminal.
const defaultVerdictWait = 2 * time.Minute

// verdictResult is what the wait for verdicts learnt.
type verdictResult struct {
	out     redrive.VerdictOutcome
	byClass []redrive.OutcomeClass // by the failure class each request had before
	wait    time.Duration
	err     error
}

// waitFor is how long to wait for verdicts: --wait when given, else the default on a
// terminal and nothing without one.
func (r *redriveRun) waitFor() time.Duration {
	if r.waitSet || r.g.isTerminal(r.g.Stderr) {
		return r.f.wait.Duration
	}
	return 0
}

// waitVerdicts waits for the processor's verdict on what the run delivered, with a
// progress line on a terminal, and sets each item's verdict in rep. waited is false when
// there was nothing to wait for, or no wait.
func (r *redriveRun) waitVerdicts(ctx context.Context, rep *redrive.Report, m *redrive.Manifest) (verdictResult, bool) {
	wait := r.waitFor()
	targets := redrive.VerdictTargets(rep, m)
	if wait <= 0 || len(targets) == 0 || r.clients.Statuses == nil || ctx.Err() != nil {
		return verdictResult{}, false
	}
	v := redrive.NewVerdicts(targets, r.env)
	name := redrive.DoneStateName(r.env)
	o := redrive.WaitOptions{Env: r.env, Wait: wait, Now: verdictNow, Sleep: verdictSleep}
	tty := r.g.isTerminal(r.g.Stderr)
	width := r.g.terminalWidth(r.g.Stderr)
	if tty {
		o.Progress = func(out redrive.VerdictOutcome) {
			line := "waiting for the processor: " + out.Text(name)
			if width > 0 {
				line = ansi.Truncate(line, width-1, "…")
			}
			fmt.Fprint(r.stderr, "\r\x1b[2K"+line)
		}
	}
	out, err := redrive.WaitVerdicts(ctx, r.clients.Statuses, v, o)
	if tty {
		fmt.Fprint(r.stderr, "\r\x1b[2K")
	}
	v.Apply(rep)
	return verdictResult{out: out, byClass: v.ByClass(r.rules), wait: wait, err: err}, true
}

// verdictNow and verdictSleep are the wait's clock (the real one when nil), not
// the commands' clock (Globals.now): a fixed clock would never end the wait.
var (
	verdictNow   func() time.Time
	verdictSleep func(ctx context.Context, d time.Duration) error
)

// writeVerdict says what the processor made of the deliveries.
func (r *redriveRun) writeVerdict(v verdictResult) {
	w := r.stderr
	fmt.Fprintf(w, "Processing: %s.\n", v.out.Text(redrive.DoneStateName(r.env)))
	if len(v.byClass) > 1 || (len(v.byClass) == 1 && v.byClass[0].Key != "") {
		fmt.Fprintln(w, "By failure class (the error each request had before):")
		for _, c := range v.byClass {
			fmt.Fprintf(w, "  %s\n", clipEchoed(c.Text(redrive.DoneStateName(r.env)), maxMessage))
		}
	}
	if v.err != nil {
		fmt.Fprintf(w, "stowage: warning: %s\n", clipEchoed(v.err.Error(), maxMessage))
	}
	if v.out.Waiting > 0 {
		fmt.Fprintf(w, "No verdict within %s: the processor may still have them; see them with %s status ID, or wait longer with --wait.\n",
			v.wait, r.commandPrefix())
	}
	if v.out.SameError > 0 {
		fmt.Fprintln(w, "Failing again with the same error: a redrive will not fix these; fix the payload or the processor first.")
	}
}

// exitFor maps a report to the exit code.
func (r *redriveRun) exitFor(rep *redrive.Report) error {
	c := rep.Counts
	switch rep.Outcome {
	case redrive.OutcomeDelivered:
		return nil
	case redrive.OutcomeCanceled:
		return &ExitError{Code: ExitCancelled, Err: fmt.Errorf("cancelled: %d delivered, %d not finished", c.Delivered, c.Total()-c.Done())}
	case "":
		if c.Failed == 0 && c.Done() == c.Total() {
			return nil
		}
	}
	return &ExitError{Code: ExitNotFound, Err: fmt.Errorf("%d of %d requests not delivered (%s)", c.Total()-c.Delivered-c.Skipped, c.Total(), c)}
}

// watchInterrupts lets a second Ctrl+C (after the first cancelled the run) cut the
// requests in flight.
func (r *redriveRun) watchInterrupts(ctx context.Context, run *redrive.Run) {
	select {
	case <-run.Done():
		return
	case <-ctx.Done():
	}
	select {
	case <-run.Done():
		return
	default:
	}
	p := run.Snapshot()
	sig, stop := notifyStop()
	defer stop()
	fmt.Fprintf(r.stderr, "\nstowage: cancelling: no new request is sent; waiting for the %d in flight (Ctrl+C again cuts them, their outcome is then unknown)\n", p.InFlight)
	select {
	case <-sig:
		run.Abort()
	case <-run.Done():
	}
}

// showProgress draws a progress line on stderr while the run runs, when stderr is a
// terminal. The returned channel is closed once it has stopped drawing.
func (r *redriveRun) showProgress(run *redrive.Run) <-chan struct{} {
	done := make(chan struct{})
	if !r.g.isTerminal(r.g.Stderr) {
		close(done)
		return done
	}
	width := r.g.terminalWidth(r.g.Stderr)
	go func() {
		defer close(done)
		drawn := false
		for p := range run.Updates() {
			line := progressLine(p, width)
			fmt.Fprint(r.stderr, "\r\x1b[2K"+line)
			drawn = true
		}
		if drawn {
			fmt.Fprintln(r.stderr)
		}
	}()
	return done
}

// progressLine renders one progress snapshot in at most width cells (0: no limit).
func progressLine(p redrive.Progress, width int) string {
	const barWidth = 24
	filled := int(p.Fraction() * barWidth)
	bar := "[" + strings.Repeat("█", filled) + strings.Repeat("░", barWidth-filled) + "]"
	c := p.Counts
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d/%d  delivered %d  failed %d  skipped %d", bar, c.Done(), p.Total, c.Delivered, c.Failed, c.Skipped)
	if c.Retrying > 0 {
		fmt.Fprintf(&b, "  retrying %d", c.Retrying)
	}
	if c.Unknown > 0 {
		// Not the same as retrying: these may have been delivered.
		fmt.Fprintf(&b, "  unknown %d", c.Unknown)
	}
	limit := "unlimited"
	if p.TargetRate > 0 {
		limit = fmt.Sprintf("limit %g/s", p.TargetRate)
	}
	rate := "measuring…"
	if p.RateMeasured {
		rate = fmt.Sprintf("%.1f/s", p.Rate)
	}
	fmt.Fprintf(&b, "  • %s (%s, %d in flight of %d)", rate, limit, p.InFlight, p.Concurrency)
	if p.ETA > 0 {
		fmt.Fprintf(&b, "  • ETA %s", p.ETA.Round(time.Second))
	}
	if p.Stopping && p.StopReason != "" {
		b.WriteString("  • stopping: " + sanitize.Line(p.StopReason))
	} else if n := len(p.LastErrors); n > 0 {
		b.WriteString("  • last error: " + sanitize.Line(p.LastErrors[n-1].Err))
	}
	if width > 0 {
		return ansi.Truncate(b.String(), width-1, "…")
	}
	return b.String()
}

// confirm asks the operator to confirm a run of count requests. It returns false with an
// error when no confirmation is possible (no terminal and no --yes).
// what, when set, says what is sent ("55 requests (1 already processed skipped)").
func (r *redriveRun) confirm(ctx context.Context, count int, what string) (bool, error) {
	if r.f.yes {
		return true, nil
	}
	in, out, closeTTY, err := r.g.promptTerminal(r.f.fromFile == "-" || r.f.fromReport == "-")
	if err != nil {
		return false, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%v: refusing to redrive without confirmation; pass --yes to confirm in a script", err)}
	}
	defer closeTTY()
	env := r.env
	if what == "" {
		what = fmt.Sprintf("%d requests", count)
		if count == 1 {
			what = "1 request"
		}
	}
	where := fmt.Sprintf("environment %q", env.Name)
	if env.Production {
		where = fmt.Sprintf("PRODUCTION environment %q", env.Name)
	}
	readAnswer := func() string {
		// Ctrl+C cancels ctx but cannot interrupt a read: do not wait for the line then.
		line := make(chan string, 1)
		go func() {
			s, _ := bufio.NewReader(in).ReadString('\n')
			line <- s
		}()
		select {
		case s := <-line:
			return s
		case <-ctx.Done():
			fmt.Fprintln(out)
			return ""
		}
	}
	switch redrive.ConfirmationFor(count, env.Production) {
	case redrive.ConfirmTypeEnv:
		fmt.Fprintf(out, "Redrive %s on %s? What is sent cannot be undone.\nType the environment name (%s) to confirm: ", what, where, env.Name)
		answer := readAnswer()
		if strings.TrimSpace(answer) == env.Name {
			return true, nil
		}
		fmt.Fprintf(out, "%q is not %q: nothing was sent.\n", sanitize.Line(strings.TrimSpace(answer)), env.Name)
		return false, nil
	default:
		fmt.Fprintf(out, "Redrive %s on %s? [y/N] ", what, where)
		answer := readAnswer()
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "y", "yes":
			return true, nil
		}
		fmt.Fprintln(out, "Nothing was sent.")
		return false, nil
	}
}

// promptTerminal finds where to ask: stdin when it is a terminal, or /dev/tty when stdin
// carries data (--from-file -). Tests answer through Globals' seams.
func promptTerminal(g *Globals, stdinIsData bool) (io.Reader, io.Writer, func(), error) {
	if !stdinIsData {
		if !g.isTerminal(g.Stdin) {
			return nil, nil, nil, errors.New("stdin is not a terminal")
		}
		return g.Stdin, g.Stderr, func() {}, nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, nil, nil, errors.New("stdin holds the request IDs and there is no terminal to ask on")
	}
	return tty, tty, func() { tty.Close() }, nil
}

// writeSummary prints the plan.
func (r *redriveRun) writeSummary(w io.Writer, s redrive.Summary, samples bool) {
	env := s.Env
	if s.Production {
		env += " (PRODUCTION)"
	}
	fmt.Fprintf(w, "Redrive plan %s\n", sanitize.Line(s.RunID))
	fmt.Fprintf(w, "  environment  %s\n", env)
	if r.account != "" {
		fmt.Fprintf(w, "  account      %s\n", sanitize.Line(r.account))
	}
	fmt.Fprintf(w, "  selection    %s\n", sanitize.Line(s.Selection))
	fmt.Fprintf(w, "  mode         %s → %s\n", s.Mode, sanitize.Line(s.Target))
	fmt.Fprintf(w, "  requests     %d, %s", s.Count, payload.Human(s.TotalBytes))
	if s.Count > 0 {
		fmt.Fprintf(w, "  (status now: %s)", sanitize.Line(s.StatusCounts()))
	}
	fmt.Fprintln(w)
	rate := "unlimited"
	if s.Rate > 0 {
		rate = fmt.Sprintf("%g/s", s.Rate)
	}
	eta := "unknown until it runs"
	if s.ETA > 0 {
		eta = "about " + s.ETA.Round(time.Second).String()
		if s.ETA < time.Second {
			eta = "under a second"
		}
	}
	fmt.Fprintf(w, "  rate         %s, %d at a time, ETA %s\n", rate, s.Concurrency, eta)
	fmt.Fprintf(w, "  manifest     sha256 %s\n", sanitize.Line(s.Hash))
	if r.clients != nil && r.deps().Leases == nil {
		// Loud: without the table, two operators on two machines can send the same requests.
		fmt.Fprintf(w, "  WARNING      NO LEASE TABLE%s (set redrive.lease_table; see stowage doctor)\n", strings.TrimPrefix(redrive.NoLeaseTableWarning, "no lease table"))
	}
	if n := len(s.Missing); n > 0 {
		shown := s.Missing
		if n > 5 {
			shown = shown[:5]
		}
		fmt.Fprintf(w, "  warning      %d requested ID(s) have no stored object and are left out: %s", n, sanitize.Line(strings.Join(shown, ", ")))
		if n > 5 {
			fmt.Fprint(w, ", …")
		}
		fmt.Fprintln(w)
	}
	if s.TooLarge > 0 {
		fmt.Fprintf(w, "  warning      %d request(s) are over API Gateway's 10 MiB limit and will be refused unsent: redrive them with --mode s3-copy\n", s.TooLarge)
	}
	if p := r.permanence; p != nil && p.Permanent > 0 {
		total := s.Count + r.skipped
		if r.skipped > 0 {
			fmt.Fprintf(w, "  permanent    %s; %d left out (--skip-permanent)\n", sanitize.Line(p.Text(total)), r.skipped)
		} else {
			fmt.Fprintf(w, "  permanent    %s; --skip-permanent leaves them out\n", sanitize.Line(p.Text(total)))
		}
	}
	if s.AlreadyDone > 0 && !r.f.force {
		fmt.Fprintf(w, "  note         %d request(s) are already in a terminal state and will be skipped (--force sends them)\n", s.AlreadyDone)
	}
	if line := batchSuggestion(r.env, s.Count, s.TooLarge); line != "" && r.f.batch.engine != engineBatchOps {
		fmt.Fprintln(w, line)
	}
	if samples && len(s.Samples) > 0 {
		// The first few, as the TUI's plan shows them: a last look at what is about to go.
		fmt.Fprintln(w, "  first requests")
		for _, it := range s.Samples {
			line := fmt.Sprintf("    %-36s  %9s  %-12s", sanitize.Line(it.RequestID), payload.Human(it.Size), stateOrNone(it.Status))
			if it.Key != it.RequestID {
				line += "  " + sanitize.Line(it.Key)
			}
			fmt.Fprintln(w, strings.TrimRight(line, " "))
		}
		if more := s.Count - len(s.Samples); more > 0 {
			fmt.Fprintf(w, "    … and %d more\n", more)
		}
	}
}

func stateOrNone(s string) string {
	if s == "" {
		return "(no status)"
	}
	return sanitize.Line(s)
}

// writeDryRun prints the plan: JSON Lines of the manifest items with -o json (the summary
// then goes to stderr), else the summary and a table of every item.
func (r *redriveRun) writeDryRun(m *redrive.Manifest, s redrive.Summary) error {
	if r.format == outputJSON {
		// stdout holds the manifest's JSON alone; the summary and its samples go to stderr.
		r.writeSummary(r.stderr, s, true)
		bw := bufio.NewWriter(r.g.Stdout)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for _, it := range m.Items {
			if err := enc.Encode(it); err != nil {
				return err
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	} else {
		r.writeSummary(r.g.Stdout, s, false) // every item follows
		fmt.Fprintln(r.g.Stdout)
		fmt.Fprintf(r.g.Stdout, "%-36s  %9s  %-12s  %s\n", "REQUEST ID", "SIZE", "STATUS NOW", "KEY")
		for _, it := range m.Items {
			fmt.Fprintf(r.g.Stdout, "%-36s  %9s  %-12s  %s\n", sanitize.Line(it.RequestID), payload.Human(it.Size),
				stateOrNone(it.Status), sanitize.Line(it.Key))
		}
	}
	fmt.Fprintln(r.stderr, "Dry run: nothing was sent.")
	if len(m.Items) == 0 && r.skipped > 0 {
		return exitf(ExitNotFound, "nothing to redrive: every request of %s failed with a permanent error, and --skip-permanent left them out", sanitize.Line(m.Selection.Describe()))
	}
	if len(m.Items) == 0 {
		return exitf(ExitNotFound, "nothing to redrive: %s matched no stored request", sanitize.Line(m.Selection.Describe()))
	}
	return nil
}

func (r *redriveRun) writeReport(rep *redrive.Report) error {
	if r.format == outputJSON {
		return rep.WriteJSONLines(r.g.Stdout)
	}
	return rep.WriteTable(r.g.Stdout,
		func(s string) string { return clipOutside(s, maxTableID) },
		func(s string) string { return clipOutside(s, maxTableText) })
}

// writeOutcome says on stderr how the run ended and what to do next.
func (r *redriveRun) writeOutcome(rep *redrive.Report, reportPath string) {
	w := r.stderr
	c := rep.Counts
	fmt.Fprintf(w, "Run %s %s.\n", sanitize.Line(rep.RunID), rep.Headline())
	if rep.StopReason != "" && rep.Outcome != redrive.OutcomeCanceled {
		fmt.Fprintf(w, "Stopped: %s\n", sanitize.Line(rep.StopReason))
	}
	if reportPath != "" {
		fmt.Fprintf(w, "Report:  %s\n", reportPath)
	}
	unfinished := c.Total() - c.Done()
	if rep.Outcome == redrive.OutcomeCanceled || unfinished > 0 {
		sent := c.Delivered + c.Failed + c.Unknown + c.Sending + c.Retrying
		fmt.Fprintf(w, "What was sent is not undone: %d request(s) were sent or attempted and stay sent; %d were not sent.\n", sent, c.Pending)
		fmt.Fprintf(w, "Continue the run with: %s redrive --resume %s\n", r.commandPrefix(), sanitize.Line(shellQuote(rep.JournalPath)))
	}
	if c.Failed > 0 && reportPath != "" {
		fmt.Fprintf(w, "Retry the failures with: %s redrive --from-report %s --only failed --mode %s\n", r.commandPrefix(), sanitize.Line(shellQuote(reportPath)), rep.Mode)
	}
	if c.Unknown > 0 && rep.Mode == redrive.ModeReupload {
		header := r.env.Gateway.OriginalIDHeader
		if header == "" {
			header = redrive.DefaultOriginalIDHeader
		}
		fmt.Fprintf(w, "%d reupload(s) may have been stored under a new request ID: look for them (their %s header names the original) before redriving them again.\n",
			c.Unknown, sanitize.Line(header))
	}
	if adv := rep.Mode.UnknownAdvice(c.Unknown, r.commandPrefix(), shellQuote(reportPath)); adv != "" && reportPath != "" {
		fmt.Fprintln(w, sanitize.Line(adv))
	}
	for i, lw := range rep.LeaseWarnings {
		if i == 5 {
			fmt.Fprintf(w, "stowage: warning: … and %d more lease warnings (the report has every request's state)\n", len(rep.LeaseWarnings)-5)
			break
		}
		fmt.Fprintf(w, "stowage: warning: lease: %s\n", clipEchoed(lw, maxMessage))
	}
	if isDemoEnv(r.env) {
		fmt.Fprintln(w, "(The demo's stack, and its config unless --config-out kept it, go when the demo stops; the journal and report above stay.)")
	}
	// An event mode never sends an unknown item again on its own: only a real retry may
	// have delivered twice.
	if (c.Unknown > 0 && !rep.Mode.IsEvent()) || anyMaybeDuplicated(rep) {
		fmt.Fprintln(w, "Some requests' delivery was unknown (connection lost after sending): the processor may have received them twice; it can deduplicate on the idempotency headers.")
	}
}

// commandPrefix is how to run stowage on this environment again: the config file when one
// was named, the overrides given, and the environment.
func (r *redriveRun) commandPrefix() string {
	return stowageCommand(r.g, r.g.ConfigPath) + " --env " + sanitize.Line(shellQuote(r.env.Name))
}

// stowageCommand is how to run stowage again as it runs now, up to the environment: the
// config file (configPath, "" for the default) and the global overrides that change where
// it reads and with which credentials. Quoted for a POSIX shell and sanitized.
func stowageCommand(g *Globals, configPath string) string {
	p := "stowage"
	add := func(flag, v string) {
		if v != "" {
			p += " " + flag + " " + sanitize.Line(shellQuote(v))
		}
	}
	add("--config", configPath)
	add("--profile", g.Profile)
	add("--region", g.Region)
	add("--endpoint-url", g.EndpointURL)
	return p
}

func anyMaybeDuplicated(rep *redrive.Report) bool {
	for _, it := range rep.Items {
		if it.MaybeDuplicated {
			return true
		}
	}
	return false
}

// auditDecision records a plan that did not run (dry run, empty, declined, refused); a
// failure to write the log is a warning, never a lost run.
func (r *redriveRun) auditDecision(ctx context.Context, m *redrive.Manifest, outcome redrive.Outcome, reason string, resumed bool) {
	_ = r.appendAudit(redrive.AuditDecision(m, outcome, reason, r.auditContext(ctx, resumed))) // warned; nothing was sent
}

// auditRefusal records a run refused before it was planned.
func (r *redriveRun) auditRefusal(ctx context.Context, reason string) {
	_ = r.appendAudit(redrive.NewRefusalEntry(redrive.Refusal{Env: r.env.Name, Production: r.env.Production,
		Selection: r.sel, Mode: r.mode, Rate: r.rate, Concurrency: r.f.concurrency, Reason: reason, Journal: r.journal},
		r.auditContext(ctx, r.journal != nil)))
}

func (r *redriveRun) auditContext(ctx context.Context, resumed bool) redrive.AuditContext {
	return redrive.AuditContext{Who: r.who(ctx), Account: r.account, Force: r.f.force, Resumed: resumed,
		AllowOverlap: r.f.allowOverlap, At: r.g.now()}
}

func (r *redriveRun) appendAudit(e redrive.AuditEntry) error {
	path, err := redrive.AuditPath()
	if err == nil {
		err = redrive.AppendAudit(path, e)
	}
	if err != nil {
		fmt.Fprintf(r.stderr, "stowage: warning: audit log: %s; fix it or set XDG_STATE_HOME\n", sanitize.Line(err.Error()))
	}
	return err
}

// who names the operator for the audit log: the STS caller ARN, or "demo" on the local
// demo stack.
func (r *redriveRun) who(ctx context.Context) string {
	if isDemoEnv(r.env) {
		return "demo"
	}
	if r.clients == nil {
		return "unknown"
	}
	return redrive.Operator(ctx, r.clients.Identity)
}

// accountOf is the account ID the credentials resolved to, for the plan: no surprise
// about where a redrive writes. "" on a local stack; the kind of failure, never its text.
func (r *redriveRun) accountOf(ctx context.Context) string {
	if r.clients == nil || r.clients.Account == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, redrive.IdentityTimeout)
	defer cancel()
	a, err := r.clients.Account(ctx)
	if err != nil {
		return "unknown (sts:GetCallerIdentity failed: " + awsclient.KindOf(err).String() + ")"
	}
	return a
}

// isDemoEnv reports whether env is the demo stack: named demo, every endpoint on loopback.
func isDemoEnv(env *config.Env) bool {
	if env.Name != "demo" {
		return false
	}
	for _, raw := range []string{env.Endpoints.S3, env.Endpoints.DynamoDB, env.GatewayURL()} {
		if !config.IsLoopbackURL(raw) {
			return false
		}
	}
	return true
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil {
		return len(p), nil
	}
	return l.w.Write(p)
}
