package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Live traffic, for `stowage demo --live`: new requests keep arriving through the
// gateway (stored in S3, the event fired, the processor run), some of them fail, and
// pricing-service has an outage now and then that starts and stops while you watch.
// Arrive and InjectFailure are the same moves one at a time, for tests.
//
// A live request goes through the gateway's in-place route, PUT /product/{bucket}/{key},
// under a UUID key drawn from the seed: the requests a stack receives are the same on
// every run, in the order asked for, so tests and screenshots can name them. They count
// as gateway sends in Writes, as any client's would.

// liveGen makes the payloads and keys of live arrivals, in order, from the seed.
type liveGen struct {
	rng *rand.Rand
	g   *payloads
}

// kind draws the payload kind of an arrival forced into class fail. A natural arrival
// is mostly valid, a few malformed or invalid (permanent failures); the processor's dice
// add the lost, the trickle of transient failures and the outage.
func (l *liveGen) kind(fail string) string {
	switch fail {
	case FailParse:
		if l.rng.IntN(2) == 0 {
			return KindMalformedXML
		}
		return KindMalformedJSON
	case FailValidation:
		return KindInvalid
	case FailNatural:
		switch n := l.rng.IntN(100); {
		case n < 2:
			return KindMalformedXML
		case n < 4:
			return KindMalformedJSON
		case n < 5:
			return KindInvalid
		}
	}
	if l.rng.IntN(100) < 55 {
		return KindProductXML
	}
	return KindProfileJSON
}

// Arrive stores n new requests now through the gateway, as callers would, and returns
// them. fail forces a failure class on them (a Fail* constant; FailNatural lets the
// payload and the processor's dice decide, as in the seeded week). The processor handles
// them asynchronously, like an S3 event: Settle waits for it. A FailTransient or
// FailOutage request succeeds when redriven (outside an outage); a FailParse or
// FailValidation one fails again.
func (s *Stack) Arrive(ctx context.Context, n int, fail string) ([]SeedRequest, error) {
	switch fail {
	case FailNatural, FailNone, FailParse, FailValidation, FailTransient, FailOutage, FailLost:
	default:
		return nil, fmt.Errorf("devstack: arrive: unknown failure class %q; want one of none, parse, validation, transient, outage, lost or \"\"", fail)
	}
	var out []SeedRequest
	for range n {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		r, err := s.arriveOne(fail)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Stack) arriveOne(fail string) (SeedRequest, error) {
	p := s.proc
	// The generator is drawn under the processor's lock so that concurrent callers each
	// get a whole request; the order they get them in is theirs to fix.
	p.mu.Lock()
	if p.live == nil {
		rng := rand.New(rand.NewPCG(uint64(p.seed), 0x11fe11fe))
		p.live = &liveGen{rng: rng, g: &payloads{rng: rng}}
	}
	kind := p.live.kind(fail)
	id, _ := uuid.NewRandomFromReader(rngReader{p.live.rng})
	body, contentType, encoding := p.live.g.make(kind)
	p.mu.Unlock()

	r := SeedRequest{Key: id.String(), Route: "inplace", Kind: kind, ContentType: contentType,
		ContentEncoding: encoding, Size: len(body), Created: s.clock.Now()}
	switch fail {
	case FailNone, FailTransient, FailOutage, FailLost:
		p.force(r.Key, fail)
	}
	path := GatewayStage + "/product/" + url.PathEscape(s.Bucket) + "/" + url.PathEscape(r.Key)
	req := httptest.NewRequest(http.MethodPut, path, strings.NewReader(string(body)))
	req.Header.Set("X-Api-Key", s.APIKey)
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	rec := httptest.NewRecorder()
	s.gw.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		// The forced class stays: with GatewayFaults.StoreThen504Ratio the body may be
		// stored all the same, and is then processed as asked.
		msg, _ := io.ReadAll(io.LimitReader(rec.Body, 200))
		return SeedRequest{}, fmt.Errorf("devstack: arrive %s: the gateway answered %d %s", r.Key, rec.Code, strings.TrimSpace(string(msg)))
	}
	return r, nil
}

