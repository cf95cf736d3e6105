package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// tailFlags are tail's flags; maxEvents and forDur bound a run (hidden: tests and scripts).
type tailFlags struct {
	status    []string
	since     string
	every     time.Duration
	maxEvents int
	forDur    time.Duration
}

// tailOverlap is how far before the last change seen each poll reads again, so that a
// change written with an updated-at a little in the past (clock skew between processor
// instances) is not missed; what was printed already is not printed twice.
const tailOverlap = 2 * time.Second

func newTailCmd(g *Globals) *cobra.Command {
	var f tailFlags
	cmd := &cobra.Command{
		Use:   "tail [--status FAILED ...] [--since D]",
		Short: "Stream status changes as they happen (follows the status index)",
		Long: `Print each status change as the processor writes it, oldest first, by following the
status index (status.index) by updated-at: one Query per state every --every (default
2s). Useful beside a redrive, or after a deploy.

  --status S   follow these states (repeatable, or comma-separated); default every state:
               status.terminal_states, FAILED and the states seen in the table
  --since D    start this long ago (or at this RFC 3339 time) instead of now

Each poll reads only what changed after the last change seen (a few seconds of overlap
catch late writers; nothing is printed twice). -o json writes one JSON object per change:
id, status, updatedAt, attempts, error. Ctrl-C stops it (exit 130).
` + exitCodesHelp,
		Example: `  # Failures as they happen, while a redrive runs in another terminal
  stowage --env prod tail --status FAILED

  # Everything from the last 10 minutes on, as JSON
  stowage --env prod tail --since 10m -o json | jq .`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTail(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.status, "status", nil, "follow only these states (FAILED, PROCESSED, ...)")
	fl.StringVar(&f.since, "since", "", "start this long ago (30s, 10m, 1h) or at this time (RFC 3339); default now")
	fl.DurationVar(&f.every, "every", 2*time.Second, "poll interval, 500ms to 1m")
	fl.IntVar(&f.maxEvents, "max-events", 0, "stop after this many changes (0: never)")
	fl.DurationVar(&f.forDur, "for", 0, "stop after this long (0: never)")
	_ = fl.MarkHidden("max-events")
	_ = fl.MarkHidden("for")
	addOutputFlag(cmd, g)
	return cmd
}

// tailSource is what tail reads (awsclient.StatusStore).
type tailSource interface {
	ChangedSince(ctx context.Context, state string, since time.Time, limit int) ([]awsclient.Status, error)
	SampleStates(ctx context.Context, limit int32) ([]string, error)
}

// changeKey identifies one change: a request's status written at one instant.
type changeKey struct {
	id    string
	state string
	at    time.Time
}

func runTail(ctx context.Context, g *Globals, f tailFlags) error {
	now := g.now()
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	if f.every < 500*time.Millisecond || f.every > time.Minute {
		return exitf(ExitUsage, "--every %s: want 500ms to 1m", f.every)
	}
	cursor := now
	if f.since != "" {
		if cursor, err = parseSince(f.since, now); err != nil {
			return exitf(ExitUsage, "--since: %v", err)
		}
	}
	s, err := g.openSession(ctx)
	if err != nil {
		return err
	}
	if s.env.Status.Index == "" {
		return exitf(ExitUsage, "tail follows the status index: set status.index (a GSI with hash %s and range %s; see stowage doctor)",
			s.env.Status.StatusAttr, s.env.Status.UpdatedAtAttr)
	}
	var src tailSource = s.clients.Statuses
	states := tailStates(ctx, src, s.env.Status.TerminalStates, f.status)
	if f.forDur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.forDur)
		defer cancel()
	}
	out := newChangeWriter(format, g.Stdout, g.color(g.Stdout), s)
	out.width = g.terminalWidth(g.Stdout)
	if format == outputTable {
		head := fmt.Sprintf("stowage: following %s (%s) from %s; Ctrl-C stops", strings.Join(states, ", "), s.env.Status.Index, cursor.UTC().Format(time.RFC3339))
		if w := g.terminalWidth(g.Stderr); w > 0 && ansi.StringWidth(head) > w {
			head = fmt.Sprintf("stowage: following %s from %s; Ctrl-C stops", strings.Join(states, ", "), cursor.UTC().Format(time.RFC3339))
		}
		g.printErr("%s\n", sanitize.Line(head))
	}
	err = followChanges(ctx, src, states, cursor, f.every, f.maxEvents, out.write)
	switch {
	case err == nil, errors.Is(err, errEnough):
		return nil
	case f.forDur > 0 && errors.Is(err, context.DeadlineExceeded):
		return nil
	case errors.Is(err, context.Canceled):
		return &ExitError{Code: ExitCancelled, Err: errors.New("interrupted")}
	}
	return exitForAWS(err)
}

var errEnough = errors.New("enough changes")

