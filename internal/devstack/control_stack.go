package devstack

import "github.com/stowage-cli/stowage/internal/config"

// S3 Control of the stack (#15): Batch Operations jobs run in process (s3control.go).

// configBatchOps adds the batch_ops section to the demo environment: manifests and
// reports in the demo's own bucket, the processor's schema 2.0 contract, and the S3
// Control endpoint.
func (s *Stack) configBatchOps(env *config.Env) {
	if s.S3ControlURL == "" {
		return
	}
	env.Endpoints.S3Control = s.S3ControlURL
	env.BatchOps = config.BatchOps{
		RoleARN:        "arn:aws:iam::" + DemoAccountID + ":role/stowage-demo-batch-ops",
		ManifestPrefix: "s3://" + BatchOpsBucket + "/manifests/",
		ReportPrefix:   "s3://" + BatchOpsBucket + "/reports/",
		SuggestAbove:   config.DefaultBatchSuggestAbove,
		LambdaSchema:   config.BatchLambdaSchema,
		LambdaFunction: "arn:aws:lambda:" + Region + ":" + DemoAccountID + ":function:product-ingest",
		AccountID:      DemoAccountID,
		Priority:       config.DefaultBatchPriority,
		Cost: config.BatchOpsCost{Currency: config.DefaultBatchCurrency, PerJob: config.DefaultBatchPerJob,
			PerMillionObjects: config.DefaultBatchPerMillion, PerThousandCopies: config.DefaultBatchPerThousandPut,
			PerMillionInvokes: config.DefaultBatchPerMillionInv},
	}
}
