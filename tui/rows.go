package tui

import (
	"slices"
	"sort"
	"strings"

	"github.com/stowage-cli/stowage/awsclient"
)

// sortField is what the table is ordered by.
type sortField int

const (
	sortReceived sortField = iota
	sortSize
	sortStatus
	sortFieldCount
)

func (f sortField) String() string {
	switch f {
	case sortSize:
		return "size"
	case sortStatus:
		return "status"
	}
	return "received"
}

// rowSet is an ordered, filterable set of rows, kept compact because a listing may hold
// millions (rowstore.go holds the records, their text and the index by id). Rows are only
// ever appended; order and view are index slices into the records, merged in place as
// pages arrive. It belongs to the model: only Update touches it.
type rowSet struct {
	rowStore
	order []int32 // all rows, sorted
	view  []int32 // order filtered by query; the same slice as order when no query

	field sortField
	asc   bool   // false: newest / largest / worst first
	query string // the / filter as typed
	flt   filterExpr

	// text is a row's lower-case text for the / filter beyond its key and id (status,
	// error, type, ...: what the model knows of it, one column per line); nil: key and id.
	text func(r *row) string
	// texted calls fn with the id of every row text may say something of (those with a
	// status, a type or a redrive read), so that a filter over every row needs text for
	// those only; nil: text is asked of every row.
	texted func(fn func(id string))
	// rankOf ranks a row's status for sorting by status (higher is worse); nil sorts by key.
	rankOf func(id string) int

	// win is the time window (window.go): a row shows when its time is in [since, until);
	// 0 leaves that end open. timeOf is the time of a row whose arrival is unknown (nil:
	// unknown); a row whose time is not known (0) shows, since nothing says it is outside.
	win    winBounds
	timeOf func(r *row) int64
	// pinned rows sort before every other, whatever the sort (the new failures the
	// auto-refresh brought); nil pins none. A change to what it says needs a Resort.
	pinned func(id string) bool
}

// winBounds is a time window in unix nanoseconds; 0 leaves an end open.
type winBounds struct{ since, until int64 }

func (w winBounds) open() bool { return w.since == 0 && w.until == 0 }

// holds reports whether t (unix ns, 0 unknown) is in the window.
func (w winBounds) holds(t int64) bool {
	return t == 0 || (w.since == 0 || t >= w.since) && (w.until == 0 || t < w.until)
}

// unfiltered reports whether the view is every row: no / filter and no time window.
func (s *rowSet) unfiltered() bool { return s.flt.all() && s.win.open() }

// SetWindow shows only the rows whose time is in w.
func (s *rowSet) SetWindow(w winBounds) {
	if w == s.win {
		return
	}
	s.win = w
	s.Refilter()
}

// inWindow reports whether record i is in the time window.
func (s *rowSet) inWindow(i int32) bool {
	if s.win.open() {
		return true
	}
	t := s.rows[i].arrived()
	if t == 0 && s.timeOf != nil {
		t = s.timeOf(s.rowAt(i))
	}
	return s.win.holds(t)
}

func newRowSet(rankOf func(string) int) *rowSet {
	return &rowSet{rankOf: rankOf}
}

func (s *rowSet) Len() int      { return len(s.rows) }
func (s *rowSet) ViewLen() int  { return len(s.view) }
func (s *rowSet) Query() string { return s.query }

// At returns the i-th row of the filtered, sorted view.
func (s *rowSet) At(i int) *row { return s.rowAt(s.view[i]) }

// IDAt returns the id of the i-th row of the view, without building the row.
func (s *rowSet) IDAt(i int) string { return s.idOf(s.view[i]) }

// IndexOfID returns the view position of a request id, or -1.
func (s *rowSet) IndexOfID(id string) int {
	ri, ok := s.lookup(id)
	if !ok {
		return -1
	}
	// The view is sorted by cmp, a total order: a binary search finds the row unless
	// what cmp reads (statuses, pins) changed since the last sort.
	if p, found := slices.BinarySearchFunc(s.view, ri, s.cmp); found && s.view[p] == ri {
		return p
	}
	return slices.Index(s.view, ri)
}

// Has reports whether the set holds the request id.
func (s *rowSet) Has(id string) bool { _, ok := s.lookup(id); return ok }

// Get returns the row of a request id: a copy; SetSizeAge changes the set's.
func (s *rowSet) Get(id string) (*row, bool) {
	i, ok := s.lookup(id)
	if !ok {
		return nil, false
	}
	return s.rowAt(i), true
}

// SetSizeAge fills in the size and age of a row known only from the status table, once
// HEAD gave them. They are what the size sort and the time window read: the row moves to its
// place (Reposition), so the order and the view stay sorted. Changed in place, a later
// Recheck's binary search missed the row and put it in the view a second time.
func (s *rowSet) SetSizeAge(id string, size, modified int64) {
	if i, ok := s.lookup(id); ok && s.sizeOf(i) < 0 {
		s.Reposition([]string{id}, func() {
			s.setSize(i, size)
			s.rows[i].modified = modified
		})
	}
}

