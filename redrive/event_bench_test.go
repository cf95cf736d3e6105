package redrive_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/internal/testenv"
	"github.com/stowage-cli/stowage/redrive"
)

// BenchmarkEventSQSVersusGateway: requests redriven per second by --mode sqs and by
// --mode inplace at the same concurrency (4), with 20 ms added to every call of the
// target (the gateway; the queue) and, in the "all" rows, to every S3 and DynamoDB call
// too (the HEAD or GET, the status reads, the claims), as on AWS. SendMessageBatch
// carries 10 requests a call, so sqs should reach 10 times the gateway's rate; its bound
// at concurrency 4 is 4 calls × 10 / 20 ms = 2000/s. Reported per row: inplace/s, sqs/s,
// their ratio, and the CPU (user + system) of this process per sqs request: the devstack
// (S3, DynamoDB, SQS, the processor consuming the queue) runs in this process too.
//
//	go test ./redrive -run '^$' -bench EventSQSVersusGateway -benchtime 1x
func BenchmarkEventSQSVersusGateway(b *testing.B) {
	const gatewayN, sqsN, latency = 200, 2000, 20 * time.Millisecond
	const perRow = gatewayN + sqsN
	for range b.N {
		d := startDev(b, devOptions{stack: devstack.Options{Seed: 5, Requests: 5 * perRow, TransientRatio: 1, LostRatio: -1,
			Trigger: devstack.TriggerSQS, Gateway: devstack.GatewayFaults{Latency: latency}}})
		d.st.SetEventFaults(devstack.EventFaults{Latency: latency})
		ids := d.failed(b, "transient", 2*perRow)
		if len(ids) != 2*perRow {
			b.Fatalf("%d transient failures, want %d", len(ids), 2*perRow)
		}
		// The same stack, its S3 and DynamoDB 20 ms away.
		far := attachDev(b, d.st, devOptions{open: []awsclient.OpenOption{
			awsclient.WithHTTPWrap(delayTo(latency, d.env.Endpoints.S3, d.env.Endpoints.DynamoDB))}})
		for i, row := range []struct {
			name string
			d    *dev
		}{{"target", d}, {"all", far}} {
			ids := ids[i*perRow : (i+1)*perRow]
			gw, _ := sqsBenchRate(b, row.d.plan(b, redrive.ModeInplace, redrive.Selection{IDs: ids[:gatewayN]}), redrive.DepsFor(row.d.clients), row.d, "inplace")
			sqs, cpu := sqsBenchRate(b, row.d.planEvents(b, redrive.ModeSQS, redrive.Selection{IDs: ids[gatewayN:]}), eventDeps(row.d.clients), row.d, "sqs")
			b.ReportMetric(gw, row.name+"-inplace-req/s")
			b.ReportMetric(sqs, row.name+"-sqs-req/s")
			b.ReportMetric(sqs/gw, row.name+"-ratio")
			b.ReportMetric(float64(cpu.Microseconds())/float64(sqsN), row.name+"-sqs-cpu-µs/req")
		}
	}
}

// sqsBenchRate runs m at concurrency 4 and returns the requests delivered per second and
// the CPU this process spent meanwhile.
func sqsBenchRate(b *testing.B, m *redrive.Manifest, deps redrive.Deps, d *dev, name string) (float64, time.Duration) {
	b.Helper()
	m.Concurrency = 4
	r, err := redrive.New(deps, m, d.options(name))
	if err != nil {
		b.Fatal(err)
	}
	cpu0, start := testenv.ProcessCPU(), time.Now()
	if err := r.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	rep := r.Wait()
	el, cpu := time.Since(start), testenv.ProcessCPU()-cpu0
	if rep.Counts.Delivered != len(m.Items) {
		b.Fatalf("%s: %s", name, rep.Counts)
	}
	return float64(len(m.Items)) / el.Seconds(), cpu
}

// delayTo delays every request to the endpoints by d before it leaves, as a network
// d away would.
func delayTo(d time.Duration, endpoints ...string) func(http.RoundTripper) http.RoundTripper {
	hosts := map[string]bool{}
	for _, e := range endpoints {
		if u, err := url.Parse(e); err == nil {
			hosts[u.Host] = true
		}
	}
	return func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if hosts[r.URL.Host] {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-r.Context().Done():
					t.Stop()
					return nil, r.Context().Err()
				}
			}
			return rt.RoundTrip(r)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
