package cli

import (
	"fmt"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/httplog"
)

// configPath is --config, else the default location.
func (g *Globals) configPath() (string, error) {
	if g.ConfigPath != "" {
		return g.ConfigPath, nil
	}
	if p := config.DefaultPath(); p != "" {
		return p, nil
	}
	return "", exitf(ExitUsage, "cannot find the default config location (neither XDG_CONFIG_HOME nor HOME is set); pass --config FILE")
}

// openOptions are the awsclient.Open options the global flags ask for, for every command
// that opens clients: --debug logs each AWS and gateway request to stderr.
func (g *Globals) openOptions() []awsclient.OpenOption {
	if !g.Debug || g.Stderr == nil {
		return nil
	}
	return []awsclient.OpenOption{awsclient.WithHTTPWrap(httplog.Wrap(g.stderr(), nil))}
}

func (g *Globals) overrides() config.Overrides {
	return config.Overrides{Profile: g.Profile, Region: g.Region, EndpointURL: g.EndpointURL, ReadOnly: g.ReadOnly}
}

// LoadEnv loads the config file (--config or the default path), validates it and returns
// the environment chosen by --env (or default_env) with the flag overrides applied, plus
// the file. Every failure is an *ExitError with ExitUsage whose message says what to fix.
//
// Only problems in the chosen environment (and in the file as a whole) stop the command:
// a typo in the dev environment, even an unknown field, must not lock an operator out of
// prod at 3 a.m. Problems elsewhere become one warning on stderr, as do the chosen
// environment's warnings.
//
// The flags are checked against the chosen environment too (config.File.Select): on an
// environment with local_credentials, --endpoint-url off this machine and --profile are
// refused, since the first would send the static keys away and the second would be ignored.
func (g *Globals) LoadEnv() (*config.Env, *config.File, error) {
	path, err := g.configPath()
	if err != nil {
		return nil, nil, err
	}
	// Partial: a shape problem in another environment is only a warning, like any other;
	// one in this environment is among its errors below.
	f, err := config.LoadPartial(path)
	if err != nil {
		return nil, nil, &ExitError{Code: ExitUsage, Err: err}
	}
	env, err := f.Select(g.Env, g.overrides())
	if err != nil {
		return nil, nil, &ExitError{Code: ExitUsage, Err: err}
	}
	var mine []config.Problem
	otherErrors := 0
	for _, p := range f.Validate() {
		switch {
		case p.Env == "" && p.Field == "default_env":
			// Select already judged default_env: it mattered only when --env was not given.
		case p.Env == env.Name, p.Env == "":
			mine = append(mine, p)
		case !p.Warning:
			otherErrors++
		}
	}
	if err := config.Check(mine); err != nil {
		return nil, nil, &ExitError{Code: ExitUsage,
			Err: fmt.Errorf("environment %q cannot be used; fix these and run stowage config validate:\n%w", env.Name, err)}
	}
	g.warn(config.Warnings(mine))
	if otherErrors > 0 {
		g.printErr("stowage: warning: %s has %d problem(s) in other environments; run stowage config validate\n", path, otherErrors)
	}
	return env, f, nil
}

func (g *Globals) warn(ps []config.Problem) {
	for _, p := range ps {
		g.printErr("stowage: %s\n", p)
	}
}

func (g *Globals) printErr(format string, args ...any) {
	if g.Stderr != nil {
		fmt.Fprintf(g.Stderr, format, args...)
	}
}