// Add appends rows (skipping ids already present) and merges them into the order and
// the filtered view in O(n + k log k).
func (s *rowSet) Add(rs []row) {
	s.addEach(len(rs), func(i int) row { return rs[i] })
}

// AddObjects adds listed objects; received, when set, gives an object's original arrival
// (0: its LastModified is).
func (s *rowSet) AddObjects(objs []awsclient.Object, received func(r *row) int64) {
	s.addEach(len(objs), func(i int) row {
		r := rowFromObject(objs[i])
		if received != nil {
			r.Received = received(&r)
		}
		return r
	})
}

func (s *rowSet) addEach(n int, rowOf func(i int) row) {
	if n == 0 {
		return
	}
	fresh := make([]int32, 0, n)
	for i := range n {
		r := rowOf(i)
		if _, dup := s.lookup(r.ID); dup {
			continue
		}
		fresh = append(fresh, s.push(&r))
	}
	slices.SortFunc(fresh, s.cmp)
	s.order = mergeSorted(s.order, fresh, s.cmp)
	if s.unfiltered() {
		s.view = s.order
		return
	}
	s.view = mergeSorted(s.view, s.filterRows(fresh), s.cmp)
}

// SetSort reorders by field and direction.
func (s *rowSet) SetSort(f sortField, asc bool) {
	s.field, s.asc = f, asc
	s.Resort()
}

// Resort sorts everything again (after statuses changed under a status sort).
func (s *rowSet) Resort() {
	order := slices.Clone(s.order)
	slices.SortStableFunc(order, s.cmp)
	s.order = order
	s.Refilter()
}

