package devstack

import (
	"crypto/md5"
	"sort"
	"strings"
)

// entry is one stored item with what every read needs worked out once, when it is
// written: its hash prefix (scan order and segment), its size and its index position.
// Reads then never hash a key or measure an item they do not return.
type entry struct {
	enc  []byte // the item, encoded (dynamo_codec.go)
	key  string
	hp   uint32 // hashPrefix(key) as a 24-bit number
	size int
	// In the index when idx is set: ordered by (sortv, hp, key) within hashv.
	idx          bool
	hashv, sortv string
}

// prefix24 mirrors how dynalite spreads keys (the first 3 bytes of md5("Outliers" + s)),
// so that scan order and segments agree with the server the contract tests compare against.
func prefix24(s string) uint32 {
	h := md5.New()
	h.Write([]byte("Outliers"))
	h.Write([]byte(s))
	var sum [md5.Size]byte
	h.Sum(sum[:0])
	return uint32(sum[0])<<16 | uint32(sum[1])<<8 | uint32(sum[2])
}

// segmentOf is the 12-bit bucket (the first three hex digits of the hash prefix) that
// Scan segments split into contiguous ranges, as dynalite does.
func segmentOf(hp uint32) int { return int(hp >> 12) }

// tableLess is the table's scan order, the same as comparing tableOrder strings: the hash
// prefix, then the key's bytes.
func tableLess(a, b *entry) bool {
	if a.hp != b.hp {
		return a.hp < b.hp
	}
	return a.key < b.key
}

// indexLess orders one index partition (one hash value), the same as comparing the tail
// of indexOrder strings: the sort value, then the key's hash prefix and the key.
func indexLess(a, b *entry) bool {
	if a.sortv != b.sortv {
		return a.sortv < b.sortv
	}
	return tableLess(a, b)
}

// orderedList is a sorted sequence of entries in chunks, so that an insert or a delete
// moves at most one chunk and a seek is two binary searches: every operation costs
// O(log n + chunk), never a walk of the table.
type orderedList[T comparable] struct {
	less   func(a, b T) bool
	chunks [][]T
}

const chunkMax = 512

// search is the first position whose entry is not less than probe.
func (l *orderedList[T]) search(probe T) (int, int) {
	ci := sort.Search(len(l.chunks), func(i int) bool {
		c := l.chunks[i]
		return !l.less(c[len(c)-1], probe)
	})
	if ci == len(l.chunks) {
		return ci, 0
	}
	c := l.chunks[ci]
	return ci, sort.Search(len(c), func(i int) bool { return !l.less(c[i], probe) })
}

func (l *orderedList[T]) insert(e T) {
	if len(l.chunks) == 0 {
		l.chunks = [][]T{{e}}
		return
	}
	ci, i := l.search(e)
	if ci == len(l.chunks) { // after everything: append to the last chunk
		ci = len(l.chunks) - 1
		i = len(l.chunks[ci])
	}
	var zero T
	c := append(l.chunks[ci], zero)
	copy(c[i+1:], c[i:])
	c[i] = e
	if len(c) <= chunkMax {
		l.chunks[ci] = c
		return
	}
	half := len(c) / 2
	left := append([]T(nil), c[:half]...)
	right := append(make([]T, 0, chunkMax), c[half:]...)
	l.chunks = append(l.chunks, nil)
	copy(l.chunks[ci+2:], l.chunks[ci+1:])
	l.chunks[ci], l.chunks[ci+1] = left, right
}

// remove deletes e (found by its order, then by identity).
func (l *orderedList[T]) remove(e T) {
	ci, i := l.search(e)
	for ci < len(l.chunks) {
		c := l.chunks[ci]
		if i >= len(c) {
			ci, i = ci+1, 0
			continue
		}
		if c[i] == e {
			l.chunks[ci] = append(c[:i], c[i+1:]...)
			if len(l.chunks[ci]) == 0 {
				l.chunks = append(l.chunks[:ci], l.chunks[ci+1:]...)
			}
			return
		}
		if l.less(e, c[i]) {
			return
		}
		i++
	}
}

func (l *orderedList[T]) len() int {
	n := 0
	for _, c := range l.chunks {
		n += len(c)
	}
	return n
}

// cursor walks an orderedList from a position, forwards or backwards.
type cursor[T comparable] struct {
	l     *orderedList[T]
	ci, i int
	back  bool
}

// from returns a cursor at the first entry after probe (forward) or the last entry before
// it (backward); inclusive makes an entry equal to probe count. A nil probe starts at
// the first (or last) entry.
func (l *orderedList[T]) from(probe *T, back, inclusive bool) *cursor[T] {
	cur := &cursor[T]{l: l, back: back}
	if probe == nil {
		if back {
			cur.ci = len(l.chunks) - 1
			if cur.ci >= 0 {
				cur.i = len(l.chunks[cur.ci]) - 1
			}
		}
		return cur
	}
	ci, i := l.search(*probe)                  // first entry >= probe
	if back && ci == len(l.chunks) && ci > 0 { // all before probe: start past the last
		ci, i = ci-1, len(l.chunks[ci-1])
	}
	cur.ci, cur.i = ci, i
	equal := func() bool {
		if ci >= len(l.chunks) || i >= len(l.chunks[ci]) {
			return false
		}
		return !l.less(*probe, l.chunks[ci][i])
	}
	if back {
		if inclusive && equal() {
			return cur
		}
		cur.step(-1)
		return cur
	}
	if !inclusive && equal() {
		cur.step(1)
	}
	return cur
}

func (c *cursor[T]) step(d int) {
	c.i += d
	for c.ci >= 0 && c.ci < len(c.l.chunks) && (c.i < 0 || c.i >= len(c.l.chunks[c.ci])) {
		if c.i < 0 {
			c.ci--
			if c.ci >= 0 {
				c.i = len(c.l.chunks[c.ci]) - 1
			}
		} else {
			c.ci++
			c.i = 0
		}
	}
}

// next returns the entry under the cursor and moves on.
func (c *cursor[T]) next() (T, bool) {
	if c.ci < 0 || c.ci >= len(c.l.chunks) || c.i < 0 || c.i >= len(c.l.chunks[c.ci]) {
		var zero T
		return zero, false
	}
	e := c.l.chunks[c.ci][c.i]
	if c.back {
		c.step(-1)
	} else {
		c.step(1)
	}
	return e, true
}

// probe makes e a position to seek to.
func probe(e *entry) **entry { return &e }

// hashOrder orders index partitions by their hash value the way indexOrder does.
func hashOrder(a, b string) bool {
	pa, pb := prefix24(a), prefix24(b)
	if pa != pb {
		return pa < pb
	}
	return strings.Compare(a, b) < 0
}
