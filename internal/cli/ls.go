package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// listFlags are the flags ls and lost share.
type listFlags struct {
	prefix    string
	since     string
	status    string
	lost      bool
	olderThan string
	limit     int
	sort      string
	parallel  int
}

// Sort orders for --sort.
var sortOrders = []string{"time", "size", "status"}

func newLsCmd(g *Globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List stored requests with their processing status",
		Long: `List the requests stored in the environment's bucket, each with its status item from
the status table. Rows stream as the bucket is listed: the first line comes before the
listing ends, unless --sort needs every row first.

  --status S   requests whose status item is in state S (exact, as stored), read from the
               status index (status.index) when one is configured, else by a table scan.
               --status LOST is --lost.
  --lost       requests stored more than status.lost_after ago (or --older-than) that have
               no status item: the processor never saw them.
  --parallel N lists N key ranges at once (default ` + fmt.Sprint(inventory.DefaultParallel) + `; 1 is one stream) and
               merges them in key order: request IDs are UUIDs, so the ranges split on the
               leading hex digits, and keys that are not hex are still listed. On a
               high-latency S3 this is minutes against seconds.
  --sort       time (newest first), size (largest first) or status (worst first: failed
               states, LOST, in progress, not yet processed, then status.terminal_states).
` + jsonFieldsHelp + "\n" + exitCodesHelp,
		Example: `  # Everything that failed in the last hour, for a runbook
  stowage --env prod ls --status FAILED --since 1h -o json

  # Redrive them (dry run first)
  stowage --env prod ls --status FAILED --since 1h -o json | jq -r .id | stowage --env prod redrive --from-file - --dry-run

  # Requests the processor never saw, older than 30 minutes
  stowage --env prod ls --lost --older-than 30m

  # The 20 largest requests under a key prefix
  stowage ls --prefix 3f --sort size --limit 20

  # A big bucket over a slow link: 32 listing streams
  stowage --env prod ls --parallel 32 -o json | wc -l`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runList(cmd.Context(), g, f)
		},
	}
	addListFlags(cmd, g, &f, true)
	return cmd
}

// addListFlags adds the listing flags; withStatus adds --status and --lost (ls only).
func addListFlags(cmd *cobra.Command, g *Globals, f *listFlags, withStatus bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.prefix, "prefix", "", "only keys under this prefix (relative to storage.prefix)")
	fl.StringVar(&f.since, "since", "", "only requests received within this duration (30m, 24h, 2d, 1w2d) or since this time (RFC 3339)")
	if withStatus {
		fl.StringVar(&f.status, "status", "", "only requests in this state (FAILED, PROCESSED, ...; LOST = --lost)")
		fl.BoolVar(&f.lost, "lost", false, "only lost requests: stored, older than status.lost_after, no status item")
		_ = cmd.RegisterFlagCompletionFunc("status", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"FAILED", "PROCESSED", "LOST"}, cobra.ShellCompDirectiveNoFileComp
		})
	}
	olderThan := "the age after which a request with no status item is lost (default status.lost_after)"
	if withStatus {
		olderThan = "with --lost: " + olderThan // ls; stowage lost is always --lost
	}
	fl.StringVar(&f.olderThan, "older-than", "", olderThan)
	fl.IntVar(&f.limit, "limit", 0, "stop after this many requests (0: no limit)")
	fl.StringVar(&f.sort, "sort", "", "sort by time, size or status (reads every row before printing)")
	fl.IntVar(&f.parallel, "parallel", inventory.DefaultParallel, fmt.Sprintf("list this many key ranges concurrently: 1 to %d (1 is one stream)", inventory.MaxParallel))
	_ = cmd.RegisterFlagCompletionFunc("sort", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return sortOrders, cobra.ShellCompDirectiveNoFileComp
	})
	addOutputFlag(cmd, g)
}

// session is one command's environment and its clients.
type session struct {
	env      *config.Env
	clients  *awsclient.Clients
	src      inventory.Source
	arrivals *inventory.Arrivals // the original arrivals of rows (nil: LastModified)
}

