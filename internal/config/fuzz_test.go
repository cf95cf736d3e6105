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
	f.Add([]byte("environments:\n  a: {rate: &r x, storage: [1]}\n  b: {rate: *r, storage: {bucket: b}}\n  b: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", data)
		checkPartial(t, data, err)
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

// checkPartial holds ParsePartial to Parse: the same file when Parse succeeds, and
// otherwise either the same failure or a file whose Validate reports every problem Parse
// found.
func checkPartial(t *testing.T, data []byte, parseErr error) {
	t.Helper()
	pf, err := ParsePartial("fuzz.yaml", data)
	if parseErr == nil {
		if err != nil || len(pf.shape) > 0 {
			t.Fatalf("Parse succeeded but ParsePartial gave %v, shape %v", err, pf.shape)
		}
		return
	}
	if err != nil {
		return
	}
	reported := map[string]bool{}
	for _, p := range pf.Validate() {
		reported[p.String()] = true
	}
	var ce *Error
	errors.As(parseErr, &ce)
	for _, p := range ce.Problems {
		if !reported[p.String()] {
			t.Fatalf("ParsePartial's Validate lost %q", p)
		}
		if p.Env != "" && len(Errors(envProblems(pf.Validate(), p.Env))) == 0 {
			t.Fatalf("environment %q has a shape problem but no errors", p.Env)
		}
	}
}

func envProblems(ps []Problem, env string) []Problem {
	var out []Problem
	for _, p := range ps {
		if p.Env == env {
			out = append(out, p)
		}
	}
	return out
}
