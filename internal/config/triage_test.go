package config

import (
	"strings"
	"testing"
	"time"
)

func TestTriageDefaults(t *testing.T) {
	e := mustParse(t, minimal).Environments["prod"]
	if e.Refresh.Duration != 5*time.Second {
		t.Errorf("refresh = %v, want 5s", e.Refresh.Duration)
	}
	if e.ReadBudget != DefaultReadBudget {
		t.Errorf("read_budget = %v, want %v", e.ReadBudget, DefaultReadBudget)
	}
	if e.Status.PermanentErrors != nil || e.Status.TransientErrors != nil {
		t.Errorf("pattern lists default to none (failclass adds its own after them)")
	}
	mem := &Env{}
	mem.ApplyDefaults()
	if mem.Refresh.Duration != DefaultRefresh || mem.ReadBudget != DefaultReadBudget {
		t.Errorf("ApplyDefaults: refresh %v, read_budget %v", mem.Refresh.Duration, mem.ReadBudget)
	}
}

func TestTriageConfigured(t *testing.T) {
	f := mustParse(t, minimal+`      permanent_errors: ["account closed", 'unknown sku \d+']
      transient_errors:
        - lock held
    refresh: 30s
    read_budget: 2.5
`)
	e := f.Environments["prod"]
	if got := strings.Join(e.Status.PermanentErrors, "|"); got != `account closed|unknown sku \d+` {
		t.Errorf("permanent_errors = %q", got)
	}
	if e.Refresh.Duration != 30*time.Second || e.ReadBudget != 2.5 {
		t.Errorf("refresh %v, read_budget %v", e.Refresh.Duration, e.ReadBudget)
	}
	re, err := CompileErrorPattern("ACCOUNT closed")
	if err != nil || !re.MatchString("Account Closed since 2020") {
		t.Errorf("patterns are case-insensitive: %v", err)
	}
}

func TestTriageValidation(t *testing.T) {
	cases := []struct {
		name, yaml, field, msg string
		line                   int
	}{
		{"invalid regexp names it", minimal + `      transient_errors:
        - timeout
        - "(unclosed"
`, "status.transient_errors", `pattern 2 "(unclosed" is not a regular expression: missing closing ) in "(unclosed"`, 7},
		{"empty pattern", minimal + `      permanent_errors: [""]
`, "status.permanent_errors", "pattern 1 is empty; it would match every failure", 7},
		{"pattern matching everything", minimal + `      permanent_errors: ["x", ".*"]
`, "status.permanent_errors", `pattern 2 ".*" matches an empty message, so every failure`, 7},
		{"refresh too fast", minimal + `    refresh: 100ms
`, "refresh", `"100ms" is out of range; expected a duration from 1s to 1h, e.g. 5s`, 7},
		{"refresh zero", minimal + `    refresh: 0
`, "refresh", `"0s" is out of range`, 7},
		{"refresh too slow", minimal + `    refresh: 2h
`, "refresh", "out of range", 7},
		{"read budget zero", minimal + `    read_budget: 0
`, "read_budget", `"0" is out of range; expected status reads per second greater than 0 and at most 10000, e.g. 10`, 7},
		{"read budget negative", minimal + `    read_budget: -1
`, "read_budget", "out of range", 7},
		{"read budget huge", minimal + `    read_budget: 1e9
`, "read_budget", "out of range", 7},
		{"read budget not a number", minimal + `    read_budget: .nan
`, "read_budget", "out of range", 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := mustParse(t, c.yaml).Validate()
			var found bool
			for _, p := range ps {
				if p.Field == "environments.prod."+c.field && strings.Contains(p.Message, c.msg) {
					found = true
					if p.Line != c.line || p.Warning {
						t.Errorf("problem %v: line %d (want %d), warning %v", p, p.Line, c.line, p.Warning)
					}
				}
			}
			if !found {
				t.Fatalf("problems %v, want one on %s containing %q", ps, c.field, c.msg)
			}
		})
	}
}

// A pattern that also takes the other kind's typical failures is warned about: "error" as
// a permanent pattern counts every 500 Internal Server Error permanent, and
// --skip-permanent would leave out requests a redrive fixes.
func TestTriagePatternOfTheWrongKindWarns(t *testing.T) {
	for _, c := range []struct{ yaml, field, msg string }{
		{minimal + `      permanent_errors: ["error"]
`, "status.permanent_errors", `pattern 1 "error" also matches "500 Internal Server Error", a typical transient failure`},
		{minimal + `      transient_errors: ["unexpected|retry"]
`, "status.transient_errors", `pattern 1 "unexpected|retry" also matches "XML syntax error on line 3: unexpected EOF", a typical permanent failure`},
	} {
		var found bool
		for _, p := range mustParse(t, c.yaml).Validate() {
			if p.Field == "environments.prod."+c.field && strings.Contains(p.Message, c.msg) {
				found = true
				if !p.Warning {
					t.Errorf("%v is an error, want a warning", p)
				}
			}
		}
		if !found {
			t.Fatalf("no warning on %s containing %q", c.field, c.msg)
		}
	}
	// Patterns of their own kind are quiet.
	for _, p := range mustParse(t, minimal+`      permanent_errors: ["ACCOUNT closed"]
      transient_errors: ["upstream busy"]
`).Validate() {
		if strings.HasPrefix(p.Field, "environments.prod.status.") {
			t.Fatalf("problem %v", p)
		}
	}
}
