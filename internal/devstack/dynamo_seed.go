package devstack

import "sort"

// The seed writes a million status items in one go: seedPut stores an item without
// keeping the scan order or the index, and seedDone builds both once, sorted, from every
// item. Between the two the table must not be read (the seed runs before any server).

// seedItem is an item encoded for seedPut, with what the table keeps beside it.
type seedItem struct {
	enc          []byte
	size         int
	idx          bool
	hashv, sortv string
}

// seedEncode encodes it for seedPut. It may run on many goroutines at once (the seed
// encodes on every core); only the shared dictionary is taken in turn.
func (t *statusTable) seedEncode(it item) seedItem {
	out := seedItem{size: it.size()}
	if t.schema.IndexName != "" {
		h, ok1 := it[t.schema.IndexHash]
		s, ok2 := it[t.schema.IndexSort]
		if ok1 && ok2 && h.kind == "S" && s.kind == "S" {
			out.idx, out.hashv, out.sortv = true, h.str, s.str
		}
	}
	key := it[t.schema.KeyAttr].str
	t.mu.Lock()
	out.enc = t.dict.encode(it, key)
	t.mu.Unlock()
	return out
}

// seedPut stores it under key (replacing any item) without ordering it; hp is
// prefix24(key), worked out by the caller (in parallel).
func (t *statusTable) seedPut(key string, hp uint32, it seedItem) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.items[key] = &entry{enc: it.enc, key: key, size: it.size, hp: hp, idx: it.idx, hashv: it.hashv, sortv: it.sortv}
	t.changedKey(key)
	t.dirty.Store(true)
}

// seedDone rebuilds the scan order, the index partitions and the running totals from the
// items: one sort instead of an ordered insert per item.
func (t *statusTable) seedDone() {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := make([]*entry, 0, len(t.items))
	parts := map[string][]*entry{}
	canon := map[string]string{} // one copy of each status string
	t.size, t.indexCount, t.indexSize = 0, 0, 0
	for _, e := range t.items {
		all = append(all, e)
		t.size += e.size
		if e.idx {
			if c, ok := canon[e.hashv]; ok {
				e.hashv = c
			} else {
				canon[e.hashv] = e.hashv
			}
			parts[e.hashv] = append(parts[e.hashv], e)
			t.indexCount++
			t.indexSize += e.size
		}
	}
	sort.Slice(all, func(i, j int) bool { return tableLess(all[i], all[j]) })
	t.scan = orderedList[*entry]{less: tableLess, chunks: chunked(all)}
	t.index = make(map[string]*orderedList[*entry], len(parts))
	for h, es := range parts {
		sort.Slice(es, func(i, j int) bool { return indexLess(es[i], es[j]) })
		t.index[h] = &orderedList[*entry]{less: indexLess, chunks: chunked(es)}
	}
}

// chunked cuts a sorted slice into an orderedList's chunks, each half full so that the
// inserts that follow split few of them. The chunks share all's array (a chunk that
// grows past its share is copied by append): a million entries take 8 MB, not 16.
func chunked[T any](all []T) [][]T {
	const size = chunkMax / 2
	out := make([][]T, 0, (len(all)+size-1)/size)
	for len(all) > 0 {
		n := min(size, len(all))
		out = append(out, all[:n:n])
		all = all[n:]
	}
	return out
}
