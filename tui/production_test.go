package tui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

func production() func(*Options) {
	return func(o *Options) {
		env := *o.Session.Env
		env.Name, env.Production = "prod-eu", true
		o.Session.Env = &env
	}
}

// TestProductionLooksLikeProduction: PRODUCTION was a small badge.
func TestProductionLooksLikeProduction(t *testing.T) {
	stateHome(t)
	var gw *fakeGateway
	f := newFixture(t, seedRequests, redriveEnv(), production(), withGateway(&gw))
	for _, w := range []int{80, 120, 200} {
		f.send(sizeMsg(w, 40))
		first := strings.Split(f.view(), "\n")[0]
		if ansi.StringWidth(first) != w || !strings.HasPrefix(ansi.Strip(first), " PRODUCTION · prod-eu") {
			t.Fatalf("%d columns: no full-width production bar: %q", w, ansi.Strip(first))
		}
		if !strings.Contains(first, "48;2;185;28;28") {
			t.Fatalf("%d columns: the bar is not red: %q", w, first)
		}
	}
	if title := f.m.View().WindowTitle; !strings.Contains(title, "PRODUCTION") || !strings.Contains(title, "prod-eu") {
		t.Fatalf("window title %q", title)
	}
	// A write dialog has a red, thick border; any other dialog its usual one.
	f.keys("y")
	if v := f.view(); strings.Contains(v, "┏") {
		t.Fatalf("the copy dialog has the write border")
	}
	f.keys("esc", "f", "F", "a", "R")
	v := f.view()
	if !strings.Contains(v, "┏") || !strings.Contains(v, "38;2;220;38;38m┏") {
		t.Fatalf("the redrive dialog in production has no red border:\n%s", ansi.Strip(v))
	}
}

func TestNotProductionHasNoBar(t *testing.T) {
	f := newFixture(t, seedRequests)
	if v := plainView(f); strings.Contains(v, "PRODUCTION") {
		t.Fatalf("a production bar on staging:\n%s", v)
	}
	if title := f.m.View().WindowTitle; title != "stowage · staging" {
		t.Fatalf("window title %q", title)
	}
}

// TestHeaderAccountAndCaller: the account ID and the caller, as the console shows them,
// from the STS call; none on a local stack.
func TestHeaderAccountAndCaller(t *testing.T) {
	withCaller := func(arn, account string) func(*Options) {
		return func(o *Options) {
			o.Session.Account = ""
			o.Session.Identity = func(context.Context) (string, error) { return arn, nil }
			o.Session.AccountID = func(context.Context) (string, error) { return account, nil }
		}
	}
	f := newFixture(t, seedRequests, withCaller("arn:aws:sts::123456789012:assumed-role/OpsReadOnly/alice", "123456789012"))
	if h := strings.Split(plainView(f), "\n")[0]; !strings.Contains(h, "account 1234-5678-9012") || !strings.Contains(h, "as OpsReadOnly/alice") {
		t.Fatalf("header: %q", h)
	}
	f = newFixture(t, seedRequests, withCaller("arn:aws:iam::000000000000:user/test", ""))
	if h := strings.Split(plainView(f), "\n")[0]; strings.Contains(h, "account") || strings.Contains(h, " as ") {
		t.Fatalf("a local stack shows an account: %q", h)
	}
	// Without AccountID, the ARN's account is used.
	f = newFixture(t, seedRequests, func(o *Options) {
		o.Session.Account = ""
		o.Session.Identity = func(context.Context) (string, error) { return "arn:aws:iam::210987654321:user/bob", nil }
	})
	if h := strings.Split(plainView(f), "\n")[0]; !strings.Contains(h, "account 2109-8765-4321") || !strings.Contains(h, "as bob") {
		t.Fatalf("header: %q", h)
	}
}

func sizeMsg(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }
