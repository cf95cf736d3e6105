package devstack

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// The seeded week's log lines (#16), derived on demand from the seeded records instead of
// stored: a million seeded requests would write six million lines. Every seeded request
// has, as the live path writes them:
//
//   - in AccessLogGroup, the gateway's access-log line at its arrival (accessLogLine):
//     PUT, 200, its key; the request ID is the key on PUT /product (API Gateway's request
//     ID is the key there) and a UUID drawn from the seed and the key on the in-place
//     route;
//   - in ProcessorLogGroup, the lines of its first delivery (appendDeliveryLines: START,
//     processing, its error, its crash or the processed line, END, REPORT) at its arrival
//     plus the processor's latency, and those of its redelivery when the seed redrove it.
//
// Each delivery is decided again (processor.decideIn) from the seed, the key, the seeded
// outage and the payload check, which the seed kept for the requests whose bytes the
// processor rejects: the same lines every time, whatever has happened since (a live
// outage, a redrive). A line's sequence number is its request's index times eight plus
// its place (redeliveries after every first delivery), below every stored line's, so
// that pages and event IDs are stable.
//
// A filter whose terms include a seeded request's ID (its key) reads that request's
// lines only: no seeded line mentions another request's ID (the keys are UUIDs or
// distinct names, none inside another). Any other pattern reads the lines of the window
// in time order, in proportion to the window.

// seededLogs derives the seeded requests' lines for the CloudWatch Logs emulator.
type seededLogs struct {
	list   *seededList
	p      *processor
	bucket string

	once  sync.Once
	byKey []int32 // record indexes by key
	// byFirst and byRedo are the record indexes in the order their first delivery and
	// their redelivery were handled (time, then index).
	byFirst, byRedo []int32

	mu      sync.Mutex
	streams map[[2]int64]string // (group 0/1, day) -> stream name
}

func newSeededLogs(list *seededList, p *processor, bucket string) *seededLogs {
	return &seededLogs{list: list, p: p, bucket: bucket, streams: map[[2]int64]string{}}
}

// index sorts the records once, on the first read (or in the background after Start).
func (s *seededLogs) index() {
	s.once.Do(func() {
		recs := s.list.recs
		n := len(recs)
		s.byKey = make([]int32, n)
		s.byFirst = make([]int32, n)
		first := make([]int64, n)
		for i := range recs {
			s.byKey[i], s.byFirst[i] = int32(i), int32(i)
			first[i] = s.handledAt(recs[i].created, recs[i].key).UnixMilli()
			if recs[i].redriven != 0 {
				s.byRedo = append(s.byRedo, int32(i))
			}
		}
		sort.Slice(s.byKey, func(a, b int) bool { return recs[s.byKey[a]].key < recs[s.byKey[b]].key })
		sort.Slice(s.byFirst, func(a, b int) bool {
			x, y := s.byFirst[a], s.byFirst[b]
			return first[x] < first[y] || first[x] == first[y] && x < y
		})
		redo := func(i int32) int64 { return s.handledAt(recs[i].redriven, recs[i].key).UnixMilli() }
		sort.Slice(s.byRedo, func(a, b int) bool {
			x, y := s.byRedo[a], s.byRedo[b]
			return redo(x) < redo(y) || redo(x) == redo(y) && x < y
		})
	})
}

// handledAt is when the processor handled a delivery stored at unixNano.
func (s *seededLogs) handledAt(unixNano int64, key string) time.Time {
	return time.Unix(0, unixNano).Add(seedLatency(s.p.seed, key))
}

// find is the index of the record whose key is key.
func (s *seededLogs) find(key string) (int32, bool) {
	recs := s.list.recs
	i := sort.Search(len(s.byKey), func(i int) bool { return recs[s.byKey[i]].key >= key })
	if i < len(s.byKey) && recs[s.byKey[i]].key == key {
		return s.byKey[i], true
	}
	return 0, false
}

// Sequence numbers: request i's access line is i*8, its first delivery's lines i*8+1 to
// +5, its redelivery's (n+i)*8+1 to +5. Stored lines start at storedSeq.
const storedSeq = 1 << 40

