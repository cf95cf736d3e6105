package tui

import (
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/testenv"
)

// reportCPU reports the CPU time per op since start (cpu-ns/op): on a shared machine
// wall time says more about the neighbours than about the code.
func reportCPU(b *testing.B, start time.Duration) {
	if now := testenv.ProcessCPU(); b.N > 0 && now > 0 { // 0: not measured here
		b.ReportMetric(float64(now-start)/float64(b.N), "cpu-ns/op")
	}
}
