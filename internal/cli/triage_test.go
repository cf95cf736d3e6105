package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/internal/failclass"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// smallDemo is a seeded devstack of 300 requests (fast), clock fixed at demoNow.
func smallDemo(t *testing.T) *demo {
	t.Helper()
	return startDemo(t, func(o *devstack.Options) { o.Requests = 300 })
}

func TestErrors(t *testing.T) {
	d := smallDemo(t)
	t.Run("Table", func(t *testing.T) {
		r := d.run(t, "", "errors", "-o", "table").must(t, ExitOK)
		if !strings.HasPrefix(r.stdout, "KIND ") || !strings.Contains(r.stdout, "failed requests in") {
			t.Fatalf("table:\n%s", r.stdout)
		}
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("TableOnATerminalInColour", func(t *testing.T) {
		var out, errb bytes.Buffer
		r := d.onTerminal(120, &out).runTo(t, &out, &errb, "", "errors", "--since", "2d").must(t, ExitOK)
		for _, l := range strings.Split(strings.TrimSuffix(ansi.Strip(r.stdout), "\n"), "\n") {
			if ansi.StringWidth(l) > 120 {
				t.Fatalf("line wider than the terminal: %q", l)
			}
		}
		golden.RequireEqual(t, r.stdout)
		t.Run("Plain", func(t *testing.T) { golden.RequireEqual(t, ansi.Strip(r.stdout)) })
	})
	t.Run("JSON", func(t *testing.T) {
		r := d.run(t, "", "errors", "--since", "2d", "-o", "json").must(t, ExitOK)
		total := 0
		for _, m := range jsonLines(t, r.stdout) {
			for _, f := range []string{"class", "kind", "count", "share", "first", "last", "spark", "sampleId", "sample", "ids"} {
				if _, ok := m[f]; !ok {
					t.Fatalf("no %s in %v", f, m)
				}
			}
			n, _ := m["count"].(interface{ Int64() (int64, error) }).Int64()
			total += int(n)
		}
		rows := jsonLines(t, d.run(t, "", "ls", "--status", "FAILED", "-o", "json").must(t, ExitOK).stdout)
		failed2d := 0
		for _, m := range rows {
			if u, _ := m["updatedAt"].(string); u >= demoNow.Add(-48*3600e9).Format("2006-01-02T15:04:05Z") {
				failed2d++
			}
		}
		if total == 0 || total != failed2d {
			t.Fatalf("classes hold %d failures; ls --status FAILED has %d updated in 2d", total, failed2d)
		}
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("WithoutTheIndexTheSame", func(t *testing.T) {
		with := d.run(t, "", "errors", "--since", "3d", "--until", "1d", "-o", "json").must(t, ExitOK).stdout
		without := d.variant(t, func(e *config.Env) { e.Status.Index = "" }).run(t, "", "errors", "--since", "3d", "--until", "1d", "-o", "json").must(t, ExitOK).stdout
		if with != without || with == "" {
			t.Fatalf("index:\n%s\nscan:\n%s", with, without)
		}
	})
	t.Run("BadWindow", func(t *testing.T) {
		r := d.run(t, "", "errors", "--since", "1h", "--until", "2h").must(t, ExitUsage)
		if !strings.Contains(r.stderr, "is not before --until") {
			t.Fatalf("stderr %q", r.stderr)
		}
		// A --since in the future is a mistake, not "no failures" (and not a raw
		// ValidationException from the index's BETWEEN in stats).
		for _, cmd := range []string{"errors", "stats"} {
			r := d.run(t, "", cmd, "--since", "2099-01-01T00:00:00Z").must(t, ExitUsage)
			if !strings.Contains(r.stderr, "is in the future") {
				t.Fatalf("%s: stderr %q", cmd, r.stderr)
			}
		}
	})
	// A --until after now is now: the sparkline spans the window up to now, not an
	// empty future.
	t.Run("UntilInTheFutureIsNow", func(t *testing.T) {
		want := d.run(t, "", "errors", "--since", "2d", "-o", "json").must(t, ExitOK).stdout
		got := d.run(t, "", "errors", "--since", "2d", "--until", "2099-01-01T00:00:00Z", "-o", "json").must(t, ExitOK).stdout
		if got != want {
			t.Fatalf("--until 2099:\n%s\nwithout:\n%s", got, want)
		}
	})
}

func TestStats(t *testing.T) {
	d := smallDemo(t)
	t.Run("IndexTable", func(t *testing.T) {
		r := d.run(t, "", "stats", "--since", "2d", "--bucket", "1h", "-o", "table").must(t, ExitOK)
		if !strings.Contains(r.stdout, "from the index") || !strings.Contains(r.stdout, "(not in the index") {
			t.Fatalf("stdout:\n%s", r.stdout)
		}
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("ListingTable", func(t *testing.T) {
		r := d.run(t, "", "stats", "--since", "1d", "--bucket", "1h", "--source", "listing", "-o", "table").must(t, ExitOK)
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("OnATerminalInColour", func(t *testing.T) {
		var out, errb bytes.Buffer
		r := d.onTerminal(100, &out).runTo(t, &out, &errb, "", "stats", "--since", "12h", "--source", "listing").must(t, ExitOK)
		if !strings.Contains(r.stdout, "\x1b[31m") || !strings.HasPrefix(ansi.Strip(r.stdout), "since ") {
			t.Fatalf("a terminal gets a coloured table:\n%q", r.stdout)
		}
		golden.RequireEqual(t, r.stdout)
		t.Run("Plain", func(t *testing.T) { golden.RequireEqual(t, ansi.Strip(r.stdout)) })
	})
	t.Run("ListingJSON", func(t *testing.T) {
		r := d.run(t, "", "stats", "--source", "listing", "--bucket", "1d", "-o", "json").must(t, ExitOK)
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("BadBucket", func(t *testing.T) {
		d.run(t, "", "stats", "--bucket", "2h").must(t, ExitUsage)
	})
	// At 80 columns a 6-hour window in 5-minute buckets (73 of them) does not wrap the
	// sparklines.
	t.Run("FitsEightyColumns", func(t *testing.T) {
		var out, errb bytes.Buffer
		r := d.onTerminal(80, &out).runTo(t, &out, &errb, "", "stats", "--since", "6h", "--bucket", "5m").must(t, ExitOK)
		for _, l := range strings.Split(strings.TrimSuffix(ansi.Strip(r.stdout), "\n"), "\n") {
			if ansi.StringWidth(l) > 80 {
				t.Fatalf("line wider than the terminal: %q", l)
			}
		}
	})
	// Past inventory.MaxBuckets the buckets are wider than asked: the header says so.
	t.Run("WidenedBucketsSaySo", func(t *testing.T) {
		r := d.run(t, "", "stats", "--since", "3000d", "--bucket", "5m", "-o", "table").must(t, ExitOK)
		head, _, _ := strings.Cut(r.stdout, "\n")
		if strings.Contains(head, ", 5m buckets") || !strings.Contains(head, "36h5m buckets") {
			t.Fatalf("header %q", head)
		}
	})
	// The chart and the numbers agree: stats over the listing gives what BucketsOf (the
	// TUI's chart) gives for the rows the TUI lists for the same window; the index gives the
	// same processed and failed counts as the listing over all time.
	t.Run("AgreesWithTheChart", func(t *testing.T) {
		ctx := context.Background()
		g := &Globals{ConfigPath: d.config, Stdout: io.Discard, Stderr: io.Discard, seams: d.seams}
		s, err := g.openSession(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ since, bucket string }{{"1d", "1h"}, {"6h", "5m"}, {"", "1d"}} {
			args := []string{"stats", "--source", "listing", "--bucket", c.bucket, "-o", "json"}
			w := inventory.Window{}
			if c.since != "" {
				args = append(args, "--since", c.since)
				w.Since, _ = config.ParseSince(c.since, demoNow)
			}
			rows, err := listWindow(ctx, s, w)
			if err != nil {
				t.Fatal(err)
			}
			chart := inventory.BucketsOf(rows, s.env, w, statsSteps[c.bucket], demoNow)
			got := jsonLines(t, d.run(t, "", args...).must(t, ExitOK).stdout)
			if len(got) != len(chart) || len(chart) == 0 {
				t.Fatalf("%v: stats has %d buckets, the chart %d", c, len(got), len(chart))
			}
			for i, b := range chart {
				m := got[i]
				if m["start"] != b.Start.Format(time.RFC3339) || num(m["arrivals"]) != b.Arrivals || num(m["processed"]) != b.Processed ||
					num(m["failed"]) != b.Failed || num(m["lost"]) != b.Lost {
					t.Fatalf("%v bucket %d: stats %v, chart %+v", c, i, m, b)
				}
			}
		}
		sum := func(args ...string) (p, f int) {
			for _, m := range jsonLines(t, d.run(t, "", append([]string{"stats", "--bucket", "1d", "-o", "json"}, args...)...).must(t, ExitOK).stdout) {
				p += num(m["processed"])
				f += num(m["failed"])
			}
			return p, f
		}
		lp, lf := sum("--source", "listing")
		ip, ifl := sum("--source", "index")
		if lp != ip || lf != ifl || lp == 0 || lf == 0 {
			t.Fatalf("all time: listing %d processed %d failed, index %d and %d", lp, lf, ip, ifl)
		}
	})
}

// num reads a JSON number (json.Number from jsonLines); null is -1.
func num(v any) int {
	n, ok := v.(json.Number)
	if !ok {
		return -1
	}
	i, _ := n.Int64()
	return int(i)
}

// putStatus writes a status item straight into the demo's table (a processor's write).
func (d *demo) putStatus(t *testing.T, id, state, errText string, at time.Time) {
	t.Helper()
	if err := d.putStatusWith(d.dynamo(t), id, state, errText, at); err != nil {
		t.Fatal(err)
	}
}

func (d *demo) dynamo(t *testing.T) *dynamodb.Client {
	return testenv.NewDynamoDBClient(t, testenv.Endpoint{URL: d.stack.DynamoDBURL, AccessKey: d.stack.AccessKey, SecretKey: d.stack.SecretKey, Region: d.stack.Region})
}

func (d *demo) putStatusWith(c *dynamodb.Client, id, state, errText string, at time.Time) error {
	item := map[string]ddbtypes.AttributeValue{
		"requestId": &ddbtypes.AttributeValueMemberS{Value: id},
		"status":    &ddbtypes.AttributeValueMemberS{Value: state},
		"updatedAt": &ddbtypes.AttributeValueMemberS{Value: at.UTC().Format("2006-01-02T15:04:05.000Z")},
		"attempts":  &ddbtypes.AttributeValueMemberN{Value: "2"},
	}
	if errText != "" {
		item["error"] = &ddbtypes.AttributeValueMemberS{Value: errText}
	}
	_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(d.stack.Table), Item: item})
	return err
}

// watchedBuffer is a bytes.Buffer safe for a writer and a reader on other goroutines,
// that calls onWrite with everything written so far after each write.
type watchedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	onWrite func(string)
}

func (s *watchedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	n, err := s.b.Write(p)
	out := s.b.String()
	s.mu.Unlock()
	if s.onWrite != nil {
		s.onWrite(out)
	}
	return n, err
}

func (s *watchedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTail(t *testing.T) {
	d := smallDemo(t)
	at := demoNow.Add(time.Minute)
	d.putStatus(t, "tail-1", "FAILED", "dial tcp 10.0.3.7:443: i/o timeout", at)
	d.putStatus(t, "tail-2", "PROCESSED", "", at.Add(time.Second))
	d.putStatus(t, "tail-3", "FAILED", "XML syntax error at line 5, column 2: unexpected EOF", at.Add(2*time.Second))

	t.Run("BoundedTable", func(t *testing.T) {
		r := d.run(t, "", "tail", "--status", "FAILED", "--max-events", "2", "--every", "500ms", "-o", "table").must(t, ExitOK)
		if strings.Contains(r.stdout, "tail-2") || !strings.Contains(r.stdout, "tail-3") {
			t.Fatalf("stdout:\n%s", r.stdout)
		}
		golden.RequireEqual(t, r.stdout)
	})
	t.Run("BoundedOnATerminalInColour", func(t *testing.T) {
		var out, errb bytes.Buffer
		r := d.onTerminal(120, &out).runTo(t, &out, &errb, "", "tail", "--max-events", "3", "--every", "500ms").must(t, ExitOK)
		if !strings.Contains(r.stdout, "\x1b[32m") || !strings.Contains(r.stdout, "\x1b[31m") {
			t.Fatalf("a terminal gets colours:\n%q", r.stdout)
		}
		golden.RequireEqual(t, r.stdout)
		t.Run("Plain", func(t *testing.T) { golden.RequireEqual(t, ansi.Strip(r.stdout)) })
	})
	// At 80 columns the error has a line of its own (beside the ID it had 8 cells; before,
	// it was cut at 100 cells whatever the width and every row wrapped).
	t.Run("EightyColumns", func(t *testing.T) {
		var out, errb bytes.Buffer
		r := d.onTerminal(80, &out).runTo(t, &out, &errb, "", "tail", "--status", "FAILED", "--max-events", "2", "--every", "500ms").must(t, ExitOK)
		for _, l := range strings.Split(strings.TrimSuffix(ansi.Strip(r.stdout), "\n"), "\n") {
			if ansi.StringWidth(l) > 80 {
				t.Fatalf("line wider than the terminal: %q", l)
			}
		}
		if !strings.Contains(ansi.Strip(r.stdout), "\n    XML syntax error at line 5, column 2: unexpected EOF\n") {
			t.Fatalf("the error is not whole on its own line:\n%s", ansi.Strip(r.stdout))
		}
		golden.RequireEqual(t, r.stdout)
		t.Run("Plain", func(t *testing.T) { golden.RequireEqual(t, ansi.Strip(r.stdout)) })
	})
	t.Run("BoundedJSONEveryState", func(t *testing.T) {
		r := d.run(t, "", "tail", "--max-events", "3", "--every", "500ms", "-o", "json").must(t, ExitOK)
		if got := strings.Join(ids(t, r.stdout), " "); got != "tail-1 tail-2 tail-3" {
			t.Fatalf("changes %s, want tail-1 tail-2 tail-3 in order", got)
		}
		golden.RequireEqual(t, r.stdout)
	})
	// A change written while tail runs is printed once, and Ctrl-C (the context) exits 130.
	t.Run("LiveThenInterrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var once, done sync.Once
		c := d.dynamo(t)
		putErr := make(chan error, 1)
		out := &watchedBuffer{}
		out.onWrite = func(s string) {
			if strings.Contains(s, "tail-3") {
				once.Do(func() {
					go func() {
						putErr <- d.putStatusWith(c, "tail-4", "FAILED", "upstream returned status 503", at.Add(3*time.Second))
					}()
				})
			}
			if strings.Contains(s, "tail-4") {
				done.Do(cancel)
			}
		}
		var errb bytes.Buffer
		code := d.runIn(ctx, strings.NewReader(""), out, &errb, "tail", "--status", "FAILED", "--every", "500ms", "--for", "1m", "-o", "json")
		select {
		case err := <-putErr:
			if err != nil {
				t.Fatal(err)
			}
		default:
		}
		if code != ExitCancelled {
			t.Fatalf("exit %d, want %d (stderr %s)", code, ExitCancelled, errb.String())
		}
		if got := strings.Join(ids(t, out.String()), " "); got != "tail-1 tail-3 tail-4" {
			t.Fatalf("changes %s", got)
		}
	})
	t.Run("NeedsTheIndex", func(t *testing.T) {
		r := d.variant(t, func(e *config.Env) { e.Status.Index = "" }).run(t, "", "tail").must(t, ExitUsage)
		if !strings.Contains(r.stderr, "status.index") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})
}

var (
	planRunID = regexp.MustCompile(`(?m)^(Redrive plan|  manifest     sha256) \S+$`)
	permLine  = regexp.MustCompile(`permanent    (\d+) of (\d+) failed with a permanent error \(`)
)

// The plan says how many requests failed with a permanent error and offers to leave them
// out; --skip-permanent does; the outcome after --wait is grouped by class; and show
// --history finds the run in the journals.
func TestRedrivePermanentErrors(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Requests = 300 })
	t.Run("PlanSaysSo", func(t *testing.T) {
		r := d.run(t, "", "redrive", "--status", "FAILED", "--since", "2d", "--dry-run", "-o", "table").must(t, ExitOK)
		m := permLine.FindStringSubmatch(r.stdout)
		if m == nil || !strings.Contains(r.stdout, "a redrive will fail again; --skip-permanent leaves them out") {
			t.Fatalf("no permanence line:\n%s", r.stdout)
		}
		golden.RequireEqual(t, normalize(planRunID.ReplaceAllString(r.stdout, "$1 X")))
	})
	t.Run("SkipPermanent", func(t *testing.T) {
		all := jsonLines(t, d.run(t, "", "redrive", "--status", "FAILED", "--since", "2d", "--dry-run", "-o", "json").must(t, ExitOK).stdout)
		r := d.run(t, "", "redrive", "--status", "FAILED", "--since", "2d", "--dry-run", "--skip-permanent", "-o", "json").must(t, ExitOK)
		m := permLine.FindStringSubmatch(r.stderr)
		if m == nil || !strings.Contains(r.stderr, "left out (--skip-permanent)") {
			t.Fatalf("stderr:\n%s", r.stderr)
		}
		perm, _ := strconv.Atoi(m[1])
		total, _ := strconv.Atoi(m[2])
		kept := jsonLines(t, r.stdout)
		if total != len(all) || len(kept) != total-perm || perm == 0 {
			t.Fatalf("%d planned, %d permanent, %d kept", len(all), perm, len(kept))
		}
		transient := map[string]bool{}
		for _, id := range failedIDs(t, d, 1000, true) {
			transient[id] = true
		}
		for _, it := range kept {
			if it["status"] != "FAILED" {
				t.Fatalf("kept %v", it)
			}
		}
		for _, it := range all {
			if id := it["id"].(string); transient[id] && !slices.ContainsFunc(kept, func(k map[string]any) bool { return k["id"] == id }) {
				t.Fatalf("transient %s left out", id)
			}
		}
	})
	t.Run("SkipPermanentLeavesNothing", func(t *testing.T) {
		parse := parseFailed(t, d, 2)
		r := d.run(t, "", append([]string{"redrive", "--skip-permanent", "--yes"}, parse...)...).must(t, ExitNotFound)
		if !strings.Contains(r.stderr, "failed with a permanent error, and --skip-permanent left them out") {
			t.Fatalf("stderr:\n%s", r.stderr)
		}
	})
	t.Run("OutcomeByClassAndHistory", func(t *testing.T) {
		ids := append(transientFailed(t, d, 2), parseFailed(t, d, 2)...)
		r := d.run(t, "", append([]string{"redrive", "--yes", "--wait", "1m", "-o", "json"}, ids...)...).must(t, exitNotProcessed)
		if !strings.Contains(r.stderr, "By failure class (the error each request had before):") ||
			!strings.Contains(r.stderr, "(permanent): ") || !strings.Contains(r.stderr, "(transient): ") {
			t.Fatalf("stderr:\n%s", r.stderr)
		}
		h := d.run(t, "", "show", ids[0], "--history").must(t, ExitOK)
		lines := strings.Split(strings.TrimSpace(h.stdout), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "STARTED ") || !strings.Contains(lines[1], "delivered") || !strings.Contains(lines[1], "inplace") {
			t.Fatalf("history:\n%s", h.stdout)
		}
		none := d.run(t, "", "show", failedIDs(t, d, 1000, false)[len(failedIDs(t, d, 1000, false))-1], "--history").must(t, ExitOK)
		if none.stdout != "" || !strings.Contains(none.stderr, "was not redriven from this machine") {
			t.Fatalf("no history: %q %q", none.stdout, none.stderr)
		}
		d.run(t, "", "show", ids[0], "--history", "--raw").must(t, ExitUsage)
		js := jsonLines(t, d.run(t, "", "show", ids[0], "--history", "-o", "json").must(t, ExitOK).stdout)
		if len(js) != 1 || js[0]["outcome"] != "delivered" || js[0]["mode"] != "inplace" || js[0]["runId"] == "" ||
			js[0]["started"] == nil || js[0]["journal"] == "" {
			t.Fatalf("history -o json: %v", js)
		}
		d.run(t, "", "show", ids[0], "-o", "json").must(t, ExitUsage)
		// At 80 columns each run is a block that fits (the table wrapped every row).
		var out, errb bytes.Buffer
		narrow := ansi.Strip(d.onTerminal(80, &out).runTo(t, &out, &errb, "", "show", ids[0], "--history").must(t, ExitOK).stdout)
		for _, l := range strings.Split(strings.TrimSuffix(narrow, "\n"), "\n") {
			if ansi.StringWidth(l) > 80 {
				t.Fatalf("line wider than the terminal: %q", l)
			}
		}
		if !strings.HasPrefix(narrow, "run ") || !strings.Contains(narrow, "  inplace  delivered  1 try\n  started ") {
			t.Fatalf("history at 80 columns:\n%s", narrow)
		}
	})
}

// Headless, as the "done when" asks: the classes, the chart, then a redrive of
// only the transient classes (errors -o json | redrive --from-file -), whose requests the
// processor takes, and the outcome by class says so.
func TestTriageHeadlessRedrivesTheTransientClass(t *testing.T) {
	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Requests = 300 })
	var ids []string
	for _, c := range jsonLines(t, d.run(t, "", "errors", "--since", "2d", "-o", "json").must(t, ExitOK).stdout) {
		if c["kind"] == "transient" {
			for _, id := range c["ids"].([]any) {
				ids = append(ids, id.(string))
			}
		}
	}
	if len(ids) == 0 {
		t.Fatal("the demo has no transient class in 2 days")
	}
	d.run(t, "", "stats", "--since", "2d", "-o", "json").must(t, ExitOK)
	r := d.run(t, strings.Join(ids, "\n")+"\n", "redrive", "--from-file", "-", "--yes", "--rate", "0", "--wait", "1m", "-o", "json").must(t, ExitOK)
	want := fmt.Sprintf("Processing: %d delivered → %d PROCESSED, 0 FAILED again, 0 no verdict yet.", len(ids), len(ids))
	if !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "(permanent)") || !strings.Contains(r.stderr, "(transient): ") {
		t.Fatalf("stderr lacks %q or has a permanent class:\n%s", want, r.stderr)
	}
	after := jsonLines(t, d.run(t, "", "errors", "--since", "2d", "-o", "json").must(t, ExitOK).stdout)
	for _, c := range after {
		if c["kind"] == "transient" {
			t.Fatalf("a transient class is left after its redrive: %v", c["class"])
		}
	}
}

// changesFake answers ChangedSince from rounds: each call of a round returns its items
// after since, or its error.
type changesFake struct {
	mu     sync.Mutex
	rounds []changesRound
	calls  int
}

type changesRound struct {
	items []awsclient.Status
	err   error
}

func (f *changesFake) ChangedSince(_ context.Context, state string, since time.Time, _ int) ([]awsclient.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rounds[min(f.calls, len(f.rounds)-1)]
	f.calls++
	if r.err != nil {
		return nil, r.err
	}
	var out []awsclient.Status
	for _, it := range r.items {
		if it.State == state && it.UpdatedAt.After(since) {
			out = append(out, it)
		}
	}
	return out, nil
}

func (f *changesFake) SampleStates(context.Context, int32) ([]string, error) { return nil, nil }

// A throttled poll is skipped and retried later; a change seen twice (the overlap) is
// printed once; the order is by updated-at.
func TestFollowChangesThrottledAndOverlap(t *testing.T) {
	t.Parallel()
	at := demoNow.Add(time.Minute)
	a := awsclient.Status{RequestID: "a", State: "FAILED", UpdatedAt: at}
	b := awsclient.Status{RequestID: "b", State: "FAILED", UpdatedAt: at.Add(time.Second)}
	c := awsclient.Status{RequestID: "c", State: "FAILED", UpdatedAt: at.Add(500 * time.Millisecond)}
	throttled := &awsclient.Error{Kind: awsclient.KindThrottled, Code: "ThrottlingException"}
	src := &changesFake{rounds: []changesRound{
		{items: []awsclient.Status{a}},
		{err: throttled},
		{items: []awsclient.Status{a, c, b}},
	}}
	var got []string
	err := followChanges(context.Background(), src, []string{"FAILED"}, demoNow, time.Millisecond, 3, func(s awsclient.Status) error {
		got = append(got, s.RequestID)
		return nil
	})
	if !errors.Is(err, errEnough) || strings.Join(got, " ") != "a c b" {
		t.Fatalf("changes %v, err %v", got, err)
	}
	if src.calls != 3 {
		t.Fatalf("%d polls, want 3", src.calls)
	}
	denied := &changesFake{rounds: []changesRound{{err: &awsclient.Error{Kind: awsclient.KindAccessDenied}}}}
	if err := followChanges(context.Background(), denied, []string{"FAILED"}, demoNow, time.Millisecond, 0, func(awsclient.Status) error { return nil }); awsclient.KindOf(err) != awsclient.KindAccessDenied {
		t.Fatalf("access denied: %v", err)
	}
}

// pagedChanges answers ChangedSince per state from a fixed history, oldest first and at
// most limit at a time, as the index does; throttle[i] throttles the i-th call of a state.
// Past maxCalls it fails, so that a loop that makes no progress ends.
type pagedChanges struct {
	mu       sync.Mutex
	byState  map[string][]awsclient.Status
	throttle map[string]map[int]bool
	calls    map[string]int
	maxCalls int
}

func (f *pagedChanges) ChangedSince(_ context.Context, state string, since time.Time, limit int) ([]awsclient.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.calls[state]
	f.calls[state]++
	if i >= f.maxCalls {
		return nil, errors.New("no progress: too many polls")
	}
	if f.throttle[state][i] {
		return nil, &awsclient.Error{Kind: awsclient.KindThrottled, Code: "ThrottlingException"}
	}
	var out []awsclient.Status
	for _, it := range f.byState[state] {
		if it.UpdatedAt.After(since) {
			out = append(out, it)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

func (f *pagedChanges) SampleStates(context.Context, int32) ([]string, error) { return nil, nil }

// A state throttled in one poll is read again from its own cursor: a FAILED change
// written during the throttle is printed although PROCESSED moved on meanwhile (one
// cursor for all states skipped it).
func TestFollowChangesThrottledStateKeepsItsCursor(t *testing.T) {
	t.Parallel()
	f1 := awsclient.Status{RequestID: "f1", State: "FAILED", UpdatedAt: demoNow.Add(time.Second)}
	p1 := awsclient.Status{RequestID: "p1", State: "PROCESSED", UpdatedAt: demoNow.Add(10 * time.Second)}
	src := &pagedChanges{
		byState:  map[string][]awsclient.Status{"FAILED": {f1}, "PROCESSED": {p1}},
		throttle: map[string]map[int]bool{"FAILED": {0: true}},
		calls:    map[string]int{}, maxCalls: 5,
	}
	var got []string
	err := followChanges(context.Background(), src, []string{"FAILED", "PROCESSED"}, demoNow, time.Millisecond, 2, func(s awsclient.Status) error {
		got = append(got, s.RequestID)
		return nil
	})
	if !errors.Is(err, errEnough) || strings.Join(got, " ") != "p1 f1" {
		t.Fatalf("changes %v, err %v", got, err)
	}
}

// More changes than a page within the overlap (a bulk redrive's statuses) are all
// printed, once each: the poll after a full page reads on from its end.
func TestFollowChangesMoreThanAPage(t *testing.T) {
	t.Parallel()
	var hist []awsclient.Status
	for i := 0; i < tailPage+500; i++ {
		hist = append(hist, awsclient.Status{RequestID: fmt.Sprintf("r%05d", i), State: "PROCESSED",
			UpdatedAt: demoNow.Add(time.Duration(i+1) * time.Millisecond)})
	}
	// The first change past the page was written in the same millisecond as the page's last.
	hist[tailPage].UpdatedAt = hist[tailPage-1].UpdatedAt
	src := &pagedChanges{byState: map[string][]awsclient.Status{"PROCESSED": hist}, calls: map[string]int{}, maxCalls: 10}
	seen := map[string]bool{}
	err := followChanges(context.Background(), src, []string{"PROCESSED"}, demoNow, time.Millisecond, len(hist), func(s awsclient.Status) error {
		if seen[s.RequestID] {
			return fmt.Errorf("%s printed twice", s.RequestID)
		}
		seen[s.RequestID] = true
		return nil
	})
	if !errors.Is(err, errEnough) || len(seen) != len(hist) {
		t.Fatalf("%d of %d changes, err %v", len(seen), len(hist), err)
	}
}

// At 80 columns the class column has about 29 cells: the demo's classes, which share
// their start, stay told apart (cut at the end, eight of them read "XML syntax error at
// line <n>, …").
func TestClipMiddleKeepsClassesApart(t *testing.T) {
	t.Parallel()
	classes := []string{
		"XML syntax error at line <n>, column <n>: invalid UTF-<n>",
		"XML syntax error at line <n>, column <n>: unexpected EOF",
		"XML syntax error at line <n>, column <n>: invalid character entity & (no semicolon)",
		"XML syntax error at line <n>, column <n>: element <Brand> closed by </Brnad>",
		"XML syntax error at line <n>, column <n>: unquoted or missing attribute value in element",
		"XML syntax error at line <n>, column <n>: illegal character code U+<n>",
		"malformed JSON at line <n>, column <n>: invalid character '<v>' looking for beginning of object key string",
		"malformed JSON at line <n>, column <n>: unexpected end of JSON input",
		"malformed JSON at line <n>, column <n>: invalid character '<v>' after object key:value pair",
		"malformed JSON at line <n>, column <n>: invalid character '<v>' looking for beginning of value",
		"downstream timeout: inventory-service did not answer within <n> ms (POST /v<n>/stock/reservations, sku ACME-<n>)",
	}
	for _, n := range []int{29, 40, 53} {
		seen := map[string]string{}
		for _, c := range classes {
			got := clipMiddle(c, n)
			if w := ansi.StringWidth(got); w > n {
				t.Fatalf("clipMiddle(%q, %d) = %q, %d cells", c, n, got, w)
			}
			if other, ok := seen[got]; ok {
				t.Fatalf("at %d cells %q and %q both read %q", n, other, c, got)
			}
			seen[got] = c
		}
	}
	if got := clipMiddle("short", 29); got != "short" {
		t.Fatalf("a class that fits is cut: %q", got)
	}
}

// A class of a million failures keeps the columns aligned (COUNT was 5 cells wide).
func TestErrorsTableHugeCounts(t *testing.T) {
	t.Parallel()
	classes := []failclass.Class{
		{Key: "pricing-service unavailable", Kind: failclass.Transient, Count: 1234567, Share: 0.99, First: demoNow.Add(-time.Hour), Last: demoNow, Spark: []int{1, 2}, SampleID: "a"},
		{Key: "XML syntax error", Kind: failclass.Permanent, Count: 7, Share: 0.01, First: demoNow.Add(-time.Hour), Last: demoNow, Spark: []int{0, 1}, SampleID: "b"},
	}
	var out bytes.Buffer
	if err := writeClassesTable(&out, classes, demoNow, false, 120); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	cell := func(l, sub string) int { return ansi.StringWidth(l[:strings.Index(l, sub)]) }
	col := cell(lines[0], "CLASS")
	if cell(lines[1], "pricing") != col || cell(lines[2], "XML") != col {
		t.Fatalf("CLASS is not at column %d:\n%s", col, out.String())
	}
	if !strings.Contains(lines[len(lines)-2], "1234574 failed requests in 2 classes") {
		t.Fatalf("total:\n%s", out.String())
	}
}

// The first poll reads back by the overlap, but a change from before the start (what the
// header says tail follows from) is not printed.
func TestFollowChangesNothingBeforeTheStart(t *testing.T) {
	t.Parallel()
	before := awsclient.Status{RequestID: "before", State: "FAILED", UpdatedAt: demoNow.Add(-time.Second)}
	after := awsclient.Status{RequestID: "after", State: "FAILED", UpdatedAt: demoNow.Add(time.Second)}
	src := &pagedChanges{byState: map[string][]awsclient.Status{"FAILED": {before, after}}, calls: map[string]int{}, maxCalls: 5}
	var got []string
	err := followChanges(context.Background(), src, []string{"FAILED"}, demoNow, time.Millisecond, 1, func(s awsclient.Status) error {
		got = append(got, s.RequestID)
		return nil
	})
	if !errors.Is(err, errEnough) || strings.Join(got, " ") != "after" {
		t.Fatalf("changes %v, err %v", got, err)
	}
}
