package config

import (
	"strings"
)

// BatchOps configures redrive --engine batch-ops (S3 Batch Operations). Owned by the
// batch-ops work (#15).
type BatchOps struct {
	// RoleARN is the IAM role S3 Batch Operations assumes to run the job (it needs
	// s3:GetObject, s3:PutObject on the bucket, s3:GetObject on the manifest, s3:PutObject
	// on the report prefix, and lambda:InvokeFunction for --mode lambda). The operator
	// needs iam:PassRole on it.
	RoleARN string `yaml:"role_arn,omitempty"`
	// ManifestPrefix and ReportPrefix are s3://bucket/prefix/ locations: the job's CSV
	// manifest is uploaded under the first, S3 writes its completion report under the
	// second.
	ManifestPrefix string `yaml:"manifest_prefix,omitempty"`
	ReportPrefix   string `yaml:"report_prefix,omitempty"`
	// SuggestAbove is the plan size from which a local redrive suggests the engine
	// (default 100000).
	SuggestAbove int `yaml:"suggest_above,omitempty"`
	// LambdaSchema is the Batch Operations invocation schema the processor accepts: "2.0"
	// enables --mode lambda; "" leaves it off.
	LambdaSchema string `yaml:"lambda_schema,omitempty"`
	// LambdaFunction is the processor function's ARN for --mode lambda (default
	// events.lambda_function).
	LambdaFunction string `yaml:"lambda_function,omitempty"`
	// AccountID is the account that owns the jobs (default: the caller's, from STS).
	AccountID string `yaml:"account_id,omitempty"`
	// Priority is the job's priority (default 10).
	Priority int `yaml:"priority,omitempty"`
	// Cost is the price table the plan estimates with.
	Cost BatchOpsCost `yaml:"cost,omitempty"`
}

// BatchOpsCost is the price table of a job: what S3 Batch Operations charges per job and
// per object, and what each task's own request costs. The defaults are the us-east-1 list
// prices in USD; set them to your region's and currency's.
type BatchOpsCost struct {
	Currency          string  `yaml:"currency,omitempty"`
	PerJob            float64 `yaml:"per_job,omitempty"`
	PerMillionObjects float64 `yaml:"per_million_objects,omitempty"`
	// PerThousandCopies is the COPY (PUT-class) request price, for --mode s3-copy.
	PerThousandCopies float64 `yaml:"per_thousand_copies,omitempty"`
	// PerMillionInvokes is the Lambda request price, for --mode lambda (the function's
	// duration is billed on top).
	PerMillionInvokes float64 `yaml:"per_million_invokes,omitempty"`
}

// Defaults of the batch_ops section.
const (
	DefaultBatchSuggestAbove   = 100000
	DefaultBatchPriority       = 10
	DefaultBatchCurrency       = "USD"
	DefaultBatchPerJob         = 0.25
	DefaultBatchPerMillion     = 1.00
	DefaultBatchPerThousandPut = 0.005
	DefaultBatchPerMillionInv  = 0.20
	// BatchLambdaSchema is the one invocation schema stowage's --mode lambda sends.
	BatchLambdaSchema = "2.0"
)

// Configured reports whether the batch-ops engine can be used: a role and both prefixes.
func (b BatchOps) Configured() bool {
	return b.RoleARN != "" && b.ManifestPrefix != "" && b.ReportPrefix != ""
}

// LambdaEnabled reports whether --engine batch-ops --mode lambda is offered: the
// environment says its processor understands Batch Operations' invocation schema 2.0.
func (b BatchOps) LambdaEnabled() bool { return b.LambdaSchema == BatchLambdaSchema }

// BatchFunction is the processor function --mode lambda invokes ("" when none is named).
func (e *Env) BatchFunction() string {
	if e.BatchOps.LambdaFunction != "" {
		return e.BatchOps.LambdaFunction
	}
	return e.Events.LambdaFunction
}

