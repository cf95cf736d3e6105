package redrive

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/failclass"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// A delivery is not an outcome: the processor may fail the request again. After a run,
// the CLI (--wait) and the TUI read the delivered requests' statuses until each has a
// verdict (a status item written since the pre-send read, in a done or failed class) or
// the wait ends. Verdicts holds the rule; WaitVerdicts is the CLI's loop over it, and the
// TUI drives the same Verdicts from its commands.

// VerdictKind is what the processor made of a redriven request.
type VerdictKind string

const (
	VerdictProcessed VerdictKind = "processed" // a state in status.terminal_states
	VerdictFailed    VerdictKind = "failed"    // a failure state, written since the send
	VerdictNone      VerdictKind = "none"      // no new done or failed status (yet)
)

// Verdict is the processor's answer to one redriven request.
type Verdict struct {
	Kind VerdictKind `json:"kind"`
	// ReadID is whose status was read: the request, or its new ID after a reupload.
	ReadID string `json:"readId"`
	State  string `json:"status,omitempty"`
	// SameError: failed again with the error it had before the send.
	SameError bool `json:"sameError,omitempty"`
	// Error is the processor's message, kept out of reports as StatusRead.Error is.
	Error string `json:"-"`
}

// VerdictTarget is one delivered request whose verdict is awaited.
type VerdictTarget struct {
	Origin string // the redriven request
	ReadID string // whose status to read
	// Base is the status before the send; StateOnly says only its state is known (the
	// planned one), so only a change of state tells a new verdict.
	Base      StatusRead
	StateOnly bool
}

// VerdictTargets are the items of rep that may have reached the processor (delivered or
// unknown), with the status each had before the send: the report's pre-send read, else
// the state m planned (m may be nil). A reupload is read under its new ID, which had no
// item before; one without a new ID cannot be followed and is left out.
func VerdictTargets(rep *Report, m *Manifest) []VerdictTarget {
	if rep == nil {
		return nil
	}
	planned := map[string]string{}
	if m != nil {
		for _, it := range m.Items {
			planned[it.RequestID] = it.Status
		}
	}
	var out []VerdictTarget
	for _, it := range rep.Items {
		if it.State != StateDelivered && it.State != StateUnknown {
			continue
		}
		t := VerdictTarget{Origin: it.RequestID, ReadID: it.RequestID}
		switch {
		case rep.Mode == ModeReupload:
			if it.NewRequestID == "" {
				continue
			}
			t.ReadID = it.NewRequestID
			if it.PreSend != nil {
				t.Base.Error = it.PreSend.Error // the old request's error, for "same error"
			}
		case it.PreSend != nil:
			t.Base = *it.PreSend
		default:
			st := planned[it.RequestID]
			t.Base, t.StateOnly = StatusRead{Found: st != "", State: st}, true
		}
		out = append(out, t)
	}
	return out
}

// Verdicts follows a set of targets to their verdicts. It does no I/O: Pending says what
// to read, Absorb takes what was read.
type Verdicts struct {
	env     *config.Env
	targets []VerdictTarget
	byRead  map[string]int // ReadID → index
	byOrig  map[string]int // Origin → index
	got     []Verdict
	read    []awsclient.Status // the read that gave each verdict
	done    int
}

// NewVerdicts follows targets; env says which states are done (nil: none).
func NewVerdicts(targets []VerdictTarget, env *config.Env) *Verdicts {
	v := &Verdicts{env: env, targets: targets, byRead: make(map[string]int, len(targets)), byOrig: make(map[string]int, len(targets)),
		got: make([]Verdict, len(targets)), read: make([]awsclient.Status, len(targets))}
	for i, t := range targets {
		v.byRead[t.ReadID] = i
		v.byOrig[t.Origin] = i
		v.got[i] = Verdict{Kind: VerdictNone, ReadID: t.ReadID}
	}
	return v
}

// Add follows t too; a request followed already starts over with t (a later delivery).
func (v *Verdicts) Add(t VerdictTarget) {
	if i, ok := v.byRead[t.ReadID]; ok {
		if v.got[i].Kind != VerdictNone {
			v.done--
		}
		v.targets[i], v.got[i] = t, Verdict{Kind: VerdictNone, ReadID: t.ReadID}
		v.byOrig[t.Origin] = i
		return
	}
	v.byRead[t.ReadID] = len(v.targets)
	v.byOrig[t.Origin] = len(v.targets)
	v.targets = append(v.targets, t)
	v.got = append(v.got, Verdict{Kind: VerdictNone, ReadID: t.ReadID})
	v.read = append(v.read, awsclient.Status{})
}

// Merge takes the verdicts from already reached (read while the run ran) for the same
// requests, judged against v's own baselines.
func (v *Verdicts) Merge(from *Verdicts) {
	if from == nil {
		return
	}
	found := map[string]awsclient.Status{}
	var ids []string
	for i, g := range from.got {
		if g.Kind != VerdictNone {
			id := from.targets[i].ReadID
			ids = append(ids, id)
			found[id] = from.read[i]
		}
	}
	v.Absorb(ids, found)
}

