package tui

import (
	"github.com/stowage-cli/stowage/awsclient"
)

// stateLost is the pseudo-state of an object older than lost_after with no status item.
const stateLost = "LOST"

// statusEntry is what the status cache knows about one request.
type statusEntry struct {
	st    awsclient.Status
	found bool // false: the table has no item for the request
}

// statusCache joins status items to request ids. It also counts, for the header, the
// states of the listed rows: only rows of the listing count, so that a request opened
// with : (or read for a status view) and not listed adds nothing the table does not show.
type statusCache struct {
	entries map[string]statusEntry
	pending map[string]bool

	listed *rowSet        // the listing whose rows are counted
	counts map[string]int // state → listed rows with a status item in it
	// Listed rows with no status item: those older than the LOST cutoff are LOST (lost),
	// the others (young, by modification time) have no status yet.
	lost   int
	young  map[string]int64
	cutoff int64 // unix ns: a row modified at or before it is old enough to be LOST
	// win is the time window: only listed rows that arrived in it count (setWindow).
	win winBounds
}

func newStatusCache(listed *rowSet) *statusCache {
	return &statusCache{entries: map[string]statusEntry{}, pending: map[string]bool{}, listed: listed,
		counts: map[string]int{}, young: map[string]int64{}}
}

func (c *statusCache) get(id string) (statusEntry, bool) {
	e, ok := c.entries[id]
	return e, ok
}

// put records what the table said about id.
func (c *statusCache) put(id string, e statusEntry) {
	old, had := c.entries[id]
	c.entries[id] = e
	delete(c.pending, id)
	if r, ok := c.listed.Get(id); ok && c.win.holds(r.arrived()) {
		if had {
			c.count(id, r.Modified, old, -1)
		}
		c.count(id, r.Modified, e, +1)
	}
}

// listedAdded counts the rows added to the listing from record from on whose status is
// already known.
func (c *statusCache) listedAdded(from int) {
	if len(c.entries) == 0 {
		return
	}
	l := c.listed
	for i := int32(from); int(i) < len(l.rows); i++ {
		r := &l.rows[i]
		if !c.win.holds(r.arrived()) {
			continue
		}
		if id := l.idOf(i); len(c.entries) > 0 {
			if e, ok := c.entries[id]; ok {
				c.count(id, r.modified, e, +1)
			}
		}
	}
}

func (c *statusCache) count(id string, modified int64, e statusEntry, delta int) {
	switch {
	case e.found:
		c.counts[e.st.State] += delta
		if c.counts[e.st.State] <= 0 {
			delete(c.counts, e.st.State)
		}
	case delta < 0:
		if _, ok := c.young[id]; ok {
			delete(c.young, id)
		} else {
			c.lost--
		}
	case c.oldEnough(modified):
		c.lost++
	default:
		c.young[id] = modified
	}
}

func (c *statusCache) oldEnough(modified int64) bool {
	return modified != 0 && c.cutoff != 0 && modified <= c.cutoff
}

// setCutoff moves the LOST cutoff (now - lost_after) and counts the rows that became old
// enough as LOST. Only rows with no status yet are looked at: normally a handful.
func (c *statusCache) setCutoff(cutoff int64) {
	if cutoff == c.cutoff {
		return
	}
	c.cutoff = cutoff
	for id, mod := range c.young {
		if c.oldEnough(mod) {
			delete(c.young, id)
			c.lost++
		}
	}
}

// listedKnown is how many listed rows have a known status (an item, or none).
func (c *statusCache) listedKnown() int {
	n := c.lost + len(c.young)
	for _, k := range c.counts {
		n += k
	}
	return n
}

// setWindow counts again, over the listed rows that arrived in w only: one pass over the
// listing, on a window change.
func (c *statusCache) setWindow(w winBounds) {
	if w == c.win {
		return
	}
	c.win = w
	c.counts, c.young, c.lost = map[string]int{}, map[string]int64{}, 0
	c.listedAdded(0)
}
