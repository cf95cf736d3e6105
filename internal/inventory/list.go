package inventory

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/stowage-cli/stowage/awsclient"
)

// errLimit stops a listing once Limit rows were written; it never reaches the caller.
var errLimit = errors.New("inventory: limit reached")

// List streams the requests selected by opts to fn, a few rows at a time, in key order
// (with opts.Status: in the status table's order, newest first through the index). fn is
// called from the caller's goroutine only; its error stops the listing and is returned.
func List(ctx context.Context, src Source, opts Options, fn func([]Row) error) error {
	opts = opts.withDefaults()
	if opts.Status != "" {
		return listByStatus(ctx, src, opts, fn)
	}
	lim := newLimiter(opts.Limit, fn)
	err := joinListing(ctx, src, opts, join{candidate: opts.keep}, opts.arrive(ctx, lim.emit))
	return lim.result(err)
}

// limiter cuts the output at Limit rows.
type limiter struct {
	left int // -1: no limit
	fn   func([]Row) error
}

func newLimiter(limit int, fn func([]Row) error) *limiter {
	if limit <= 0 {
		limit = -1
	}
	return &limiter{left: limit, fn: fn}
}

func (l *limiter) emit(rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	if l.left >= 0 && len(rows) >= l.left {
		rows = rows[:l.left]
		l.left = 0
		if len(rows) > 0 {
			if err := l.fn(rows); err != nil {
				return err
			}
		}
		return errLimit
	}
	if l.left > 0 {
		l.left -= len(rows)
	}
	return l.fn(rows)
}

func (l *limiter) result(err error) error {
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// lookup is one BatchGet of up to 100 rows, in flight while the listing goes on.
type lookup struct {
	rows []Row
	done chan struct{}
	err  error
}

// join says which listed objects to look up and which looked-up rows to keep.
type join struct {
	// candidate selects the objects whose status items are looked up; the others are
	// dropped. It runs on the listing goroutine.
	candidate func(awsclient.Object) bool
	// filter (optional) keeps some of the looked-up rows; it runs on the caller's goroutine.
	filter func([]Row) []Row
	// listed (optional) is told each listed page; it runs on the listing goroutine.
	listed func([]awsclient.Object)
	// gate (optional) holds the listed pages back until it opens, so that the listing
	// runs while something candidate depends on is still being read (Lost's table scan).
	// Meanwhile each page is cut to what prune keeps, and held.
	gate *gate
	// prune (optional, with gate) keeps the objects of a held page that may still be
	// candidates; it runs on the listing goroutine.
	prune func([]awsclient.Object) []awsclient.Object
}

// gate is closed once what it guards is ready; err (set before done closes) is why it
// never will be.
type gate struct {
	done chan struct{}
	err  error
}

func newGate() *gate { return &gate{done: make(chan struct{})} }

func (g *gate) open(err error) {
	g.err = err
	close(g.done)
}

func (g *gate) isOpen() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// joinListing lists the bucket, keeps the objects j.candidate accepts, looks their status
// items up with BatchGet (opts.Concurrency calls in flight, queued behind the listing so
// that S3 never waits for DynamoDB unless the queue is full), passes each looked-up
// chunk through j.filter and hands the result to emit in key order.
func joinListing(ctx context.Context, src Source, opts Options, j join, emit func([]Row) error) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()

	// The queue holds lookups in listing order; its capacity is how far the listing may
	// run ahead of the output: the lookups in flight and a few rounds more.
	inFlight := opts.joinConcurrency()
	queue := make(chan *lookup, inFlight+4*opts.Concurrency)
	sem := make(chan struct{}, inFlight)
	var listErr error
	prefix := ResolvePrefix(src.Prefix, opts.Prefix)

	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(queue)
		process := func(objs []awsclient.Object) error {
			rows := make([]Row, 0, len(objs))
			for _, o := range objs {
				if j.candidate(o) {
					rows = append(rows, Row{Object: o})
				}
			}
			for len(rows) > 0 {
				n := min(len(rows), batchGetSize)
				l := &lookup{rows: rows[:n:n], done: make(chan struct{})}
				rows = rows[n:]
				select {
				case queue <- l:
				case <-ctx.Done():
					return ctx.Err()
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer close(l.done)
					select {
					case sem <- struct{}{}:
					case <-ctx.Done():
						l.err = ctx.Err()
						return
					}
					defer func() { <-sem }()
					l.err = attachStatuses(ctx, src.Statuses, l.rows)
				}()
			}
			return nil
		}
		var held [][]awsclient.Object // pages listed before j.gate opened
		release := func() error {
			if j.gate.err != nil {
				return j.gate.err
			}
			for len(held) > 0 {
				objs := held[0]
				held = held[1:]
				if err := process(objs); err != nil {
					return err
				}
			}
			return nil
		}
		listErr = listObjects(ctx, src.Objects, prefix, opts.Parallel, opts.PageSize, func(objs []awsclient.Object) error {
			if j.listed != nil {
				j.listed(objs)
			}
			if j.gate == nil {
				return process(objs)
			}
			if j.gate.isOpen() {
				if err := release(); err != nil {
					return err
				}
				return process(objs)
			}
			if j.prune != nil {
				// A fresh slice, so that the listing's page can be freed.
				objs = append([]awsclient.Object(nil), j.prune(objs)...)
			}
			if len(objs) > 0 {
				held = append(held, objs)
			}
			return nil
		})
		if listErr == nil && j.gate != nil {
			select {
			case <-j.gate.done:
				listErr = release()
			case <-ctx.Done():
				listErr = ctx.Err()
			}
		}
	}()

	for l := range queue {
		<-l.done
		if l.err != nil {
			return l.err
		}
		rows := l.rows
		if j.filter != nil {
			rows = j.filter(rows)
		}
		if err := emit(rows); err != nil {
			return err
		}
	}
	// queue is closed only after listObjects returned, so listErr is set.
	return listErr
}

