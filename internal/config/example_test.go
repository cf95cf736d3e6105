package config

import (
	"strings"
	"testing"
	"time"
)

func TestExampleLoadsAndValidatesCleanly(t *testing.T) {
	path := writeFile(t, Example(), 0o644)
	f, err := Load(path)
	if err != nil {
		t.Fatalf("Load(example): %v", err)
	}
	if ps := f.Validate(); len(ps) != 0 {
		t.Fatalf("the example has problems (warnings count too):\n%s", (&Error{Problems: ps}).Error())
	}
	if got := strings.Join(f.Names(), ","); got != "prod,staging" {
		t.Errorf("environments = %s, want prod,staging", got)
	}

	staging, err := f.Select("", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if staging.Name != "staging" || staging.Gateway.Auth != AuthAPIKey || staging.Gateway.APIKeyEnv == "" ||
		staging.Status.Index == "" || staging.Production || staging.ReadOnly {
		t.Errorf("staging = %+v", staging)
	}
	if staging.RequestID("incoming/abc.xml") != "abc" {
		t.Errorf("staging key mapping: %q", staging.RequestID("incoming/abc.xml"))
	}

	if staging.Redrive.LeaseTable != "acme-staging-stowage-leases" || staging.Redrive.LeaseTTL.Duration != 15*time.Minute {
		t.Errorf("staging redrive = %+v", staging.Redrive)
	}

	prod, err := f.Select("prod", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if !prod.Production || !prod.ReadOnly || prod.Gateway.Auth != AuthIAM || prod.Status.LostAfter.Duration != 15*time.Minute {
		t.Errorf("prod = %+v", prod)
	}
}

func TestExampleIsCommented(t *testing.T) {
	comments := 0
	for _, line := range strings.Split(Example(), "\n") {
		if strings.Contains(line, "#") {
			comments++
		}
	}
	if comments < 40 {
		t.Errorf("the example has %d commented lines; it should explain every setting", comments)
	}
	// Every field a user can set is mentioned, so the example doubles as reference.
	for _, field := range []string{
		"default_env", "profile", "region", "endpoints", "s3:", "dynamodb:", "bucket", "prefix", "strip_suffix",
		"table", "key_attr", "status_attr", "error_attr", "attempts_attr", "updated_at_attr", "index",
		"terminal_states", "lost_after", "url", "auth", "api_key_env", "api_key_ssm", "api_key_secret", "api_key",
		"reupload", "inplace", "original_id_header", "redrive_id_header", "rate", "color", "production", "read_only",
		"lease_table", "lease_ttl",
	} {
		if !strings.Contains(Example(), field) {
			t.Errorf("the example does not mention %s", field)
		}
	}
}