// SplitS3URI splits s3://bucket/prefix into its bucket and prefix ("" prefix for the
// bucket's root); ok is false when uri is not an s3:// URI with a bucket.
func SplitS3URI(uri string) (bucket, prefix string, ok bool) {
	rest, found := strings.CutPrefix(uri, "s3://")
	if !found {
		return "", "", false
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if !bucketName.MatchString(bucket) {
		return "", "", false
	}
	return bucket, prefix, true
}

var (
	bucketName = boundedLast(`^([a-z0-9][a-z0-9.-]*[a-z0-9])$`, 3, 63)
	roleARN    = boundedLast(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/([\w+=,.@/-]+)$`, 1, 512)
	accountID  = lazy(`^[0-9]{12}$`)
)

// checkBatchOps validates the batch_ops section.
func checkBatchOps(e *Env, errf, warnf problemf) {
	b := e.BatchOps
	empty := b.RoleARN == "" && b.ManifestPrefix == "" && b.ReportPrefix == "" && b.LambdaSchema == "" &&
		b.LambdaFunction == "" && b.AccountID == ""
	if empty {
		return
	}
	if b.RoleARN == "" {
		errf("batch_ops.role_arn", "is required: the IAM role S3 Batch Operations assumes to run the job (arn:aws:iam::ACCOUNT:role/NAME)")
	} else if !roleARN.MatchString(b.RoleARN) {
		errf("batch_ops.role_arn", "%s is not an IAM role ARN; expected arn:aws:iam::ACCOUNT:role/NAME", quote(b.RoleARN))
	}
	for _, p := range []struct{ field, uri string }{
		{"batch_ops.manifest_prefix", b.ManifestPrefix}, {"batch_ops.report_prefix", b.ReportPrefix},
	} {
		if p.uri == "" {
			errf(p.field, "is required: an s3://bucket/prefix/ location")
			continue
		}
		if _, _, ok := SplitS3URI(p.uri); !ok {
			errf(p.field, "%s is not an s3://bucket/prefix/ location", quote(p.uri))
		}
	}
	if b.SuggestAbove < 0 {
		errf("batch_ops.suggest_above", "%d is negative; expected a number of requests (default %d)", b.SuggestAbove, DefaultBatchSuggestAbove)
	}
	if b.LambdaSchema != "" && b.LambdaSchema != BatchLambdaSchema {
		errf("batch_ops.lambda_schema", "%s is not supported; expected %q (Batch Operations' invocation schema 2.0) or nothing", quote(b.LambdaSchema), BatchLambdaSchema)
	}
	if b.LambdaSchema != "" && e.BatchFunction() == "" {
		warnf("batch_ops.lambda_schema", "is set but no function is named: set batch_ops.lambda_function (or events.lambda_function) for --mode lambda")
	}
	if b.AccountID != "" && !accountID.MatchString(b.AccountID) {
		errf("batch_ops.account_id", "%s is not an AWS account ID (12 digits)", quote(b.AccountID))
	}
	if b.Priority < 0 || b.Priority > 2147483647 {
		errf("batch_ops.priority", "%d is out of range; expected 0 or more", b.Priority)
	}
	c := b.Cost
	for _, v := range []struct {
		field string
		n     float64
	}{{"per_job", c.PerJob}, {"per_million_objects", c.PerMillionObjects}, {"per_thousand_copies", c.PerThousandCopies}, {"per_million_invokes", c.PerMillionInvokes}} {
		if v.n < 0 {
			errf("batch_ops.cost."+v.field, "%g is negative; expected a price", v.n)
		}
	}
}

// defaultBatchOps fills the batch_ops settings the file left empty.
func defaultBatchOps(e *Env, explicit func(field string) bool) {
	b := &e.BatchOps
	if b.SuggestAbove == 0 && !explicit("batch_ops.suggest_above") {
		b.SuggestAbove = DefaultBatchSuggestAbove
	}
	if b.Priority == 0 && !explicit("batch_ops.priority") {
		b.Priority = DefaultBatchPriority
	}
	c := &b.Cost
	if c.Currency == "" {
		c.Currency = DefaultBatchCurrency
	}
	if c.PerJob == 0 && !explicit("batch_ops.cost.per_job") {
		c.PerJob = DefaultBatchPerJob
	}
	if c.PerMillionObjects == 0 && !explicit("batch_ops.cost.per_million_objects") {
		c.PerMillionObjects = DefaultBatchPerMillion
	}
	if c.PerThousandCopies == 0 && !explicit("batch_ops.cost.per_thousand_copies") {
		c.PerThousandCopies = DefaultBatchPerThousandPut
	}
	if c.PerMillionInvokes == 0 && !explicit("batch_ops.cost.per_million_invokes") {
		c.PerMillionInvokes = DefaultBatchPerMillionInv
	}
}

// Estimate is what a job of n objects costs by the table: the Batch Operations fees plus
// each task's own request (lambda: the invocations, else the copies).
func (c BatchOpsCost) Estimate(n int, lambda bool) float64 {
	total := c.PerJob + float64(n)*c.PerMillionObjects/1e6
	if lambda {
		return total + float64(n)*c.PerMillionInvokes/1e6
	}
	return total + float64(n)*c.PerThousandCopies/1e3
}