// attachStatuses looks up the status items of rows with one BatchGet.
func attachStatuses(ctx context.Context, st Statuses, rows []Row) error {
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		if id := r.Object.RequestID; id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	found, err := st.BatchGet(ctx, ids)
	if err != nil {
		return err
	}
	for i := range rows {
		if s, ok := found[rows[i].Object.RequestID]; ok && rows[i].Object.RequestID != "" {
			rows[i].Status = &s
		}
	}
	return nil
}

// listByStatus streams the requests whose status item is in opts.Status. The first
// opts.HeadBudget matches are joined to their objects with HEAD, so the first rows come back at
// once; past that, one listing of the bucket joins the rest (a listing call covers 1000
// objects, a HEAD one).
func listByStatus(ctx context.Context, src Source, opts Options, fn func([]Row) error) error {
	lim := newLimiter(opts.Limit, fn)
	emit := opts.arrive(ctx, lim.emit)
	prefix := ResolvePrefix(src.Prefix, opts.Prefix)
	inScope := func(r Row) bool {
		if !strings.HasPrefix(r.Object.Key, prefix) {
			return false
		}
		if r.NoObject {
			// Without an object, when the status changed is the best age we have.
			return opts.Since.IsZero() || r.Status.UpdatedAt.IsZero() || !r.Status.UpdatedAt.Before(opts.Since)
		}
		return opts.keep(r.Object)
	}

	headed := 0
	var rest map[string]awsclient.Status // matches joined by the listing
	var order []string                   // rest's IDs in the table's order
	pageSize := func() int32 {
		if rest != nil {
			return bulkStatusPageSize
		}
		return statusPageSize
	}
	err := eachStatusPage(ctx, src.Statuses, opts.Status, pageSize, func(p awsclient.StatusPage) error {
		items := make([]awsclient.Status, 0, len(p.Items))
		for _, s := range p.Items {
			if s.State == opts.Status && s.RequestID != "" {
				items = append(items, s)
			}
		}
		if rest == nil && headed+len(items) <= opts.HeadBudget {
			headed += len(items)
			rows, err := headRows(ctx, src, items, opts.Concurrency)
			if err != nil {
				return err
			}
			return emit(keepRows(rows, inScope))
		}
		if rest == nil {
			rest = make(map[string]awsclient.Status)
		}
		for _, s := range items {
			if _, dup := rest[s.RequestID]; !dup {
				order = append(order, s.RequestID)
			}
			rest[s.RequestID] = s
		}
		return nil
	})
	if err != nil || rest == nil {
		return lim.result(err)
	}

	err = listObjects(ctx, src.Objects, prefix, opts.Parallel, opts.PageSize, func(objs []awsclient.Object) error {
		var rows []Row
		for _, o := range objs {
			s, ok := rest[o.RequestID]
			if !ok || o.RequestID == "" {
				continue
			}
			delete(rest, o.RequestID)
			if opts.keep(o) {
				rows = append(rows, Row{Object: o, Status: &s})
			}
		}
		return emit(rows)
	})
	if err != nil {
		return lim.result(err)
	}
	// What the listing did not find has no object (or lies outside the prefix).
	var rows []Row
	for _, id := range order {
		if s, ok := rest[id]; ok {
			rows = append(rows, Row{Object: awsclient.Object{Key: src.key(id), RequestID: id}, Status: &s, NoObject: true})
		}
	}
	return lim.result(emit(keepRows(rows, inScope)))
}

