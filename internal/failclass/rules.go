package failclass

import (
	"fmt"
	"regexp"
	"sync"

	"github.com/stowage-cli/stowage/internal/config"
)

// Kind says whether a redrive can fix a failure.
type Kind string

const (
	// Permanent failures fail again when redriven unchanged (a payload that does not parse).
	Permanent Kind = "permanent"
	// Transient failures came from the moment (a timeout, throttling, a 5xx, an outage).
	Transient Kind = "transient"
	// Unknown matches no pattern.
	Unknown Kind = "unknown"
)

// DefaultPermanentErrors and DefaultTransientErrors are the documented defaults, matched
// case-insensitively against an error message after the configured patterns: parse,
// validation and schema errors (and unsupported formats, empty payloads) are permanent;
// timeouts, throttling, 5xx and "unavailable" are transient.
var (
	DefaultPermanentErrors = []string{
		`pars(e|ing) error|failed to parse|cannot parse|could not parse|unable to parse`,
		`syntax error|malformed|invalid (json|xml|payload|body|character|input|value|format|request)`,
		`validation (error|failed)|failed validation|validationexception|is required|missing required`,
		`schema`,
		`cannot unmarshal|unmarshal(l)?ing|json: unknown field`,
		`unsupported (content|media|type|format|version|encoding|charset)|empty (payload|body|request)`,
	}
	DefaultTransientErrors = []string{
		`time(d)? ?out|deadline exceeded`,
		`throttl|rate exceeded|too many requests|slow ?down|provisionedthroughputexceeded|requestlimitexceeded`,
		`\b5[0-9][0-9] (internal|bad gateway|service|gateway|server)|(status|code|http)[ :=]*5[0-9][0-9]\b`,
		`internal server error|bad gateway|gateway timeout|unavailable`,
		`connection (refused|reset)|broken pipe|temporar(y|ily)|try again`,
	}
)

// Rules tell permanent from transient failures. The zero value matches nothing.
type Rules struct {
	// tiers are checked in order; within a tier transient wins over permanent, because a
	// transient failure taken for permanent is left out of a redrive that would have
	// fixed it, while the other mistake costs one more failed attempt.
	tiers []tier
}

type tier struct{ transient, permanent []*regexp.Regexp }

// compile compiles patterns as config does (case-insensitive); what names the list.
func compile(what string, patterns []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for i, p := range patterns {
		re, err := config.CompileErrorPattern(p)
		if err != nil {
			return nil, fmt.Errorf("%s[%d] %q: %w", what, i, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// defaultRules are compiled on first use, not at package init: every stowage command
// paid for them before its first request (#13).
var defaultRules = sync.OnceValue(func() *Rules {
	t, err := compile("transient defaults", DefaultTransientErrors)
	if err != nil {
		panic(err)
	}
	p, err := compile("permanent defaults", DefaultPermanentErrors)
	if err != nil {
		panic(err)
	}
	return &Rules{tiers: []tier{{transient: t, permanent: p}}}
})

// DefaultRules are the documented defaults only.
func DefaultRules() *Rules { return defaultRules() }

// RulesFor returns the environment's rules: its status.transient_errors and
// status.permanent_errors first, then the defaults. env may be nil.
func RulesFor(env *config.Env) (*Rules, error) {
	if env == nil || (len(env.Status.PermanentErrors) == 0 && len(env.Status.TransientErrors) == 0) {
		return defaultRules(), nil
	}
	t, err := compile("status.transient_errors", env.Status.TransientErrors)
	if err != nil {
		return nil, err
	}
	p, err := compile("status.permanent_errors", env.Status.PermanentErrors)
	if err != nil {
		return nil, err
	}
	return &Rules{tiers: append([]tier{{transient: t, permanent: p}}, defaultRules().tiers...)}, nil
}

// Kind classifies one error message.
func (r *Rules) Kind(msg string) Kind {
	if r == nil || msg == "" {
		return Unknown
	}
	for _, t := range r.tiers {
		for _, re := range t.transient {
			if re.MatchString(msg) {
				return Transient
			}
		}
		for _, re := range t.permanent {
			if re.MatchString(msg) {
				return Permanent
			}
		}
	}
	return Unknown
}
