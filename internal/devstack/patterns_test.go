package devstack

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// classOf is a rough stand-in for stowage's failure-class normalizer: UUIDs and numbers
// become placeholders. Messages of one class here are one class there too (it also
// replaces hosts, quoted values and timestamps).
var classRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9]+`)

func classOf(msg string) string { return classRE.ReplaceAllString(msg, "#") }

// failure is one seeded request's status, for the pattern tests.
type failure struct {
	r SeedRequest
	s StatusItem
}

// seededFailures lists the FAILED seeded requests whose error matches.
func seededFailures(st *Stack, match func(string) bool) []failure {
	var out []failure
	for _, r := range st.Seeded() {
		if s, ok := st.Status(r.Key); ok && s.State == StateFailed && match(s.Error) {
			out = append(out, failure{r, s})
		}
	}
	return out
}

func classes(fs []failure) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[classOf(f.s.Error)]++
	}
	return m
}

// The seeded week has an outage hour, a burst from one partner and a trickle of
// timeouts, each one failure class, and redriving tells transient from permanent.
func TestSeededPatterns(t *testing.T) {
	st := startStack(t, Options{Seed: 1, Requests: 1000})

	t.Run("outage", func(t *testing.T) {
		from, to := st.SeededOutage()
		if to.Sub(from) != time.Hour || from.Before(testNow.Add(-35*time.Hour)) || to.After(testNow.Add(-10*time.Hour)) {
			t.Fatalf("outage %v to %v, want one hour between 35 and 10 hours before %v", from, to, testNow)
		}
		if h := from.UTC().Hour(); h < 8 || h > 16 {
			t.Errorf("outage starts at %v, want busy hours", from)
		}
		fs := seededFailures(st, func(e string) bool { return strings.HasPrefix(e, OutageService) })
		if len(fs) < 10 {
			t.Fatalf("%d outage failures, want the hour's traffic", len(fs))
		}
		for _, f := range fs {
			if f.s.UpdatedAt.Before(from) || !f.s.UpdatedAt.Before(to) {
				t.Errorf("%s failed with the outage at %v, outside it", f.r.Key, f.s.UpdatedAt)
			}
		}
		if c := classes(fs); len(c) != 1 {
			t.Errorf("the outage makes %d classes, want one: %v", len(c), c)
		}
		if fs[0].s.Error == fs[1].s.Error {
			t.Errorf("two outage failures say exactly the same (%q): nothing for grouping to do", fs[0].s.Error)
		}
		// The flash sale: the outage hour is the busiest of the week.
		busiest := map[time.Time]int{}
		for _, r := range st.Seeded() {
			busiest[r.Created.Truncate(time.Hour)]++
		}
		inside := 0
		for _, r := range st.Seeded() {
			if !r.Created.Before(from) && r.Created.Before(to) {
				inside++
			}
		}
		for h, n := range busiest {
			if n > inside && (h.Before(from.Add(-time.Hour)) || h.After(to)) {
				t.Errorf("hour %v has %d arrivals, more than the outage's %d", h, n, inside)
			}
		}
	})

	t.Run("burst", func(t *testing.T) {
		var burst []SeedRequest
		for _, r := range st.Seeded() {
			if r.Caller == BurstCaller {
				burst = append(burst, r)
			}
		}
		if len(burst) != burstSize(1000) {
			t.Fatalf("%d requests from %s, want %d", len(burst), BurstCaller, burstSize(1000))
		}
		first, last := burst[0].Created, burst[len(burst)-1].Created
		if last.Sub(first) > 20*time.Minute || first.Before(testNow.Add(-61*time.Hour)) || last.After(testNow.Add(-35*time.Hour)) {
			t.Errorf("burst from %v to %v, want within 20 minutes, 60 to 36 hours before now", first, last)
		}
		fs := seededFailures(st, func(e string) bool { return strings.Contains(e, "invalid UTF-8") })
		lost := 0
		for _, r := range burst {
			if r.Kind != KindMisencodedXML || r.Route != "inplace" || !strings.HasPrefix(r.Key, "partners/"+BurstCaller+"/") {
				t.Errorf("burst request %+v", r)
			}
			if _, ok := st.Status(r.Key); !ok {
				lost++
			}
		}
		if len(fs)+lost != len(burst) {
			t.Errorf("%d burst failures and %d lost of %d burst requests", len(fs), lost, len(burst))
		}
		for _, f := range fs {
			if f.r.Caller != BurstCaller {
				t.Errorf("%s (%s) fails like the burst", f.r.Key, f.r.Caller)
			}
		}
		c := classes(fs)
		if len(c) != 1 {
			t.Errorf("the burst makes %d classes, want one: %v", len(c), c)
		}
		msgs := map[string]bool{}
		for _, f := range fs {
			msgs[f.s.Error] = true
		}
		if len(msgs) < 3 {
			t.Errorf("burst messages %v: want them to differ in line and column", msgs)
		}
	})

	t.Run("trickle", func(t *testing.T) {
		fs := seededFailures(st, func(e string) bool { return strings.Contains(e, "inventory-service") })
		days := map[string]bool{}
		for _, f := range fs {
			days[f.s.UpdatedAt.Format(time.DateOnly)] = true
		}
		if len(fs) < 15 || len(days) < 6 {
			t.Errorf("%d inventory-service failures on %d days, want a trickle all week", len(fs), len(days))
		}
		if c := classes(fs); len(c) != 2 {
			t.Errorf("trickle classes %v, want the timeout and the throttling", c)
		}
	})

	t.Run("redrive", func(t *testing.T) {
		outage := seededFailures(st, func(e string) bool { return strings.HasPrefix(e, OutageService) })[0]
		redriveInPlace(t, st, outage.r)
		if s, _ := st.Status(outage.r.Key); s.State != StateProcessed || s.Attempts != outage.s.Attempts+1 {
			t.Errorf("outage failure redriven after the outage: %+v, want PROCESSED", s)
		}
		burst := seededFailures(st, func(e string) bool { return strings.Contains(e, "invalid UTF-8") })[0]
		redriveInPlace(t, st, burst.r)
		if s, _ := st.Status(burst.r.Key); s.State != StateFailed || s.Error != burst.s.Error || s.Attempts != burst.s.Attempts+1 {
			t.Errorf("burst failure redriven: %+v, want FAILED again with %q", s, burst.s.Error)
		}
	})
}

// Arrivals follow the working day: the busy hours see several times the traffic of the
// night.
func TestSeededArrivalsFollowTheDay(t *testing.T) {
	g := newSeedGen(4, 3000, testNow)
	var day, night int
	for _, at := range g.times {
		switch h := at.UTC().Hour(); {
		case h >= 9 && h < 17:
			day++
		case h < 5:
			night++
		}
	}
	// Per hour: 8 day hours against 5 night hours.
	if float64(day)/8 < 3*float64(night)/5 {
		t.Errorf("%d arrivals in 8 day hours, %d in 5 night hours: want the day at least 3 times busier", day, night)
	}
}

// Without transient failures there is no outage either.
func TestNoTransientRatioNoOutage(t *testing.T) {
	st := startStack(t, Options{Seed: 1, Requests: 300, TransientRatio: -1})
	if from, to := st.SeededOutage(); !from.IsZero() || !to.IsZero() {
		t.Errorf("outage %v to %v with TransientRatio -1", from, to)
	}
	for _, r := range st.Seeded() {
		if s, ok := st.Status(r.Key); ok && s.State == StateFailed && (strings.Contains(s.Error, "-service")) {
			t.Errorf("%s: %s with TransientRatio -1", r.Key, s.Error)
		}
	}
}
