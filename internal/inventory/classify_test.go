package inventory

import (
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

func TestClassify(t *testing.T) {
	env := &config.Env{Status: config.Status{TerminalStates: []string{"PROCESSED", "SKIPPED", "ERROR_ACKNOWLEDGED"}}}
	cases := []struct {
		state string
		want  Class
	}{
		{"", ClassNone},
		{"LOST", ClassLost},
		{"PROCESSED", ClassDone},
		{"processed", ClassDone}, // terminal states compare without case, as config does
		{"SKIPPED", ClassDone},
		{"ERROR_ACKNOWLEDGED", ClassDone}, // terminal wins over a failure word
		{"FAILED", ClassFailed},
		{"Failed", ClassFailed},
		{"PARSE_ERROR", ClassFailed},
		{"DEAD_LETTERED", ClassFailed},
		{"validation-failure", ClassFailed},
		{"REJECTED", ClassFailed},
		{"PROCESSING", ClassPending},
		{"RECEIVED", ClassPending},
		{"RETRYING", ClassPending},
		{"FAILOVER_WAIT", ClassPending}, // a word, not a substring
		{"DEADLINE_SET", ClassPending},
	}
	for _, tc := range cases {
		if got := Classify(tc.state, env); got != tc.want {
			t.Errorf("Classify(%q) = %v, want %v", tc.state, got, tc.want)
		}
	}
	if got := Classify("PROCESSED", nil); got != ClassPending {
		t.Errorf("Classify(PROCESSED, nil env) = %v, want pending: no terminal states are known", got)
	}
}

func TestClassifyObject(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	env := &config.Env{Status: config.Status{TerminalStates: []string{"PROCESSED"}, LostAfter: config.Duration{Duration: time.Hour}}}
	obj := func(age time.Duration) awsclient.Object {
		return awsclient.Object{Key: "k", LastModified: now.Add(-age)}
	}
	if got := ClassifyObject(obj(2*time.Hour), nil, env, now); got != ClassLost {
		t.Errorf("2h old, no item, lost_after 1h: %v, want lost", got)
	}
	if got := ClassifyObject(obj(30*time.Minute), nil, env, now); got != ClassNone {
		t.Errorf("30m old, no item, lost_after 1h: %v, want none", got)
	}
	if got := ClassifyObject(obj(2*time.Hour), &awsclient.Status{State: "FAILED"}, env, now); got != ClassFailed {
		t.Errorf("with a FAILED item: %v", got)
	}
	if got := LostAfter(nil); got != config.DefaultLostAfter {
		t.Errorf("LostAfter(nil) = %v, want the config default", got)
	}
	if got := LostAfter(env); got != time.Hour {
		t.Errorf("LostAfter = %v, want 1h", got)
	}
}

func TestClassSeverityWorstFirst(t *testing.T) {
	order := []Class{ClassFailed, ClassLost, ClassPending, ClassNone, ClassDone}
	for i := 1; i < len(order); i++ {
		if order[i-1].Severity() <= order[i].Severity() {
			t.Errorf("%v should rank worse than %v", order[i-1], order[i])
		}
	}
}

func TestSuggestState(t *testing.T) {
	env := &config.Env{Status: config.Status{TerminalStates: []string{"PROCESSED", "COMPLETE"}}}
	for _, c := range []struct {
		state string
		seen  []string
		want  string
	}{
		{"FAILD", nil, "FAILED"},
		{"failed", nil, "FAILED"},
		{"PROCESED", nil, "PROCESSED"},
		{"complete", nil, "COMPLETE"},
		{"LSOT", nil, "LOST"},
		{"PARSE_EROR", []string{"PARSE_ERROR", "PROCESSED"}, "PARSE_ERROR"},
		{"FAILED", []string{"FAILED"}, ""}, // it exists: nothing in the window, not a typo
		{"NOPE", []string{"FAILED", "PROCESSED"}, ""},
		{"", nil, ""},
	} {
		if got := SuggestState(c.state, env, c.seen); got != c.want {
			t.Errorf("SuggestState(%q, seen %v) = %q, want %q", c.state, c.seen, got, c.want)
		}
	}
}
