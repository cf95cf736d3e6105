package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/failclass"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// windowFlags are --since and --until, as errors, stats and the TUI's window read them.
type windowFlags struct{ since, until string }

func addWindowFlags(cmd *cobra.Command, f *windowFlags, what string) {
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", what+" updated within this duration (30m, 24h, 2d, 1w) or since this time (RFC 3339)")
	fl.StringVar(&f.until, "until", "", "and before this time (RFC 3339) or this long ago (a duration); default now")
}

// window checks --since and --until (config.ParseSince, the one parser).
func (f windowFlags) window(now time.Time) (inventory.Window, error) {
	var w inventory.Window
	var err error
	if f.since != "" {
		if w.Since, err = parseSince(f.since, now); err != nil {
			return w, exitf(ExitUsage, "--since: %v", err)
		}
	}
	if f.until != "" {
		if w.Until, err = parseSince(f.until, now); err != nil {
			return w, exitf(ExitUsage, "--until: %v", err)
		}
	}
	if w.Since.After(now) {
		return w, exitf(ExitUsage, "--since %s is in the future (now is %s): give a duration ago (1h) or an earlier time",
			w.Since.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	// Nothing is updated after now: a later --until is now (the buckets and sparklines
	// then end at now instead of stretching over an empty future).
	if w.Until.After(now) {
		w.Until = time.Time{}
	}
	if !w.Since.IsZero() && !w.Until.IsZero() && !w.Since.Before(w.Until) {
		return w, exitf(ExitUsage, "--since %s is not before --until %s", w.Since.Format(time.RFC3339), w.Until.Format(time.RFC3339))
	}
	return w, nil
}

// describe is the window in words, for headers and messages.
func describeWindow(w inventory.Window) string {
	switch {
	case w.Since.IsZero() && w.Until.IsZero():
		return "all time"
	case w.Until.IsZero():
		return "since " + w.Since.UTC().Format(time.RFC3339)
	case w.Since.IsZero():
		return "until " + w.Until.UTC().Format(time.RFC3339)
	}
	return w.Since.UTC().Format(time.RFC3339) + " to " + w.Until.UTC().Format(time.RFC3339)
}

func newErrorsCmd(g *Globals) *cobra.Command {
	var wf windowFlags
	var buckets int
	cmd := &cobra.Command{
		Use:   "errors [--since D] [--until T]",
		Short: "Group FAILED requests into failure classes",
		Long: `Group the failed requests (FAILED and every other failure state) by their error,
normalized so that one cause is one class: numbers, UUIDs, line and column, quoted values,
hosts and timestamps become placeholders, so "XML syntax error at line 11, column 7" and
"... line 5, column 2 ..." are one class.

Each class shows its kind, count, share of all failures, first and last seen (age), a
sparkline over the window, a sample request ID and the normalized message. The kind
says whether a redrive can help:

  permanent   matches status.permanent_errors or the defaults (parse, syntax,
              validation, schema, malformed, unmarshal errors): a redrive fails again
  transient   matches status.transient_errors or the defaults (timeouts, throttling,
              5xx, "unavailable", connection refused): a redrive may succeed
  unknown     matches neither

Configured patterns are tried before the defaults; a message matching both kinds is
transient. Failures are read from the status index (status.index) newest first, down to
--since; without an index, by a table scan. --since and --until take a duration ago or an
RFC 3339 time, and filter on the status item's updated-at.

-o json writes one JSON object per class: class, kind, count, share, first, last, spark
(counts per bucket, oldest first), sampleId, sample (the sample's message) and ids.
` + exitCodesHelp,
		Example: `  # What is breaking in the last 6 hours
  stowage --env prod errors --since 6h

  # The request IDs of the largest class, for a redrive
  stowage --env prod errors --since 6h -o json | jq -r 'select(.kind=="transient") | .ids[]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runErrors(cmd.Context(), g, wf, buckets)
		},
	}
	addWindowFlags(cmd, &wf, "only failures")
	cmd.Flags().IntVar(&buckets, "buckets", defaultSparkBuckets, "sparkline buckets over the window, 1 to 200")
	addOutputFlag(cmd, g)
	return cmd
}

const defaultSparkBuckets = 24

func runErrors(ctx context.Context, g *Globals, wf windowFlags, buckets int) error {
	now := g.now()
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	w, err := wf.window(now)
	if err != nil {
		return err
	}
	if buckets < 1 || buckets > 200 {
		return exitf(ExitUsage, "--buckets %d: want 1 to 200", buckets)
	}
	s, err := g.openSession(ctx)
	if err != nil {
		return err
	}
	rules, err := failclass.RulesFor(s.env)
	if err != nil {
		return exitf(ExitUsage, "%s", sanitize.Line(err.Error()))
	}
	fs, err := readFailures(ctx, s.clients.Statuses, s.env, w)
	if err != nil {
		return exitForAWS(err)
	}
	until := w.Until
	if until.IsZero() {
		until = now
	}
	classes := failclass.Group(fs, rules, w.Since, until, buckets)
	if format == outputJSON {
		return writeClassesJSON(g.Stdout, classes)
	}
	if len(classes) == 0 {
		g.printErr("stowage: no failed requests (%s)\n", describeWindow(w))
		return nil
	}
	return writeClassesTable(g.Stdout, classes, now, g.color(g.Stdout), g.terminalWidth(g.Stdout))
}

// failureReader is what errors needs of the status table (awsclient.StatusStore).
type failureReader interface {
	ListByStatus(ctx context.Context, state, next string, limit int32) (awsclient.StatusPage, error)
	SampleStates(ctx context.Context, limit int32) ([]string, error)
}

// failureStates are the states errors reads: FAILED and every failure state in a sample
// of the table (inventory.Classify, the one rule).
func failureStates(ctx context.Context, st failureReader, env interface{ IsTerminal(string) bool }) []string {
	states := []string{"FAILED"}
	seen, _ := st.SampleStates(ctx, 1000) // a hint only: FAILED is read regardless
	for _, s := range seen {
		if s != "FAILED" && !env.IsTerminal(s) && inventory.IsFailureState(s) {
			states = append(states, s)
		}
	}
	return states
}

// readFailures reads the failed requests updated in w: from the status index newest first,
// stopping at w.Since, or from a scan.
func readFailures(ctx context.Context, st failureReader, env interface{ IsTerminal(string) bool }, w inventory.Window) ([]failclass.Failure, error) {
	var out []failclass.Failure
	for _, state := range failureStates(ctx, st, env) {
		next := ""
		for {
			page, err := st.ListByStatus(ctx, state, next, 1000)
			if err != nil {
				return nil, err
			}
			older := false
			for _, it := range page.Items {
				if !w.Since.IsZero() && it.UpdatedAt.Before(w.Since) {
					older = true
					continue
				}
				if !w.Until.IsZero() && !it.UpdatedAt.Before(w.Until) {
					continue
				}
				out = append(out, failclass.Failure{ID: it.RequestID, Error: it.Error, At: it.UpdatedAt})
			}
			// The index is newest first: past --since nothing newer follows.
			if page.NextToken == "" || (older && indexed(st)) {
				break
			}
			next = page.NextToken
		}
	}
	// The same order whatever the source (index pages or a scan): oldest first.
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// indexed reports whether st reads the status index (newest first).
func indexed(st failureReader) bool {
	s, ok := st.(*awsclient.StatusStore)
	return ok && s.Schema().Index != ""
}

// classJSON is one class in errors -o json.
type classJSON struct {
	Class    string   `json:"class"`
	Kind     string   `json:"kind"`
	Count    int      `json:"count"`
	Share    float64  `json:"share"`
	First    *string  `json:"first"`
	Last     *string  `json:"last"`
	Spark    []int    `json:"spark"`
	SampleID string   `json:"sampleId"`
	Sample   string   `json:"sample"`
	IDs      []string `json:"ids"`
}

func writeClassesJSON(w io.Writer, classes []failclass.Class) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, c := range classes {
		spark := c.Spark
		if spark == nil {
			spark = []int{}
		}
		share := float64(int(c.Share*10000+0.5)) / 10000
		if err := enc.Encode(classJSON{Class: c.Key, Kind: string(c.Kind), Count: c.Count, Share: share,
			First: rfc3339(c.First), Last: rfc3339(c.Last), Spark: spark, SampleID: c.SampleID, Sample: c.Sample, IDs: c.IDs}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Columns of the errors table; CLASS is last and takes what is left.
const (
	colKind  = 9
	colCount = 5
	colShare = 5
	colSeen  = 6
	// minClassCells is the room CLASS should have before SAMPLE ID gives way and then the
	// sparkline narrows (adjacent buckets summed).
	minClassCells = 40
	minSparkCells = 6
)

// mergeBuckets sums adjacent pairs of counts (a sparkline half as wide).
func mergeBuckets(c []int) []int {
	out := make([]int, (len(c)+1)/2)
	for i, n := range c {
		out[i/2] += n
	}
	return out
}

func writeClassesTable(w io.Writer, classes []failclass.Class, now time.Time, color bool, width int) error {
	bw := bufio.NewWriter(w)
	sparkW, sampleW, countW := 0, len("SAMPLE ID"), colCount
	for _, c := range classes {
		countW = max(countW, len(fmt.Sprint(c.Count))) // a big outage has classes of 100k and more
		sparkW = max(sparkW, len(c.Spark))
		sampleW = max(sampleW, ansi.StringWidth(sanitize.Line(c.SampleID)))
	}
	showSample := true
	if width > 0 {
		fixed := func() int {
			n := colKind + countW + colShare + 2*colSeen + max(sparkW, len("SPARK")) + 6*2
			if showSample {
				n += sampleW + 2
			}
			return n
		}
		if width-fixed() < minClassCells {
			showSample = false // -o json has every ID
		}
		for width-fixed() < minClassCells && sparkW > minSparkCells {
			for i := range classes {
				classes[i].Spark = mergeBuckets(classes[i].Spark)
			}
			sparkW = (sparkW + 1) / 2
		}
	}
	sparkW = max(sparkW, len("SPARK"))
	clipped := false
	line := func(kind, count, share, first, last, spark, sample, class, sgr string) {
		reset := ""
		if sgr != "" {
			reset = "\x1b[0m"
		}
		cols := []string{sgr + pad(kind, colKind) + reset, padLeft(count, countW), padLeft(share, colShare),
			padLeft(first, colSeen), padLeft(last, colSeen), pad(spark, sparkW)}
		if showSample {
			cols = append(cols, pad(sample, sampleW))
		}
		fixed := strings.Join(cols, "  ")
		if width > 0 {
			if cut := clipMiddle(class, max(width-ansi.StringWidth(fixed)-2, 12)); cut != class {
				class, clipped = cut, true
			}
		}
		fmt.Fprintf(bw, "%s  %s\n", fixed, class)
	}
	line("KIND", "COUNT", "SHARE", "FIRST", "LAST", "SPARK", "SAMPLE ID", "CLASS", "")
	total := 0
	for _, c := range classes {
		sgr := ""
		if color {
			switch c.Kind {
			case failclass.Permanent:
				sgr = "\x1b[31m"
			case failclass.Transient:
				sgr = "\x1b[33m"
			}
		}
		line(string(c.Kind), fmt.Sprint(c.Count), fmt.Sprintf("%.0f%%", c.Share*100), ageOf(c.First, now), ageOf(c.Last, now),
			failclass.Sparkline(c.Spark), sanitize.Line(c.SampleID), sanitize.Line(c.Key), sgr)
		total += c.Count
	}
	plural := "es"
	if len(classes) == 1 {
		plural = ""
	}
	fmt.Fprintf(bw, "%d failed requests in %d class%s", total, len(classes), plural)
	if clipped {
		fmt.Fprint(bw, " (… cuts a class to fit: -o json has it whole)")
	}
	fmt.Fprintln(bw)
	return bw.Flush()
}

// clipMiddle cuts a class key to n cells by taking out its middle: classes of one kind
// share their start ("XML syntax error at line <n>, column <n>: ...") and differ at
// the end, so both ends are kept, cut at spaces when that leaves enough.
func clipMiddle(s string, n int) string {
	if ansi.StringWidth(s) <= n {
		return s
	}
	if n < 8 {
		return ansi.Truncate(s, max(n, 1), "…")
	}
	headW := (n - 3) * 2 / 5 // " … " takes 3 cells
	tailW := n - 3 - headW
	head := ansi.Truncate(s, headW, "")
	if i := strings.LastIndexAny(head, " -:/"); i > len(head)/2 {
		head = head[:i]
	}
	full := ansi.StringWidth(s)
	tail := ansi.Cut(s, full-tailW, full)
	if i := strings.IndexAny(tail, " /("); i >= 0 && i < len(tail)/3 {
		tail = tail[i+1:]
	}
	return strings.TrimRight(head, " ,:;") + " … " + strings.TrimLeft(tail, " ")
}

// ageOf is how long ago t was, for a narrow column ("-" when unknown).
func ageOf(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return shortAge(now.Sub(t))
}