// openEnv opens env's clients for a command with the global flags' options (--debug) and
// tells the operator, once on stderr, what Open noticed (AWS_PROFILE overridden by the
// environment's profile). Every command that talks to AWS opens through it.
func (g *Globals) openEnv(ctx context.Context, env *config.Env, opts ...awsclient.OpenOption) (*awsclient.Clients, error) {
	c, err := g.openClients(ctx, env, append(g.openOptions(), opts...)...)
	if err != nil {
		return nil, err
	}
	if g.Stderr != nil {
		for _, n := range c.Notices {
			fmt.Fprintln(g.Stderr, "stowage: "+sanitize.Line(n))
		}
	}
	return c, nil
}

// openSession loads the selected environment and opens its clients.
func (g *Globals) openSession(ctx context.Context) (*session, error) {
	env, _, err := g.LoadEnv()
	if err != nil {
		return nil, err
	}
	c, err := g.openEnv(ctx, env)
	if err != nil {
		return nil, exitForAWS(err)
	}
	return &session{env: env, clients: c, src: inventory.NewSource(c, env), arrivals: arrivalsFor(env, c)}, nil
}

// arrivalsFor is how env's commands find a request's original arrival (inventory's
// Arrivals): status.received_attr, the object's versions when storage.received_from_versions
// asks for them, then this machine's redrive history.
func arrivalsFor(env *config.Env, c *awsclient.Clients) *inventory.Arrivals {
	a := &inventory.Arrivals{Attr: env.Status.ReceivedAttr, History: &lazyHistory{env: env}}
	if env.Storage.ReceivedFromVersions && c != nil && c.Objects != nil {
		a.Versions = c.Objects
	}
	return a
}

// tuiArrivals are the TUI's Session.Arrivals: the history read now, before the program
// starts, since View must not do I/O; no versions (a call per row).
func tuiArrivals(env *config.Env) *inventory.Arrivals {
	a := &inventory.Arrivals{Attr: env.Status.ReceivedAttr}
	if h := redriveHistory(env); h != nil {
		a.History = h
	}
	return a
}

// lazyHistory reads the redrive history on its first question, so that a command that
// dates no row (show, a failed open) does not pay for it: about 1 s per 100,000 journaled
// requests (10 journals of 10,000, measured on the 2-core build machine).
type lazyHistory struct {
	env  *config.Env
	once sync.Once
	h    inventory.History
}

func (l *lazyHistory) Redrives(key string) (planned, sent time.Time, ok bool) {
	l.once.Do(func() { l.h = redriveHistory(l.env) })
	if l.h == nil {
		return time.Time{}, time.Time{}, false
	}
	return l.h.Redrives(key)
}

// redriveHistory reads the journals of this machine's in-place runs on env's bucket (in
// the state directory; a run given --journal elsewhere is not seen): each request's
// LastModified when it was planned, and when it was last sent. A journal that cannot be
// read is passed over: this only dates rows, it never drives a send.
func redriveHistory(env *config.Env) inventory.History {
	dir, err := redrive.StateDir()
	if err != nil {
		return nil
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "redrives", "*.journal.jsonl"))
	var entries []inventory.HistoryEntry
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		st, err := redrive.ReadJournal(f)
		f.Close()
		if err != nil || st.Manifest == nil {
			continue
		}
		m := st.Manifest
		if m.Env != env.Name || m.Bucket != env.Storage.Bucket || m.Mode == redrive.ModeReupload {
			continue // a reupload stores a new request and leaves the original untouched
		}
		for _, it := range m.Items {
			e := inventory.HistoryEntry{Key: it.Key, Planned: it.LastModified}
			if tr := st.Items[it.RequestID]; tr != nil && tr.Attempts > 0 {
				e.Sent = tr.At
			}
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return nil
	}
	return inventory.NewHistory(entries)
}

// listRequest is a checked listing request.
type listRequest struct {
	format    string
	opts      inventory.Options
	lost      bool
	olderThan time.Duration // 0: the environment's lost_after
	sort      string
	narrowed  bool // a filter was given: no rows means "nothing matched" (exit 1)
}

