package tui

import (
	"github.com/charmbracelet/x/ansi"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/failclass"
	"github.com/stowage-cli/stowage/internal/inventory"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
)

// What a redrive plan holds by failure kind: a request that failed with a permanent error
// (a parse, validation or schema error) fails again when redriven; the plan says so, and
// P leaves those requests out. The counting follows redrive.PermanenceOf's agreed shape
// (triage-core, #14); TODO: call it once it lands, so the CLI and the TUI share one count.

// permanence is what a plan holds by failure kind.
type permanence struct {
	Permanent, Transient, Unknown int
	TopPermanent                  string // the most common permanent class, normalized
	PermanentIDs                  []string
}

// permanenceOf counts the planned items that failed, by the kind of their error.
// errorOf is the request's error when the plan did not keep it (StatusRead.Error is
// filled only by some reads): the status the TUI read.
func permanenceOf(man *redrive.Manifest, env *config.Env, r *failclass.Rules, errorOf func(id string) string) permanence {
	var p permanence
	if man == nil {
		return p
	}
	counts := map[string]int{}
	for _, it := range man.Items {
		st := it.Planned
		if st == nil || !st.Found || inventory.Classify(st.State, env) != inventory.ClassFailed {
			continue
		}
		msg := st.Error
		if msg == "" && errorOf != nil {
			msg = errorOf(it.RequestID)
		}
		switch r.Kind(msg) {
		case failclass.Permanent:
			p.Permanent++
			p.PermanentIDs = append(p.PermanentIDs, it.RequestID)
			counts[failclass.Normalize(msg)]++
		case failclass.Transient:
			p.Transient++
		default:
			p.Unknown++
		}
	}
	top := 0
	for k, n := range counts {
		if n > top || n == top && k < p.TopPermanent {
			p.TopPermanent, top = k, n
		}
	}
	return p
}

// text is "45 of 56 failed with a permanent error (XML syntax error …): a redrive will fail
// again"; "" when none did.
func (p permanence) text(total int) string {
	if p.Permanent == 0 {
		return ""
	}
	what := commas(p.Permanent) + " of " + commas(total) + " failed with a permanent error"
	if p.TopPermanent != "" {
		what += " (" + ansi.Truncate(sanitize.Line(p.TopPermanent), 40, "…") + ")"
	}
	return what + ": a redrive will fail again"
}
