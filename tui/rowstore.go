package tui

import (
	"hash/maphash"
	"math"
	"strings"
	"time"
	"unsafe"

	"github.com/stowage-cli/stowage/awsclient"
)

// row is one request as the table and the detail use it: Key and ID are views into the
// set's text (no copy), built on demand from the compact record (rec) for the few rows
// on screen. A row value also carries new rows into a set (Add).
type row struct {
	Key      string
	ID       string
	Size     int64 // -1 when unknown (a row known only from the status table)
	Modified int64 // unix nanoseconds; 0 when unknown
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

func (r row) modified() time.Time { return unixTime(r.Modified) }

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func rowFromObject(o awsclient.Object) row {
	r := row{Key: o.Key, ID: o.RequestID, Size: o.Size}
	if !o.LastModified.IsZero() {
		r.Modified = o.LastModified.UnixNano()
	}
	if r.ID == "" {
		r.ID = o.Key
	}
	return r
}

// rec is a row as a set keeps it: 32 bytes and no pointers, so that a million rows cost
// the garbage collector nothing to scan. Its strings live in the set's text arena, one
// record after the other: the key, the id when the key does not hold it, the lower-case
// text the filter searches when it differs from those (hayStored), and a newline.
type rec struct {
	text     uint32 // offset of the record's text in the arena
	size     uint32 // bigSize: in rowStore.big (unknown, or 4 GiB and more)
	keyLen   uint16
	idOff    uint16 // from text; hayStored is a flag
	idLen    uint16
	hayLen   uint16
	modified int64
	received int64
}

const (
	bigSize   = math.MaxUint32
	hayStored = 1 << 15 // in idOff: the hay follows the key (and the id), after a newline
)

// idFrom is the id's offset from the record's text.
func (r *rec) idFrom() int { return int(r.idOff &^ hayStored) }

// hayFrom is the hay's offset from the record's text.
func (r *rec) hayFrom() int {
	switch {
	case r.idOff&hayStored == 0:
		return 0
	case r.idFrom() > int(r.keyLen): // the id follows the key
		return r.idFrom() + int(r.idLen) + 1
	}
	return int(r.keyLen) + 1
}

// arrived is what the received sort orders by: the original arrival when known.
func (r *rec) arrived() int64 {
	if r.received != 0 {
		return r.received
	}
	return r.modified
}

// arenaChunkBits sizes the text arena's chunks (1 MiB): growing the arena never copies
// what it holds, and a record never spans two chunks.
const (
	arenaChunkBits = 20
	arenaChunk     = 1 << arenaChunkBits
)

// rowStore holds a set's records, their text and the index from id to record.
type rowStore struct {
	rows   []rec
	big    map[int32]int64 // the sizes a rec does not hold (bigSize)
	chunks [][]byte        // the text arena
	index  []int32         // open addressing by id hash: record index + 1; 0 empty
	seed   maphash.Seed
}

// textOf returns n bytes of the arena at off as a string, without a copy: the arena is
// append-only, so the bytes never change.
func (s *rowStore) textOf(off uint32, n int) string {
	if n == 0 {
		return ""
	}
	c := s.chunks[off>>arenaChunkBits]
	return unsafe.String(&c[off&(arenaChunk-1)], n)
}

func (s *rowStore) keyOf(i int32) string {
	r := &s.rows[i]
	return s.textOf(r.text, int(r.keyLen))
}

func (s *rowStore) idOf(i int32) string {
	r := &s.rows[i]
	return s.textOf(r.text+uint32(r.idFrom()), int(r.idLen))
}

// hayOf is the fixed part of what the filter searches: the lower-case key, plus the id
// on a line of its own when the key does not contain it.
func (s *rowStore) hayOf(i int32) string {
	r := &s.rows[i]
	return s.textOf(r.text+uint32(r.hayFrom()), int(r.hayLen))
}

// rowAt builds the row of record i.
func (s *rowStore) rowAt(i int32) *row {
	r := &s.rows[i]
	return &row{Key: s.keyOf(i), ID: s.idOf(i), Size: s.sizeOf(i), Modified: r.modified, Received: r.received}
}

// sizeOf is record i's size, -1 when unknown.
func (s *rowStore) sizeOf(i int32) int64 {
	if n := s.rows[i].size; n != bigSize {
		return int64(n)
	}
	return s.big[i]
}

// setSize sets record i's size (-1: unknown).
func (s *rowStore) setSize(i int32, n int64) {
	if n >= 0 && n < bigSize {
		s.rows[i].size = uint32(n)
		delete(s.big, i)
		return
	}
	if s.big == nil {
		s.big = map[int32]int64{}
	}
	s.rows[i].size, s.big[i] = bigSize, n
}

// reserve returns n bytes of arena to write a record into, and their offset.
func (s *rowStore) reserve(n int) ([]byte, uint32) {
	last := len(s.chunks) - 1
	if last < 0 || len(s.chunks[last])+n > cap(s.chunks[last]) {
		s.chunks = append(s.chunks, make([]byte, 0, max(arenaChunk, n)))
		last++
	}
	c := s.chunks[last]
	off := uint32(last)<<arenaChunkBits | uint32(len(c))
	s.chunks[last] = c[:len(c)+n]
	return s.chunks[last][len(c) : len(c)+n], off
}

// lowerHay is the filter's fixed text of a key and an id: the lower-case key, plus the id
// on a line of its own when the key does not contain it.
func lowerHay(key, id string) string {
	hay := strings.ToLower(key)
	if lid := strings.ToLower(id); !strings.Contains(hay, lid) {
		hay += "\n" + lid
	}
	return hay
}

// clip16 keeps a string within what a record's uint16 lengths hold (S3 keys are at most
// 1,024 bytes and DynamoDB keys 2,048: only a corrupt answer is longer).
func clip16(s string) string { return s[:min(len(s), 1<<14)] }

// push appends r as a record and indexes it; it does not check for a duplicate id.
func (s *rowStore) push(r *row) int32 {
	key, id := clip16(r.Key), clip16(r.ID)
	hay := lowerHay(key, id)
	idIn := strings.Index(key, id)
	n := len(key)
	if idIn < 0 {
		n += 1 + len(id)
	}
	// The hay is stored only when it differs from the key (and the id after it).
	hayLen, stored := -1, false
	switch {
	case hay == key:
		hayLen = len(key)
	case idIn < 0 && len(hay) == n && hay[:len(key)] == key && hay[len(key)+1:] == id:
		hayLen = n
	default:
		stored = true
		n += 1 + len(hay)
	}
	buf, off := s.reserve(n + 1)
	rc := rec{text: off, keyLen: uint16(len(key)), modified: r.Modified, received: r.Received}
	w := copy(buf, key)
	if idIn >= 0 {
		rc.idOff, rc.idLen = uint16(idIn), uint16(len(id))
	} else {
		buf[w] = '\n'
		rc.idOff, rc.idLen = uint16(w+1), uint16(len(id))
		w += 1 + copy(buf[w+1:], id)
	}
	if stored {
		buf[w] = '\n'
		rc.idOff |= hayStored
		rc.hayLen = uint16(len(hay))
		w += 1 + copy(buf[w+1:], hay)
	} else {
		rc.hayLen = uint16(hayLen)
	}
	buf[w] = '\n'
	i := int32(len(s.rows))
	s.rows = append(s.rows, rc)
	s.setSize(i, r.Size)
	s.indexAdd(i)
	return i
}

// lookup returns the record of id.
func (s *rowStore) lookup(id string) (int32, bool) {
	if len(s.index) == 0 {
		return 0, false
	}
	mask := uint64(len(s.index) - 1)
	for h := maphash.String(s.seed, id) & mask; ; h = (h + 1) & mask {
		v := s.index[h]
		if v == 0 {
			return 0, false
		}
		if s.idOf(v-1) == id {
			return v - 1, true
		}
	}
}

func (s *rowStore) indexAdd(i int32) {
	if 2*(len(s.rows)) > len(s.index) {
		s.regrow()
		return // regrow indexed every record, i too
	}
	s.place(i)
}

func (s *rowStore) place(i int32) {
	mask := uint64(len(s.index) - 1)
	h := maphash.String(s.seed, s.idOf(i)) & mask
	for s.index[h] != 0 {
		h = (h + 1) & mask
	}
	s.index[h] = i + 1
}

// regrow doubles the index (kept at most half full) and indexes every record again.
func (s *rowStore) regrow() {
	if len(s.index) == 0 {
		s.seed = maphash.MakeSeed()
	}
	s.index = make([]int32, max(1024, 2*len(s.index)))
	for 2*len(s.rows) > len(s.index) {
		s.index = make([]int32, 2*len(s.index))
	}
	for i := range s.rows {
		s.place(int32(i))
	}
}