// Reposition moves the rows of ids to their places when change alters what the sort reads
// of them (their status, under the status sort): out of the order before it, back in
// after, in a pass of moves rather than a sort of every row (a million rows took seconds
// of comparisons, each reading a status).
func (s *rowSet) Reposition(ids []string, change func()) {
	moved := make([]uint64, (len(s.rows)+63)/64)
	var idx []int32
	for _, id := range ids {
		if i, ok := s.lookup(id); ok && moved[i>>6]>>(i&63)&1 == 0 {
			moved[i>>6] |= 1 << (i & 63)
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		change()
		return
	}
	gone := func(i int32) bool { return moved[i>>6]>>(i&63)&1 != 0 }
	filtered := !s.unfiltered()
	s.order = slices.DeleteFunc(s.order, gone)
	if filtered {
		s.view = slices.DeleteFunc(s.view, gone)
	}
	change()
	slices.SortFunc(idx, s.cmp)
	s.order = mergeSorted(s.order, idx, s.cmp)
	if !filtered {
		s.view = s.order
		return
	}
	s.view = mergeSorted(s.view, s.filterRows(idx), s.cmp)
}

// SetQuery filters the view by a / expression (parseFilter) over every column of a row.
// A substring that extends the previous one only searches what the previous one matched.
// An expression that does not parse leaves the view as it was and is returned.
func (s *rowSet) SetQuery(q string) error {
	f, err := parseFilter(q)
	if err != nil {
		return err
	}
	narrowing := f.narrows(s.flt)
	s.query, s.flt = q, f
	switch {
	case s.unfiltered():
		s.view = s.order
	case narrowing && len(s.view) > 0 && &s.view[0] != &s.order[0]:
		s.view = s.filterInPlace(s.view) // the view is its own slice: no copy
	case narrowing:
		s.view = s.filterRows(s.view)
	default:
		s.view = s.filterRows(s.order)
	}
	return nil
}

// Refilter applies the filter again to every row: what a row shows (its status, error
// or type) changed.
func (s *rowSet) Refilter() {
	if s.unfiltered() {
		s.view = s.order
		return
	}
	s.view = s.filterRows(s.order)
}

// Recheck applies the filter again to the rows of ids only (their status or type just
// arrived): each joins or leaves the view at its place, without a pass over every row.
func (s *rowSet) Recheck(ids []string) {
	if s.unfiltered() {
		return
	}
	for _, id := range ids {
		ri, ok := s.lookup(id)
		if !ok {
			continue
		}
		p, found := slices.BinarySearchFunc(s.view, ri, s.cmp)
		found = found && s.view[p] == ri
		switch keep := s.passes(ri); {
		case keep && !found:
			s.view = slices.Insert(s.view, p, ri)
		case !keep && found:
			s.view = slices.Delete(s.view, p, p+1)
		}
	}
}

// filterRows returns the members of idx that pass the filter.
func (s *rowSet) filterRows(idx []int32) []int32 {
	if s.perRow(idx) {
		out := make([]int32, 0, len(idx)/8+1)
		for _, i := range idx {
			if s.passes(i) {
				out = append(out, i)
			}
		}
		return out
	}
	pass := s.decide(idx)
	n := 0
	for _, i := range idx {
		n += int(pass[i>>6] >> (i & 63) & 1)
	}
	return s.keep(make([]int32, 0, n), idx, pass)
}

// filterInPlace keeps the members of idx that pass the filter, in idx's own array.
func (s *rowSet) filterInPlace(idx []int32) []int32 {
	if s.perRow(idx) {
		return slices.DeleteFunc(idx, func(i int32) bool { return !s.passes(i) })
	}
	return s.keep(idx[:0], idx, s.decide(idx))
}

// perRow reports whether idx is few enough rows to decide one by one (passes) rather
// than all at once (decide).
func (s *rowSet) perRow(idx []int32) bool {
	return len(idx) < len(s.rows)/16 || s.text != nil && s.texted == nil
}

// keep appends to out the members of idx whose bit is set in pass, in idx's order.
func (s *rowSet) keep(out, idx []int32, pass []uint64) []int32 {
	for _, i := range idx {
		if pass[i>>6]>>(i&63)&1 != 0 {
			out = append(out, i)
		}
	}
	return out
}

// decide decides the members of idx at once: bit i of the result is whether record i
// passes. The records are walked in the order they are stored, so that their text is
// read front to back; only the few rows with more text (texted) are asked for it.
func (s *rowSet) decide(idx []int32) []uint64 {
	words := (len(s.rows) + 63) / 64
	var member []uint64 // nil: idx is every row
	if len(idx) < len(s.rows) {
		member = make([]uint64, words)
		for _, i := range idx {
			member[i>>6] |= 1 << (i & 63)
		}
	}
	in := func(i int32) bool { return member == nil || member[i>>6]>>(i&63)&1 != 0 }
	pass := make([]uint64, words)
	for i := range s.rows {
		i := int32(i)
		if in(i) && s.inWindow(i) && s.flt.matches(s.hayOf(i)) {
			pass[i>>6] |= 1 << (i & 63)
		}
	}
	if s.text != nil {
		s.texted(func(id string) {
			if i, ok := s.lookup(id); ok && in(i) {
				if s.passes(i) {
					pass[i>>6] |= 1 << (i & 63)
				} else {
					pass[i>>6] &^= 1 << (i & 63)
				}
			}
		})
	}
	return pass
}

// passes reports whether record i passes the filter.
func (s *rowSet) passes(i int32) bool {
	if !s.inWindow(i) {
		return false
	}
	if s.flt.all() {
		return true
	}
	text := s.hayOf(i)
	if s.text != nil {
		if t := s.text(s.rowAt(i)); t != "" {
			text += "\n" + t
		}
	}
	return s.flt.matches(text)
}

// cmp orders two rows by the current sort, ties broken by key so the order is total.
func (s *rowSet) cmp(a, b int32) int {
	ra, rb := &s.rows[a], &s.rows[b]
	if s.pinned != nil {
		if pa, pb := s.pinned(s.idOf(a)), s.pinned(s.idOf(b)); pa != pb {
			if pa {
				return -1
			}
			return 1
		}
	}
	c := 0
	switch s.field {
	case sortReceived:
		c = cmpInt(ra.arrived(), rb.arrived())
	case sortSize:
		c = cmpInt(s.sizeOf(a), s.sizeOf(b))
	case sortStatus:
		if s.rankOf != nil {
			c = cmpInt(int64(s.rankOf(s.idOf(a))), int64(s.rankOf(s.idOf(b))))
		}
	}
	if !s.asc {
		c = -c
	}
	if c == 0 {
		c = strings.Compare(s.keyOf(a), s.keyOf(b))
	}
	return c
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mergeSorted merges the sorted b into the sorted a, in place from the back: each b
// element finds its place by binary search and the a elements after it move with one
// copy. A page of k rows costs O(k log n) comparisons plus one pass of memmove, instead
// of n comparisons that each touch a random row (a cache miss apiece at a million rows).
func mergeSorted(a, b []int32, cmp func(x, y int32) int) []int32 {
	if len(b) == 0 {
		return a
	}
	hi := len(a) // a[:hi] are the not yet moved elements of a
	a = slices.Grow(a, len(b))[:len(a)+len(b)]
	w := len(a) // a[w:] is final
	for j := len(b) - 1; j >= 0; j-- {
		x := b[j]
		p := sort.Search(hi, func(i int) bool { return cmp(x, a[i]) < 0 })
		n := hi - p
		copy(a[w-n:w], a[p:hi])
		w -= n
		hi = p
		w--
		a[w] = x
	}
	return a
}
