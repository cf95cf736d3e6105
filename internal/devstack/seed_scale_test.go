package devstack

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSeedScale measures how long Start takes to seed STOWAGE_SEED_SCALE requests and the
// process's peak RSS. It is a measurement, not an assertion (the machine decides the
// numbers), so it runs only when asked:
//
//	STOWAGE_SEED_SCALE=100000 go test ./internal/devstack/ -run TestSeedScale -v
//
// From 200,000 requests `stowage demo` runs under a soft memory limit (internal/cli
// demo.go): GOMEMLIMIT=1300MiB measures what the demo's server does.
//
// STOWAGE_SEED_DATA=1 seeds into a DataDir; STOWAGE_SEED_HEAPPROFILE=FILE writes a heap
// profile once seeded.
func TestSeedScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STOWAGE_SEED_SCALE"))
	if n <= 0 {
		t.Skip("set STOWAGE_SEED_SCALE=N to measure seeding N requests")
	}
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	start := time.Now()
	opts := Options{Seed: 1, Requests: n, Now: func() time.Time { return now }}
	if os.Getenv("STOWAGE_SEED_DATA") != "" {
		opts.DataDir = t.TempDir() // the bolt store and the saved table
	}
	st, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ready := time.Since(start)
	defer st.Close()
	if path := os.Getenv("STOWAGE_SEED_HEAPPROFILE"); path != "" {
		runtime.GC()
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("seeded %d requests in %s (process CPU %s); heap in use %d MiB, sys %d MiB, peak RSS %s",
		n, ready.Round(time.Millisecond), procCPU(), ms.HeapInuse>>20, ms.Sys>>20, peakRSS())
}

// peakRSS is the process's high-water resident set (Linux), or "unknown".
func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// procCPU is the process's user plus system CPU time so far (Linux), or "unknown": on a
// shared machine it says more than the wall time.
func procCPU() string {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return "unknown"
	}
	_, rest, ok := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return "unknown"
	}
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return (time.Duration(ut+st) * 10 * time.Millisecond).String() // USER_HZ is 100
}
