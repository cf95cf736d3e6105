package inventory

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
)

// Plan is how Lost finds the objects without a status item.
type Plan int

const (
	// PlanAuto picks PlanBatchGet or PlanScan by the heuristic in choosePlan.
	PlanAuto Plan = iota
	// PlanBatchGet looks the candidates up, 100 keys per BatchGetItem call.
	PlanBatchGet
	// PlanScan reads every request ID of the table with a parallel Scan first, then
	// confirms the objects missing from it with BatchGet.
	PlanScan
)

func (p Plan) String() string {
	switch p {
	case PlanBatchGet:
		return "batch-get"
	case PlanScan:
		return "scan"
	}
	return "auto"
}

// MaxScanItems bounds PlanScan: the table's IDs are held in memory (about 70 bytes each),
// so beyond a million items looking the candidates up is the better trade.
const MaxScanItems = 1_000_000

// scanPageBytes is how much a Scan call reads, before projection.
const scanPageBytes = 1 << 20

// assumedItemBytes stands in for the average item size when the table's size in bytes is
// unknown: a status item (ID, state, attempts, time, a short error) is a few hundred bytes.
const assumedItemBytes = 1 << 10

// LostOptions select the lost requests.
type LostOptions struct {
	// Options narrow the listing (Prefix, Since, Limit, Parallel, ...); Status is ignored.
	Options
	// OlderThan is the age after which an object with no status item counts as lost
	// (status.lost_after); younger objects may still be in the processor's hands.
	OlderThan time.Duration
	// Now is the reference time (zero: time.Now()).
	Now time.Time
	// Plan forces a plan; PlanAuto lets Lost choose.
	Plan Plan
	// Progress, when set, is told how far the reconciliation got. It is called from
	// Lost's own goroutines, never concurrently with itself, and must return quickly.
	Progress func(Progress)
}

// Progress is a snapshot of a running Lost.
type Progress struct {
	Plan       Plan
	TableIDs   int // request IDs read from the table (PlanScan)
	Listed     int // objects listed
	Candidates int // objects old enough to be lost that were looked up
	Lost       int // lost requests found so far
}

// Lost streams the requests stored more than OlderThan ago that have no status item, in
// key order. It never issues one GetItem per object: either it batches the lookups
// (PlanBatchGet: about candidates/100 calls) or it scans the table's keys in parallel and
// then confirms only the objects the scan did not find (PlanScan: about tableBytes/1MiB
// Scan calls plus lost/100). The confirmation also catches items written while the scan
// ran, so that a request processed meanwhile is never reported lost.
func Lost(ctx context.Context, src Source, opts LostOptions, fn func([]Row) error) error {
	opts.Options = opts.withDefaults()
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	cutoff := now.Add(-opts.OlderThan)
	plan := opts.Plan
	if plan == PlanAuto {
		plan = choosePlan(ctx, src, opts.Options)
	}
	if plan == PlanScan && src.Scanner == nil {
		plan = PlanBatchGet
	}

	var mu sync.Mutex
	p := Progress{Plan: plan}
	report := func(change func(*Progress)) {
		mu.Lock()
		defer mu.Unlock()
		change(&p)
		if opts.Progress != nil {
			opts.Progress(p)
		}
	}

	// PlanScan: the scan and the listing run at once. Pages listed before the scan ends
	// are held, cut to the objects the scan has not seen yet, and looked at once it ends.
	var (
		knownMu sync.RWMutex
		known   map[string]struct{}
		scanned *gate
		wg      sync.WaitGroup
	)
	isKnown := func(id string) bool {
		knownMu.RLock()
		defer knownMu.RUnlock()
		_, ok := known[id]
		return ok
	}
	ctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()
	if plan == PlanScan {
		known = make(map[string]struct{})
		scanned = newGate()
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := src.Scanner.ScanIDs(ctx, opts.Concurrency, func(ids []string) error {
				knownMu.Lock()
				for _, id := range ids {
					known[id] = struct{}{}
				}
				knownMu.Unlock()
				report(func(p *Progress) { p.TableIDs += len(ids) })
				return nil
			})
			if err != nil {
				cancel() // the listing stops too
			}
			scanned.open(err)
		}()
	}

	eligible := func(o awsclient.Object) bool {
		return o.RequestID != "" && !o.LastModified.IsZero() && !o.LastModified.After(cutoff) && opts.keep(o)
	}
	var candidates atomic.Int64
	old := func(o awsclient.Object) bool {
		if !eligible(o) || known != nil && isKnown(o.RequestID) {
			return false
		}
		candidates.Add(1)
		return true
	}
	lim := newLimiter(opts.Limit, fn)
	err := joinListing(ctx, src, opts.Options, join{
		candidate: old,
		listed: func(objs []awsclient.Object) {
			report(func(p *Progress) { p.Listed += len(objs); p.Candidates = int(candidates.Load()) })
		},
		filter: func(rows []Row) []Row {
			rows = keepRows(rows, func(r Row) bool { return r.Status == nil })
			report(func(p *Progress) { p.Lost += len(rows); p.Candidates = int(candidates.Load()) })
			return rows
		},
		gate: scanned,
		prune: func(objs []awsclient.Object) []awsclient.Object {
			out := objs[:0]
			for _, o := range objs {
				if eligible(o) && !isKnown(o.RequestID) {
					out = append(out, o)
				}
			}
			return out
		},
	}, opts.arrive(ctx, lim.emit))
	if scanned != nil && scanned.isOpen() && scanned.err != nil {
		return scanned.err // the listing saw only the cancellation
	}
	return lim.result(err)
}

// choosePlan compares the DynamoDB calls of the two plans (see Lost). Looking up costs
// about candidates/100 BatchGetItem calls; scanning costs about tableBytes/1MiB Scan calls.
// Candidates are unknown before the listing, but every processed request has an item, so
// the table's item count stands in for them. Scanning therefore wins when items average
// under 10 KiB, which is typical for status tables, except:
//   - when the listing is narrowed (--since, --prefix): only a slice of the bucket is
//     candidate, while a scan still reads the whole table;
//   - when the table has more than MaxScanItems items (memory);
//   - when the table's size is unknown (no Describe permission, or no scanner).
func choosePlan(ctx context.Context, src Source, opts Options) Plan {
	if src.Scanner == nil || src.Size == nil || !opts.Since.IsZero() || opts.Prefix != "" && ResolvePrefix(src.Prefix, opts.Prefix) != src.Prefix {
		return PlanBatchGet
	}
	size, err := src.Size(ctx)
	if err != nil || size.Items <= 0 || size.Items > MaxScanItems {
		return PlanBatchGet
	}
	bytes := size.Bytes
	if bytes <= 0 {
		bytes = size.Items * assumedItemBytes
	}
	scanCalls := bytes/scanPageBytes + 1
	lookupCalls := size.Items/batchGetSize + 1
	if scanCalls < lookupCalls {
		return PlanScan
	}
	return PlanBatchGet
}
