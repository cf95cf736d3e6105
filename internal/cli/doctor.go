package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/sanitize"
)

func newDoctorCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the environment step by step and say how to fix what fails",
		Long: `Check that stowage can work with the selected environment, one step at a time, and print
a PASS, FAIL, WARN or SKIP line for each, with what to do about every failure:

  config        the config file and the environment in it
  region        the AWS region the clients use
  credentials   the caller identity (sts:GetCallerIdentity)
  bucket list   s3:ListBucket on storage.bucket under storage.prefix
  bucket get    s3:GetObject of one stored request (one byte)
  table         the status table exists and its key is status.key_attr alone
  status index  the GSI of status.index, keyed by the status attribute
  lease table   redrive.lease_table exists, is keyed by requestId and (unless read-only)
                may be written: a conditional write that can never succeed, so nothing
                is written; without a lease table two machines can send a request twice
  gateway       the gateway answers as API Gateway does (a GET of an unknown path, answered
                403 Missing Authentication Token); anything else is reported as garbage
  api key       the API key source can be read (the key is never printed)
  auth probe    the key (or IAM signature) is accepted on the in-place route: an empty PUT
                to {bucket}=` + awsclient.ProbeBucket + ` and a {key} of over 1024 bytes.
                API Gateway matches the route first (403 Missing Authentication Token),
                then checks the key (403 Forbidden), then runs the integration, where S3
                refuses the key: nothing is stored. Not sent in read-only mode.
  read-only     whether this environment refuses writes

doctor stores nothing. With -o json each check is one JSON line with check, result
(pass|fail|warn|skip), detail and remedy.

Exit codes:
  0  every check passed (warnings allowed)
  2  the config file or the environment cannot be used
  3  a check failed`,
		Example: `  # Before the first redrive against prod
  stowage --env prod doctor

  # In CI, as JSON
  stowage --env staging doctor -o json | jq -r 'select(.result=="fail") | .check + ": " + .remedy'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDoctor(cmd.Context(), g)
		},
	}
	addOutputFlag(cmd, g)
	return cmd
}

// Check results.
const (
	resultPass = "pass"
	resultFail = "fail"
	resultWarn = "warn"
	resultSkip = "skip"
)

// check is one doctor step.
type check struct {
	Check  string  `json:"check"`
	Result string  `json:"result"`
	Detail string  `json:"detail"`
	Remedy *string `json:"remedy"`
}

// doctorTimeout bounds each check, so a black-holed endpoint cannot hang the doctor.
const doctorTimeout = 15 * time.Second

// gatewayProbePath is an unknown path: API Gateway answers it 403 without running anything.
const gatewayProbePath = "/stowage-doctor-probe"

// Optional gateway abilities, used when awsclient offers them.
type (
	gatewayProber interface {
		Probe(ctx context.Context) (awsclient.GatewayResponse, error)
	}
	apiKeyValidator interface {
		CheckAPIKey(ctx context.Context) error
	}
)

// defaultDoctorHTTP sends the gateway probe when the gateway client cannot.
var defaultDoctorHTTP = &http.Client{Timeout: doctorTimeout}

type doctor struct {
	g      *Globals
	format string
	color  bool
	w      *bufio.Writer
	failed bool
}

func runDoctor(ctx context.Context, g *Globals) error {
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	d := &doctor{g: g, format: format, color: g.color(g.Stdout), w: bufio.NewWriter(g.Stdout)}
	defer d.w.Flush()

	env, file, err := g.LoadEnv()
	if err != nil {
		// A config error carries its remedy after the first line (e.g. how to create the
		// file); say that rather than point at validate, which would fail the same way.
		detail, rest, _ := strings.Cut(err.Error(), "\n")
		remedy := "fix the config file: run stowage config validate"
		if rest = strings.Join(strings.Fields(rest), " "); rest != "" {
			remedy = rest
		}
		d.report(check{Check: "config", Result: resultFail, Detail: sanitize.Line(detail)}, sanitize.Line(remedy))
		d.w.Flush()
		return err
	}
	where := "the config"
	if file != nil && file.Path != "" {
		where = file.Path
	}
	d.report(check{Check: "config", Result: resultPass, Detail: fmt.Sprintf("environment %s in %s", env.Name, sanitize.Line(where))}, "")

	c, err := d.g.openEnv(ctx, env)
	if err != nil {
		d.reportErr("region", err)
		d.skip("credentials", "bucket list", "bucket get", "table", "status index", "lease table", "gateway", "api key", "auth probe")
		d.readOnly(env)
		return d.result()
	}
	d.report(check{Check: "region", Result: resultPass, Detail: c.Region}, "")
	d.credentials(ctx, env, c)
	d.bucket(ctx, env, c)
	d.table(ctx, env, c)
	d.leases(ctx, env, c)
	d.gateway(ctx, env, c)
	d.events(ctx, env, c)   // doctor_events.go
	d.logs(ctx, env, c)     // doctor_logs.go
	d.batchOps(ctx, env, c) // doctor_batchops.go
	d.readOnly(env)
	return d.result()
}

func (d *doctor) result() error {
	if err := d.w.Flush(); err != nil {
		return err
	}
	if d.failed {
		return exitf(ExitAWS, "some checks failed; see the remedies above")
	}
	return nil
}

// report writes one check; remedy is for failures and warnings.
func (d *doctor) report(c check, remedy string) {
	if remedy != "" {
		r := sanitize.Line(remedy)
		c.Remedy = &r
	}
	if c.Result == resultFail {
		d.failed = true
	}
	if d.format == outputJSON {
		enc := json.NewEncoder(d.w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(c)
		return
	}
	label := strings.ToUpper(c.Result)
	if d.color {
		label = map[string]string{resultPass: "\x1b[32m", resultFail: "\x1b[31m", resultWarn: "\x1b[33m", resultSkip: "\x1b[2m"}[c.Result] +
			label + sgrReset
	}
	fmt.Fprintf(d.w, "%s  %s  %s\n", label, pad(c.Check, 12), c.Detail)
	if c.Remedy != nil {
		fmt.Fprintf(d.w, "      %s  to fix: %s\n", pad("", 12), *c.Remedy)
	}
}

// reportErr reports a failed check from an awsclient error.
func (d *doctor) reportErr(name string, err error) {
	var ae *awsclient.Error
	if errors.As(err, &ae) {
		plain := *ae
		plain.Remedy = ""
		d.report(check{Check: name, Result: resultFail, Detail: sanitize.Line(plain.Error())}, ae.Remedy)
		return
	}
	d.report(check{Check: name, Result: resultFail, Detail: sanitize.Line(err.Error())}, "")
}

func (d *doctor) skip(names ...string) {
	for _, n := range names {
		d.report(check{Check: n, Result: resultSkip, Detail: "not checked: the clients could not be set up"}, "")
	}
}

func (d *doctor) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, doctorTimeout)
}

func (d *doctor) credentials(parent context.Context, env *config.Env, c *awsclient.Clients) {
	ctx, cancel := d.ctx(parent)
	defer cancel()
	arn, err := c.Identity(ctx)
	if err != nil {
		d.reportErr("credentials", err)
		return
	}
	if arn == "" && c.Local {
		// Identity does not ask real STS about a local stack: that would leave loopback.
		d.report(check{Check: "credentials", Result: resultSkip,
			Detail: "custom endpoints and no endpoints.sts: the caller identity is not asked; the checks below use the credentials"}, "")
		return
	}
	detail := sanitize.Line(arn)
	if c.Profile != "" {
		detail += " (profile " + sanitize.Line(c.Profile) + ")"
	}
	d.report(check{Check: "credentials", Result: resultPass, Detail: detail}, "")
}

func (d *doctor) bucket(parent context.Context, env *config.Env, c *awsclient.Clients) {
	ctx, cancel := d.ctx(parent)
	defer cancel()
	where := "s3://" + env.Storage.Bucket + "/" + env.Storage.Prefix
	page, err := c.Objects.ListPage(ctx, env.Storage.Prefix, "", 1)
	if err != nil {
		d.reportErr("bucket list", err)
		d.report(check{Check: "bucket get", Result: resultSkip, Detail: "not checked: the bucket cannot be listed"}, "")
		return
	}
	d.report(check{Check: "bucket list", Result: resultPass, Detail: sanitize.Line(where) + " can be listed"}, "")
	if len(page.Objects) == 0 {
		d.report(check{Check: "bucket get", Result: resultSkip, Detail: "no stored request to read under " + sanitize.Line(where)}, "")
		return
	}
	key := page.Objects[0].Key
	if _, _, err := c.Objects.GetRange(ctx, key, 0, 1); err != nil {
		d.reportErr("bucket get", err)
		return
	}
	d.report(check{Check: "bucket get", Result: resultPass, Detail: "read the first byte of " + sanitize.Line("s3://"+env.Storage.Bucket+"/"+key)}, "")
}

func (d *doctor) table(parent context.Context, env *config.Env, c *awsclient.Clients) {
	ctx, cancel := d.ctx(parent)
	defer cancel()
	info, err := c.Statuses.Describe(ctx)
	if err != nil {
		d.reportErr("table", err)
		d.report(check{Check: "status index", Result: resultSkip, Detail: "not checked: the table cannot be described"}, "")
		return
	}
	st := env.Status
	var hash, rng *awsclient.KeyAttr
	for i, k := range info.Keys {
		switch k.Role {
		case "HASH":
			hash = &info.Keys[i]
		case "RANGE":
			rng = &info.Keys[i]
		}
	}
	name := "dynamodb://" + st.Table
	switch {
	case hash == nil || hash.Name != st.KeyAttr:
		got := "none"
		if hash != nil {
			got = hash.Name
		}
		d.report(check{Check: "table", Result: resultFail, Detail: fmt.Sprintf("%s is keyed by %s, not %s", name, sanitize.Line(got), st.KeyAttr)},
			"set status.key_attr to the table's partition key ("+sanitize.Line(got)+")")
	case rng != nil:
		d.report(check{Check: "table", Result: resultFail, Detail: fmt.Sprintf("%s has a sort key %s: a request ID alone cannot read an item", name, sanitize.Line(rng.Name))},
			"point status.table at the table keyed by the request ID alone")
	case hash.Type != "" && hash.Type != "S":
		d.report(check{Check: "table", Result: resultFail, Detail: fmt.Sprintf("%s: key %s is of type %s, request IDs are strings (S)", name, hash.Name, sanitize.Line(hash.Type))},
			"point status.table at the table keyed by the request ID string")
	case info.Status != "" && info.Status != "ACTIVE":
		d.report(check{Check: "table", Result: resultWarn, Detail: fmt.Sprintf("%s is %s", name, sanitize.Line(info.Status))}, "wait until the table is ACTIVE")
	default:
		d.report(check{Check: "table", Result: resultPass, Detail: fmt.Sprintf("%s keyed by %s, about %d items", name, hash.Name, info.ItemCount)}, "")
	}

	if st.Index == "" {
		d.report(check{Check: "status index", Result: resultWarn, Detail: "no status.index: ls --status scans the whole table"},
			"add a GSI with the status attribute as partition key and the updated-at attribute as sort key, and name it in status.index")
		return
	}
	for _, ix := range info.Indexes {
		if ix.Name != st.Index {
			continue
		}
		var ih, ir string
		for _, k := range ix.Keys {
			switch k.Role {
			case "HASH":
				ih = k.Name
			case "RANGE":
				ir = k.Name
			}
		}
		switch {
		case ih != st.StatusAttr:
			d.report(check{Check: "status index", Result: resultFail, Detail: fmt.Sprintf("%s is keyed by %s, not the status attribute %s", st.Index, sanitize.Line(ih), st.StatusAttr)},
				"point status.index at a GSI whose partition key is "+st.StatusAttr)
		case ix.Status != "" && ix.Status != "ACTIVE":
			d.report(check{Check: "status index", Result: resultWarn, Detail: fmt.Sprintf("%s is %s", st.Index, sanitize.Line(ix.Status))}, "wait until the index is ACTIVE")
		case ir != st.UpdatedAtAttr:
			d.report(check{Check: "status index", Result: resultWarn, Detail: fmt.Sprintf("%s sorts by %s, not %s: --status results are not newest first", st.Index, sanitize.Line(ir), st.UpdatedAtAttr)},
				"use a GSI with "+st.UpdatedAtAttr+" as its sort key")
		default:
			d.report(check{Check: "status index", Result: resultPass, Detail: fmt.Sprintf("%s keyed by %s, sorted by %s", st.Index, ih, ir)}, "")
		}
		return
	}
	d.report(check{Check: "status index", Result: resultFail, Detail: fmt.Sprintf("%s has no index %s", name, st.Index)},
		"check status.index in the config: the table has no such index")
}

func (d *doctor) gateway(parent context.Context, env *config.Env, c *awsclient.Clients) {
	if c.Gateway == nil {
		d.report(check{Check: "gateway", Result: resultWarn, Detail: "no gateway.url: redrive cannot re-upload through the API"},
			"set gateway.url to the API's stage URL")
		d.report(check{Check: "api key", Result: resultSkip, Detail: "no gateway"}, "")
		return
	}
	ctx, cancel := d.ctx(parent)
	defer cancel()
	base := sanitize.Line(c.Gateway.BaseURL())
	var status int
	var body string
	if p, ok := any(c.Gateway).(gatewayProber); ok {
		resp, err := p.Probe(ctx)
		status, body = resp.StatusCode, string(resp.Body)
		if status == 0 && err != nil {
			body = err.Error()
		}
	} else {
		status, body = probeGateway(ctx, d.g.doctorHTTP(), c.Gateway.BaseURL())
	}
	switch {
	case status == 0:
		d.report(check{Check: "gateway", Result: resultFail, Detail: base + " does not answer: " + sanitize.Line(body)},
			"check gateway.url and the network (VPN, proxy)")
	case status == http.StatusForbidden && apiGatewayMessage(body) == "Missing Authentication Token":
		d.report(check{Check: "gateway", Result: resultPass, Detail: base + " answers (403 Missing Authentication Token for an unknown path, as API Gateway does)"}, "")
	case status >= 500 && apiGatewayMessage(body) != "":
		d.report(check{Check: "gateway", Result: resultWarn, Detail: fmt.Sprintf("%s answers %d", base, status)}, "the gateway is reachable but failing; check the API's logs")
	case apiGatewayMessage(body) != "":
		d.report(check{Check: "gateway", Result: resultPass, Detail: fmt.Sprintf("%s answers (%d for an unknown path)", base, status)}, "")
	default:
		d.report(check{Check: "gateway", Result: resultFail,
			Detail: fmt.Sprintf("%s answers, but not as API Gateway does: %d %s", base, status, snippet(body))},
			"check gateway.url (with its stage): a proxy, a captive portal or another server answered")
	}
	d.apiKey(ctx, env, c)
	d.authProbe(ctx, env, c)
}

// apiGatewayMessage is the message of API Gateway's {"message": "..."} answer, or "".
func apiGatewayMessage(body string) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(body), &m) != nil {
		return ""
	}
	return m.Message
}

// snippet is the start of an answer from outside, on one safe line.
func snippet(s string) string {
	s = strings.Join(strings.Fields(sanitize.Line(s)), " ")
	if len(s) > 80 {
		s = strings.ToValidUTF8(s[:80], "") + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return strconv.Quote(s)
}

// authProbe proves the key (or the IAM signature) with awsclient's ProbeAuth, which API
// Gateway routes and key-checks but S3 refuses, so it stores nothing.
func (d *doctor) authProbe(ctx context.Context, env *config.Env, c *awsclient.Clients) {
	route, err := awsclient.ParseRoute(env.Gateway.Routes.Inplace)
	if err != nil {
		d.report(check{Check: "auth probe", Result: resultSkip, Detail: "gateway.routes.inplace cannot be parsed: " + sanitize.Line(err.Error())}, "")
		return
	}
	if c.Gateway.ReadOnly() {
		d.report(check{Check: "auth probe", Result: resultSkip,
			Detail: "read-only: no PUT is sent, so the gateway's acceptance of the " + string(c.Gateway.Auth()) + " auth is not proved"}, "")
		return
	}
	what := route.Method + " " + route.Path
	res, err := c.Gateway.ProbeAuth(ctx, route)
	if err != nil {
		d.reportErr("auth probe", err)
		return
	}
	msg := sanitize.Line(res.Message)
	auth := "the API key"
	if c.Gateway.Auth() == awsclient.AuthIAM {
		auth = "the IAM signature"
	} else if c.Gateway.Auth() == awsclient.AuthNone {
		auth = "the unauthenticated request"
	}
	switch res.Verdict {
	case awsclient.ProbeAccepted:
		d.report(check{Check: "auth probe", Result: resultPass, Detail: fmt.Sprintf(
			"%s passed API Gateway's route and auth checks on %s; the integration answered %d, not 2xx: nothing stored",
			auth, what, res.Status)}, "")
	case awsclient.ProbeThrottled:
		d.report(check{Check: "auth probe", Result: resultWarn, Detail: fmt.Sprintf("%s was accepted on %s but the usage plan throttled it (429)", auth, what)},
			"lower rate, or raise the usage plan's limits")
	case awsclient.ProbeKeyRefused:
		d.report(check{Check: "auth probe", Result: resultFail, Detail: fmt.Sprintf("403 Forbidden on %s, a route that exists: %s is refused", what, auth)},
			"check the key's value and that its usage plan includes this API and stage (a WAF rule or resource policy can also answer Forbidden)")
	case awsclient.ProbeNoRoute:
		d.report(check{Check: "auth probe", Result: resultFail, Detail: fmt.Sprintf(
			"403 Missing Authentication Token: %s is not a route of %s; the key is not proved (API Gateway matches the route before it checks the key)",
			what, sanitize.Line(c.Gateway.BaseURL()))},
			"check gateway.url (with its stage) and gateway.routes.inplace, and that the API is deployed")
	case awsclient.ProbeDenied:
		d.report(check{Check: "auth probe", Result: resultFail, Detail: fmt.Sprintf("403 on %s: %s", what, msg)},
			"the caller needs execute-api:Invoke on the route (IAM policy, resource policy or authorizer)")
	case awsclient.ProbeStored:
		d.report(check{Check: "auth probe", Result: resultFail, Detail: fmt.Sprintf(
			"%s answered %d to a PUT that S3 must refuse: the integration does not store under {key} as stowage assumes, and may have stored the probe", what, res.Status)},
			"look for an object named "+awsclient.ProbeKey[:28]+"… in the bucket and check the route's integration before redriving")
	default:
		d.report(check{Check: "auth probe", Result: resultFail, Detail: fmt.Sprintf("%s answers, but not as API Gateway does: %d %s", what, res.Status, snippet(res.Message))},
			"check gateway.url (with its stage): a proxy, a captive portal or another server answered")
	}
}

// leases checks the lease table that keeps runs on different machines apart.
func (d *doctor) leases(parent context.Context, env *config.Env, c *awsclient.Clients) {
	table := env.Redrive.LeaseTable
	if table == "" || c.Leases == nil {
		d.report(check{Check: "lease table", Result: resultWarn,
			Detail: "no lease table: two runs on different machines can send the same request twice"},
			"create one (README, \"The lease table\"): "+awsclient.CreateTableCommand("stowage-"+env.Name+"-leases")+", then set redrive.lease_table")
		return
	}
	ctx, cancel := d.ctx(parent)
	defer cancel()
	if err := c.Leases.Check(ctx); err != nil {
		d.reportErr("lease table", err)
		return
	}
	detail := fmt.Sprintf("dynamodb://%s keyed by %s, writable (checked with a conditional write that cannot succeed)",
		sanitize.Line(table), awsclient.LeaseKeyAttr)
	if c.Leases.ReadOnly() {
		detail = fmt.Sprintf("dynamodb://%s keyed by %s (read-only: writes not checked)", sanitize.Line(table), awsclient.LeaseKeyAttr)
	}
	d.report(check{Check: "lease table", Result: resultPass, Detail: detail}, "")
}

// probeGateway GETs an unknown path without credentials, returning the status and the
// start of the body (or, with status 0, why nothing answered).
func probeGateway(ctx context.Context, client *http.Client, base string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+gatewayProbePath, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, string(b)
}

func (d *doctor) apiKey(ctx context.Context, env *config.Env, c *awsclient.Clients) {
	gw := env.Gateway
	if gw.Auth != config.AuthAPIKey {
		d.report(check{Check: "api key", Result: resultSkip, Detail: fmt.Sprintf("gateway.auth is %s: no API key needed", gw.Auth)}, "")
		return
	}
	src := awsclient.APIKeySource{Env: gw.APIKeyEnv, SSM: gw.APIKeySSM, SecretID: gw.APIKeySecret, Literal: gw.APIKey}
	what := sanitize.Line(src.String())
	var err error
	switch v, ok := any(c.Gateway).(apiKeyValidator); {
	case ok:
		err = v.CheckAPIKey(ctx)
	case src.Env != "" || src.Literal != "":
		// Neither needs a client; the key is read and dropped, never printed.
		_, err = awsclient.ResolveAPIKey(ctx, src, nil, nil)
	case !c.Gateway.ReadOnly():
		// The gateway client reads the key from SSM or Secrets Manager before it sends; a
		// GET of an unknown path is answered 403 by API Gateway and stores nothing.
		resp, serr := c.Gateway.Send(ctx, awsclient.Route{Method: http.MethodGet, Path: gatewayProbePath}, awsclient.RouteVars{}, awsclient.Payload{})
		if resp.StatusCode == 0 && errors.Is(serr, awsclient.ErrNotSent) {
			err = serr
		}
	default:
		d.report(check{Check: "api key", Result: resultWarn, Detail: "from " + what + ": not read in read-only mode; it is read on the first redrive"},
			"check that the credentials may read "+what)
		return
	}
	if err != nil {
		d.reportErr("api key", err)
		return
	}
	if src.Literal != "" && src.Env == "" && src.SSM == "" && src.SecretID == "" {
		d.report(check{Check: "api key", Result: resultWarn, Detail: "written in the config file (not shown)"},
			"move it to api_key_env, api_key_ssm or api_key_secret")
		return
	}
	d.report(check{Check: "api key", Result: resultPass, Detail: "readable from " + what + " (not shown)"}, "")
}

func (d *doctor) readOnly(env *config.Env) {
	switch {
	case env.ReadOnly:
		d.report(check{Check: "read-only", Result: resultPass, Detail: "yes: redrive, copy and put are refused"}, "")
	case env.Production:
		d.report(check{Check: "read-only", Result: resultWarn, Detail: "no, and production: redrive writes here (with stricter confirmations)"},
			"use --read-only while investigating")
	default:
		d.report(check{Check: "read-only", Result: resultPass, Detail: "no: redrive writes to this environment"}, "")
	}
}