// checkListFlags validates the flags before anything is sent.
func (g *Globals) checkListFlags(f listFlags, now time.Time) (listRequest, error) {
	var req listRequest
	var err error
	if req.format, err = g.outputFormat(); err != nil {
		return req, err
	}
	if f.limit < 0 {
		return req, exitf(ExitUsage, "--limit %d: want 0 (no limit) or more", f.limit)
	}
	if f.parallel < 0 || f.parallel > inventory.MaxParallel {
		return req, exitf(ExitUsage, "--parallel %d: want 1 to %d (1 is a single stream)", f.parallel, inventory.MaxParallel)
	}
	if f.sort != "" && !slices.Contains(sortOrders, f.sort) {
		return req, exitf(ExitUsage, "--sort %s: want time, size or status", sanitize.Line(f.sort))
	}
	status := strings.TrimSpace(f.status)
	if strings.EqualFold(status, inventory.StateLost) {
		status, f.lost = "", true
	}
	if status != "" && f.lost {
		return req, exitf(ExitUsage, "--status and --lost select different requests: lost requests have no status; give one of them")
	}
	if f.olderThan != "" {
		if !f.lost {
			return req, exitf(ExitUsage, "--older-than only applies to lost requests: add --lost (or use stowage lost)")
		}
		d, err := config.ParseDuration(f.olderThan)
		if err != nil || d < 0 {
			return req, exitf(ExitUsage, "--older-than: %s", durationProblem(f.olderThan, err))
		}
		req.olderThan = d
		if d == 0 {
			req.olderThan = -1 // explicit 0: every request with no item
		}
	}
	var since time.Time
	if f.since != "" {
		if since, err = parseSince(f.since, now); err != nil {
			return req, exitf(ExitUsage, "--since: %v", err)
		}
	}
	req.opts = inventory.Options{Prefix: f.prefix, Since: since, Status: status, Parallel: f.parallel}
	// req.opts.Arrivals is the session's, set once it is open.
	req.lost, req.sort = f.lost, f.sort
	if f.sort == "" {
		req.opts.Limit = f.limit
	}
	req.narrowed = f.prefix != "" || f.since != "" || status != "" || f.lost
	return req, nil
}

func durationProblem(s string, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%s is negative; want a duration like 15m", sanitize.Line(s))
}

// parseSince reads --since (config.ParseSince, the one parser), with its text made safe
// for the terminal.
func parseSince(s string, now time.Time) (time.Time, error) {
	t, err := config.ParseSince(s, now)
	if err != nil {
		return time.Time{}, errors.New(sanitize.Line(err.Error()))
	}
	return t, nil
}

// runList runs ls (and lost, which is ls --lost).
func runList(ctx context.Context, g *Globals, f listFlags) error {
	now := g.now()
	req, err := g.checkListFlags(f, now)
	if err != nil {
		return err
	}
	s, err := g.openSession(ctx)
	if err != nil {
		return err
	}
	lostAfter := inventory.LostAfter(s.env)
	if req.olderThan != 0 {
		lostAfter = max(req.olderThan, 0)
	}
	req.opts.Arrivals = s.arrivals
	if f.parallel != inventory.DefaultParallel && req.opts.Parallel > 1 && !inventory.CanShard(s.src.Objects) {
		g.printErr("stowage: warning: --parallel is not supported by this object store; listing in one stream\n")
	}

	out := g.newRowWriter(req.format, g.Stdout, s.env, lostAfter)
	emit := out.Write
	var all []inventory.Row
	if req.sort != "" {
		emit = func(rows []inventory.Row) error {
			all = append(all, rows...)
			return nil
		}
	}

	listed := 0
	if req.lost {
		progress, emitLost, done := g.lostProgress(emit)
		err = inventory.Lost(ctx, s.src, inventory.LostOptions{
			Options: req.opts, OlderThan: lostAfter, Now: now, Progress: progress,
		}, emitLost)
		listed = done()
	} else {
		err = inventory.List(ctx, s.src, req.opts, emit)
	}
	if err != nil {
		return exitForAWS(err)
	}
	if req.sort != "" {
		sortRows(all, req.sort, s.env, lostAfter, now)
		if f.limit > 0 && len(all) > f.limit {
			all = all[:f.limit]
		}
		if err := out.Write(all); err != nil {
			return err
		}
	}
	if listed > 0 && out.Count() > 0 {
		// The progress line is gone; on a terminal, say what it counted, truly.
		limited := ""
		if f.limit > 0 && out.Count() == f.limit {
			limited = fmt.Sprintf(" (stopped at --limit %d; there may be more)", f.limit)
		}
		g.printErr("stowage: %d lost %s of %d objects listed%s\n", out.Count(), plural(out.Count(), "request", "requests"), listed, limited)
	}
	if out.Count() == 0 && req.narrowed {
		var seen []string
		if req.opts.Status != "" {
			// One projected Scan page, only on this path: a failure loses the hint only.
			seen, _ = s.clients.Statuses.SampleStates(ctx, stateSample)
		}
		return &ExitError{Code: ExitNotFound, Err: noMatch(req, s.env, seen)}
	}
	return nil
}

