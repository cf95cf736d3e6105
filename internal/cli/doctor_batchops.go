package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// batchOps checks S3 Control access, the batch-ops role and the manifest and report prefixes (#15).
func (d *doctor) batchOps(ctx context.Context, env *config.Env, c *awsclient.Clients) {
	if slices.Contains(c.OffMachine, "batch_ops") {
		d.report(check{Check: "batch ops", Result: resultSkip, Detail: offMachineDetail("batch_ops", "s3control")}, "")
		return
	}
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
	d.batchRole(ctx, env, c)
	for _, report := range []bool{false, true} {
		d.batchPrefix(ctx, c, report)
	}
}

// batchPrefix checks the manifest (or report) prefix: a probe object put and deleted; in
// read-only, nothing is written and the prefix is listed instead.
func (d *doctor) batchPrefix(ctx context.Context, c *awsclient.Clients, report bool) {
	name, field := "batch csv", "batch_ops.manifest_prefix"
	if report {
		name, field = "batch report", "batch_ops.report_prefix"
	}
	wctx, cancel := d.ctx(ctx)
	defer cancel()
	if c.Jobs.ReadOnly() {
		if _, err := c.Jobs.CheckList(wctx, report); err != nil {
			d.reportErr(name, err)
			return
		}
		d.report(check{Check: name, Result: resultSkip, Detail: field + ": read-only, so no probe is written (writes not checked); the prefix lists (s3:ListBucket)"}, "")
		return
	}
	pc, err := c.Jobs.CheckWrite(wctx, report)
	switch {
	case err != nil:
		d.reportErr(name, err)
	case pc.LeftErr != nil:
		var remedy string
		var ae *awsclient.Error
		if errors.As(pc.LeftErr, &ae) {
			remedy = ae.Remedy
		}
		d.report(check{Check: name, Result: resultWarn, Detail: field + " takes writes (s3:PutObject), but the probe " + sanitize.Line(pc.Probe) +
			" could not be deleted and stays: " + sanitize.Line(reasonText(pc.LeftErr))}, sanitize.Line(remedy))
	default:
		d.report(check{Check: name, Result: resultPass, Detail: field + " takes writes (a probe object put and deleted: s3:PutObject, s3:DeleteObject)"}, "")
	}
}

// roleARN is compiled on first use, by doctor only (#13: every command paid for it).
var roleARN = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):role/(.+)$`) })

// batchRole checks the role: its ARN, its account, and through IAM that it exists and
// trusts S3 Batch Operations (iam:GetRole), and that the caller may pass it
// (iam:SimulatePrincipalPolicy). What IAM does not let the caller ask is a warning that
// names the action; a local stack has no IAM, and says so.
func (d *doctor) batchRole(ctx context.Context, env *config.Env, c *awsclient.Clients) {
	role := env.BatchOps.RoleARN
	m := roleARN().FindStringSubmatch(role)
	if m == nil {
		d.report(check{Check: "batch role", Result: resultFail, Detail: sanitize.Line(role) + " is not an IAM role ARN"}, "set batch_ops.role_arn to arn:aws:iam::ACCOUNT:role/NAME")
		return
	}
	shown := sanitize.Line(role)
	if id := env.BatchOps.AccountID; id != "" && id != m[1] {
		d.report(check{Check: "batch role", Result: resultWarn, Detail: fmt.Sprintf("%s is in account %s, the jobs in %s", shown, m[1], sanitize.Line(id))},
			"the role must be in the job's account")
		return
	}
	cctx, cancel := d.ctx(ctx)
	defer cancel()
	rc := c.Jobs.CheckRole(cctx)
	if rc.Skipped != "" {
		d.report(check{Check: "batch role", Result: resultSkip, Detail: shown + ": " + sanitize.Line(rc.Skipped)}, "")
		return
	}
	switch {
	case awsclient.KindOf(rc.ExistsErr) == awsclient.KindNotFound:
		d.report(check{Check: "batch role", Result: resultFail, Detail: shown + " does not exist (iam:GetRole)"},
			"create the role, trusting "+awsclient.BatchServicePrincipal+", or fix batch_ops.role_arn")
	case rc.ExistsErr != nil:
		d.report(check{Check: "batch role", Result: resultWarn, Detail: shown + ": could not check that it exists: " + sanitize.Line(reasonText(rc.ExistsErr))},
			"to check it, the credentials need iam:GetRole on the role")
	case rc.TrustRead && !rc.Trusted:
		d.report(check{Check: "batch role", Result: resultFail, Detail: shown + " exists, but its trust policy does not name " + awsclient.BatchServicePrincipal + ": S3 cannot assume it"},
			"add "+awsclient.BatchServicePrincipal+" to the role's trust policy (sts:AssumeRole)")
	default:
		d.report(check{Check: "batch role", Result: resultPass, Detail: shown + " exists and trusts " + awsclient.BatchServicePrincipal}, "")
	}
	switch {
	case rc.PassRoleErr != nil:
		d.report(check{Check: "pass role", Result: resultWarn, Detail: "iam:PassRole could not be checked: " + sanitize.Line(reasonText(rc.PassRoleErr))},
			"CreateJob will say if it is missing; to check it here, the credentials need "+awsclient.ActionSimulate+" on their own user or role")
	case rc.PassRole == "allowed":
		d.report(check{Check: "pass role", Result: resultPass, Detail: sanitize.Line(rc.Caller) + " may pass the role (iam:PassRole, by the IAM policy simulator)"}, "")
	default:
		d.report(check{Check: "pass role", Result: resultFail, Detail: fmt.Sprintf("%s may not pass the role: iam:PassRole is %s (by the IAM policy simulator)", sanitize.Line(rc.Caller), sanitize.Line(rc.PassRole))},
			"allow iam:PassRole on "+shown+" to the operator's user or role")
	}
}

// reasonText is an error's message without its remedy (doctor prints its own).
func reasonText(err error) string {
	var ae *awsclient.Error
	if errors.As(err, &ae) {
		plain := *ae
		plain.Remedy = ""
		return plain.Error()
	}
	return err.Error()
}
