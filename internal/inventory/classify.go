package inventory

import (
	"slices"
	"strings"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

// Class is what a processing state means to an operator. It is the one definition the
// TUI's colours, counts and status sort use (and the CLI is to use), so that a state
// never reads as a failure in one place and as pending in another.
type Class int

const (
	// ClassNone: no status item, and not old enough to be LOST (or nothing known yet).
	ClassNone Class = iota
	// ClassPending: a status item in a state that is neither done nor a failure
	// (RECEIVED, PROCESSING, RETRYING): the processor still has the request.
	ClassPending
	// ClassDone: one of status.terminal_states.
	ClassDone
	// ClassFailed: a state that names a failure (see IsFailureState).
	ClassFailed
	// ClassLost: stored more than status.lost_after ago with no status item.
	ClassLost
)

func (c Class) String() string {
	switch c {
	case ClassPending:
		return "pending"
	case ClassDone:
		return "done"
	case ClassFailed:
		return "failed"
	case ClassLost:
		return "lost"
	}
	return "none"
}

// Severity orders classes for "worst first": LOST and FAILED need the operator, a
// pending request may still finish, a done one needs nothing.
func (c Class) Severity() int {
	switch c {
	case ClassDone:
		return 0
	case ClassNone:
		return 1
	case ClassPending:
		return 2
	case ClassLost:
		return 3
	case ClassFailed:
		return 4
	}
	return 1
}

// failureWords are the words by which a processor's state says the request failed. The
// config names only the states that mean done (status.terminal_states); it has no list of
// failure states, so a non-terminal state is a failure when one of its words is one of
// these: FAILED, PARSE_ERROR, DEAD_LETTERED, "Failure" are failures; PROCESSING, RECEIVED
// and RETRYING are pending. Whole words, not substrings: FAILOVER_WAIT is pending.
var failureWords = map[string]bool{
	"FAIL": true, "FAILED": true, "FAILURE": true, "ERROR": true, "ERRORED": true,
	"DEAD": true, "DLQ": true, "REJECTED": true,
}

// IsFailureState reports whether a state, by its words, names a failure. It does not
// know the terminal states: Classify puts them first, so a state listed in
// status.terminal_states is done even if its name says ERROR.
func IsFailureState(state string) bool {
	for _, w := range strings.FieldsFunc(strings.ToUpper(state), func(r rune) bool {
		return (r < 'A' || r > 'Z') && (r < '0' || r > '9')
	}) {
		if failureWords[w] {
			return true
		}
	}
	return false
}

// Classify says what a state read from the status table means in env: "" is no item
// yet, "LOST" (StateLost) is LOST, a state in status.terminal_states is done, a state that
// names a failure is failed, any other is pending. env may be nil (no terminal states).
func Classify(state string, env *config.Env) Class {
	switch {
	case state == "":
		return ClassNone
	case state == StateLost:
		return ClassLost
	case env != nil && env.IsTerminal(state):
		return ClassDone
	case IsFailureState(state):
		return ClassFailed
	}
	return ClassPending
}

// LostAfter is env's status.lost_after, or the config's default when env is nil or the
// value is unset.
func LostAfter(env *config.Env) time.Duration {
	if env == nil || env.Status.LostAfter.Duration <= 0 {
		return config.DefaultLostAfter
	}
	return env.Status.LostAfter.Duration
}

// ClassifyObject classifies a stored request: by its status item when it has one (st
// non-nil), else LOST when IsLost says so, else none.
func ClassifyObject(o awsclient.Object, st *awsclient.Status, env *config.Env, now time.Time) Class {
	if st != nil {
		if st.State == "" {
			return ClassPending // an item with no state: the processor wrote something
		}
		return Classify(st.State, env)
	}
	if IsLost(o, LostAfter(env), now) {
		return ClassLost
	}
	return ClassNone
}

// classifierStates are the states Classify names by their words, in the order a
// suggestion prefers them (FAILED before FAIL, which is rarely a whole state).
var classifierStates = []string{"FAILED", StateLost, "ERROR", "FAILURE", "ERRORED", "REJECTED", "DEAD", "DLQ", "FAIL"}

// SuggestState is the known state nearest to a state that matched nothing ("FAILD" →
// "FAILED", "failed" → "FAILED"), or "" when none is near. Known states are, in order of
// preference on a tie, those seen in the table, env's status.terminal_states and the
// states Classify knows by their words. A state that is itself known gets no suggestion:
// nothing matched for another reason (--since, --prefix).
func SuggestState(state string, env *config.Env, seen []string) string {
	var known []string
	known = append(known, seen...)
	if env != nil {
		known = append(known, env.Status.TerminalStates...)
	}
	known = append(known, classifierStates...)
	if slices.Contains(known, state) {
		return ""
	}
	want := []rune(strings.ToUpper(state))
	if len(want) > 128 {
		return "" // no state is that long; the distance would cost len² for nothing
	}
	best, bestDist := "", max(1, len(want)/3)+1
	for _, k := range known {
		if k == state || k == "" {
			continue
		}
		if d := editDistance(want, []rune(strings.ToUpper(k))); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b: Levenshtein's, with
// a swap of two neighbours (LSOT for LOST) as one edit, the commonest typo.
func editDistance(a, b []rune) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
