package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/failclass"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// Stats sources.
const (
	statsAuto    = "auto"
	statsIndex   = "index"
	statsListing = "listing"
)

var statsSteps = map[string]time.Duration{"5m": inventory.Step5m, "1h": inventory.Step1h, "1d": inventory.Step1d}

func newStatsCmd(g *Globals) *cobra.Command {
	var wf windowFlags
	var bucket, source string
	cmd := &cobra.Command{
		Use:   "stats [--since D] [--until T] [--bucket 5m|1h|1d]",
		Short: "Count arrivals, processed, failed and lost requests per time bucket",
		Long: `Count, per time bucket over the window, the requests that arrived (their original
arrival), were processed (a state in status.terminal_states, by the status item's
updated-at), failed (a failure state, by updated-at) and are LOST (by arrival). The TUI's
chart (H) draws the same numbers from the same rule.

  --bucket     5m, 1h or 1d (default: 5m up to a day, 1h up to two weeks, else 1d)
  --source     index: processed and failed from the status index (status.index), one
               Query stream per state and window slice, fast on big tables; arrivals and
               LOST are not in the index and show as "-" (null in JSON).
               listing: everything from the bucket listing joined with the status table
               (what ls reads), requests received in the window.
               auto (default): index when status.index is configured, else listing.

-o json writes one JSON object per bucket: start, end, arrivals, processed, failed, lost.
` + exitCodesHelp,
		Example: `  # The last day in hours
  stowage --env prod stats --since 24h --bucket 1h

  # Everything, from the listing, for a spreadsheet
  stowage --env prod stats --source listing --bucket 1d -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStats(cmd.Context(), g, wf, bucket, source)
		},
	}
	addWindowFlags(cmd, &wf, "only requests")
	cmd.Flags().StringVar(&bucket, "bucket", "", "bucket width: 5m, 1h or 1d")
	cmd.Flags().StringVar(&source, "source", statsAuto, "where the numbers come from: auto, index or listing")
	_ = cmd.RegisterFlagCompletionFunc("bucket", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"5m", "1h", "1d"}, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("source", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{statsAuto, statsIndex, statsListing}, cobra.ShellCompDirectiveNoFileComp
	})
	addOutputFlag(cmd, g)
	return cmd
}

func runStats(ctx context.Context, g *Globals, wf windowFlags, bucket, source string) error {
	now := g.now()
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	w, err := wf.window(now)
	if err != nil {
		return err
	}
	step := inventory.StepFor(w, now)
	if bucket != "" {
		var ok bool
		if step, ok = statsSteps[strings.ToLower(bucket)]; !ok {
			return exitf(ExitUsage, "--bucket %s: want 5m, 1h or 1d", sanitize.Line(bucket))
		}
	}
	switch source {
	case statsAuto, statsIndex, statsListing:
	default:
		return exitf(ExitUsage, "--source %s: want auto, index or listing", sanitize.Line(source))
	}
	s, err := g.openSession(ctx)
	if err != nil {
		return err
	}
	if source == statsAuto {
		source = statsListing
		if s.env.Status.Index != "" {
			source = statsIndex
		}
	}
	if source == statsIndex && s.env.Status.Index == "" {
		return exitf(ExitUsage, "--source index needs a status index: set status.index (see stowage doctor), or use --source listing")
	}
	var bs []inventory.Bucket
	if source == statsIndex {
		seen, _ := s.clients.Statuses.SampleStates(ctx, 1000) // a hint: the terminal states and FAILED are read anyway
		bs, err = inventory.BucketsFromIndex(ctx, s.clients.Statuses, inventory.HistogramStates(s.env, seen), s.env, w, step, now)
	} else {
		var rows []inventory.Row
		rows, err = listWindow(ctx, s, w)
		bs = inventory.BucketsOf(rows, s.env, w, step, now)
	}
	if err != nil {
		return exitForAWS(err)
	}
	if format == outputJSON {
		return writeBucketsJSON(g.Stdout, bs, source == statsListing)
	}
	return writeBucketsTable(g.Stdout, bs, source, w, step, g.color(g.Stdout), g.terminalWidth(g.Stdout))
}

// listWindow lists the requests received in w (the rows the TUI has for that window).
func listWindow(ctx context.Context, s *session, w inventory.Window) ([]inventory.Row, error) {
	var rows []inventory.Row
	err := inventory.List(ctx, s.src, inventory.Options{Since: w.Since, Arrivals: s.arrivals, Parallel: inventory.DefaultParallel},
		func(rs []inventory.Row) error {
			rows = append(rows, rs...)
			return nil
		})
	return rows, err
}

// bucketJSON is one bucket in stats -o json; arrivals and lost are null from the index.
type bucketJSON struct {
	Start     string `json:"start"`
	End       string `json:"end"`
	Arrivals  *int   `json:"arrivals"`
	Processed int    `json:"processed"`
	Failed    int    `json:"failed"`
	Lost      *int   `json:"lost"`
}

func writeBucketsJSON(w io.Writer, bs []inventory.Bucket, listing bool) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, b := range bs {
		j := bucketJSON{Start: b.Start.UTC().Format(time.RFC3339), End: b.End.UTC().Format(time.RFC3339), Processed: b.Processed, Failed: b.Failed}
		if listing {
			a, l := b.Arrivals, b.Lost
			j.Arrivals, j.Lost = &a, &l
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func writeBucketsTable(w io.Writer, bs []inventory.Bucket, source string, win inventory.Window, step time.Duration, color bool, width int) error {
	bw := bufio.NewWriter(w)
	listing := source == statsListing
	if len(bs) > 0 {
		// Past inventory.MaxBuckets the step was widened: say what the rows really hold.
		step = bs[0].End.Sub(bs[0].Start)
	}
	// The sparklines show the most recent buckets that fit beside "processed  1234567  ".
	sparkCells := 60
	if width > 0 {
		sparkCells = max(min(sparkCells, width-sparkIndent), 1)
	}
	series := []struct {
		name string
		get  func(inventory.Bucket) int
		sgr  string
		show bool
	}{
		{"arrivals", func(b inventory.Bucket) int { return b.Arrivals }, "", listing},
		{"processed", func(b inventory.Bucket) int { return b.Processed }, "\x1b[32m", true},
		{"failed", func(b inventory.Bucket) int { return b.Failed }, "\x1b[31m", true},
		{"lost", func(b inventory.Bucket) int { return b.Lost }, "\x1b[31m", listing},
	}
	fmt.Fprintf(bw, "%s, %s buckets, from the %s\n", describeWindow(win), stepName(step), source)
	for _, s := range series {
		if !s.show {
			fmt.Fprintf(bw, "%-10s  (not in the index: --source listing)\n", s.name)
			continue
		}
		counts := make([]int, len(bs))
		total := 0
		for i, b := range bs {
			counts[i] = s.get(b)
			total += counts[i]
		}
		spark := failclass.Sparkline(tail(counts, sparkCells))
		if color && s.sgr != "" {
			spark = s.sgr + spark + "\x1b[0m"
		}
		fmt.Fprintf(bw, "%-10s  %7d  %s\n", s.name, total, spark)
	}
	fmt.Fprintln(bw)
	layout := "2006-01-02T15:04Z"
	fmt.Fprintf(bw, "%-17s  %8s  %9s  %6s  %5s\n", "START", "ARRIVALS", "PROCESSED", "FAILED", "LOST")
	num := func(n int, known bool) string {
		if !known {
			return "-"
		}
		return fmt.Sprint(n)
	}
	for _, b := range bs {
		fmt.Fprintf(bw, "%-17s  %8s  %9d  %6d  %5s\n", b.Start.UTC().Format(layout), num(b.Arrivals, listing), b.Processed, b.Failed, num(b.Lost, listing))
	}
	return bw.Flush()
}

// tail is the last n of c (the sparkline of a long histogram shows the most recent).
func tail(c []int, n int) []int {
	if len(c) > n {
		return c[len(c)-n:]
	}
	return c
}

// sparkIndent is the width of a sparkline's label and total ("%-10s  %7d  ").
const sparkIndent = 10 + 2 + 7 + 2

func stepName(d time.Duration) string {
	for name, s := range statsSteps {
		if s == d {
			return name
		}
	}
	return config.FormatDuration(d)
}
