package redrive

import (
	"fmt"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/inventory"
)

// PlanOptionsFor fills PlanOptions from an environment: its bucket, the gateway URL and
// the route of mode, its rate, terminal states and lost_after. Concurrency is left at the
// default; the caller may change any field.
func PlanOptionsFor(env *config.Env, mode Mode) (PlanOptions, error) {
	opts := PlanOptions{
		Env: env.Name, Production: env.Production, Mode: mode, Bucket: env.Storage.Bucket,
		GatewayURL: env.GatewayURL(), Rate: env.Rate, Concurrency: DefaultConcurrency,
		SuccessStates: env.Status.TerminalStates, LostAfter: env.Status.LostAfter.Duration,
	}
	if mode.IsEvent() {
		spec, err := EventSpecFor(env, mode, "")
		opts.Event = spec
		return opts, err
	}
	if !mode.UsesGateway() {
		return opts, nil
	}
	if opts.GatewayURL == "" {
		return opts, fmt.Errorf("mode %s sends through the gateway, but environment %q has no gateway.url; set it, or use --mode s3-copy", mode, env.Name)
	}
	spec := env.Gateway.Routes.Inplace
	if mode == ModeReupload {
		spec = env.Gateway.Routes.Reupload
	}
	method, path, err := config.ParseRoute(spec)
	if err != nil {
		return opts, fmt.Errorf("gateway.routes.%s of environment %q: %w", mode, env.Name, err)
	}
	opts.Route = awsclient.Route{Method: method, Path: path}
	return opts, nil
}

// OptionsFor fills the run Options an environment decides: the idempotency header names,
// read-only and the lease TTL. The journal path and the retry settings are the caller's.
func OptionsFor(env *config.Env) Options {
	return Options{
		OriginalIDHeader: env.Gateway.OriginalIDHeader,
		RedriveIDHeader:  env.Gateway.RedriveIDHeader,
		ReadOnly:         env.ReadOnly,
		LeaseTTL:         env.Redrive.LeaseTTL.Duration,
	}
}

// PlanDepsFor is what planning reads in an environment.
func PlanDepsFor(c *awsclient.Clients, env *config.Env) PlanDeps {
	return PlanDeps{Source: inventory.NewSource(c, env)}
}

// DepsFor is what a run calls in an environment. The gateway is left out when the
// environment has none (s3-copy still works), the lease table when it has none (then
// Deps.Leases is a true nil, not a nil *LeaseStore).
func DepsFor(c *awsclient.Clients) Deps {
	d := Deps{Objects: c.Objects, Status: c.Statuses, StatusBatch: c.Statuses}
	if c.Gateway != nil {
		d.Sender = c.Gateway
	}
	if c.Leases != nil {
		d.Leases = c.Leases
	}
	if c.Events != nil {
		d.Events = c.Events
	}
	return d
}

// awsclient implements what redrive consumes.
var (
	_ ObjectSource      = (*awsclient.ObjectStore)(nil)
	_ StatusChecker     = (*awsclient.StatusStore)(nil)
	_ StatusBatchReader = (*awsclient.StatusStore)(nil)
	_ Sender            = (*awsclient.Gateway)(nil)
	_ Claimer           = (*awsclient.LeaseStore)(nil)
)

// EnvMismatch lists how env differs from the environment m was planned on: the bucket,
// the gateway URL and route of m's mode, the production flag (empty when they match).
// A resume must send where the confirmed plan said, or not at all.
func EnvMismatch(m *Manifest, env *config.Env) []string {
	var diffs []string
	if env.Name != m.Env {
		diffs = append(diffs, fmt.Sprintf("environment name %q, planned %q", env.Name, m.Env))
	}
	if env.Storage.Bucket != m.Bucket {
		diffs = append(diffs, fmt.Sprintf("bucket %q, planned %q", env.Storage.Bucket, m.Bucket))
	}
	if env.Production != m.Production {
		diffs = append(diffs, fmt.Sprintf("production %v, planned %v", env.Production, m.Production))
	}
	if m.Mode.IsEvent() && m.Event != nil {
		spec, err := EventSpecFor(env, m.Mode, m.Event.Qualifier)
		if err != nil {
			return append(diffs, err.Error())
		}
		if now := spec.Target(m.Mode); now != m.Target {
			diffs = append(diffs, fmt.Sprintf("%s target %s, planned %s", m.Mode, now, m.Target))
		}
	}
	if m.Mode.UsesGateway() {
		opts, err := PlanOptionsFor(env, m.Mode)
		if err != nil {
			return append(diffs, err.Error())
		}
		if now := (Target{Method: opts.Route.Method, URL: redactURL(opts.GatewayURL) + opts.Route.Path}); now.Method != m.Target.Method || now.URL != m.Target.URL {
			diffs = append(diffs, fmt.Sprintf("%s target %s, planned %s", m.Mode, now, m.Target))
		}
	}
	return diffs
}
