package redrive

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// PlanDeps are what planning reads; planning never writes. The Source is the
// environment's inventory source (inventory.NewSource), so that --status, --since and
// --lost mean here exactly what they mean for stowage ls and stowage lost.
type PlanDeps struct {
	Source inventory.Source
}

// PlanOptions say how the manifest will run and how to resolve a selection.
type PlanOptions struct {
	Env        string
	Production bool
	Mode       Mode
	Bucket     string
	// GatewayURL (base, no trailing slash) and Route name the target of gateway modes.
	GatewayURL string
	Route      awsclient.Route
	// Event is the event modes' target (EventSpecFor); nil for the other modes.
	Event *EventSpec
	// Rate is requests per second (0 = unlimited); Concurrency the cap on requests in
	// flight (DefaultConcurrency when 0).
	Rate        float64
	Concurrency int
	// SuccessStates mean "done" (status.terminal_states).
	SuccessStates []string
	// LostAfter is how old an object with no status item must be to count as LOST.
	LostAfter time.Duration
	// RunID names the run; a new UUID when "".
	RunID string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// HeadConcurrency caps parallel HEADs of explicitly named IDs (8 when 0).
	HeadConcurrency int
}

// DefaultConcurrency is the default cap on requests in flight.
const DefaultConcurrency = 4