// stateSample is how many status items a "did you mean" reads for the states in use.
const stateSample = 1000

// noMatch says that nothing matched, and why that may be. seen are states read from the
// table: a state that is not among them, nor known, is likely a typo, and a misspelt state
// must not read like an all-clear.
func noMatch(req listRequest, env *config.Env, seen []string) error {
	what := "no requests matched"
	hint := ""
	switch {
	case req.lost:
		what = "no lost requests"
	case req.opts.Status != "":
		what = fmt.Sprintf("no requests in state %s", clipEchoed(req.opts.Status, maxEchoed))
		if s := inventory.SuggestState(req.opts.Status, env, seen); s != "" {
			hint = fmt.Sprintf("\n  states are compared exactly: did you mean %s?", clipEchoed(s, maxEchoed))
		} else if len(seen) > 0 && !slices.Contains(seen, req.opts.Status) {
			shown := seen[:min(len(seen), 8)]
			for i := range shown {
				shown[i] = clipEchoed(shown[i], 40)
			}
			hint = "\n  states in the table: " + strings.Join(shown, ", ")
		}
	}
	where := "s3://" + env.Storage.Bucket + "/" + inventory.ResolvePrefix(env.Storage.Prefix, req.opts.Prefix)
	if !req.opts.Since.IsZero() {
		where += " since " + req.opts.Since.UTC().Format(time.RFC3339)
	}
	return fmt.Errorf("%s under %s%s", what, sanitize.Line(where), hint)
}

// sortRows orders rows for --sort; ties keep key order.
func sortRows(rows []inventory.Row, by string, env *config.Env, lostAfter time.Duration, now time.Time) {
	when := func(r inventory.Row) time.Time {
		if r.NoObject && r.Status != nil {
			return r.Status.UpdatedAt
		}
		return r.ReceivedAt()
	}
	rank := func(r inventory.Row) int {
		return -inventory.Classify(r.State(lostAfter, now), env).Severity() // worst first
	}
	slices.SortStableFunc(rows, func(a, b inventory.Row) int {
		switch by {
		case "size":
			if c := cmpInt64(b.Object.Size, a.Object.Size); c != 0 {
				return c
			}
		case "status":
			if c := rank(a) - rank(b); c != 0 {
				return c
			}
		}
		return when(b).Compare(when(a))
	})
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lostProgress reports a lost reconciliation on stderr when stderr is a terminal, at most
// a few times a second. Rows must go out through the returned emit, which clears the
// line first: stdout and stderr share the screen, and a row written after a progress
// line without a newline would be glued to it. done clears the line for good and says how
// many objects were listed (0 when stderr is not a terminal).
func (g *Globals) lostProgress(emit func([]inventory.Row) error) (progress func(inventory.Progress), wrapped func([]inventory.Row) error, done func() (listed int)) {
	if !g.isTerminal(g.Stderr) {
		return nil, emit, func() int { return 0 }
	}
	var mu sync.Mutex
	var last time.Time
	var latest inventory.Progress
	written := 0 // rows written: the count shown is what the operator can see, not what was found before --limit
	shown, finished := false, false
	clear := func() {
		if shown {
			io.WriteString(g.Stderr, "\r\x1b[K")
			shown = false
		}
	}
	progress = func(p inventory.Progress) {
		mu.Lock()
		defer mu.Unlock()
		latest = p
		if finished || time.Since(last) < 200*time.Millisecond {
			return
		}
		last, shown = time.Now(), true
		msg := fmt.Sprintf("listed %d objects, checked %d, %d lost so far", p.Listed, p.Candidates, written)
		if p.Plan == inventory.PlanScan {
			msg = fmt.Sprintf("table: %d IDs; ", p.TableIDs) + msg
		}
		fmt.Fprintf(g.Stderr, "\r\x1b[K%s", msg)
	}
	wrapped = func(rows []inventory.Row) error {
		mu.Lock()
		defer mu.Unlock()
		clear()
		written += len(rows)
		return emit(rows)
	}
	done = func() (listed int) {
		mu.Lock()
		defer mu.Unlock()
		clear()
		finished = true
		return latest.Listed
	}
	return progress, wrapped, done
}