// each calls yield with the lines of group in [start, end] (ms, inclusive) after pos,
// in (time, sequence) order, until yield returns false. need are strings every wanted
// line contains, anyOf strings one of which it contains (nil: none known): when one of
// need, or every one of anyOf, is a seeded request's ID, only those requests are read.
func (s *seededLogs) each(group string, start, end int64, pos cwPos, need, anyOf []string, yield func(cwEvent) bool) {
	if group != ProcessorLogGroup && group != AccessLogGroup || len(s.list.recs) == 0 {
		return
	}
	s.index()
	if pos.at > start {
		start = pos.at
	}
	if ids, ok := s.restrict(need, anyOf); ok {
		var evs []cwEvent
		for _, i := range ids {
			evs = s.lines(evs, group, i, false)
			if s.list.recs[i].redriven != 0 {
				evs = s.lines(evs, group, i, true)
			}
		}
		slices.SortFunc(evs, cwCompare)
		for _, e := range evs {
			if e.at >= start && e.at <= end && pos.before(e) && !yield(e) {
				return
			}
		}
		return
	}
	recs := s.list.recs
	if group == AccessLogGroup {
		i := sort.Search(len(recs), func(i int) bool { return recs[i].created/1e6 >= start })
		for ; i < len(recs) && recs[i].created/1e6 <= end; i++ {
			for _, e := range s.lines(nil, group, int32(i), false) {
				if pos.before(e) && !yield(e) {
					return
				}
			}
		}
		return
	}
	// The first deliveries and the redeliveries, merged in time order.
	at := func(i int32, redo bool) int64 {
		t := recs[i].created
		if redo {
			t = recs[i].redriven
		}
		return s.handledAt(t, recs[i].key).UnixMilli()
	}
	f := sort.Search(len(s.byFirst), func(k int) bool { return at(s.byFirst[k], false) >= start })
	r := sort.Search(len(s.byRedo), func(k int) bool { return at(s.byRedo[k], true) >= start })
	var buf []cwEvent
	for {
		redo := false
		switch {
		case f < len(s.byFirst) && r < len(s.byRedo):
			redo = at(s.byRedo[r], true) < at(s.byFirst[f], false) // equal: first deliveries' sequences are lower
		case r < len(s.byRedo):
			redo = true
		case f >= len(s.byFirst):
			return
		}
		var i int32
		if redo {
			i, r = s.byRedo[r], r+1
		} else {
			i, f = s.byFirst[f], f+1
		}
		if at(i, redo) > end {
			return
		}
		buf = s.lines(buf[:0], group, i, redo)
		for _, e := range buf {
			if pos.before(e) && !yield(e) {
				return
			}
		}
	}
}

// restrict is the requests a filter can only match, when need or anyOf names them.
func (s *seededLogs) restrict(need, anyOf []string) ([]int32, bool) {
	for _, t := range need {
		if i, ok := s.find(t); ok {
			return []int32{i}, true
		}
	}
	if len(anyOf) == 0 {
		return nil, false
	}
	var ids []int32
	for _, t := range anyOf {
		i, ok := s.find(t)
		if !ok {
			return nil, false
		}
		if !slices.Contains(ids, i) {
			ids = append(ids, i)
		}
	}
	return ids, true
}

// lines appends request i's lines in group: its arrival's (access log) or one delivery's.
func (s *seededLogs) lines(out []cwEvent, group string, i int32, redo bool) []cwEvent {
	rec := &s.list.recs[i]
	if group == AccessLogGroup {
		if redo { // a copy in place does not pass the gateway
			return out
		}
		at := time.Unix(0, rec.created).UTC()
		path, id := GatewayStage+"/product", rec.key
		if s.list.strs[rec.route] == "inplace" {
			// Only the route shows in the line (resourcePath), not the escaped key.
			path, id = GatewayStage+"/product/{bucket}/{key}", lambdaRequestID(s.p.seed, rec.key+"\x00apigw", 0)
		}
		line := accessLogLine(id, "127.0.0.1", at, "PUT", path, 200, rec.key)
		return append(out, cwEvent{at: at.UnixMilli(), seq: uint64(i) * 8, stream: s.stream(0, group, at), msg: line})
	}
	stored, delivery, seq := rec.created, 1, uint64(i)*8
	if redo {
		stored, delivery, seq = rec.redriven, 2, uint64(len(s.list.recs)+int(i))*8
	}
	handled := s.handledAt(stored, rec.key)
	check := s.list.rejected[i]
	o := s.p.decideIn(rec.key, delivery, FailNatural, func() checked { return check }, redo, s.p.inSeededOutage(handled))
	at := handled.Truncate(time.Millisecond)
	var ends [deliveryLines]int
	all := string(appendDeliveryLines(nil, &ends, s.p.seed, s.bucket, rec.key, at, delivery, redo, int(rec.size), o))
	stream := s.stream(1, group, at)
	from := 0
	for k, end := range ends {
		out = append(out, cwEvent{at: at.UnixMilli(), seq: seq + 1 + uint64(k), stream: stream, msg: all[from:end]})
		from = end
	}
	return out
}

// stream is the stream name of group's lines on at's day, worked out once a day.
func (s *seededLogs) stream(g int64, group string, at time.Time) string {
	k := [2]int64{g, at.UnixMilli() / 86400000}
	s.mu.Lock()
	defer s.mu.Unlock()
	name, ok := s.streams[k]
	if !ok {
		name = streamName(group, at)
		s.streams[k] = name
	}
	return name
}
