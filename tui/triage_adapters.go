package tui

// The failure classes come from internal/failclass, the one home of "which failures are
// one cause" and "will a redrive fix it"; these names keep the TUI's code short.

import (
	"time"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/failclass"
)

type (
	failure   = failclass.Failure
	failClass = failclass.Class
	failRules = failclass.Rules
)

const (
	kindPermanent = failclass.Permanent
	kindTransient = failclass.Transient
)

// rulesFor is the environment's rules; patterns that do not compile (config validation
// reports them) fall back to the defaults rather than leave the view empty.
func rulesFor(env *config.Env) *failRules {
	r, err := failclass.RulesFor(env)
	if err != nil {
		return failclass.DefaultRules()
	}
	return r
}

// groupFailures groups the failures in [since, until) (a zero end is open): Group counts
// every failure it is given, so the window is applied here.
func groupFailures(fs []failure, r *failRules, since, until time.Time, buckets int) []failClass {
	in := make([]failure, 0, len(fs))
	for _, f := range fs {
		if !since.IsZero() && f.At.Before(since) || !until.IsZero() && !f.At.Before(until) {
			continue
		}
		in = append(in, f)
	}
	return failclass.Group(in, r, since, until, buckets)
}

func sparkline(counts []int) string { return failclass.Sparkline(counts) }
