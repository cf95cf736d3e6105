package tui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stowage-cli/stowage/awsclient"
)

// millionRows builds n rows with UUID-shaped ids, received over the last n seconds.
func millionRows(n int) []row {
	rs := make([]row, n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range rs {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		y := x * 0x2545f4914f6cdd1d
		id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(x), uint16(y), uint16(y>>16)&0xfff, uint16(y>>28)&0xfff, (x^y)&0xffffffffffff)
		rs[i] = rowFromObject(awsclient.Object{Key: id, RequestID: id, Size: int64(i%5000 + 100),
			LastModified: testNow.Add(-time.Duration(i) * time.Second)})
	}
	return rs
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
	for b.Loop() {
		_ = f.m.View()
	}
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

// BenchmarkHistogramMillionRows measures building the chart over a million listed rows.
func BenchmarkHistogramMillionRows(b *testing.B) {
	f := newFixture(b, nil)
	f.m.all.Add(millionRows(1_000_000))
	f.m.list.done = true
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f.m.buildHistogram(36)
	}
}
