package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the parser: it must never panic, every failure must be
// a *config.Error naming the file, and a literal API key must never reach a message.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(Example()))
	f.Add([]byte(minimal))
	f.Add([]byte(threeEnvs))
	f.Add([]byte("environments:\n  prod: &a\n    <<: *a\n"))
	f.Add([]byte("environments: {p: {status: {lost_after: 1d}, rate: .nan}}"))
	f.Add([]byte("environments:\n  p:\n    gateway: {auth: api-key, api_key: x}\n---\n"))
	f.Add([]byte("\x00\xff: [\n"))
	const secret = "SENTINEL-api-key-7d1f0a"
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", data)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error is %T %v, want a *config.Error with problems", err, err)
			}
			for _, p := range ce.Problems {
				if p.File != "fuzz.yaml" || p.Message == "" {
					t.Fatalf("problem without file or message: %#v", p)
				}
			}
			return
		}
		for name, e := range file.Environments {
			if e == nil || e.Name != name {
				t.Fatalf("environment %q not named: %#v", name, e)
			}
			e.Gateway.APIKey = secret
		}
		for _, p := range file.Validate() {
			if strings.Contains(p.String(), secret) {
				t.Fatalf("the API key leaked: %s", p)
			}
		}
		for _, name := range file.Names() {
			if _, err := file.Select(name, Overrides{}); err != nil {
				t.Fatalf("Select(%q) of a declared environment: %v", name, err)
			}
		}
	})
}
