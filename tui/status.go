package tui

import (
	"strings"

	"github.com/stowage-cli/stowage/awsclient"
)

// stateLost is the pseudo-state of an object older than lost_after with no status item.
const stateLost = "LOST"

// statusEntry is what the status cache knows about one request.
type statusEntry struct {
	st    awsclient.Status
	found bool // false: the table has no item for the request
}

// isFailure reports whether a state reads as a failure.
func isFailure(state string) bool {
	u := strings.ToUpper(state)
	return strings.Contains(u, "FAIL") || strings.Contains(u, "ERROR") || strings.Contains(u, "DEAD")
}

// Status ranks for sorting by status: higher is worse, so "worst first" is descending.
const (
	rankTerminal = iota
	rankUnknown  // not fetched yet
	rankAbsent   // no item, not old enough to be LOST
	rankPending
	rankLost
	rankFailed
)

// statusCache joins status items to request ids. It also counts states for the header.
type statusCache struct {
	entries map[string]statusEntry
	pending map[string]bool
	counts  map[string]int // state (or stateLost/"none") → requests
}

func newStatusCache() *statusCache {
	return &statusCache{entries: map[string]statusEntry{}, pending: map[string]bool{}, counts: map[string]int{}}
}

func (c *statusCache) get(id string) (statusEntry, bool) {
	e, ok := c.entries[id]
	return e, ok
}

// put records what the table said about id.
func (c *statusCache) put(id string, e statusEntry) {
	if old, ok := c.entries[id]; ok {
		c.counts[countKey(old)]--
		if c.counts[countKey(old)] == 0 {
			delete(c.counts, countKey(old))
		}
	}
	c.entries[id] = e
	c.counts[countKey(e)]++
	delete(c.pending, id)
}

func countKey(e statusEntry) string {
	if !e.found {
		return ""
	}
	return e.st.State
}
