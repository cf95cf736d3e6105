package tui

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// millionRows builds n rows with UUID-shaped ids, received over the last n seconds.
func millionRows(n int) []row {
	rs := make([]row, n)
	next := uuids()
	for i := range rs {
		id := next()
		rs[i] = rowFromObject(awsclient.Object{Key: id, RequestID: id, Size: int64(i%5000 + 100),
			LastModified: testNow.Add(-time.Duration(i) * time.Second)})
	}
	return rs
}

// uuids returns a generator of the same pseudo-random UUID-shaped ids every time.
func uuids() func() string {
	x := uint64(0x9e3779b97f4a7c15)
	return func() string {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		y := x * 0x2545f4914f6cdd1d
		return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(x), uint16(y), uint16(y>>16)&0xfff, uint16(y>>28)&0xfff, (x^y)&0xffffffffffff)
	}
}

// BenchmarkViewMillionRows measures one frame with a million rows loaded: only the
// visible rows are drawn, so it must cost what a frame of 40 rows costs.
func BenchmarkViewMillionRows(b *testing.B) {
	f := newFixture(b, nil)
	f.m.all.Add(millionRows(1_000_000))
	f.m.list.done = true
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	f.m.cursor = 500_000
	f.m.clampScroll()
	if f.m.all.ViewLen() != 1_000_000 {
		b.Fatalf("loaded %d rows", f.m.all.ViewLen())
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := testenv.ProcessCPU()
	for b.Loop() {
		_ = f.m.View()
	}
	reportCPU(b, cpu)
}

// BenchmarkFilterMillionIDs measures a fresh substring filter over a million ids.
func BenchmarkFilterMillionIDs(b *testing.B) {
	s := newRowSet(nil)
	s.Add(millionRows(1_000_000))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.SetQuery("")
		s.SetQuery("4ab")
	}
	if s.ViewLen() == 0 || s.ViewLen() == s.Len() {
		b.Fatalf("filter matched %d of %d", s.ViewLen(), s.Len())
	}
}

// BenchmarkListMillionInPages measures absorbing a million-object listing page by page
// (1,000 pages of 1,000, merged into the sorted order as they arrive); ns/op is the
// whole listing, so a page costs ns/op / 1,000 on average.
func BenchmarkListMillionInPages(b *testing.B) {
	rs := millionRows(1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s := newRowSet(nil)
		for p := 0; p < len(rs); p += 1000 {
			s.Add(rs[p : p+1000])
		}
		if s.Len() != len(rs) {
			b.Fatalf("%d rows", s.Len())
		}
	}
}

// BenchmarkSelectAllMillionRows measures a (select all) and a again (none) over a million
// rows, and a frame with all of them marked.
func BenchmarkSelectAllMillionRows(b *testing.B) {
	f := newFixture(b, nil)
	f.m.all.Add(millionRows(1_000_000))
	f.m.list.done = true
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f.m.markAll()
		if len(f.m.marked) != 1_000_000 {
			b.Fatalf("marked %d", len(f.m.marked))
		}
		_ = f.m.View()
		f.m.markAll()
	}
}

// BenchmarkWindowMillionRows measures what a window change (and the clock tick under a
// preset) costs with a million rows listed: the table's filter, the header's counts and
// the header's sparkline, one pass each.
func BenchmarkWindowMillionRows(b *testing.B) {
	f := newFixture(b, nil)
	f.m.all.Add(millionRows(1_000_000))
	f.m.list.done = true
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f.m.win = timeWindow{preset: i % len(windowPresets)}
		f.m.applyWindow()
	}
}

// BenchmarkHistogramMillionRows measures building the chart over a million listed rows
// (in a command: Update only gathers histInput, whose cost is the statuses read).
func BenchmarkHistogramMillionRows(b *testing.B) {
	f := newFixture(b, nil)
	f.m.all.Add(millionRows(1_000_000))
	f.m.list.done = true
	b.ReportAllocs()
	b.ResetTimer()
	cpu := testenv.ProcessCPU()
	for b.Loop() {
		buildHistogram(f.m.histInputOf(true), 36)
	}
	reportCPU(b, cpu)
}