// Pending is the ReadIDs still without a verdict, in order.
func (v *Verdicts) Pending() []string {
	var ids []string
	for i, t := range v.targets {
		if v.got[i].Kind == VerdictNone {
			ids = append(ids, t.ReadID)
		}
	}
	return ids
}

// Len is how many requests are followed.
func (v *Verdicts) Len() int { return len(v.targets) }

// Absorb takes a read of ids (those missing from found have no item) and returns the
// origins that got their verdict from it.
func (v *Verdicts) Absorb(ids []string, found map[string]awsclient.Status) []string {
	var decided []string
	for _, id := range ids {
		i, ok := v.byRead[id]
		if !ok || v.got[i].Kind != VerdictNone {
			continue
		}
		st, ok := found[id]
		if !ok {
			continue
		}
		if k := verdictOf(v.targets[i], st, v.env); k != VerdictNone {
			t := v.targets[i]
			v.read[i] = st
			v.got[i] = Verdict{Kind: k, ReadID: id, State: st.State, Error: st.Error,
				SameError: k == VerdictFailed && t.Base.Error != "" && st.Error == t.Base.Error}
			v.done++
			decided = append(decided, t.Origin)
		}
	}
	return decided
}

// verdictOf is the one rule: a status written since the base, in a done or failed class.
func verdictOf(t VerdictTarget, st awsclient.Status, env *config.Env) VerdictKind {
	now := StatusRead{Found: true, State: st.State, Attempts: st.Attempts, UpdatedAt: st.UpdatedAt}
	changed := t.Base.ChangedIn(&now) != ""
	if t.StateOnly {
		changed = !t.Base.Found || t.Base.State != st.State
	}
	if !changed {
		return VerdictNone
	}
	switch inventory.Classify(st.State, env) {
	case inventory.ClassDone:
		return VerdictProcessed
	case inventory.ClassFailed:
		return VerdictFailed
	}
	return VerdictNone // still with the processor
}

// Of is the verdict on origin (ok false when it is not followed).
func (v *Verdicts) Of(origin string) (Verdict, bool) {
	if i, ok := v.byOrig[origin]; ok {
		return v.got[i], true
	}
	return Verdict{}, false
}

// PendingOrigins is the requests still without a verdict, in order.
func (v *Verdicts) PendingOrigins() []string {
	var ids []string
	for i, t := range v.targets {
		if v.got[i].Kind == VerdictNone {
			ids = append(ids, t.Origin)
		}
	}
	return ids
}

// Apply sets each followed item's Verdict in rep.
func (v *Verdicts) Apply(rep *Report) {
	idx := make(map[string]int, len(v.targets))
	for i, t := range v.targets {
		idx[t.Origin] = i
	}
	for j := range rep.Items {
		if i, ok := idx[rep.Items[j].RequestID]; ok {
			vd := v.got[i]
			rep.Items[j].Verdict = &vd
		}
	}
}

// Outcome counts the verdicts.
func (v *Verdicts) Outcome() VerdictOutcome {
	o := VerdictOutcome{Delivered: len(v.targets)}
	for _, g := range v.got {
		switch g.Kind {
		case VerdictProcessed:
			o.Processed++
		case VerdictFailed:
			o.Failed++
			if g.SameError {
				o.SameError++
			}
		default:
			o.Waiting++
		}
	}
	return o
}

// VerdictOutcome is what the processor made of a run's deliveries.
type VerdictOutcome struct {
	Delivered int // followed: delivered or possibly delivered
	Processed int
	Failed    int
	SameError int // of Failed: with the error they had before
	Waiting   int // no verdict yet
}

// AllProcessed: every delivery was processed (vacuously true with none).
func (o VerdictOutcome) AllProcessed() bool { return o.Processed == o.Delivered }

// String is "56 delivered → 11 PROCESSED, 45 FAILED again (same error), 0 no verdict
// yet". processed names the done state (the first of status.terminal_states).
func (o VerdictOutcome) String() string { return o.Text("PROCESSED") }

// Text is String with the done state named.
func (o VerdictOutcome) Text(processed string) string {
	failed := fmt.Sprintf("%d FAILED again", o.Failed)
	switch {
	case o.Failed == 0:
	case o.SameError == o.Failed:
		failed += " (same error)"
	case o.SameError > 0:
		failed += fmt.Sprintf(" (%d with the same error)", o.SameError)
	}
	return fmt.Sprintf("%d delivered → %d %s, %s, %d no verdict yet", o.Delivered, o.Processed, processed, failed, o.Waiting)
}

