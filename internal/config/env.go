package config

import (
	"fmt"
	"strings"
)

// RequestID maps an object key to its request ID by removing the strip prefix and suffix
// (when the key has them).
func (e *Env) RequestID(key string) string {
	id := strings.TrimPrefix(key, e.Storage.StripPrefix)
	return strings.TrimSuffix(id, e.Storage.StripSuffix)
}

// Key maps a request ID back to its object key; it is the inverse of RequestID.
func (e *Env) Key(requestID string) string {
	return e.Storage.StripPrefix + requestID + e.Storage.StripSuffix
}

// IsTerminal reports whether a processing state is final. States compare without regard
// to case so that "terminal_states: [processed]" still matches PROCESSED items.
func (e *Env) IsTerminal(state string) bool {
	for _, s := range e.Status.TerminalStates {
		if strings.EqualFold(s, state) {
			return true
		}
	}
	return false
}

// GatewayURL is the gateway's base URL without a trailing slash: gateway.url, else
// endpoints.gateway, else "".
func (e *Env) GatewayURL() string {
	u := e.Gateway.URL
	if u == "" {
		u = e.Endpoints.Gateway
	}
	return strings.TrimRight(u, "/")
}

// HasAPIKeySource reports whether any API key source is configured.
func (g Gateway) HasAPIKeySource() bool {
	return g.APIKeyEnv != "" || g.APIKeySSM != "" || g.APIKeySecret != "" || g.APIKey != ""
}

// Redacted returns a copy of e that is safe to print or log: a literal API key is replaced
// by "REDACTED".
func (e Env) Redacted() Env {
	e.Gateway = e.Gateway.Redacted()
	if e.LocalCredentials != nil {
		e.LocalCredentials = &LocalCredentials{AccessKeyID: e.LocalCredentials.AccessKeyID, SecretAccessKey: "REDACTED"}
	}
	e.Status.TerminalStates = append([]string(nil), e.Status.TerminalStates...)
	return e
}

// Redacted returns a copy of g with a literal API key replaced by "REDACTED".
func (g Gateway) Redacted() Gateway {
	if g.APIKey != "" {
		g.APIKey = "REDACTED"
	}
	return g
}

// String keeps a literal API key out of %v and %+v of a Gateway or an Env.
func (g Gateway) String() string {
	type plain Gateway // drops the methods, so Sprintf does not recurse
	return fmt.Sprintf("%+v", plain(g.Redacted()))
}

// GoString keeps a literal API key out of %#v.
func (g Gateway) GoString() string {
	type plain Gateway
	return fmt.Sprintf("%#v", plain(g.Redacted()))
}

// clone returns a deep copy of e.
func (e *Env) clone() *Env {
	c := *e
	c.Status.TerminalStates = append([]string(nil), e.Status.TerminalStates...)
	if e.LocalCredentials != nil {
		lc := *e.LocalCredentials
		c.LocalCredentials = &lc
	}
	return &c
}
