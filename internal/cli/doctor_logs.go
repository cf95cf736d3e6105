package cli

import (
	"context"
	"errors"
	"slices"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

// logs checks each configured log group (DescribeLogGroups) and the permission to filter
// it (a one-line FilterLogEvents over the last minute) (#16).
func (d *doctor) logs(ctx context.Context, env *config.Env, c *awsclient.Clients) {
	if !env.Logs.Configured() {
		return
	}
	if c.Logs == nil && slices.Contains(c.OffMachine, "logs") {
		d.report(check{Check: "logs", Result: resultSkip, Detail: offMachineDetail("logs", "logs")}, "")
		return
	}
	if c.Logs == nil {
		d.report(check{Check: "logs", Result: resultFail, Detail: "the CloudWatch Logs client was not built"}, "")
		return
	}
	for _, g := range env.Logs.Groups() {
		d.logGroup(ctx, c.Logs, g)
	}
}

func (d *doctor) logGroup(parent context.Context, r *awsclient.LogReader, group string) {
	ctx, cancel := d.ctx(parent)
	defer cancel()
	name := "logs"
	what := sanitize.Line(group) + ": "
	gc := r.CheckGroup(ctx, group)
	if gc.Err == nil {
		d.report(check{Check: name, Result: resultPass,
			Detail: what + "exists; logs:FilterLogEvents works; trace's Logs Insights queries also need logs:StartQuery and logs:GetQueryResults (not tried)"}, "")
		return
	}
	var ae *awsclient.Error
	if errors.As(gc.Err, &ae) && ae.Kind == awsclient.KindAccessDenied {
		plain := *ae
		plain.Remedy = ""
		d.report(check{Check: name, Result: resultFail, Detail: what + sanitize.Line(plain.Error())},
			ae.Remedy+"; trace reads with logs:FilterLogEvents and logs:StartQuery on "+r.GroupARN(group, "")+":*, and logs:GetQueryResults on * (it names no group)")
		return
	}
	d.reportErr(name, gc.Err)
}
