package redrive

import (
	"testing"
	"time"
)

// The zero UnknownSettle is the default wait; a negative one (NoUnknownSettle, which the
// CLI's --unknown-settle 0 passes) re-checks at once.
func TestUnknownSettleDefaults(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{
		{0, DefaultUnknownSettle},
		{NoUnknownSettle, 0},
		{-time.Hour, 0},
		{3 * time.Second, 3 * time.Second},
	} {
		o := Options{UnknownSettle: c.in}
		o.applyDefaults()
		if o.UnknownSettle != c.want {
			t.Errorf("UnknownSettle %v became %v, want %v", c.in, o.UnknownSettle, c.want)
		}
	}
}

// One attempt waits just past API Gateway's 29 s integration limit, and a claim outlives
// one item's worst case with the defaults, so a live run's claim never expires under it.
func TestAttemptTimeoutAndLeaseTTLDefaults(t *testing.T) {
	var o Options
	o.applyDefaults()
	if o.AttemptTimeout != 35*time.Second {
		t.Errorf("AttemptTimeout %v, want 35s", o.AttemptTimeout)
	}
	worst := time.Duration(o.MaxAttempts)*o.AttemptTimeout + time.Duration(o.MaxAttempts-1)*max(o.BackoffMax, o.UnknownSettle) + o.UnknownSettle
	if o.LeaseTTL < 2*worst {
		t.Errorf("LeaseTTL %v is not comfortably above one item's worst case %v", o.LeaseTTL, worst)
	}
	o = Options{AttemptTimeout: time.Second}
	o.applyDefaults()
	if o.AttemptTimeout != time.Second {
		t.Errorf("a set AttemptTimeout became %v", o.AttemptTimeout)
	}
}
