package devstack

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// How the seed gets a week of requests into the stack fast enough for a million (#13):
// it decides each request exactly as the live path would (the gateway's integration
// stores the body at its arrival time, the processor handles the S3 event after a
// realistic latency: decide, statusItem) but writes the results straight into the stores
// in bulk instead of one request at a time through them:
//
//   - a generator makes the requests in creation order, a batch at a time;
//   - the batch's payload checks, MD5s, hash prefixes, decisions and status items are
//     worked out in parallel on every core;
//   - the batch is then stored in order: its bodies in one write to the spill file, its
//     objects and items without ordering them;
//   - the redeliveries follow, as an operator's copy in place would (the body is not
//     stored twice);
//   - the listing order, the table's scan order and its index are then sorted once.
//
// The processor writes no log lines for the seeded week: CloudWatch Logs derives them on
// demand from the seeded records (seeded_logs.go), the same lines the live path writes.

// seedBatch is how many seeded requests are in memory at once.
const seedBatch = 1024

// seedJob is one seeded request on its way into the stores.
type seedJob struct {
	seedRequest
	hash  [md5.Size]byte
	check checked
	o     outcome
	st    seedItem // the status item, encoded; enc is nil when the delivery was lost
	hp    uint32   // prefix24(Key)
	// redrive is when the seed redelivers the request (zero for never).
	redrive time.Time
}

// seedItems are the maps the seed builds its status items in: each is encoded at once
// and the map used again.
var seedItems = sync.Pool{New: func() any { return item{} }}

// seedLatency is how long after its arrival the processor handled a seeded request.
func seedLatency(seed int64, key string) time.Duration {
	return 150*time.Millisecond + time.Duration(chance(seed, key, "latency")*float64(3800*time.Millisecond))
}

// inSeededOutage says whether at is in the seeded outage hour (not a live outage).
func (p *processor) inSeededOutage(at time.Time) bool {
	return !p.outageFrom.IsZero() && !at.Before(p.outageFrom) && at.Before(p.outageTo)
}

// storedContentType is the Content-Type S3 keeps for a request sent with ct.
func storedContentType(ct string) string {
	if ct == "" {
		return "binary/octet-stream"
	}
	return ct
}

// prepare works out what the first delivery of j does, as handle would for an object
// stored at j.Created and handled latency later. It reads the table only.
func (p *processor) prepare(j *seedJob, now time.Time) {
	j.hash = md5.Sum(j.body)
	j.hp = prefix24(j.Key)
	ct := storedContentType(j.ContentType)
	if j.known != nil {
		j.check.result = j.known
	} else {
		j.check.result, j.check.kind, j.check.err = checkPayload(ct, j.ContentEncoding, j.body)
	}
	at := j.Created.Add(seedLatency(p.seed, j.Key))
	// A key the table already knows (a DataDir whose objects were deleted) is a redelivery.
	cur, hasItem := p.table.get(j.Key)
	delivery := p.deliveryNumber(j.Key, 0, hasItem)
	j.o = p.decideIn(j.Key, delivery, FailNatural, func() checked { return j.check }, hasItem, p.inSeededOutage(at))
	if !j.o.lost {
		ev := objectEvent{Bucket: p.bucket, Key: j.Key, At: j.Created.In(gmt)}
		if hasItem {
			j.st = p.table.seedEncode(deliveryItem(cur, hasItem, ev, at, j.hash[:], len(j.body), ct, j.o))
		} else {
			it := seedItems.Get().(item)
			clear(it)
			setDelivery(it, ev, at, j.hash[:], len(j.body), ct, j.o)
			j.st = p.table.seedEncode(it)
			seedItems.Put(it)
		}
	}
	// Redrive some failures in place, the way stowage does, so the demo shows history:
	// transient ones now PROCESSED, permanent ones FAILED again with attempts 2.
	if t, ok := seedRedriveAt(p.seed, j.SeedRequest, j.o, now); ok {
		j.redrive = t
	} else {
		j.check.result = nil // only a redelivery needs it again
	}
}

// seedMeta is the metadata S3 keeps for a seeded request (Last-Modified aside).
func seedMeta(r SeedRequest) map[string]string {
	meta := map[string]string{"Content-Type": storedContentType(r.ContentType)}
	if r.ContentEncoding != "" {
		meta["Content-Encoding"] = r.ContentEncoding
	}
	return meta
}

