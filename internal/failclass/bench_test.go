package failclass

import (
	"fmt"
	"testing"
	"time"
)

// failures100k is a realistic mix: a burst of malformed payloads (line and column vary),
// an outage of one downstream (hosts and request ids vary), a trickle of timeouts and a
// long tail of one-off messages.
func failures100k() []Failure {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	fs := make([]Failure, 100_000)
	for i := range fs {
		var msg string
		switch i % 10 {
		case 0, 1, 2, 3:
			msg = fmt.Sprintf("XML syntax error at line %d, column %d: unexpected EOF", i%97, i%13)
		case 4, 5, 6:
			msg = fmt.Sprintf("POST https://inventory-%d.internal:8443/reserve: 503 Service Unavailable (request %08x-1c2d-4e5f-8a9b-%012x)", i%7, i, i)
		case 7, 8:
			msg = fmt.Sprintf("dial tcp 10.0.%d.%d:443: i/o timeout after %dms", i%4, i%250, 3000+i%500)
		default:
			msg = fmt.Sprintf("customer %d rejected: field 'sku-%d' unknown", i, i%1000)
		}
		fs[i] = Failure{ID: fmt.Sprintf("req-%06d", i), Error: msg, At: t0.Add(time.Duration(i) * time.Second)}
	}
	return fs
}

// BenchmarkGroup100k is the speed target of #14: classes over 100k FAILED items in at
// most 1 s of CPU. One op is one Group of 100k failures.
func BenchmarkGroup100k(b *testing.B) {
	fs := failures100k()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs := Group(fs, nil, time.Time{}, time.Time{}, 40)
		if len(cs) != 4 {
			b.Fatalf("%d classes, want 4", len(cs))
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	msg := "POST https://inventory-3.internal:8443/reserve: 503 Service Unavailable (request 0000002a-1c2d-4e5f-8a9b-00000000002a)"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Normalize(msg)
	}
}
