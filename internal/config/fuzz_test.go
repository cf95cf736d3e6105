package config

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
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
// found. It validates once: validating again per problem made an input with a few hundred
// broken environments cost minutes (problems × Validate), which was FuzzLoad's stall.
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
	partial := validatePartial(pf)
	reported := map[string]bool{}
	envErrors := map[string]int{}
	for _, p := range partial {
		reported[p.String()] = true
		if !p.Warning {
			envErrors[p.Env]++
		}
	}
	var ce *Error
	errors.As(parseErr, &ce)
	for _, p := range ce.Problems {
		if !reported[p.String()] {
			t.Fatalf("ParsePartial's Validate lost %q", p)
		}
		if p.Env != "" && envErrors[p.Env] == 0 {
			t.Fatalf("environment %q has a shape problem but no errors", p.Env)
		}
	}
}

// validatePartial is checkPartial's one Validate; validations counts them for the test
// that keeps it at one.
func validatePartial(f *File) []Problem {
	validations.Add(1)
	return f.Validate()
}

var validations atomic.Int64

// One Validate per input, however many problems it has.
func TestCheckPartialValidatesOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString("environments:\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "  e%d: {rate: fast}\n", i)
	}
	data := []byte(b.String())
	_, err := Parse("fuzz.yaml", data)
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) < 300 {
		t.Fatalf("want 300 shape problems, got %v", err)
	}
	before := validations.Load()
	checkPartial(t, data, err)
	if n := validations.Load() - before; n != 1 {
		t.Errorf("%d validations for one input, want 1", n)
	}
}
