package config

import (
	"reflect"
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

	// The sections of the later issues are read as their comments say.
	if len(staging.Status.PermanentErrors) == 0 || len(staging.Status.TransientErrors) == 0 ||
		staging.Refresh.Duration != DefaultRefresh || staging.ReadBudget != DefaultReadBudget {
		t.Errorf("staging triage settings: status %+v, refresh %v, read_budget %v", staging.Status, staging.Refresh, staging.ReadBudget)
	}
	if staging.Events.SQSQueueURL == "" || staging.Events.LambdaFunction == "" || staging.Events.EventSource != DefaultEventSource {
		t.Errorf("staging events = %+v", staging.Events)
	}
	if !staging.BatchOps.Configured() || staging.BatchOps.LambdaEnabled() || staging.BatchOps.Cost.PerJob != DefaultBatchPerJob ||
		staging.BatchOps.Cost.PerThousandCopies != DefaultBatchPerThousandPut || staging.BatchOps.SuggestAbove != DefaultBatchSuggestAbove {
		t.Errorf("staging batch_ops = %+v", staging.BatchOps)
	}

	prod, err := f.Select("prod", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if !prod.Production || !prod.ReadOnly || prod.Gateway.Auth != AuthIAM || prod.Status.LostAfter.Duration != 15*time.Minute {
		t.Errorf("prod = %+v", prod)
	}
	if !prod.Logs.Configured() || prod.Logs.WindowAfter.Duration != DefaultLogsWindowAfter || prod.Logs.MaxBytes != DefaultLogsMaxBytes {
		t.Errorf("prod logs = %+v", prod.Logs)
	}
}

// TestExampleMentionsEveryYAMLField walks the config's types, so that a new field fails
// here until the example explains it.
func TestExampleMentionsEveryYAMLField(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			fld := typ.Field(i)
			name, _, _ := strings.Cut(fld.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(Example(), name+":") {
				t.Errorf("the example does not mention %s%s", path, name)
			}
			walk(fld.Type, path+name+".")
		}
	}
	walk(reflect.TypeOf(File{}), "")
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
		"lease_table", "lease_ttl", "strip_prefix", "received_attr", "received_from_versions", "preview_bytes",
		"local_credentials", "ssm:", "secretsmanager:", "sqs:", "lambda:", "eventbridge:", "logs:", "s3control:",
		"permanent_errors", "transient_errors", "refresh", "read_budget",
		"events:", "sqs_queue_url", "sqs_message_group", "lambda_function", "lambda_qualifier", "event_bus",
		"event_source", "configuration_id",
		"processor_groups", "access_log_group", "execution_log_group", "window_before", "window_after", "max_bytes",
		"batch_ops:", "role_arn", "manifest_prefix", "report_prefix", "suggest_above", "lambda_schema", "account_id",
		"priority", "cost:", "currency", "per_job", "per_million_objects", "per_thousand_copies", "per_million_invokes",
	} {
		if !strings.Contains(Example(), field) {
			t.Errorf("the example does not mention %s", field)
		}
	}
}