// tailStates are the states to follow: those asked for, else the terminal states, FAILED,
// and every state in a sample of the table.
func tailStates(ctx context.Context, src tailSource, terminal, asked []string) []string {
	set := map[string]bool{}
	for _, a := range asked {
		for _, s := range strings.Split(a, ",") {
			if s = strings.TrimSpace(s); s != "" {
				set[s] = true
			}
		}
	}
	if len(set) == 0 {
		set["FAILED"] = true
		for _, s := range terminal {
			set[s] = true
		}
		seen, _ := src.SampleStates(ctx, 1000)
		for _, s := range seen {
			set[s] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// followChanges polls each state for changes after its own cursor (less an overlap) every
// interval, and hands each new change to emit, oldest first across states. It returns
// errEnough after max changes (0: no limit), or the context's error. A throttled read
// waits twice as long before the next poll, up to a minute. Each state keeps its own
// cursor: a state that was throttled, or returned a full page (limit), is read again from
// where it stopped, not from the newest change of another state.
func followChanges(ctx context.Context, src tailSource, states []string, cursor time.Time, every time.Duration, max int,
	emit func(awsclient.Status) error) error {
	start := cursor
	cursors := make(map[string]time.Time, len(states))
	for _, st := range states {
		cursors[st] = cursor
	}
	// After a full page a state is read on from its cursor itself: going back by the
	// overlap could return the same full page of changes already seen, again and again.
	exact := map[string]bool{}
	seen := map[changeKey]time.Time{} // change → its updated-at, pruned once behind the overlap
	n := 0
	wait := time.Duration(0)
	for {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		var batch []awsclient.Status
		throttled, full := false, false
		for _, st := range states {
			from := cursors[st].Add(-tailOverlap)
			if exact[st] {
				// Just before the cursor: changes written at the same instant as the
				// page's last one are read (and the ones seen dropped).
				from = cursors[st].Add(-time.Nanosecond)
			}
			items, err := src.ChangedSince(ctx, st, from, tailPage)
			if awsclient.KindOf(err) == awsclient.KindThrottled {
				throttled = true
				continue
			}
			if err != nil {
				return err
			}
			exact[st] = len(items) >= tailPage
			full = full || exact[st]
			for _, it := range items {
				if it.UpdatedAt.After(cursors[st]) {
					cursors[st] = it.UpdatedAt
				}
			}
			batch = append(batch, items...)
		}
		sort.SliceStable(batch, func(i, j int) bool { return batch[i].UpdatedAt.Before(batch[j].UpdatedAt) })
		for _, it := range batch {
			k := changeKey{it.RequestID, it.State, it.UpdatedAt}
			if _, ok := seen[k]; ok || !it.UpdatedAt.After(start) {
				continue // seen, or before the start the header names (the overlap reads back)
			}
			seen[k] = it.UpdatedAt
			if err := emit(it); err != nil {
				return err
			}
			if n++; max > 0 && n >= max {
				return errEnough
			}
		}
		oldest := time.Time{}
		for _, c := range cursors {
			if oldest.IsZero() || c.Before(oldest) {
				oldest = c
			}
		}
		for k, at := range seen {
			if at.Before(oldest.Add(-2 * tailOverlap)) {
				delete(seen, k)
			}
		}
		switch {
		case throttled:
			wait = min(2*max64(wait, every), time.Minute)
		case full:
			wait = 0 // more is waiting: read on at once
		default:
			wait = every
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// tailPage is how many changes one poll reads of one state.
const tailPage = 1000

func max64(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// changeWriter prints changes as a table or JSON Lines, flushing each one.
type changeWriter struct {
	w      *bufio.Writer
	flush  io.Writer
	json   bool
	color  bool
	s      *session
	header bool
	width  int // of the terminal, 0 when not one
}

// tailFixedCells is the width of UPDATED, STATUS and ID with their gaps; below
// tailInlineWidth the error goes on a line of its own, where it has room to be read.
const (
	tailFixedCells  = 20 + 2 + 10 + 2 + 36 + 2
	tailInlineWidth = tailFixedCells + 40
)

func newChangeWriter(format string, w io.Writer, color bool, s *session) *changeWriter {
	return &changeWriter{w: bufio.NewWriter(w), json: format == outputJSON, color: color, s: s}
}

// changeJSON is one change in tail -o json.
type changeJSON struct {
	ID        string  `json:"id"`
	Status    string  `json:"status"`
	UpdatedAt *string `json:"updatedAt"`
	Attempts  *int    `json:"attempts"`
	Error     *string `json:"error"`
}

func (c *changeWriter) write(st awsclient.Status) error {
	if c.json {
		j := changeJSON{ID: st.RequestID, Status: st.State, UpdatedAt: rfc3339(st.UpdatedAt),
			Attempts: knownAttempts(&st, c.s.env.Status.AttemptsAttr)}
		if st.Error != "" {
			e := st.Error
			j.Error = &e
		}
		b, err := json.Marshal(j)
		if err != nil {
			return err
		}
		c.w.Write(append(b, '\n'))
		return c.w.Flush()
	}
	if !c.header {
		c.header = true
		fmt.Fprintf(c.w, "%-20s  %-10s  %-36s  %s\n", "UPDATED", "STATUS", "ID", "ERROR")
	}
	state := sanitize.Line(st.State)
	if sgr := statusColor(inventory.Classify(st.State, c.s.env), c.color); sgr != "" {
		state = sgr + pad(state, 10) + "\x1b[0m"
	} else {
		state = pad(state, 10)
	}
	errText := sanitize.Line(st.Error)
	head := fmt.Sprintf("%-20s  %s  %-36s", st.UpdatedAt.UTC().Format(time.RFC3339), state, sanitize.Line(st.RequestID))
	switch {
	case c.width > 0 && c.width < tailInlineWidth:
		fmt.Fprintln(c.w, strings.TrimRight(head, " "))
		if errText != "" {
			fmt.Fprintf(c.w, "    %s\n", clipTail(errText, max(c.width-4, 12)))
		}
	default:
		if c.width == 0 {
			errText = clipOutside(errText, 100)
		} else {
			errText = clipTail(errText, c.width-tailFixedCells)
		}
		fmt.Fprintln(c.w, strings.TrimRight(head+"  "+errText, " "))
	}
	return c.w.Flush()
}

// clipTail cuts an error to n cells on a terminal with an ellipsis alone: in a stream the
// "[N more chars -o json]" hint would take half of a narrow column, row after row (the
// help says -o json has every error whole).
func clipTail(s string, n int) string { return ansi.Truncate(s, max(n, 1), "…") }
