package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
	"github.com/stowage-cli/stowage/redrive"
	"github.com/stowage-cli/stowage/tui"
)

// openTUI is stowage without a command: the TUI on the selected environment.
func openTUI(ctx context.Context, g *Globals) error {
	env, file, err := g.LoadEnv()
	if err != nil {
		return err
	}
	return startTUI(ctx, g, env, file)
}

// startTUI opens env's clients and runs the TUI on them. The environments of file (may
// be nil) are offered by the e key; openOpts apply to every environment opened (the
// demo passes its static credentials).
func startTUI(ctx context.Context, g *Globals, env *config.Env, file *config.File, openOpts ...awsclient.OpenOption) error {
	if g.Debug && g.isTerminal(g.Stderr) {
		return exitf(ExitUsage, "--debug writes to stderr, which the terminal UI would draw over: redirect it, e.g. stowage --debug 2>stowage-debug.log")
	}
	openOpts = append(g.openOptions(), openOpts...)
	sess, notices, err := g.tuiSession(ctx, env, openOpts...)
	if err != nil {
		return &ExitError{Code: ExitAWS, Err: err}
	}
	// Said before the screen takes over; environments opened later with e have no stderr.
	for _, n := range notices {
		g.printErr("stowage: %s\n", sanitize.Line(n))
	}
	opts := tui.Options{Session: sess, Now: g.demoClock, PreviewBytes: env.PreviewBytes}
	opts.Redrive.CommandPrefix = stowageCommand(g, tuiConfigPath(g, file))
	if file != nil && len(file.Environments) > 1 {
		opts.EnvNames = file.Names()
		opts.EnvBadges = envBadges(file, g.overrides())
		opts.OpenEnv = func(ctx context.Context, name string) (tui.Session, error) {
			e, err := selectForTUI(file, name, g.overrides())
			if err != nil {
				return tui.Session{}, err
			}
			sess, _, err := g.tuiSession(ctx, e, openOpts...)
			return sess, err
		}
	}
	var progOpts []tea.ProgramOption
	if g.NoColor || os.Getenv("NO_COLOR") != "" {
		progOpts = append(progOpts, tea.WithColorProfile(colorprofile.Ascii))
	}
	err = tui.Run(ctx, opts, progOpts...)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled) || errors.Is(err, tea.ErrInterrupted):
		return &ExitError{Code: ExitCancelled, Err: errors.New("cancelled")}
	}
	return fmt.Errorf("terminal UI: %w", err)
}

// tuiConfigPath is the config file the TUI's hints must name: --config, or the file read
// when it is not the default one (the demo's temporary config); "" for the default.
func tuiConfigPath(g *Globals, file *config.File) string {
	if g.ConfigPath != "" {
		return g.ConfigPath
	}
	if file != nil && file.Path != "" && file.Path != config.DefaultPath() {
		return file.Path
	}
	return ""
}

// envBadges marks the production and read-only environments of file for the e picker;
// --read-only makes every one read-only.
func envBadges(file *config.File, o config.Overrides) map[string]tui.EnvBadge {
	badges := map[string]tui.EnvBadge{}
	for name, e := range file.Environments {
		if e == nil {
			continue
		}
		badges[name] = tui.EnvBadge{Production: e.Production, ReadOnly: e.ReadOnly || o.ReadOnly}
	}
	return badges
}

// selectForTUI selects another environment of file for the e key, refusing one whose
// configuration has errors, as LoadEnv would.
func selectForTUI(file *config.File, name string, o config.Overrides) (*config.Env, error) {
	env, err := file.Select(name, o)
	if err != nil {
		return nil, err
	}
	var mine []config.Problem
	for _, p := range file.Validate() {
		if p.Env == env.Name {
			mine = append(mine, p)
		}
	}
	if err := config.Check(mine); err != nil {
		return nil, fmt.Errorf("environment %q cannot be used (run stowage config validate): %w", name, err)
	}
	return env, nil
}

// tuiSession opens the clients of env for the TUI; notices are what Open wants the
// operator told (awsclient.Clients.Notices).
func (g *Globals) tuiSession(ctx context.Context, env *config.Env, openOpts ...awsclient.OpenOption) (tui.Session, []string, error) {
	c, err := g.openClients(ctx, env, openOpts...)
	if err != nil {
		return tui.Session{}, nil, err
	}
	sess := tui.Session{Env: env, Objects: c.Objects, Statuses: c.Statuses}
	if env.Region == "" && c.Region != "" {
		e := *env
		e.Region = c.Region
		sess.Env = &e
	}
	// The original arrival of redriven requests, read before the screen starts.
	sess.Arrivals = tuiArrivals(sess.Env)
	// R redrives through the same engine, clients and files as stowage redrive; the
	// clients of a read-only environment refuse every write themselves.
	sess.Redrive = tui.RedriveDeps{Plan: redrive.PlanDepsFor(c, sess.Env), Run: redrive.DepsFor(c)}
	if sess.Env.BatchOps.Configured() {
		sess.Redrive.Batch = redrive.BatchDepsFor(c)
	}
	if c.Logs != nil { // not a typed nil: a nil *LogReader must leave Session.Logs nil
		sess.Logs = c.Logs
	}
	if isDemoEnv(env) {
		sess.Operator = "demo" // the audit log's who, as stowage redrive writes it
	}
	// Who the credentials belong to is asked of STS only where STS is the real one: a
	// local stack (endpoint overrides without an STS endpoint) has none to ask.
	if !c.Local || env.Endpoints.STS != "" {
		sess.Identity = c.Identity
		sess.AccountID = c.Account
	}
	return sess, c.Notices, nil
}
