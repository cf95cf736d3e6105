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
