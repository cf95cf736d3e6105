package tui

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// TestRowStoreKeepsEveryRow: what goes into the compact store comes back out, whatever
// the key and the id look like, and the id finds its record.
func TestRowStoreKeepsEveryRow(t *testing.T) {
	rows := []row{
		{Key: "requests/0b6f.json", ID: "0b6f", Size: 10, Modified: 5},
		{Key: "Requests/ABC.json", ID: "ABC", Size: -1},
		{Key: "k", ID: "Another-ID", Modified: 7, Received: 3},
		{Key: "", ID: "", Size: 1},
		{Key: "dup", ID: "dup"},
		{Key: "émoji-Ü", ID: "ü"},
		{Key: "big", ID: "BIG", Size: 5 << 30},
		{Key: "Mixed/Case", ID: "x", Size: 1<<32 - 1},
	}
	var s rowStore
	for i := range rows {
		s.push(&rows[i])
	}
	for i, want := range rows {
		got := s.rowAt(int32(i))
		if *got != want {
			t.Errorf("record %d = %+v, want %+v", i, *got, want)
		}
		if h := s.hayOf(int32(i)); h != lowerHay(want.Key, want.ID) {
			t.Errorf("record %d: hay %q, want %q", i, h, lowerHay(want.Key, want.ID))
		}
		if j, ok := s.lookup(want.ID); !ok || j != int32(i) {
			t.Errorf("lookup(%q) = %d, %v", want.ID, j, ok)
		}
	}
	if _, ok := s.lookup("missing"); ok {
		t.Error("found an id never added")
	}
}

// TestRecIsSmall pins a record's size: a million rows hold a million of them.
func TestRecIsSmall(t *testing.T) {
	if n := unsafe.Sizeof(rec{}); n != 32 {
		t.Fatalf("a record is %d bytes", n)
	}
}

// TestRowStoreIndexGrows: the index finds every id across its growth.
func TestRowStoreIndexGrows(t *testing.T) {
	var s rowStore
	next := uuids()
	var ids []string
	for range 5000 {
		id := next()
		ids = append(ids, id)
		s.push(&row{Key: "requests/" + id, ID: id})
	}
	for i, id := range ids {
		if j, ok := s.lookup(id); !ok || j != int32(i) {
			t.Fatalf("lookup(%q) = %d, %v", id, j, ok)
		}
	}
}

// TestFilterAtOnceMatchesOneByOne: deciding most rows at once (decide) keeps exactly the
// rows that deciding each one (passes) keeps, for substrings, negations and regexps, with
// more text for some rows.
func TestFilterAtOnceMatchesOneByOne(t *testing.T) {
	rows := millionRows(4000)
	rows[7].Key = "Requests/UPPER-" + rows[7].ID
	text := map[string]string{rows[1].ID: "failed\ntimeout", rows[2].ID: "processed", rows[3].ID: "failed\n4ab"}
	s := newRowSet(nil)
	s.text = func(r *row) string { return text[r.ID] }
	s.texted = func(fn func(string)) {
		for id := range text {
			fn(id)
		}
	}
	s.Add(rows)
	for _, q := range []string{"4", "4a", "4ab", "!4ab", "timeout", "!timeout", "/^fail/", "upper", "/4a.*b$/"} {
		if err := s.SetQuery(q); err != nil {
			t.Fatal(err)
		}
		var want []int32
		for _, i := range s.order {
			if s.passes(i) {
				want = append(want, i)
			}
		}
		if !slices.Equal(s.view, want) {
			t.Fatalf("%s: %d rows, one by one %d", q, len(s.view), len(want))
		}
	}
}

// FuzzRowStore: any key and id (from the bucket and the status table) round-trip through
// the store, and the filter's text is lowerHay's.
func FuzzRowStore(f *testing.F) {
	f.Add("requests/0b6f.json", "0b6f")
	f.Add("A\nB", "b")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, key, id string) {
		if !utf8.ValidString(key) || !utf8.ValidString(id) || len(key) > 1<<14 || len(id) > 1<<14 {
			t.Skip()
		}
		var s rowStore
		s.push(&row{Key: "before", ID: "before"})
		i := s.push(&row{Key: key, ID: id, Size: 3})
		if s.keyOf(i) != key || s.idOf(i) != id || s.hayOf(i) != lowerHay(key, id) {
			t.Fatalf("%q %q came back %q %q hay %q", key, id, s.keyOf(i), s.idOf(i), s.hayOf(i))
		}
		if j, ok := s.lookup(id); id != "before" && (!ok || j != i) {
			t.Fatalf("lookup(%q) = %d, %v", id, j, ok)
		}
		if strings.Contains(s.hayOf(0), "\x00") {
			t.Fatal("the record before was overwritten")
		}
	})
}

// TestRepositionMatchesAResort: moving the rows whose rank changed gives the order (and
// the filtered view) a sort of every row gives.
func TestRepositionMatchesAResort(t *testing.T) {
	rows := millionRows(3000)
	rank := map[string]int{}
	for _, q := range []string{"", "4a"} {
		s := newRowSet(func(id string) int { return rank[id] })
		s.Add(rows)
		s.SetSort(sortStatus, false)
		if err := s.SetQuery(q); err != nil {
			t.Fatal(err)
		}
		for round := range 30 {
			var ids []string
			for k := range 40 {
				ids = append(ids, rows[(round*97+k*31)%len(rows)].ID)
			}
			s.Reposition(ids, func() {
				for k, id := range ids {
					rank[id] = (round + k) % 5
				}
			})
			order, view := slices.Clone(s.order), slices.Clone(s.view)
			s.Resort()
			if !slices.Equal(order, s.order) || !slices.Equal(view, s.view) {
				t.Fatalf("query %q, round %d: repositioned order differs from a resort", q, round)
			}
		}
	}
}

// A row known only from the status table, whose HEAD then gives it a size and an age,
// stays once in a filtered view (a time window): SetSizeAge changed what the sort and
// the window read without moving the row, and the Recheck after it inserted the row a
// second time (the view read [a c b c]).
func TestSetSizeAgeKeepsTheViewSorted(t *testing.T) {
	s := newRowSet(nil)
	s.Add([]row{{Key: "a", ID: "a", Size: 1, Modified: 300}, {Key: "b", ID: "b", Size: 1, Modified: 200}, {Key: "c", ID: "c", Size: -1}})
	s.SetWindow(winBounds{since: 100})
	if s.ViewLen() != 3 {
		t.Fatalf("view %d", s.ViewLen())
	}
	s.SetSizeAge("c", 10, 250)
	s.Recheck([]string{"c"})
	var ids []string
	for i := range s.ViewLen() {
		ids = append(ids, s.IDAt(i))
	}
	if !slices.Equal(ids, []string{"a", "c", "b"}) {
		t.Errorf("view after HEAD filled in c's age: %v, want [a c b]", ids)
	}
}
