package config

import (
	"fmt"
	"strings"
)

// Select returns a copy of the environment to use: name (from --env) when given, else
// default_env, else the only environment. Overrides from flags are applied to the copy.
func (f *File) Select(name string, o Overrides) (*Env, error) {
	names := f.Names()
	known := func() string {
		if len(names) == 0 {
			return "the file declares none"
		}
		return "known: " + strings.Join(names, ", ")
	}
	where := f.Path
	if where == "" {
		where = "the config"
	}
	switch {
	case name != "":
	case f.DefaultEnv != "":
		name = f.DefaultEnv
		if _, ok := f.Environments[name]; !ok {
			return nil, fmt.Errorf("default_env %s is not an environment in %s (%s); fix default_env or pass --env NAME",
				quote(name), where, known())
		}
	case len(names) == 1:
		name = names[0]
	case len(names) == 0:
		return nil, fmt.Errorf("%s declares no environments; add one under environments: (see stowage config example)", where)
	default:
		return nil, fmt.Errorf("which environment? %s declares %d and no default_env; pass --env NAME (%s) or set default_env",
			where, len(names), known())
	}
	e, ok := f.Environments[name]
	if !ok || e == nil {
		return nil, fmt.Errorf("unknown environment %s in %s; %s", quote(name), where, known())
	}
	c := e.clone()
	if err := c.applyOverrides(o); err != nil {
		return nil, err
	}
	return c, nil
}

// applyOverrides applies command-line flags. --endpoint-url covers every AWS API (S3,
// DynamoDB, STS, SSM, Secrets Manager) but not the gateway: behind LocalStack the gateway
// answers under a longer path, so its URL stays the environment's.
//
// Flags are checked against the environment's local_credentials, which Validate cannot do:
// --endpoint-url off this machine would send requests signed with the static keys there,
// and --profile would be silently ignored (the local keys win), so both are refused.
func (e *Env) applyOverrides(o Overrides) error {
	wasLocalOK := e.LocalCredentialsError() == nil
	if o.Profile != "" {
		if msg := checkProfile(o.Profile); msg != "" {
			return fmt.Errorf("--profile: %s", msg)
		}
		if e.LocalCredentials != nil {
			return fmt.Errorf("--profile %s cannot be used with environment %s: it signs every request with its local_credentials (a stack on this machine), so the profile would be ignored; drop --profile, or choose an environment that uses profile",
				quote(o.Profile), quote(e.Name))
		}
		e.Profile = o.Profile
	}
	if o.Region != "" {
		if msg := checkRegion(o.Region); msg != "" {
			return fmt.Errorf("--region: %s", msg)
		}
		e.Region = o.Region
	}
	if o.EndpointURL != "" {
		if msg := checkURL(o.EndpointURL, true); msg != "" {
			return fmt.Errorf("--endpoint-url: %s", msg)
		}
		if e.LocalCredentials != nil && !IsLoopbackURL(o.EndpointURL) {
			return fmt.Errorf("--endpoint-url %s is not on this machine, but environment %s signs every request with its local_credentials, which may only go to loopback URLs (127.0.0.1, localhost); drop --endpoint-url, or choose an environment that uses profile",
				quote(o.EndpointURL), quote(e.Name))
		}
		ep := &e.Endpoints
		ep.S3, ep.DynamoDB, ep.STS, ep.SSM, ep.SecretsManager =
			o.EndpointURL, o.EndpointURL, o.EndpointURL, o.EndpointURL, o.EndpointURL
		ep.SQS, ep.Lambda, ep.EventBridge, ep.Logs, ep.S3Control =
			o.EndpointURL, o.EndpointURL, o.EndpointURL, o.EndpointURL, o.EndpointURL
	}
	// --read-only can only make things safer; it never turns read_only off.
	e.ReadOnly = e.ReadOnly || o.ReadOnly
	// Whatever else a flag may change later, the environment after the flags must still
	// keep its local keys on this machine. (A file that breaks the rule on its own is
	// reported by Validate, with its line.)
	if err := e.LocalCredentialsError(); err != nil && wasLocalOK {
		return fmt.Errorf("the command-line flags break a rule of the config: %w", err)
	}
	return nil
}
