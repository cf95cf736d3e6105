package redrive_test

import (
	"context"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

// BenchmarkEventSQSVersusGateway: requests redriven per second by --mode sqs and by
// --mode inplace at the same concurrency (4), with 20 ms added to every call of the
// target (the gateway; the queue). SendMessageBatch carries 10 requests a call, so sqs
// should reach at least 10 times the gateway's rate. Reported: inplace/s, sqs/s, ratio.
//
//	go test ./redrive -run '^$' -bench EventSQSVersusGateway -benchtime 1x
func BenchmarkEventSQSVersusGateway(b *testing.B) {
	const gatewayN, sqsN, latency = 200, 2000, 20 * time.Millisecond
	for range b.N {
		d := startDev(b, devOptions{stack: devstack.Options{Seed: 5, Requests: 5 * (gatewayN + sqsN) / 2, TransientRatio: 1, LostRatio: -1,
			Trigger: devstack.TriggerSQS, Gateway: devstack.GatewayFaults{Latency: latency}}})
		d.st.SetEventFaults(devstack.EventFaults{Latency: latency})
		ids := d.failed(b, "transient", gatewayN+sqsN)
		if len(ids) != gatewayN+sqsN {
			b.Fatalf("%d transient failures, want %d", len(ids), gatewayN+sqsN)
		}
		rate := func(m *redrive.Manifest, deps redrive.Deps, name string) float64 {
			m.Concurrency = 4
			r, err := redrive.New(deps, m, d.options(name))
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := r.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			rep := r.Wait()
			el := time.Since(start)
			if rep.Counts.Delivered != len(m.Items) {
				b.Fatalf("%s: %s", name, rep.Counts)
			}
			return float64(len(m.Items)) / el.Seconds()
		}
		gw := rate(d.plan(b, redrive.ModeInplace, redrive.Selection{IDs: ids[:gatewayN]}), redrive.DepsFor(d.clients), "inplace")
		sqs := rate(d.planEvents(b, redrive.ModeSQS, redrive.Selection{IDs: ids[gatewayN:]}), eventDeps(d.clients), "sqs")
		b.ReportMetric(gw, "inplace-req/s")
		b.ReportMetric(sqs, "sqs-req/s")
		b.ReportMetric(sqs/gw, "ratio")
	}
}