// Plan resolves a selection once into a frozen manifest: every object is described (size,
// ETag, time) and its status read, so the run sends exactly what the operator confirmed.
// A listing, Query or Scan describes the objects it returns: only explicitly named IDs
// are HEADed. IDs with no stored object are listed in Missing. Plan writes nothing.
func Plan(ctx context.Context, deps PlanDeps, sel Selection, opts PlanOptions) (*Manifest, error) {
	if err := opts.check(sel); err != nil {
		return nil, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	keyFor := deps.Source.Key
	if keyFor == nil {
		keyFor = func(id string) string { return id }
	}
	m := &Manifest{
		Version: ManifestVersion, RunID: opts.RunID, Env: opts.Env, Production: opts.Production,
		Mode: opts.Mode, Bucket: opts.Bucket, Rate: opts.Rate, Concurrency: opts.Concurrency,
		SuccessStates: append([]string{}, opts.SuccessStates...), Selection: sel,
		PlannedAt: now().UTC(), Items: []Item{},
	}
	if m.RunID == "" {
		m.RunID = uuid.NewString()
	}
	if m.Concurrency <= 0 {
		m.Concurrency = DefaultConcurrency
	}
	if opts.Mode.UsesGateway() {
		m.Target = Target{Method: opts.Route.Method, URL: redactURL(opts.GatewayURL) + opts.Route.Path, Path: opts.Route.Path}
	} else if opts.Mode.IsEvent() {
		m.Target, m.Event = opts.Event.Target(opts.Mode), opts.Event
	} else {
		m.Target = Target{Method: "CopyObject", URL: "s3://" + opts.Bucket}
	}
	p := planner{deps: deps, opts: opts, m: m, keyFor: keyFor, seen: map[string]bool{}, now: now()}

	if len(sel.IDs) > 0 {
		if err := p.addIDs(ctx, sel.IDs); err != nil {
			return nil, err
		}
	}
	if sel.Status != "" {
		if err := p.addStatus(ctx, sel.Status, sel.Since); err != nil {
			return nil, err
		}
	}
	if sel.Lost {
		if err := p.addLost(ctx, sel.Since); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (o PlanOptions) check(sel Selection) error {
	if sel.Empty() {
		return errors.New("nothing selected: give request IDs, --from-file, --status or --lost")
	}
	switch o.Mode {
	case ModeReupload, ModeInplace:
		if o.GatewayURL == "" {
			return fmt.Errorf("mode %s needs the gateway URL: set gateway.url for environment %q, or use --mode s3-copy", o.Mode, o.Env)
		}
		if o.Route.Method == "" || o.Route.Path == "" {
			return fmt.Errorf("mode %s has no route: set gateway.routes.%s for environment %q", o.Mode, o.Mode, o.Env)
		}
	case ModeS3Copy:
	case ModeSQS, ModeLambda, ModeEventBridge:
		if o.Event == nil {
			return fmt.Errorf("mode %s has no target: set the events section of environment %q", o.Mode, o.Env)
		}
	default:
		return fmt.Errorf("unknown mode %q", o.Mode)
	}
	if o.Bucket == "" {
		return fmt.Errorf("environment %q has no storage.bucket", o.Env)
	}
	if o.Rate < 0 {
		return fmt.Errorf("rate %g is negative; give requests per second, or 0 for unlimited", o.Rate)
	}
	if sel.Lost && o.LostAfter <= 0 {
		return errors.New("--lost needs status.lost_after greater than zero")
	}
	return nil
}

type planner struct {
	deps   PlanDeps
	opts   PlanOptions
	m      *Manifest
	keyFor func(string) string
	seen   map[string]bool // request IDs already in the manifest or Missing
	now    time.Time
}

func (p *planner) headConcurrency() int {
	if p.opts.HeadConcurrency > 0 {
		return p.opts.HeadConcurrency
	}
	return 8
}

// A plan needs every row before the operator confirms, so the whole selection's latency
// is what to cut (not the first row's): the listing is sharded, and the joins (BatchGets,
// and the HEADs inventory makes for a status listing's first rows) run twice as wide as
// ls's default.
const (
	planListParallel    = 16
	planListConcurrency = 2 * inventory.DefaultConcurrency
)

func (p *planner) listOptions(o inventory.Options) inventory.Options {
	o.Parallel = planListParallel
	o.Concurrency = max(p.headConcurrency(), planListConcurrency)
	return o
}

// addIDs adds explicitly named requests, reading their statuses in one batch.
func (p *planner) addIDs(ctx context.Context, ids []string) error {
	var fresh []string
	for _, id := range ids {
		// Taken as given: parsers trim what they read, and a key given with --key may
		// begin or end with spaces that are part of it.
		if id == "" || p.seen[id] {
			continue
		}
		p.seen[id] = true
		fresh = append(fresh, id)
	}
	if len(fresh) == 0 {
		return nil
	}
	snaps, err := p.snapshots(ctx, fresh)
	if err != nil {
		return err
	}
	return p.addHeaded(ctx, fresh, snaps)
}

// snapshots reads the status items of ids in batches, as a run's re-check reads them:
// the snapshot a run compares with before each send.
func (p *planner) snapshots(ctx context.Context, ids []string) (map[string]*StatusRead, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	statuses, err := p.deps.Source.Statuses.BatchGet(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("plan: read statuses: %w", err)
	}
	out := make(map[string]*StatusRead, len(ids))
	for _, id := range ids {
		read := &StatusRead{}
		if st, ok := statuses[id]; ok {
			// Error stays in memory (not in the manifest's JSON): the plan's permanence.
			read = &StatusRead{Found: true, State: st.State, Attempts: st.Attempts, UpdatedAt: st.UpdatedAt.UTC(), Error: st.Error}
		}
		out[id] = read
	}
	return out, nil
}

// addStatus adds every request whose status item is in state (updated since since).
func (p *planner) addStatus(ctx context.Context, state string, since time.Time) error {
	var ids []string
	var objs []awsclient.Object
	err := inventory.List(ctx, p.deps.Source, p.listOptions(inventory.Options{Status: state, Since: since}), func(rows []inventory.Row) error {
		for _, r := range rows {
			id := r.ID()
			if id == "" || p.seen[id] {
				continue
			}
			p.seen[id] = true
			if r.NoObject {
				p.m.Missing = append(p.m.Missing, id)
				continue
			}
			ids, objs = append(ids, id), append(objs, r.Object)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("plan: list requests in state %s: %w", state, err)
	}
	// The listing may come from an index that projects only some attributes: the
	// snapshot is read whole, as the run will read it.
	snaps, err := p.snapshots(ctx, ids)
	if err != nil {
		return err
	}
	return p.addListed(ctx, ids, objs, snaps)
}

// addLost adds every stored request older than lost_after (and stored since since) that
// has no status item.
func (p *planner) addLost(ctx context.Context, since time.Time) error {
	var ids []string
	var objs []awsclient.Object
	opts := inventory.LostOptions{Options: p.listOptions(inventory.Options{Since: since}), OlderThan: p.opts.LostAfter, Now: p.now}
	err := inventory.Lost(ctx, p.deps.Source, opts, func(rows []inventory.Row) error {
		for _, r := range rows {
			id := r.ID()
			if id == "" || p.seen[id] || p.keyFor(id) != r.Object.Key {
				// An object whose key does not map back to its ID is not a stored request.
				continue
			}
			p.seen[id] = true
			ids, objs = append(ids, id), append(objs, r.Object)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("plan: find lost requests: %w", err)
	}
	snaps := make(map[string]*StatusRead, len(ids))
	for _, id := range ids {
		snaps[id] = &StatusRead{} // lost: no status item
	}
	return p.addListed(ctx, ids, objs, snaps)
}

// described reports whether a listed object says enough to send it: a run pins the GET
// to the ETag (If-Match), so a change after planning ends the item unsent, and takes the
// content headers from that GET.
func (p *planner) described(id string, o awsclient.Object) bool {
	return o.Key == p.keyFor(id) && o.ETag != "" && !o.LastModified.IsZero()
}

// addListed adds requests whose objects a listing, Query or Scan already described,
// without a HEAD each; only the objects it did not describe are HEADed.
func (p *planner) addListed(ctx context.Context, ids []string, objs []awsclient.Object, snaps map[string]*StatusRead) error {
	var head []string
	for i, id := range ids {
		if !p.described(id, objs[i]) {
			head = append(head, id)
		}
	}
	headed := map[string]awsclient.Object{}
	if len(head) > 0 {
		var err error
		if headed, err = p.headAll(ctx, head); err != nil {
			return err
		}
	}
	for i, id := range ids {
		o := objs[i]
		if !p.described(id, o) {
			var ok bool
			if o, ok = headed[id]; !ok {
				p.m.Missing = append(p.m.Missing, id)
				continue
			}
		}
		p.addItem(id, o, snaps[id])
	}
	return nil
}

func (p *planner) addItem(id string, o awsclient.Object, snap *StatusRead) {
	p.m.Items = append(p.m.Items, Item{
		RequestID: id, Key: p.keyFor(id), Size: o.Size, ETag: o.ETag, VersionID: o.VersionID,
		ContentType: o.ContentType, ContentEncoding: o.ContentEncoding,
		LastModified: o.LastModified.UTC(), Status: snap.State, Planned: snap,
	})
}

// addHeaded HEADs the objects of ids (explicitly named: nothing listed them) and adds
// them in order, with their status snapshots; IDs with no object go to Missing.
func (p *planner) addHeaded(ctx context.Context, ids []string, snaps map[string]*StatusRead) error {
	headed, err := p.headAll(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		o, ok := headed[id]
		if !ok {
			p.m.Missing = append(p.m.Missing, id)
			continue
		}
		p.addItem(id, o, snaps[id])
	}
	return nil
}

// headAll HEADs the objects of ids, headConcurrency at a time; an ID with no object is
// absent from the result. Any other failure stops planning.
func (p *planner) headAll(ctx context.Context, ids []string) (map[string]awsclient.Object, error) {
	type result struct {
		obj awsclient.Object
		err error
	}
	results := make([]result, len(ids))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, p.headConcurrency())
	var wg sync.WaitGroup
	for i, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i].err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			obj, err := p.deps.Source.Objects.Head(ctx, p.keyFor(id))
			results[i] = result{obj, err}
			if err != nil && awsclient.KindOf(err) != awsclient.KindNotFound {
				cancel() // one real failure stops the rest
			}
		}()
	}
	wg.Wait()
	// Report the first real failure, not the cancellations it caused.
	for i, r := range results {
		if r.err != nil && awsclient.KindOf(r.err) != awsclient.KindNotFound && !errors.Is(r.err, context.Canceled) {
			return nil, fmt.Errorf("plan: describe request %s: %w", ids[i], r.err)
		}
	}
	out := make(map[string]awsclient.Object, len(ids))
	for i, r := range results {
		switch {
		case r.err == nil:
			out[ids[i]] = r.obj
		case awsclient.KindOf(r.err) != awsclient.KindNotFound:
			return nil, fmt.Errorf("plan: describe request %s: %w", ids[i], r.err)
		}
	}
	return out, nil
}

// redactURL drops user info and a query from a URL: the manifest goes to the journal and
// the audit log, which must never hold a secret.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable gateway URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return strings.TrimRight(u.String(), "/")
}