// DoneStateName is what the outcome calls a processed request: env's first terminal
// state, PROCESSED without one.
func DoneStateName(env *config.Env) string {
	if env != nil && len(env.Status.TerminalStates) > 0 {
		return strings.ToUpper(env.Status.TerminalStates[0])
	}
	return "PROCESSED"
}

// WaitOptions bound and pace WaitVerdicts.
type WaitOptions struct {
	Env *config.Env
	// Wait is how long to wait for verdicts in all; Interval is the pause between rounds
	// (1s when 0). Each round reads the pending requests in BatchGets of at most 100.
	Wait     time.Duration
	Interval time.Duration
	// Now and Sleep are the clock (time.Now and a timer when nil): tests step them.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Progress, when set, is called after every round.
	Progress func(VerdictOutcome)
}

// verdictBatch is DynamoDB's BatchGetItem limit.
const verdictBatch = 100

// WaitVerdicts reads v's pending requests through r, a round every Interval, until each
// has a verdict, the wait ends, or ctx is done. A failed read is retried next round;
// the last one is returned with what was learnt when the wait ends without all verdicts.
func WaitVerdicts(ctx context.Context, r StatusBatchReader, v *Verdicts, o WaitOptions) (VerdictOutcome, error) {
	now, sleep := o.Now, o.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = func(ctx context.Context, d time.Duration) error {
			if !sleepCtx(ctx, d) {
				return ctx.Err()
			}
			return nil
		}
	}
	interval := o.Interval
	if interval <= 0 {
		interval = time.Second
	}
	deadline := now().Add(o.Wait)
	var lastErr error
	for {
		pending := v.Pending()
		if len(pending) == 0 {
			return v.Outcome(), nil
		}
		lastErr = nil
		for i := 0; i < len(pending); i += verdictBatch {
			part := pending[i:min(len(pending), i+verdictBatch)]
			found, err := r.BatchGet(ctx, part)
			if err != nil {
				lastErr = err
				break
			}
			v.Absorb(part, found)
		}
		if o.Progress != nil {
			o.Progress(v.Outcome())
		}
		left := deadline.Sub(now())
		if len(v.Pending()) == 0 || left <= 0 || ctx.Err() != nil {
			break
		}
		if err := sleep(ctx, min(interval, left)); err != nil {
			break
		}
	}
	out := v.Outcome()
	if lastErr != nil && out.Waiting > 0 {
		return out, fmt.Errorf("read the redriven requests' statuses: %w", lastErr)
	}
	return out, nil
}

// OutcomeClass is the verdicts on the requests of one failure class: the class of the
// error each had before the send (failclass), so the operator sees which cause a redrive
// fixed. Key "" holds the requests without a recorded error.
type OutcomeClass struct {
	Key  string
	Kind failclass.Kind
	VerdictOutcome
}

// ByClass groups the verdicts by the failure class of each request's error before the
// send, largest first (r nil: the default rules).
func (v *Verdicts) ByClass(r *failclass.Rules) []OutcomeClass {
	fs := make([]failclass.Failure, 0, len(v.targets))
	var noError []int
	for i, t := range v.targets {
		if t.Base.Error == "" {
			noError = append(noError, i)
			continue
		}
		fs = append(fs, failclass.Failure{ID: strconv.Itoa(i), Error: t.Base.Error})
	}
	count := func(idx []int) VerdictOutcome {
		o := VerdictOutcome{Delivered: len(idx)}
		for _, i := range idx {
			switch g := v.got[i]; g.Kind {
			case VerdictProcessed:
				o.Processed++
			case VerdictFailed:
				o.Failed++
				if g.SameError {
					o.SameError++
				}
			default:
				o.Waiting++
			}
		}
		return o
	}
	var out []OutcomeClass
	for _, c := range failclass.Group(fs, r, time.Time{}, time.Time{}, 0) {
		idx := make([]int, len(c.IDs))
		for j, id := range c.IDs {
			idx[j], _ = strconv.Atoi(id)
		}
		out = append(out, OutcomeClass{Key: c.Key, Kind: c.Kind, VerdictOutcome: count(idx)})
	}
	if len(noError) > 0 {
		oc := OutcomeClass{Kind: failclass.Unknown, VerdictOutcome: count(noError)}
		i := sort.Search(len(out), func(i int) bool { return out[i].Delivered < oc.Delivered })
		out = append(out[:i], append([]OutcomeClass{oc}, out[i:]...)...)
	}
	return out
}

// Text is one line of the outcome by class: "XML syntax error at line <n>, … (permanent):
// 45 delivered → 0 PROCESSED, 45 FAILED again (same error), 0 no verdict yet".
func (c OutcomeClass) Text(processed string) string {
	key := c.Key
	if key == "" {
		key = "no error recorded"
	} else {
		key = clipKey(key, 60)
	}
	return fmt.Sprintf("%s (%s): %s", key, c.Kind, c.VerdictOutcome.Text(processed))
}
