package cli

import (
	"context"
	"fmt"
	"regexp"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// batchOps checks S3 Control access, the batch-ops role and the manifest and report prefixes (#15).
func (d *doctor) batchOps(ctx context.Context, env *config.Env, c *awsclient.Clients) {
	if !env.BatchOps.Configured() || c.Jobs == nil {
		d.report(check{Check: "batch ops", Result: resultSkip, Detail: "no batch_ops section: redrive --engine batch-ops is off"}, "")
		return
	}
	cctx, cancel := d.ctx(ctx)
	defer cancel()
	if err := c.Jobs.CheckAccess(cctx); err != nil {
		d.reportErr("batch ops", err)
	} else {
		d.report(check{Check: "batch ops", Result: resultPass, Detail: "S3 Control answers ListJobs (s3:ListJobs); creating a job also needs s3:CreateJob and iam:PassRole"}, "")
	}
	d.batchRole(env, c)
	for _, report := range []bool{false, true} {
		name, field := "batch csv", "batch_ops.manifest_prefix"
		if report {
			name, field = "batch report", "batch_ops.report_prefix"
		}
		if c.Jobs.ReadOnly() {
			d.report(check{Check: name, Result: resultSkip, Detail: field + ": read-only, writes not checked"}, "")
			continue
		}
		wctx, cancel := d.ctx(ctx)
		err := c.Jobs.CheckWrite(wctx, report)
		cancel()
		if err != nil {
			d.reportErr(name, err)
			continue
		}
		d.report(check{Check: name, Result: resultPass, Detail: field + " takes writes (a small .stowage-doctor-probe object)"}, "")
	}
}

var roleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):role/(.+)$`)

// batchRole says what can be known of the role without the IAM API: its account, and
// what it and the operator need. CreateJob itself is the check of iam:PassRole.
func (d *doctor) batchRole(env *config.Env, c *awsclient.Clients) {
	role := env.BatchOps.RoleARN
	m := roleARN.FindStringSubmatch(role)
	if m == nil {
		d.report(check{Check: "batch role", Result: resultFail, Detail: sanitize.Line(role) + " is not an IAM role ARN"}, "set batch_ops.role_arn to arn:aws:iam::ACCOUNT:role/NAME")
		return
	}
	detail := fmt.Sprintf("%s (existence and iam:PassRole are not checked here: S3 Control's CreateJob refuses a role that is missing or not passable, and stowage names which)", sanitize.Line(role))
	remedy := ""
	if id := env.BatchOps.AccountID; id != "" && id != m[1] {
		d.report(check{Check: "batch role", Result: resultWarn, Detail: fmt.Sprintf("%s is in account %s, the jobs in %s", sanitize.Line(role), m[1], sanitize.Line(id))},
			"the role must be in the job's account")
		return
	}
	d.report(check{Check: "batch role", Result: resultPass, Detail: detail}, remedy)
}
