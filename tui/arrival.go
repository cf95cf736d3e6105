package tui

import (
	"context"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// arrival is a row's original arrival and, when a redrive in place stored it again since,
// when that was (inventory's rule, Arrivals.Resolve). Only the sources that need no call
// are asked here, since View must not do I/O: the status item already cached
// (status.received_attr) and the redrive history loaded with the session. The oldest
// object version, which costs a call per row, is left to the CLI.
func (m *Model) arrival(r *row) (received, redriven time.Time) {
	received = r.modified()
	a := m.sess.Arrivals
	if a == nil || r.Modified == 0 || (a.Attr == "" && a.History == nil) {
		return received, time.Time{}
	}
	free := *a
	free.Versions = nil
	ir := inventory.Row{Object: awsclient.Object{Key: r.Key, RequestID: r.ID, LastModified: received}}
	if e, ok := m.statuses.get(r.ID); ok && e.found {
		st := e.st
		ir.Status = &st
	}
	rows := []inventory.Row{ir}
	_ = free.Resolve(context.Background(), rows) // no Versions: nothing to call, nothing to fail
	if !rows[0].Redriven() {
		return received, time.Time{}
	}
	return rows[0].ReceivedAt(), received
}

// arrivalOf is a listed row's original arrival when a redrive in place stored it again
// since (unix ns), 0 otherwise: the received sort orders by the arrival.
func (m *Model) arrivalOf(r *row) int64 {
	if at, redriven := m.arrival(r); !redriven.IsZero() {
		return at.UnixNano()
	}
	return 0
}

// anyRedrivenShown reports whether a row on screen was stored again by a redrive in place,
// so that the REDRIVE column is shown for it as for this session's redrives.
func (m *Model) anyRedrivenShown() bool {
	if m.sess.Arrivals == nil {
		return false
	}
	s := m.active()
	for i := m.top; i < min(s.ViewLen(), m.top+m.tableRows()); i++ {
		if _, t := m.arrival(s.At(i)); !t.IsZero() {
			return true
		}
	}
	return false
}
