package redrive

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// gcHeadroom is how much the heap may grow past what is live before the garbage
// collector runs, while a run sends. Go's default (GOGC=100: as much again as is live)
// runs it every few megabytes on the small heap of a run: every thirty-odd items, each
// cycle shrinking the workers' stacks, which the SDK's deep calls then grow again. The
// bound is on the growth, so a large manifest's heap still grows by at most as much as
// it holds.
const gcHeadroom = 64 << 20

// gcPace holds the collector's pace while runs send: the first run to start sets it, the
// last to finish restores what was there. GOGC, when set, is left alone.
var gcPace struct {
	mu      sync.Mutex
	runs    int
	restore int // the percentage to restore; 0: nothing was changed
}

// paceGC widens the collector's headroom to gcHeadroom for a run; the function it
// returns undoes it.
func paceGC() func() {
	gcPace.mu.Lock()
	defer gcPace.mu.Unlock()
	gcPace.runs++
	if gcPace.runs == 1 && os.Getenv("GOGC") == "" {
		if pct := gcPercentFor(liveHeap()); pct > 100 {
			gcPace.restore = debug.SetGCPercent(pct)
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			gcPace.mu.Lock()
			defer gcPace.mu.Unlock()
			gcPace.runs--
			if gcPace.runs == 0 && gcPace.restore != 0 {
				debug.SetGCPercent(gcPace.restore)
				gcPace.restore = 0
			}
		})
	}
}

// gcPercentFor is the GOGC that lets a heap of live bytes grow by gcHeadroom (at least
// the default 100, at most 1000).
func gcPercentFor(live uint64) int {
	if live == 0 {
		return 1000
	}
	return int(min(1000, max(100, gcHeadroom*100/live)))
}

// liveHeap is the heap the last collection found live (0 before the first).
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
