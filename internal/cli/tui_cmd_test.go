package cli

import (
	"testing"

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
