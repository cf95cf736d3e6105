package redrive

import (
	"fmt"
	"time"
)

// Counts tallies items by state.
type Counts struct {
	Pending   int `json:"pending"`
	Sending   int `json:"sending"`
	Retrying  int `json:"retrying"`
	Unknown   int `json:"unknown"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
}

func (c *Counts) add(s ItemState, n int) {
	switch s {
	case StatePending:
		c.Pending += n
	case StateSending:
		c.Sending += n
	case StateRetrying:
		c.Retrying += n
	case StateUnknown:
		c.Unknown += n
	case StateDelivered:
		c.Delivered += n
	case StateFailed:
		c.Failed += n
	case StateSkipped:
		c.Skipped += n
	}
}

// Of returns the count of one state.
func (c Counts) Of(s ItemState) int {
	switch s {
	case StatePending:
		return c.Pending
	case StateSending:
		return c.Sending
	case StateRetrying:
		return c.Retrying
	case StateUnknown:
		return c.Unknown
	case StateDelivered:
		return c.Delivered
	case StateFailed:
		return c.Failed
	case StateSkipped:
		return c.Skipped
	}
	return 0
}

// Total is the number of items counted.
func (c Counts) Total() int {
	return c.Pending + c.Sending + c.Retrying + c.Unknown + c.Delivered + c.Failed + c.Skipped
}

// Done is the number of items in a final state.
func (c Counts) Done() int { return c.Delivered + c.Failed + c.Skipped }

func (c Counts) String() string {
	return fmt.Sprintf("%d delivered, %d failed, %d skipped, %d unknown, %d not sent",
		c.Delivered, c.Failed, c.Skipped, c.Unknown+c.Sending+c.Retrying, c.Pending)
}

// Outcome is how a run ended.
type Outcome string

const (
	OutcomeStarted   Outcome = "started"          // audit only: written before the first send; the run's own entry follows
	OutcomeDryRun    Outcome = "dry-run"          // planned only
	OutcomeDeclined  Outcome = "declined"         // the operator did not confirm
	OutcomeRefused   Outcome = "refused"          // stowage refused: read-only, no terminal to confirm on, too large
	OutcomeEmpty     Outcome = "nothing-selected" // the selection matched no stored request
	OutcomeDelivered Outcome = "delivered"        // every item delivered or skipped
	OutcomeFailed    Outcome = "some-failed"      // every item finished, some failed
	OutcomeCanceled  Outcome = "cancelled"        // stopped by the operator; the rest can be resumed
	OutcomeTripped   Outcome = "circuit-open"     // stopped by the circuit breaker
	OutcomeError     Outcome = "error"            // stopped by an error (the journal could not be written)
)

// ItemError is a recent failure, for the progress view.
type ItemError struct {
	RequestID string
	Attempt   int
	Err       string
	At        time.Time
}

// MaxLastErrors is how many recent errors a Progress carries.
const MaxLastErrors = 5

// Progress is a snapshot of a running redrive.
type Progress struct {
	RunID   string
	Total   int
	Counts  Counts
	Sent    int // requests sent (attempts), retries included
	Elapsed time.Duration
	// Rate is the rate of requests sent over the last RateWindow, once RateMeasured (the
	// run has run that long; before, it is 0: show "measuring"). TargetRate is the limit
	// (0 = unlimited) and Concurrency the cap now in force.
	Rate         float64
	RateMeasured bool
	TargetRate   float64
	Concurrency  int
	InFlight     int
	// ETA estimates the time left from the measured rate of finished items, never faster
	// than the limit (the limit alone before there is a measure); 0 when unknown.
	ETA        time.Duration
	LastErrors []ItemError
	// Stopping is set once Cancel or the circuit breaker stopped dispatching; StopReason
	// says why.
	Stopping   bool
	StopReason string
	Done       bool
	// NoLeaseTable is set when the environment has no lease table: runs on other
	// machines cannot see this one (say NoLeaseTableWarning).
	NoLeaseTable bool
	// LeaseWarnings are claims whose end could not be recorded in the lease table; the
	// items themselves are journaled.
	LeaseWarnings []string
}

// Fraction is the share of items finished, 0..1.
func (p Progress) Fraction() float64 {
	if p.Total == 0 {
		return 1
	}
	return float64(p.Counts.Done()) / float64(p.Total)
}
