package trace_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/trace"
)

// latency delays every request by d: a region away.
type latency struct {
	d    time.Duration
	next http.RoundTripper
}

func (l latency) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(l.d)
	return l.next.RoundTrip(r)
}

// BenchmarkTimeline20ms gathers and builds the timeline of a FAILED demo request with
// 20 ms added to every call (S3, DynamoDB, CloudWatch Logs), and reports the round trips
// it took (roundtrips/op). detail is the TUI's timeline tab: the detail has read the
// object and the status item, so the log lines are read beside the fresh S3 and DynamoDB
// reads, then the invocations' platform lines: two round trips; the tab shows the first
// round's timeline after one (first-roundtrips/op). cold is stowage trace ID, which knows
// nothing first: the reads, then the lines in the windows they date, then the platform
// lines: three.
func BenchmarkTimeline20ms(b *testing.B) {
	const rtt = 20 * time.Millisecond
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	st, err := devstack.Start(context.Background(), devstack.Options{Seed: 1, Requests: 200, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Settle(context.Background()); err != nil {
		b.Fatal(err)
	}
	env := st.Config().Environments[devstack.EnvName]
	c, err := awsclient.Open(context.Background(), env, awsclient.WithStaticCredentials(devstack.AccessKey, devstack.SecretKey),
		awsclient.WithHTTPWrap(func(next http.RoundTripper) http.RoundTripper { return latency{rtt, next} }))
	if err != nil {
		b.Fatal(err)
	}
	page, err := c.Statuses.QueryByStatus(context.Background(), "FAILED", "", 1)
	if err != nil || len(page.Items) == 0 {
		b.Fatalf("no FAILED request: %v", err)
	}
	id := page.Items[0].RequestID
	// What the detail read before its timeline tab opened.
	obj, err := c.Objects.Head(context.Background(), env.Key(id))
	if err != nil {
		b.Fatal(err)
	}
	status, _, err := c.Statuses.Get(context.Background(), id)
	if err != nil {
		b.Fatal(err)
	}
	// One trace's calls fit FilterLogEvents' burst; b.N traces in a row would be paced to
	// the account's quota, which is not what this measures.
	c.Logs.SetFilterRate(0)
	for _, bc := range []struct {
		name  string
		known *trace.Known
	}{{"detail", &trace.Known{Object: &obj, Status: &status}}, {"cold", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			src := trace.Sources{Env: env, Objects: c.Objects, Statuses: c.Statuses, Logs: c.Logs, MissingObject: inventory.IsMissingObject, Known: bc.known}
			var first time.Duration // until the first round's timeline (detail only)
			start := time.Now()
			for range b.N {
				t0 := time.Now()
				src.First = func(in trace.Inputs) {
					trace.Build(in)
					first += time.Since(t0)
				}
				in, err := trace.Gather(context.Background(), src, id, env.Key(id))
				if err != nil {
					b.Fatal(err)
				}
				tl := trace.Build(in)
				invocations := 0
				for _, e := range tl.Entries {
					if e.Invocation != "" {
						invocations++
					}
				}
				if len(tl.Entries) < 4 || invocations == 0 {
					b.Fatalf("%d entries, %d invocations", len(tl.Entries), invocations)
				}
			}
			b.ReportMetric(float64(time.Since(start))/float64(b.N)/float64(rtt), "roundtrips/op")
			if first > 0 {
				b.ReportMetric(float64(first)/float64(b.N)/float64(rtt), "first-roundtrips/op")
			}
		})
	}
}
