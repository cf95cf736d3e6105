package redrive

import (
	"fmt"
	"strings"

	"github.com/stowage-cli/stowage/internal/failclass"
)

// Permanence is what a plan holds by failure kind: requests that failed with a permanent
// error will fail again when redriven unchanged. Kinds are those of failure classes
// (failclass.Group over the planned errors), so the plan and the classes view agree.
type Permanence struct {
	Permanent, Transient, Unknown int
	// TopPermanent is the key of the largest permanent class; PermanentClasses counts them.
	TopPermanent     string
	PermanentClasses int
	PermanentIDs     []string
}

// PermanenceOf classifies the planned errors of m's items (the status read when planned;
// an item without an error, LOST for one, is Unknown). r nil means the defaults.
func PermanenceOf(m *Manifest, r *failclass.Rules) Permanence {
	var p Permanence
	if m == nil {
		return p
	}
	var fs []failclass.Failure
	for _, it := range m.Items {
		if it.Planned == nil || it.Planned.Error == "" {
			p.Unknown++
			continue
		}
		fs = append(fs, failclass.Failure{ID: it.RequestID, Error: it.Planned.Error, At: it.Planned.UpdatedAt})
	}
	for _, c := range failclass.Group(fs, r, m.PlannedAt, m.PlannedAt, 0) {
		switch c.Kind {
		case failclass.Permanent:
			if p.TopPermanent == "" {
				p.TopPermanent = c.Key
			}
			p.PermanentClasses++
			p.Permanent += c.Count
			p.PermanentIDs = append(p.PermanentIDs, c.IDs...)
		case failclass.Transient:
			p.Transient += c.Count
		default:
			p.Unknown += c.Count
		}
	}
	return p
}

// Text is the plan's line about permanent errors, "" when it holds none:
// "45 of 56 failed with a permanent error (XML syntax error at line <n>, …): a redrive
// will fail again".
func (p Permanence) Text(total int) string {
	if p.Permanent == 0 {
		return ""
	}
	what := clipKey(p.TopPermanent, 60)
	if more := p.PermanentClasses - 1; more == 1 {
		what += " and 1 more class"
	} else if more > 1 {
		what += fmt.Sprintf(" and %d more classes", more)
	}
	return fmt.Sprintf("%d of %d failed with a permanent error (%s): a redrive will fail again", p.Permanent, total, what)
}

// clipKey cuts a class key to at most n runes at a word boundary, marking the cut with "…".
func clipKey(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n-1])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,:;") + " …"
}

// SkipPermanent takes the requests that failed with a permanent error out of m before it
// is frozen (before its journal is created: the hash then covers what is sent), and
// returns how many it took. The CLI's --skip-permanent and the TUI's dialog key call it.
func SkipPermanent(m *Manifest, p Permanence) int {
	if m == nil || len(p.PermanentIDs) == 0 {
		return 0
	}
	drop := make(map[string]bool, len(p.PermanentIDs))
	for _, id := range p.PermanentIDs {
		drop[id] = true
	}
	kept := m.Items[:0:0]
	for _, it := range m.Items {
		if !drop[it.RequestID] {
			kept = append(kept, it)
		}
	}
	n := len(m.Items) - len(kept)
	m.Items = kept
	return n
}
