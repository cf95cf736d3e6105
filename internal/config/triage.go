package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
)

// The triage settings: failure classes (status.permanent_errors, status.transient_errors)
// and the TUI's auto-refresh (refresh, read_budget). Owned by the triage work (#14).

// problemf reports a problem with a field of an environment (field relative to it).
type problemf func(field, format string, args ...any)

// Defaults and bounds of the triage settings.
const (
	// DefaultRefresh is how often the TUI re-reads statuses on its own, as k9s does.
	DefaultRefresh = 5 * time.Second
	// MinRefresh and MaxRefresh bound refresh: faster than a second only spends reads;
	// slower than an hour is not "live" (ctrl+r turns it off instead).
	MinRefresh = time.Second
	MaxRefresh = time.Hour
	// DefaultReadBudget is the most status items per second the auto-refresh reads: 10
	// items of at most 4 KB, read eventually consistent, cost 5 read capacity units per
	// second, the smallest provisioned table's whole capacity, and cover 50 rows every 5 s.
	DefaultReadBudget = 10.0
	// MaxReadBudget bounds read_budget (a typo of a few zeros should not drain a table).
	MaxReadBudget = 10000.0
)

// CompileErrorPattern compiles one status.permanent_errors or status.transient_errors
// pattern as it is matched: a Go regular expression, case-insensitive. It is the one
// home of that rule (internal/failclass uses it).
func CompileErrorPattern(p string) (*regexp.Regexp, error) {
	return regexp.Compile("(?i)" + p)
}

// checkTriage validates status.permanent_errors, status.transient_errors, refresh and
// read_budget.
func checkTriage(e *Env, errf, warnf problemf) {
	for _, l := range []struct {
		field    string
		patterns []string
	}{
		{"status.permanent_errors", e.Status.PermanentErrors},
		{"status.transient_errors", e.Status.TransientErrors},
	} {
		for i, p := range l.patterns {
			// Named by number on the list's own line: list items have no line of their own.
			re, err := CompileErrorPattern(p)
			switch {
			case p == "":
				errf(l.field, "pattern %d is empty; it would match every failure", i+1)
			case err != nil:
				errf(l.field, "pattern %d %s is not a regular expression: %s", i+1, quote(p), regexpReason(err))
			case re.MatchString(""):
				errf(l.field, "pattern %d %s matches an empty message, so every failure; expected words of the errors it means, e.g. %s",
					i+1, quote(p), quote("syntax error|malformed"))
			default:
				if msg, kind := crossMatch(re, l.field == "status.permanent_errors"); msg != "" {
					warnf(l.field, "pattern %d %s also matches %s, a typical %s failure: configured patterns come before the defaults, so it would be counted %s; expected words only its errors hold",
						i+1, quote(p), quote(msg), kind, map[bool]string{true: "permanent (and left out by --skip-permanent)", false: "transient (and redriven again and again)"}[l.field == "status.permanent_errors"])
				}
			}
		}
	}
	if d := e.Refresh.Duration; d < MinRefresh || d > MaxRefresh {
		errf("refresh", "%s is out of range; expected a duration from %s to %s, e.g. %s (how often the TUI re-reads statuses; ctrl+r turns it off)",
			quote(FormatDuration(d)), FormatDuration(MinRefresh), FormatDuration(MaxRefresh), FormatDuration(DefaultRefresh))
	}
	if b := e.ReadBudget; math.IsNaN(b) || !(b > 0) || b > MaxReadBudget {
		errf("read_budget", "%s is out of range; expected status reads per second greater than 0 and at most %g, e.g. %g",
			quote(strconv.FormatFloat(b, 'g', -1, 64)), MaxReadBudget, DefaultReadBudget)
	}
}

// regexpReason is the part of a regexp error after "error parsing regexp: ".
func regexpReason(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("%s in %s", se.Code, quote(strings.TrimPrefix(se.Expr, "(?i)")))
	}
	return err.Error()
}

// defaultTriage fills the triage settings the file left empty. The pattern lists have no
// defaults here: internal/failclass applies its documented defaults after them.
func defaultTriage(e *Env, explicit func(field string) bool) {
	if e.Refresh.Duration == 0 && !explicit("refresh") {
		e.Refresh.Duration = DefaultRefresh
	}
	if e.ReadBudget == 0 && !explicit("read_budget") {
		e.ReadBudget = DefaultReadBudget
	}
}

// Typical messages of each kind, which a configured pattern of the other kind should not
// match: "error" as a permanent pattern would take every 5xx for permanent.
var (
	typicalTransient = []string{
		"503 Service Unavailable",
		"context deadline exceeded",
		"ThrottlingException: Rate exceeded",
		"dial tcp 10.0.0.1:443: connect: connection refused",
		"500 Internal Server Error",
	}
	typicalPermanent = []string{
		"XML syntax error on line 3: unexpected EOF",
		"invalid character 'x' looking for beginning of value",
		"validation failed: sku is required",
	}
)

// crossMatch returns a typical message of the other kind that re matches, and that kind.
func crossMatch(re *regexp.Regexp, permanent bool) (string, string) {
	msgs, kind := typicalPermanent, "permanent"
	if permanent {
		msgs, kind = typicalTransient, "transient"
	}
	for _, m := range msgs {
		if re.MatchString(m) {
			return m, kind
		}
	}
	return "", ""
}
