package redrive

import (
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

func TestGCPercentForKeepsTheHeadroomBounded(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 1000}, {1 << 20, 1000}, {8 << 20, 800}, {32 << 20, 200}, {64 << 20, 100}, {1 << 30, 100},
	} {
		if got := gcPercentFor(c.live); got != c.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}

// Runs that overlap pace the collector once; the last to end restores the setting.
func TestPaceGCRestoresAfterTheLastRun(t *testing.T) {
	t.Setenv("GOGC", "")
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	a, b := paceGC(), paceGC()
	if pct := gcPercent(); pct <= 100 {
		t.Errorf("GC percent %d while runs send, want more than 100", pct)
	}
	a()
	a() // a second call is a no-op
	if pct := gcPercent(); pct <= 100 {
		t.Errorf("GC percent %d while one run still sends", pct)
	}
	b()
	if pct := gcPercent(); pct != 100 {
		t.Errorf("GC percent %d after the last run, want 100 restored", pct)
	}
}

func gcPercent() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
