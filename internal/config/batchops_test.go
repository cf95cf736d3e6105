package config

import (
	"strings"
	"testing"
)

const batchOpsConfig = minimal + `    batch_ops:
      role_arn: arn:aws:iam::123456789012:role/stowage-batch
      manifest_prefix: s3://acme-ops/stowage/manifests/
      report_prefix: s3://acme-ops/stowage/reports/
`

func TestBatchOpsDefaultsAndConfigured(t *testing.T) {
	f := mustParse(t, batchOpsConfig)
	b := f.Environments["prod"].BatchOps
	if !b.Configured() {
		t.Fatal("Configured() = false with a role and both prefixes")
	}
	if b.SuggestAbove != DefaultBatchSuggestAbove || b.Priority != DefaultBatchPriority {
		t.Errorf("suggest_above %d, priority %d; want the defaults", b.SuggestAbove, b.Priority)
	}
	if b.Cost.PerJob != 0.25 || b.Cost.PerMillionObjects != 1 || b.Cost.Currency != "USD" {
		t.Errorf("cost = %+v, want the documented us-east-1 table", b.Cost)
	}
	if b.LambdaEnabled() {
		t.Error("LambdaEnabled() without lambda_schema")
	}
	if mustParse(t, minimal).Environments["prod"].BatchOps.Configured() {
		t.Error("Configured() without a batch_ops section")
	}
	// 1 job + 5,000 copies: 0.25 + 0.005 + 0.025.
	if got := b.Cost.Estimate(5000, false); got < 0.2799 || got > 0.2801 {
		t.Errorf("Estimate(5000, copy) = %g, want 0.28", got)
	}
}

func TestBatchOpsValidation(t *testing.T) {
	cases := []struct {
		name, yaml, field, msg string
	}{
		{"role missing", strings.Replace(batchOpsConfig, "      role_arn: arn:aws:iam::123456789012:role/stowage-batch\n", "", 1), "batch_ops.role_arn", "required"},
		{"role not a role", strings.Replace(batchOpsConfig, ":role/stowage-batch", ":user/bob", 1), "batch_ops.role_arn", "not an IAM role ARN"},
		{"manifest not s3", strings.Replace(batchOpsConfig, "s3://acme-ops/stowage/manifests/", "acme-ops/manifests", 1), "batch_ops.manifest_prefix", "not an s3://"},
		{"schema unknown", batchOpsConfig + "      lambda_schema: \"1.0\"\n", "batch_ops.lambda_schema", "not supported"},
		{"account", batchOpsConfig + "      account_id: \"12\"\n", "batch_ops.account_id", "12 digits"},
		{"negative price", batchOpsConfig + "      cost:\n        per_job: -1\n", "batch_ops.cost.per_job", "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := mustParse(t, tc.yaml).Validate()
			for _, p := range ps {
				if strings.HasSuffix(p.Field, tc.field) && strings.Contains(p.Message, tc.msg) {
					return
				}
			}
			t.Fatalf("no problem on %s saying %q: %v", tc.field, tc.msg, ps)
		})
	}
}

func TestBatchOpsLambdaFunctionFallsBackToEvents(t *testing.T) {
	f := mustParse(t, batchOpsConfig+"      lambda_schema: \"2.0\"\n      lambda_function: arn:aws:lambda:us-east-1:123456789012:function:ingest\n")
	e := f.Environments["prod"]
	if !e.BatchOps.LambdaEnabled() || e.BatchFunction() != "arn:aws:lambda:us-east-1:123456789012:function:ingest" {
		t.Fatalf("lambda enabled %v, function %q", e.BatchOps.LambdaEnabled(), e.BatchFunction())
	}
}

func TestSplitS3URI(t *testing.T) {
	for _, tc := range []struct {
		in, bucket, prefix string
		ok                 bool
	}{
		{"s3://acme-ops/stowage/m/", "acme-ops", "stowage/m/", true},
		{"s3://acme-ops", "acme-ops", "", true},
		{"acme-ops/x", "", "", false},
		{"s3://A/x", "", "", false},
	} {
		b, p, ok := SplitS3URI(tc.in)
		if b != tc.bucket || p != tc.prefix || ok != tc.ok {
			t.Errorf("SplitS3URI(%q) = %q %q %v", tc.in, b, p, ok)
		}
	}
}

func FuzzSplitS3URI(f *testing.F) {
	f.Add("s3://acme-ops/stowage/m/")
	f.Add("s3://")
	f.Fuzz(func(t *testing.T, s string) {
		b, p, ok := SplitS3URI(s)
		if ok && "s3://"+b+"/"+p != s && "s3://"+b != s {
			t.Fatalf("SplitS3URI(%q) = %q %q does not rebuild it", s, b, p)
		}
	})
}
