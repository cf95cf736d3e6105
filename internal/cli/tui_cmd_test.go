package cli

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/tui"
)

// TestEnvBadges: the e picker marks production and read-only environments; --read-only
// marks them all.
func TestEnvBadges(t *testing.T) {
	t.Parallel()
	file := &config.File{Environments: map[string]*config.Env{
		"prod":    {Name: "prod", Production: true},
		"audit":   {Name: "audit", ReadOnly: true},
		"staging": {Name: "staging"},
	}}
	got := envBadges(file, config.Overrides{})
	want := map[string]tui.EnvBadge{"prod": {Production: true}, "audit": {ReadOnly: true}, "staging": {}}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %+v, want %+v", name, got[name], w)
		}
	}
	for name, b := range envBadges(file, config.Overrides{ReadOnly: true}) {
		if !b.ReadOnly {
			t.Errorf("--read-only: %s not marked read-only", name)
		}
	}
}

// The terminal UI opens its clients through Globals, as every command does, so a test's
// seam (onlyLoopback) covers it too.
func TestTUIOpensClientsThroughGlobals(t *testing.T) {
	t.Parallel()
	opened := false
	g := &Globals{Stderr: &bytes.Buffer{}, seams: seams{openClients: func(context.Context, *config.Env, ...awsclient.OpenOption) (*awsclient.Clients, error) {
		opened = true
		return nil, errors.New("no AWS in this test")
	}}}
	err := startTUI(t.Context(), g, &config.Env{Name: "x"}, nil)
	var ee *ExitError
	if !opened || !errors.As(err, &ee) || ee.Code != ExitAWS {
		t.Errorf("opened through the seam: %v; error %v, want exit %d", opened, err, ExitAWS)
	}
}