// statusPageSize is how many items a status page asks for while the first matches are
// joined with HEAD, so that they come at once; bulkStatusPageSize once the rest wait for
// the bucket listing (at 20 ms a round trip, 82k PROCESSED items in pages of 100 took 826
// round trips in series, 25 s).
const (
	statusPageSize     = 100
	bulkStatusPageSize = 1000
)

// eachStatusPage hands every page of the items in state to fn, each page asking for
// size() items.
func eachStatusPage(ctx context.Context, st Statuses, state string, size func() int32, fn func(awsclient.StatusPage) error) error {
	token := ""
	for {
		page, err := st.ListByStatus(ctx, state, token, size())
		if err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if page.NextToken == "" {
			return nil
		}
		if page.NextToken == token {
			return &awsclient.Error{Kind: awsclient.KindServer, Op: "query", Resource: "status " + state,
				Message: "the status listing did not advance", Remedy: "retry later"}
		}
		token = page.NextToken
	}
}

func keepRows(rows []Row, keep func(Row) bool) []Row {
	out := rows[:0]
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// headRows joins status items to their objects with HEAD, concurrency at a time, keeping
// the items' order. A missing object gives a NoObject row.
func headRows(ctx context.Context, src Source, items []awsclient.Status, concurrency int) ([]Row, error) {
	refs := make([]Ref, len(items))
	for i, s := range items {
		refs[i] = Ref{ID: s.RequestID, Key: src.key(s.RequestID)}
	}
	return headJoin(ctx, src.Objects, refs, func(i int) *awsclient.Status { return &items[i] }, concurrency)
}

// Ref names one request: its ID and its object key.
type Ref struct {
	ID  string
	Key string
}

// Lookup reads the status items of refs with BatchGet and their objects with HEAD
// (concurrency at a time), in refs' order. A ref whose object is missing comes back as a
// NoObject row (with its status item, if any).
func Lookup(ctx context.Context, src Source, refs []Ref, concurrency int) ([]Row, error) {
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	items, err := src.Statuses.BatchGet(ctx, ids)
	if err != nil {
		return nil, err
	}
	return headJoin(ctx, src.Objects, refs, func(i int) *awsclient.Status {
		if st, ok := items[refs[i].ID]; ok {
			return &st
		}
		return nil
	}, concurrency)
}

// headJoin HEADs every ref's key, concurrency at a time, and pairs each object with
// status(i), keeping refs' order; the first error other than a missing object wins.
func headJoin(ctx context.Context, objects Objects, refs []Ref, status func(i int) *awsclient.Status, concurrency int) ([]Row, error) {
	rows := make([]Row, len(refs))
	errs := make([]error, len(refs))
	sem := make(chan struct{}, max(1, concurrency))
	var wg sync.WaitGroup
	for i, r := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			st := status(i)
			obj, err := objects.Head(ctx, r.Key)
			switch {
			case err == nil:
				obj.RequestID = r.ID
				rows[i] = Row{Object: obj, Status: st}
			case isMissingObject(err):
				rows[i] = Row{Object: awsclient.Object{Key: r.Key, RequestID: r.ID}, Status: st, NoObject: true}
			default:
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// isMissingObject reports a HEAD or GET of a key that does not exist (as opposed to a
// missing bucket, which is a configuration problem and must not read as "no object").
func isMissingObject(err error) bool {
	var e *awsclient.Error
	if !errors.As(err, &e) || e.Kind != awsclient.KindNotFound {
		return false
	}
	return e.Code != "NoSuchBucket"
}

// IsMissingObject is isMissingObject for callers outside the package.
func IsMissingObject(err error) bool { return isMissingObject(err) }
