package tui

import (
	"github.com/stowage-cli/stowage/internal/failclass"
	"github.com/stowage-cli/stowage/redrive"
)

// What a redrive plan holds by failure kind (redrive.PermanenceOf, as the CLI's plan): a
// request that failed with a permanent error (a parse, validation or schema error) fails
// again when redriven; the plan says so, and P leaves those requests out.

// permanenceOf counts the plan's failures by kind. The plan's status reads may lack the
// error message (StatusRead.Error is not hashed, and not every read fills it): errorOf
// supplies the one the TUI read, on a copy, so the manifest itself is not touched.
func permanenceOf(man *redrive.Manifest, r *failclass.Rules, errorOf func(id string) string) redrive.Permanence {
	if man == nil {
		return redrive.Permanence{}
	}
	c := *man
	c.Items = make([]redrive.Item, len(man.Items))
	for i, it := range man.Items {
		if it.Planned != nil && it.Planned.Found && it.Planned.Error == "" && errorOf != nil {
			p := *it.Planned
			p.Error = errorOf(it.RequestID)
			it.Planned = &p
		}
		c.Items[i] = it
	}
	return redrive.PermanenceOf(&c, r)
}
