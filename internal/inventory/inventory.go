// Package inventory turns the S3 listing of a storage-first bucket and its DynamoDB status
// table into request rows. It is the one place that does so, so that the CLI, redrive's
// selection and the TUI agree on what "FAILED since 1h" or "LOST" means. What a state
// means (done, failed, pending, LOST) is decided here too, by Classify.
//
// It streams: rows reach the caller page by page while the listing goes on, status items
// are joined with BatchGet (bounded concurrency, pipelined behind the listing), and lost
// requests are found without one GetItem per object.
//
// It declares the small interfaces it consumes (interfaces.go); awsclient implements them.
// It must not import tui, redrive, the CLI or any AWS SDK package.
package inventory

import (
	"strings"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// Row is one request: its stored object and its status item.
type Row struct {
	Object awsclient.Object
	// Status is the request's status item; nil when the table has none.
	Status *awsclient.Status
	// NoObject marks a row known only from the status table (a --status match whose
	// object is gone, e.g. expired by a lifecycle rule). Object then holds only Key and
	// RequestID.
	NoObject bool
	// Arrival is the original arrival where a redrive in place moved LastModified
	// (Arrivals.Resolve); see ReceivedAt.
	Arrival Arrival
}

// ID is the request ID of the row.
func (r Row) ID() string {
	if r.Object.RequestID != "" {
		return r.Object.RequestID
	}
	if r.Status != nil {
		return r.Status.RequestID
	}
	return r.Object.Key
}

// State is the row's processing state: the status item's state, "LOST" for an object
// older than lostAfter without one, and "" for a younger object the processor may still
// be working on.
func (r Row) State(lostAfter time.Duration, now time.Time) string {
	if r.Status != nil {
		return r.Status.State
	}
	if !r.NoObject && IsLost(r.Object, lostAfter, now) {
		return StateLost
	}
	return ""
}

// StateLost is the state shown for a request stored but never processed.
const StateLost = "LOST"

// IsLost reports whether an object without a status item is old enough to count as lost.
func IsLost(o awsclient.Object, lostAfter time.Duration, now time.Time) bool {
	return !o.LastModified.IsZero() && !o.LastModified.After(now.Add(-lostAfter))
}

// ResolvePrefix combines the environment's key prefix with a prefix asked for on the
// command line: a prefix that already starts with the base is taken as it is, any other is
// read relative to the base (so --prefix 3f works under storage.prefix requests/).
func ResolvePrefix(base, p string) string {
	if strings.HasPrefix(p, base) {
		return p
	}
	return base + p
}

// Defaults for Options.
const (
	// DefaultConcurrency is how many DynamoDB or HEAD calls run at once. DynamoDB's
	// per-partition limits and the SDK's connection pool both sit comfortably above it.
	DefaultConcurrency = 8
	// DefaultPageSize is the ListObjectsV2 page size (S3's maximum).
	DefaultPageSize = 1000
	// DefaultParallel is how many key ranges ls and lost list at once unless told
	// otherwise: at 20 ms a round trip, one stream lists a million keys in 1000 calls in
	// series (20 s of waiting alone), 16 streams in about 63 each.
	DefaultParallel = 16
	// MaxParallel bounds --parallel: beyond this the listing is limited by S3 request
	// rates on one prefix, not by latency.
	MaxParallel = 64
	// batchGetSize is DynamoDB's BatchGetItem limit.
	batchGetSize = 100
	// joinPerStream and maxJoin size the status join of a sharded listing (see
	// Options.joinConcurrency).
	joinPerStream = 8
	maxJoin       = 128
)

// headBudget is how many --status matches are HEADed one by one by default (see
// Options.HeadBudget); beyond it the bucket listing is cheaper (1 call per 1000 objects)
// and is used for the join instead. A variable so that tests can reach the listing join
// with few items.
var headBudget = 1000

// Options select the rows of a listing.
type Options struct {
	// Prefix narrows the listing; it is resolved against Source.Prefix (ResolvePrefix).
	Prefix string
	// Since keeps requests received at or after it (zero: no bound): by LastModified, and
	// with Arrivals by the original arrival (Row.ReceivedAt).
	Since time.Time
	// Status keeps requests whose status item is in this state ("": every request).
	// Matching is exact, as DynamoDB compares.
	Status string
	// Limit stops after this many rows (0: no limit).
	Limit int
	// Parallel shards the listing into this many concurrent ranges (≤1: one stream).
	// It needs an Objects that implements RangeLister; otherwise one stream is used.
	Parallel int
	// PageSize is the ListObjectsV2 page size (0: DefaultPageSize).
	PageSize int32
	// Concurrency bounds the DynamoDB and HEAD calls in flight (0: DefaultConcurrency).
	Concurrency int
	// Arrivals, when set, resolves each row's original arrival (see arrival.go).
	Arrivals *Arrivals
	// HeadBudget is how many matches of a Status listing are joined to their objects
	// one HEAD each, so that the first rows come at once, before the bucket listing
	// joins the rest. 0: the default (1000, right for ls and the TUI); negative: none,
	// every match is joined by the listing (for a caller that needs every row before it
	// can act, such as a redrive plan: at 20 ms a round trip, 1000 HEADs 8 at a time
	// cost about 2.5 s that the listing does not).
	HeadBudget int
}

func (o Options) withDefaults() Options {
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Parallel > MaxParallel {
		o.Parallel = MaxParallel
	}
	if o.HeadBudget == 0 {
		o.HeadBudget = headBudget
	}
	return o
}

// joinConcurrency is how many BatchGets a joined listing keeps in flight. Each listed
// page of 1000 keys needs 10 of them, so with Concurrency alone (8) the join, not the
// listing, set the pace once the listing was sharded: at 20 ms a round trip, 100k keys
// took 125 rounds of 8 lookups (2.5 s) against 7 pages per range. joinPerStream lookups
// per listing range keep up with the ranges, within maxJoin (the connections awsclient
// keeps per endpoint): at the default 16 ranges, a million keys take about 79 rounds of
// lookups against 63 pages per range.
func (o Options) joinConcurrency() int {
	return min(max(o.Concurrency, joinPerStream*o.Parallel), maxJoin)
}

// keep reports whether an object passes the Since bound.
func (o Options) keep(obj awsclient.Object) bool {
	return o.Since.IsZero() || !obj.LastModified.Before(o.Since)
}