// listedPages returns the pages of n listed objects in turn (nil past the end), made on
// demand as the listing delivers them (the rows of millionRows), keyed as the demo keys
// them (prefix, then the id).
func listedPages(n, size int) func() []awsclient.Object {
	next, i := uuids(), 0
	return func() []awsclient.Object {
		if i >= n {
			return nil
		}
		objs := make([]awsclient.Object, 0, size)
		for ; i < n && len(objs) < size; i++ {
			id := next()
			objs = append(objs, awsclient.Object{Key: "requests/" + id + ".json", RequestID: id, Size: int64(i%5000 + 100),
				LastModified: testNow.Add(-time.Duration(i) * time.Second), ETag: fmt.Sprintf("%032x", i)})
		}
		return objs
	}
}

// loadListing feeds the pages to the model as the listing does (listChunkMsg), and ends it.
func loadListing(f *fixture, page func() []awsclient.Object) {
	for {
		objs := page()
		if objs == nil {
			f.step(listChunkMsg{gen: f.m.gen, seq: f.m.list.seq, done: true})
			return
		}
		f.step(listChunkMsg{gen: f.m.gen, seq: f.m.list.seq, objs: objs})
	}
}

// BenchmarkRowsMemoryMillion loads a million rows through the listing's own path (the
// chunks the listing sends to Update, made one at a time as the listing makes them) and
// reports the heap the model holds after a GC, per row, and the process's resident set
// (the whole test process).
func BenchmarkRowsMemoryMillion(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		page := listedPages(n, 1000)
		f := newFixture(b, nil)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		loadListing(f, page)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if f.m.all.Len() != n {
			b.Fatalf("loaded %d rows", f.m.all.Len())
		}
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/n, "heapB/row")
		b.ReportMetric(float64(rssBytes())/(1<<20), "RSS-MiB")
		runtime.KeepAlive(f)
		runtime.KeepAlive(page)
	}
}

// rssBytes is the resident set of this process (Linux; 0 elsewhere).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkFilterKeystrokeMillion types a filter into the / prompt over a million listed
// rows, through Update as a key press does, then deletes it: each op is one keystroke.
// typing: "4ab" and three backspaces (the first character and "4a" again search every
// row, the others narrow what the previous one kept); fresh: "4" and a backspace, every
// op a search of every row (the worst keystroke).
func BenchmarkFilterKeystrokeMillion(b *testing.B) {
	f := newFixture(b, nil)
	loadListing(f, listedPages(1_000_000, 5000))
	f.keys("/")
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"typing", []string{"4", "a", "b", "backspace", "backspace", "backspace"}},
		{"fresh", []string{"4", "backspace"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := testenv.ProcessCPU()
			for i := 0; b.Loop(); i++ {
				f.step(keyPress(tc.keys[i%len(tc.keys)]))
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkStatusBatchStatusSortMillion measures one status batch (100 statuses read, as
// for the rows on screen) arriving while a million rows are sorted by status.
func BenchmarkStatusBatchStatusSortMillion(b *testing.B) {
	f := newFixture(b, nil)
	rs := millionRows(1_000_000)
	f.m.all.Add(rs)
	f.m.list.done = true
	f.m.all.SetSort(sortStatus, false)
	states := []string{"PROCESSED", "FAILED", "PROCESSING"}
	b.ReportAllocs()
	cpu := testenv.ProcessCPU()
	for i := 0; b.Loop(); i++ {
		ids := make([]string, 100)
		found := map[string]awsclient.Status{}
		for k := range ids {
			ids[k] = rs[(i*100+k)*7919%len(rs)].ID
			found[ids[k]] = awsclient.Status{RequestID: ids[k], State: states[(i+k)%len(states)]}
		}
		f.m.absorbStatuses(ids, found)
	}
	reportCPU(b, cpu)
}
