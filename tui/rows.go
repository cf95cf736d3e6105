package tui

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// row is one request in a listing, kept small because a listing may hold millions.
type row struct {
	Key      string
	ID       string
	ETag     string
	hay      string // lower-case key and id, one per line: the part of the / filter's text that never changes
	Size     int64  // -1 when unknown (a row known only from the status table)
	Modified int64  // unix nanoseconds; 0 when unknown
	// Received is the original arrival (unix nanoseconds) when the redrive history says a
	// redrive in place stored the object again since; 0: Modified is the arrival.
	Received int64
}

// arrived is what the received sort orders by: the original arrival when known.
func (r *row) arrived() int64 {
	if r.Received != 0 {
		return r.Received
	}
	return r.Modified
}

func rowFromObject(o awsclient.Object) row {
	r := row{Key: o.Key, ID: o.RequestID, ETag: o.ETag, Size: o.Size}
	if !o.LastModified.IsZero() {
		r.Modified = o.LastModified.UnixNano()
	}
	if r.ID == "" {
		r.ID = o.Key
	}
	r.hay = lowerHay(r.Key, r.ID)
	return r
}

// lowerHay is the fixed part of what the filter searches: the lower-case key, plus the id
// on a line of its own when the key does not contain it.
func lowerHay(key, id string) string {
	hay := strings.ToLower(key)
	if lid := strings.ToLower(id); !strings.Contains(hay, lid) {
		hay += "\n" + lid
	}
	return hay
}

func (r row) modified() time.Time {
	if r.Modified == 0 {
		return time.Time{}
	}
	return time.Unix(0, r.Modified).UTC()
}

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

// rowSet is an ordered, filterable set of rows. Rows are only ever appended; order and
// view are index slices into rows, merged in place as pages arrive. It belongs to the
// model: only Update touches it.
type rowSet struct {
	rows  []row
	byID  map[string]int32
	order []int32 // all rows, sorted
	view  []int32 // order filtered by query; the same slice as order when no query

	field sortField
	asc   bool   // false: newest / largest / worst first
	query string // the / filter as typed
	flt   filterExpr

	// text is a row's lower-case text for the / filter beyond its key and id (status,
	// error, type, ...: what the model knows of it, one column per line); nil: key and id.
	text func(r *row) string
	// rankOf ranks a row's status for sorting by status (higher is worse); nil sorts by key.
	rankOf func(id string) int

	// win is the time window (window.go): a row shows when its time is in [since, until);
	// 0 leaves that end open. timeOf is a row's time for it (nil: its arrival); a row
	// whose time is not known (0) shows, since nothing says it is outside.
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

// inWindow reports whether row i is in the time window.
func (s *rowSet) inWindow(r *row) bool {
	if s.win.open() {
		return true
	}
	t := r.arrived()
	if s.timeOf != nil {
		t = s.timeOf(r)
	}
	return s.win.holds(t)
}

func newRowSet(rankOf func(string) int) *rowSet {
	return &rowSet{byID: map[string]int32{}, rankOf: rankOf}
}

func (s *rowSet) Len() int      { return len(s.rows) }
func (s *rowSet) ViewLen() int  { return len(s.view) }
func (s *rowSet) Query() string { return s.query }

// At returns the i-th row of the filtered, sorted view.
func (s *rowSet) At(i int) *row { return &s.rows[s.view[i]] }

// IndexOfID returns the view position of a request id, or -1.
func (s *rowSet) IndexOfID(id string) int {
	ri, ok := s.byID[id]
	if !ok {
		return -1
	}
	for i, v := range s.view {
		if v == ri {
			return i
		}
	}
	return -1
}

// Has reports whether the set holds the request id.
func (s *rowSet) Has(id string) bool { _, ok := s.byID[id]; return ok }

// Get returns the row of a request id.
func (s *rowSet) Get(id string) (*row, bool) {
	i, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	return &s.rows[i], true
}

// Add appends rows (skipping ids already present) and merges them into the order and
// the filtered view in O(n + k log k).
func (s *rowSet) Add(rs []row) {
	if len(rs) == 0 {
		return
	}
	fresh := make([]int32, 0, len(rs))
	for _, r := range rs {
		if _, dup := s.byID[r.ID]; dup {
			continue
		}
		i := int32(len(s.rows))
		s.rows = append(s.rows, r)
		s.byID[r.ID] = i
		fresh = append(fresh, i)
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
		ri, ok := s.byID[id]
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
	out := make([]int32, 0, len(idx)/8+1)
	for _, i := range idx {
		if s.passes(i) {
			out = append(out, i)
		}
	}
	return out
}

// passes reports whether row i passes the filter.
func (s *rowSet) passes(i int32) bool {
	r := &s.rows[i]
	if !s.inWindow(r) {
		return false
	}
	if s.flt.all() {
		return true
	}
	text := r.hay
	if s.text != nil {
		if t := s.text(r); t != "" {
			text += "\n" + t
		}
	}
	return s.flt.matches(text)
}

// cmp orders two rows by the current sort, ties broken by key so the order is total.
func (s *rowSet) cmp(a, b int32) int {
	ra, rb := &s.rows[a], &s.rows[b]
	if s.pinned != nil {
		if pa, pb := s.pinned(ra.ID), s.pinned(rb.ID); pa != pb {
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
		c = cmpInt(ra.Size, rb.Size)
	case sortStatus:
		if s.rankOf != nil {
			c = cmpInt(int64(s.rankOf(ra.ID)), int64(s.rankOf(rb.ID)))
		}
	}
	if !s.asc {
		c = -c
	}
	if c == 0 {
		c = strings.Compare(ra.Key, rb.Key)
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