// InjectFailure makes request id FAILED with message msg now, as if the processor had
// just failed a delivery of it: the status item (created when there was none) gets the
// error, errorKind "injected", one more attempt and updatedAt now, and the processor's
// log group the delivery's lines. A redrive then processes it as usual. The request must
// be stored in the bucket.
func (s *Stack) InjectFailure(id, msg string) error {
	p := s.proc
	obj, err := p.store.GetObject(s.Bucket, id, nil)
	if err != nil {
		return fmt.Errorf("devstack: inject a failure into %q: %w", id, err)
	}
	obj.Contents.Close()
	if msg == "" {
		return errors.New("devstack: inject a failure: the message is empty")
	}
	at := s.clock.Now()
	p.mu.Lock()
	before := p.deliveries[id]
	p.deliveries[id]++
	p.mu.Unlock()
	hasItem := p.table.has(id)
	delivery := p.deliveryNumber(id, before, hasItem)
	o := outcome{state: StateFailed, err: inert(msg), kind: "injected"}
	stored, err := http.ParseTime(obj.Metadata["Last-Modified"])
	if err != nil {
		stored = at
	}
	ev := objectEvent{Bucket: s.Bucket, Key: id, At: stored}
	if _, nop := p.logs.(nopSink); !nop {
		p.logDelivery(ev, at, delivery, true, int(obj.Size), o)
	}
	if err := p.writeStatus(ev, at, obj.Hash, int(obj.Size), obj.Metadata["Content-Type"], o); err != nil {
		return fmt.Errorf("devstack: inject a failure into %q: %w", id, err)
	}
	s.logf("processor: %s: FAILED %s (injected)", id, o.err)
	return nil
}

// SeededOutage is the hour of the seeded week in which pricing-service was down (zero
// times for a stack without transient failures).
func (s *Stack) SeededOutage() (from, to time.Time) { return s.proc.outageFrom, s.proc.outageTo }

// SetOutage starts (true) or ends a live outage of pricing-service: while it lasts every
// delivery that parses fails with a 503 from it, redrives included.
func (s *Stack) SetOutage(on bool) {
	if s.proc.liveOutage.Swap(on) != on {
		if on {
			s.logf("live: %s outage started", OutageService)
		} else {
			s.logf("live: %s outage over", OutageService)
		}
	}
}

// Defaults of LiveOptions.
const (
	DefaultLiveRate    = 2.0
	DefaultOutageAfter = 45 * time.Second
	DefaultOutageFor   = time.Minute
	DefaultOutageEvery = 5 * time.Minute
)

// LiveOptions shape the traffic of Live.
type LiveOptions struct {
	// Rate is how many requests arrive per second (default DefaultLiveRate).
	Rate float64
	// The live outage of pricing-service starts OutageAfter after Live starts, lasts
	// OutageFor and comes back every OutageEvery (defaults 45 s, 1 min and 5 min). They
	// are counted in arrivals (duration times Rate), so a test's ticks drive them too.
	// A negative OutageEvery means no outage.
	OutageAfter, OutageFor, OutageEvery time.Duration
	// Ticks, when set, replaces the wall-clock ticker: one arrival per value received
	// (tests). Live returns when it is closed.
	Ticks <-chan time.Time
	// OnOutage is called when the live outage starts (true) and ends (false), from
	// Live's goroutine.
	OnOutage func(started bool)
	// OnArrive is called after each arrival, with its error (tests, progress).
	OnArrive func(SeedRequest, error)
}

// liveSchedule is the outage schedule in arrivals.
type liveSchedule struct{ after, length, every int }

func (o LiveOptions) schedule() liveSchedule {
	if o.OutageEvery < 0 {
		return liveSchedule{}
	}
	n := func(d, def time.Duration) int {
		if d <= 0 {
			d = def
		}
		return max(1, int(d.Seconds()*o.Rate+0.5))
	}
	return liveSchedule{after: n(o.OutageAfter, DefaultOutageAfter), length: n(o.OutageFor, DefaultOutageFor),
		every: n(o.OutageEvery, DefaultOutageEvery)}
}

// down says whether the outage is on at arrival i (0-based).
func (l liveSchedule) down(i int) bool {
	if l.length == 0 || i < l.after {
		return false
	}
	return (i-l.after)%max(l.every, l.length+1) < l.length
}

// Live keeps requests arriving (Arrive with FailNatural) until ctx ends or Ticks is
// closed, and turns the live outage on and off on its schedule. It returns after the
// last arrival it started is stored and with the outage over: the processor handles
// what was stored, and Close waits for that. An arrival the gateway refuses (its fault
// knobs) is logged and skipped.
func (s *Stack) Live(ctx context.Context, o LiveOptions) error {
	if o.Rate <= 0 {
		o.Rate = DefaultLiveRate
	}
	sched := o.schedule()
	ticks := o.Ticks
	if ticks == nil {
		t := time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
		defer t.Stop()
		ticks = t.C
	}
	down := false
	setDown := func(on bool) {
		if on == down {
			return
		}
		down = on
		s.SetOutage(on)
		if o.OnOutage != nil {
			o.OnOutage(on)
		}
	}
	defer setDown(false)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-ticks:
			if !ok {
				return nil
			}
		}
		setDown(sched.down(i))
		r, err := s.arriveOne(FailNatural)
		if err != nil {
			s.logf("live: %v", err)
		}
		if o.OnArrive != nil {
			o.OnArrive(r, err)
		}
	}
}