// seed stores n seeded requests and their statuses (see the top of this file). Every
// status is exactly what the live processor would have written.
func (s *Stack) seed(ctx context.Context, n int) error {
	if s.db != nil {
		s.db.NoSync = true // seedStore syncs once at the end
	}
	now := s.opts.Now()
	p := s.proc
	s.seeded = seededList{loc: now.Location(), recs: make([]seededRecord, 0, n)}

	batches := make(chan []seedJob, 1)
	go func() {
		defer close(batches)
		gen := newSeedGen(s.opts.Seed, n, now)
		for done := false; !done; {
			batch := make([]seedJob, 0, seedBatch)
			for len(batch) < seedBatch {
				r, ok := gen.next()
				if !ok {
					done = true
					break
				}
				batch = append(batch, seedJob{seedRequest: r})
			}
			if len(batch) == 0 {
				continue
			}
			select {
			case batches <- batch:
			case <-ctx.Done():
				return // interrupted: the consumer drains what was sent
			}
		}
	}()
	prepared := make(chan []seedJob, 1)
	go func() {
		defer close(prepared)
		for batch := range batches {
			parallel(len(batch), func(i int) { p.prepare(&batch[i], now) })
			prepared <- batch
		}
	}()

	type redelivery struct {
		rec int // index in s.seeded.recs
		j   seedJob
		at  time.Time
	}
	var redrives []redelivery
	var err error
	for batch := range prepared {
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			continue // drain
		}
		if err = s.storeSeeded(batch); err != nil {
			continue
		}
		for i := range batch {
			j := &batch[i]
			rec := len(s.seeded.recs)
			s.seeded.add(j.SeedRequest)
			if j.check.err != nil {
				s.seeded.failed(rec, j.check)
			}
			if j.st.enc != nil {
				s.table.seedPut(j.Key, j.hp, j.st)
			} else {
				p.mu.Lock()
				p.deliveries[j.Key] = 1 // a lost delivery leaves no item to count it
				p.mu.Unlock()
			}
			if !j.redrive.IsZero() {
				k := *j
				k.st = seedItem{}
				if s.mem != nil {
					k.body = nil // the store keeps it
				}
				redrives = append(redrives, redelivery{rec, k, j.redrive})
			}
		}
	}
	if err == nil {
		err = ctx.Err() // interrupted before a batch came through
	}
	if err != nil {
		return err
	}
	for _, d := range redrives {
		if err := s.seedRedeliver(d.j, d.at); err != nil {
			return err
		}
		s.seeded.recs[d.rec].redriven = d.at.UnixNano()
	}
	if s.mem != nil {
		s.mem.seedDone(s.opts.Bucket)
	}
	s.table.seedDone()
	return nil
}

// parallel runs f(0) to f(n-1) on every core.
func parallel(n int, f func(i int)) {
	workers := min(n, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// storeSeeded stores the bodies of a batch of first deliveries: in bulk into the memory
// store, or one by one at their own time into a DataDir's bolt store.
func (s *Stack) storeSeeded(batch []seedJob) error {
	if s.mem != nil {
		objs := make([]seedObject, len(batch))
		for i, j := range batch {
			objs[i] = seedObject{key: j.Key, body: j.body, hash: j.hash, modified: j.Created, meta: j.meta}
		}
		return s.mem.seedPut(s.opts.Bucket, objs)
	}
	defer s.clock.pin(time.Time{})
	for _, j := range batch {
		s.clock.pin(j.Created)
		if err := s.storeRequest(j.Key, j.body, j.meta); err != nil {
			return fmt.Errorf("devstack: seed %s: %w", j.Key, err)
		}
	}
	return nil
}

// seedRedeliver redelivers j at time at, as a copy in place of the object by stowage and
// the event it triggers would.
func (s *Stack) seedRedeliver(j seedJob, at time.Time) error {
	meta := map[string]string{metaRedrivenAt: at.UTC().Format(time.RFC3339)}
	for k, v := range j.meta {
		meta[k] = v
	}
	var err error
	if s.mem != nil {
		err = s.mem.seedRestore(s.opts.Bucket, j.Key, meta, at)
	} else {
		s.clock.pin(at)
		meta["Last-Modified"] = at.In(gmt).Format(http.TimeFormat)
		_, err = s.backend.PutObject(s.opts.Bucket, j.Key, meta, bytes.NewReader(j.body), int64(len(j.body)), nil)
		s.clock.pin(time.Time{})
	}
	if err != nil {
		return fmt.Errorf("devstack: seed %s: %w", j.Key, err)
	}
	p := s.proc
	handled := at.Add(seedLatency(p.seed, j.Key))
	cur, ok := s.table.get(j.Key)
	delivery := p.deliveryNumber(j.Key, 0, ok)
	o := p.decideIn(j.Key, delivery, FailNatural, func() checked { return j.check }, true, p.inSeededOutage(handled))
	ev := objectEvent{Bucket: s.opts.Bucket, Key: j.Key, At: at.In(gmt)}
	it := deliveryItem(cur, ok, ev, handled, j.hash[:], int(j.Size), storedContentType(j.ContentType), o)
	s.table.seedPut(j.Key, j.hp, s.table.seedEncode(it))
	return nil
}

// seedRedriveAt decides whether the seed redelivers r, whose first delivery ended as o,
// just after its first delivery, and when.
func seedRedriveAt(seed int64, r SeedRequest, o outcome, now time.Time) (time.Time, bool) {
	if o.lost || o.state != StateFailed {
		return time.Time{}, false
	}
	share := 0.25
	if o.kind == "transient" {
		share = 0.5
	}
	if chance(seed, r.Key, "seed-redrive") >= share {
		return time.Time{}, false
	}
	later := r.Created.Add(10*time.Minute + time.Duration(chance(seed, r.Key, "redrive-at")*float64(24*time.Hour)))
	if later.After(now.Add(-time.Minute)) {
		return time.Time{}, false
	}
	return later, true
}
