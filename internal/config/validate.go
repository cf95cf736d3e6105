package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Validate checks every environment and returns all problems, errors and warnings, in
// file order. It never includes a literal API key in a message. Use Check to turn the
// result into an error.
func (f *File) Validate() []Problem {
	c := &checker{f: f}
	if len(f.Environments) == 0 {
		c.add(false, "", "environments", "no environments; add at least one with storage.bucket and status.table (see stowage config example)")
	}
	if f.DefaultEnv != "" {
		if _, ok := f.Environments[f.DefaultEnv]; !ok {
			c.add(false, "", "default_env", "%s is not an environment in this file; expected one of %s",
				quote(f.DefaultEnv), strings.Join(f.Names(), ", "))
		}
	}
	names := f.Names()
	sort.SliceStable(names, func(i, j int) bool {
		return f.lines["environments."+names[i]] < f.lines["environments."+names[j]]
	})
	for _, name := range names {
		e := f.Environments[name]
		if e == nil {
			e = &Env{Name: name}
		}
		c.env(name, e)
	}
	if len(f.shape) > 0 {
		// A field that could not be read took its default or stayed empty: checking that
		// would only repeat its shape problem in other words.
		fieldChecks := c.problems
		c.problems = append([]Problem(nil), f.shape...)
		for _, p := range fieldChecks {
			if !f.isBroken(p.Field) {
				c.problems = append(c.problems, p)
			}
		}
	}
	// File order reads best; problems without a line (absent fields) sort by their parent's.
	sort.SliceStable(c.problems, func(i, j int) bool { return c.problems[i].Line < c.problems[j].Line })
	return c.problems
}

// isBroken reports whether field is, lies under, or (within an environment) groups a path
// that LoadPartial could not read, e.g. environments.prod.gateway when
// environments.prod.gateway.auth was a list: the gateway's combined checks saw a default.
func (f *File) isBroken(field string) bool {
	for _, b := range f.broken {
		switch {
		case b == "", field == b, strings.HasPrefix(field, b+"."), strings.HasPrefix(field, b+"["):
			return true
		case strings.HasPrefix(b, field+".") && strings.Count(field, ".") >= 2:
			return true
		}
	}
	return false
}

// Validate checks one environment on its own (for environments built in memory).
func (e *Env) Validate() []Problem {
	c := &checker{f: &File{}}
	c.env(e.Name, e)
	return c.problems
}

type checker struct {
	f        *File
	problems []Problem
}

func (c *checker) add(warning bool, env, field, format string, args ...any) {
	c.problems = append(c.problems, Problem{
		File: c.f.Path, Line: c.f.lineOf(field), Env: env, Field: field,
		Message: fmt.Sprintf(format, args...), Warning: warning,
	})
}

// lineOf finds the line of field or, when the field is absent, of its nearest ancestor.
func (f *File) lineOf(field string) int {
	for field != "" {
		if line, ok := f.lines[field]; ok {
			return line
		}
		i := strings.LastIndexByte(field, '.')
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return 0
}

var (
	envNameRe   = boundedLast(`^([A-Za-z0-9][A-Za-z0-9_-]*)$`, 1, 64)
	regionRe    = lazy(`^[a-z]{2,3}(-[a-z]+){1,3}-[0-9]{1,2}$`)
	tableRe     = boundedLast(`^([A-Za-z0-9_.-]+)$`, 3, 255)
	tableARNRe  = boundedLast(`^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/([A-Za-z0-9_.-]+)$`, 3, 255)
	envVarRe    = lazy(`^[A-Za-z_][A-Za-z0-9_]*$`)
	ssmNameRe   = lazy(`^(arn:[A-Za-z0-9:_./-]+|[A-Za-z0-9_./-]+)$`)
	secretIDRe  = lazy(`^[A-Za-z0-9/_+=.@:-]+$`)
	headerRe    = lazy("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	hexColorRe  = lazy(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	bucketRe    = boundedLast(`^([a-z0-9][a-z0-9.-]*[a-z0-9])$`, 3, 63)
	legacyBktRe = boundedLast(`^([A-Za-z0-9][A-Za-z0-9._-]+[A-Za-z0-9])$`, 3, 255)
)

func (c *checker) env(name string, e *Env) {
	at := func(field string) string { return "environments." + name + "." + field }
	errf := func(field, format string, args ...any) { c.add(false, name, at(field), format, args...) }
	warnf := func(field, format string, args ...any) { c.add(true, name, at(field), format, args...) }

	if !envNameRe.MatchString(name) {
		c.add(false, name, "environments."+name, "environment name %s is not usable with --env; expected letters, digits, - and _ (at most 64)", quote(name))
	}

	// AWS
	if msg := checkProfile(e.Profile); msg != "" {
		errf("profile", "%s", msg)
	}
	if msg := checkRegion(e.Region); msg != "" {
		errf("region", "%s", msg)
	}
	for _, ep := range []struct{ field, url string }{
		{"s3", e.Endpoints.S3}, {"dynamodb", e.Endpoints.DynamoDB}, {"gateway", e.Endpoints.Gateway},
		{"sts", e.Endpoints.STS}, {"ssm", e.Endpoints.SSM}, {"secretsmanager", e.Endpoints.SecretsManager},
		{"sqs", e.Endpoints.SQS}, {"lambda", e.Endpoints.Lambda}, {"eventbridge", e.Endpoints.EventBridge},
		{"logs", e.Endpoints.Logs}, {"s3control", e.Endpoints.S3Control},
	} {
		if ep.url == "" {
			continue
		}
		// The gateway's base URL may carry a stage path; AWS API endpoints may not.
		if msg := checkURL(ep.url, ep.field != "gateway"); msg != "" {
			errf("endpoints."+ep.field, "%s", msg)
		}
	}

	if lc := e.LocalCredentials; lc != nil {
		if lc.AccessKeyID == "" || lc.SecretAccessKey == "" {
			errf("local_credentials", "needs both access_key_id and secret_access_key")
		}
		if off := e.offLoopback(); len(off) > 0 {
			errf("local_credentials", "%s", localCredentialsMessage(off))
		}
		if e.Profile != "" {
			warnf("profile", "ignored: local_credentials sign every request of this environment; remove one of them")
		}
	}

	// Storage
	if msg, warn := checkBucket(e.Storage.Bucket); msg != "" {
		if warn {
			warnf("storage.bucket", "%s", msg)
		} else {
			errf("storage.bucket", "%s", msg)
		}
	}
	for _, p := range []struct{ field, value string }{
		{"storage.prefix", e.Storage.Prefix}, {"storage.strip_prefix", e.Storage.StripPrefix},
	} {
		if strings.HasPrefix(p.value, "/") {
			warnf(p.field, "%s starts with /; S3 keys written by API Gateway usually do not, so nothing may match", quote(p.value))
		}
	}
	if sp, p := e.Storage.StripPrefix, e.Storage.Prefix; sp != "" && p != "" &&
		!strings.HasPrefix(p, sp) && !strings.HasPrefix(sp, p) {
		warnf("storage.strip_prefix", "%s is not a prefix of storage.prefix %s, so keys listed under the prefix keep it in their request IDs",
			quote(sp), quote(p))
	}

	// Status table
	s := e.Status
	switch {
	case s.Table == "":
		errf("status.table", "required: the DynamoDB table in which the processor records each request's status")
	case !tableRe.MatchString(s.Table) && !tableARNRe.MatchString(s.Table):
		errf("status.table", "%s is not a DynamoDB table name; expected 3-255 letters, digits, _ - . (or a table ARN)", quote(s.Table))
	}
	if s.Index != "" && !tableRe.MatchString(s.Index) {
		errf("status.index", "%s is not an index name; expected 3-255 letters, digits, _ - .", quote(s.Index))
	}
	attrs := []struct{ field, value string }{
		{"status.key_attr", s.KeyAttr}, {"status.status_attr", s.StatusAttr}, {"status.error_attr", s.ErrorAttr},
		{"status.attempts_attr", s.AttemptsAttr}, {"status.updated_at_attr", s.UpdatedAtAttr},
	}
	if s.ReceivedAttr != "" { // optional: checked like the others only when given
		attrs = append(attrs, struct{ field, value string }{"status.received_attr", s.ReceivedAttr})
	}
	seenAttr := map[string]string{}
	for _, a := range attrs {
		switch {
		case a.value == "":
			errf(a.field, "empty; expected an attribute name")
		case len(a.value) > 255:
			errf(a.field, "longer than 255 bytes; expected an attribute name")
		case seenAttr[a.value] != "":
			errf(a.field, "%s is also %s; each attribute plays one role", quote(a.value), seenAttr[a.value])
		default:
			seenAttr[a.value] = a.field
		}
	}
	if len(s.TerminalStates) == 0 {
		errf("status.terminal_states", "empty; expected the states after which a request is done, e.g. [PROCESSED]")
	}
	for i, st := range s.TerminalStates {
		if strings.TrimSpace(st) == "" {
			errf(fmt.Sprintf("status.terminal_states[%d]", i), "empty state; expected a name like PROCESSED")
		}
	}
	if s.LostAfter.Duration <= 0 {
		errf("status.lost_after", "%s; expected a positive duration like 15m (how long a stored request may wait for a status before it counts as LOST)",
			quote(FormatDuration(s.LostAfter.Duration)))
	}

	// Gateway
	g := e.Gateway
	if g.URL != "" {
		if msg := checkURL(g.URL, false); msg != "" {
			errf("gateway.url", "%s", msg)
		} else if g.Auth == AuthAPIKey && plainHTTP(g.URL) {
			warnf("gateway.url", "plain http to a host that is not loopback sends the API key unencrypted; use https")
		}
		if e.Endpoints.Gateway != "" && e.Endpoints.Gateway != g.URL {
			warnf("endpoints.gateway", "ignored because gateway.url is set")
		}
	}
	switch g.Auth {
	case AuthAPIKey, AuthIAM, AuthNone:
	default:
		errf("gateway.auth", "%s is not one of %s, %s, %s", quote(g.Auth), AuthAPIKey, AuthIAM, AuthNone)
	}
	var sources []string
	for _, src := range []struct{ field, value string }{
		{"api_key_env", g.APIKeyEnv}, {"api_key_ssm", g.APIKeySSM}, {"api_key_secret", g.APIKeySecret}, {"api_key", g.APIKey},
	} {
		if src.value != "" {
			sources = append(sources, src.field)
		}
	}
	switch {
	case g.Auth == AuthAPIKey && len(sources) == 0:
		errf("gateway", "auth is api-key but no key source is set; expected one of api_key_env, api_key_ssm, api_key_secret")
	case g.Auth == AuthAPIKey && len(sources) > 1:
		errf("gateway", "%s are set; expected exactly one API key source", strings.Join(sources, " and "))
	case (g.Auth == AuthIAM || g.Auth == AuthNone) && len(sources) > 0:
		warnf("gateway", "%s ignored because auth is %s, not api-key", strings.Join(sources, ", "), quote(g.Auth))
	}
	if g.APIKeyEnv != "" && !envVarRe.MatchString(g.APIKeyEnv) {
		errf("gateway.api_key_env", "%s is not an environment variable name; expected letters, digits and _, e.g. STOWAGE_API_KEY", quote(g.APIKeyEnv))
	}
	if g.APIKeySSM != "" && (len(g.APIKeySSM) > 2048 || !ssmNameRe.MatchString(g.APIKeySSM)) {
		errf("gateway.api_key_ssm", "%s is not an SSM parameter name; expected one like /stowage/prod/api-key", quote(g.APIKeySSM))
	}
	if g.APIKeySecret != "" && (len(g.APIKeySecret) > 2048 || !secretIDRe.MatchString(g.APIKeySecret)) {
		errf("gateway.api_key_secret", "%s is not a Secrets Manager secret id; expected a name like stowage/prod/api-key or an ARN", quote(g.APIKeySecret))
	}
	if g.APIKey != "" {
		// Never quote the value itself. A local stack's throwaway key (the demo) is not
		// worth a warning on every command; the 0600 rule still applies.
		if !IsLoopbackURL(e.GatewayURL()) {
			warnf("gateway.api_key", "a literal API key ends up in backups and screen shares; prefer api_key_env, api_key_ssm or api_key_secret")
		}
		if c.f.permKnown && runtime.GOOS != "windows" && c.f.perm&0o077 != 0 {
			errf("gateway.api_key", "the file holds a literal API key but its mode is %04o; run chmod 600 %s", uint32(c.f.perm), shellQuote(c.f.Path))
		}
	}
	for _, r := range []struct{ field, value string }{
		{"gateway.routes.reupload", g.Routes.Reupload}, {"gateway.routes.inplace", g.Routes.Inplace},
	} {
		_, path, err := ParseRoute(r.value)
		if err != nil {
			errf(r.field, "%v", err)
			continue
		}
		if r.field == "gateway.routes.inplace" && !strings.Contains(path, PlaceholderKey) {
			errf(r.field, "path %s has no {key}; an in-place upload must name the object it overwrites, e.g. %q", quote(path), DefaultInplaceRoute)
		}
	}
	for _, h := range []struct{ field, value string }{
		{"gateway.original_id_header", g.OriginalIDHeader}, {"gateway.redrive_id_header", g.RedriveIDHeader},
	} {
		if !headerRe.MatchString(h.value) {
			errf(h.field, "%s is not an HTTP header name; expected one like X-Stowage-Redrive-Id", quote(h.value))
		}
	}
	if strings.EqualFold(g.OriginalIDHeader, g.RedriveIDHeader) && g.OriginalIDHeader != "" {
		errf("gateway.redrive_id_header", "same as original_id_header; the processor needs both ids")
	}

	// Safety and look
	switch {
	case math.IsInf(e.Rate, 0):
		errf("rate", "infinite; expected requests per second, e.g. %g", DefaultRate)
	case !(e.Rate > 0):
		errf("rate", "%s; expected a number of requests per second greater than 0, e.g. %g", quote(strconv.FormatFloat(e.Rate, 'g', -1, 64)), DefaultRate)
	}
	if e.PreviewBytes < MinPreviewBytes || e.PreviewBytes > MaxPreviewBytes {
		errf("preview_bytes", "%d is out of range; expected bytes from %d (4 KiB) to %d (64 MiB), e.g. %d", e.PreviewBytes, MinPreviewBytes, MaxPreviewBytes, DefaultPreviewBytes)
	}
	if t := e.Redrive.LeaseTable; t != "" && !tableRe.MatchString(t) && !tableARNRe.MatchString(t) {
		errf("redrive.lease_table", "%s is not a DynamoDB table name; expected 3-255 letters, digits, _ - . (or a table ARN)", quote(t))
	}
	if t := e.Redrive.LeaseTable; t != "" && t == s.Table {
		errf("redrive.lease_table", "same as status.table; claims would overwrite the processor's status items: use a table of its own (see README)")
	}
	if d := e.Redrive.LeaseTTL.Duration; d < MinLeaseTTL || d > MaxLeaseTTL {
		errf("redrive.lease_ttl", "%s is out of range; expected a duration from %s to %s, e.g. %s (how long a claim holds before another run may take it over)",
			quote(FormatDuration(d)), FormatDuration(MinLeaseTTL), FormatDuration(MaxLeaseTTL), FormatDuration(DefaultLeaseTTL))
	}
	if e.Color != "" && !checkColor(e.Color) {
		errf("color", "%s is not a colour; expected #rrggbb, #rgb or an ANSI number 0-255", quote(e.Color))
	}

	// Each feature's section has its own file.
	checkTriage(e, errf, warnf)
	checkEvents(e, errf, warnf)
	checkLogs(e, errf, warnf)
	checkBatchOps(e, errf, warnf)
}

func checkProfile(p string) string {
	if strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		return fmt.Sprintf("%s is not a profile name; profile names have no spaces", quote(p))
	}
	return ""
}

func checkRegion(r string) string {
	if r == "" || regionRe.MatchString(r) {
		return ""
	}
	return fmt.Sprintf("%s is not an AWS region; expected one like eu-west-1", quote(r))
}

// checkURL checks an endpoint or gateway URL. Credentials in the URL make it an error whose
// message does not repeat the URL.
func checkURL(s string, endpoint bool) string {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("%s is not a URL; expected one like https://example.com", quote(s))
	}
	if u.User != nil {
		return "the URL holds credentials (user:password@); remove them and use the environment's auth settings"
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Sprintf("%s is not an http(s) URL; expected one like https://example.com", quote(s))
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return fmt.Sprintf("%s has a query or fragment; expected a plain base URL", quote(s))
	}
	if endpoint && u.Path != "" && u.Path != "/" {
		return fmt.Sprintf("%s has a path; an AWS endpoint is a scheme, host and port like http://127.0.0.1:4566", quote(s))
	}
	return ""
}

// offLoopback lists the endpoints that would receive requests signed with e's
// local_credentials but are not loopback URLs. An unset endpoint means AWS itself, so S3 and
// DynamoDB must be set, and SSM, Secrets Manager and the gateway must be when stowage would
// sign requests to them with these keys.
func (e *Env) offLoopback() []string {
	var off []string
	need := func(field, url string, required bool) {
		if (url != "" || required) && !IsLoopbackURL(url) {
			off = append(off, field)
		}
	}
	apiKey := e.Gateway.Auth == AuthAPIKey
	need("endpoints.s3", e.Endpoints.S3, true)
	need("endpoints.dynamodb", e.Endpoints.DynamoDB, true)
	// STS is only asked for the caller's identity, which callers skip without endpoints.sts.
	need("endpoints.sts", e.Endpoints.STS, false)
	need("endpoints.ssm", e.Endpoints.SSM, apiKey && e.Gateway.APIKeySSM != "")
	need("endpoints.secretsmanager", e.Endpoints.SecretsManager, apiKey && e.Gateway.APIKeySecret != "")
	// The services below are only called when their section is configured.
	need("endpoints.sqs", e.Endpoints.SQS, e.Events.SQSQueueURL != "")
	need("endpoints.lambda", e.Endpoints.Lambda, e.Events.LambdaFunction != "")
	need("endpoints.eventbridge", e.Endpoints.EventBridge, e.Events.EventBus != "")
	need("endpoints.logs", e.Endpoints.Logs, e.Logs.Configured())
	need("endpoints.s3control", e.Endpoints.S3Control, e.BatchOps.Configured())
	if e.Gateway.Auth == AuthIAM {
		need("gateway.url", e.GatewayURL(), true)
	}
	return off
}

func localCredentialsMessage(off []string) string {
	must := "must be a loopback URL"
	if len(off) > 1 {
		must = "must be loopback URLs"
	}
	return fmt.Sprintf("is only for stacks on this machine: %s %s (127.0.0.1, localhost) since requests to them are signed with these keys; for AWS use profile",
		strings.Join(off, ", "), must)
}

// LocalCredentialsError says why e must not sign with its local_credentials, or returns nil
// (also when it has none): they are for servers on this machine only. Select and
// awsclient.Open check it again after command-line overrides, which Validate does not see.
func (e *Env) LocalCredentialsError() error {
	if e.LocalCredentials == nil {
		return nil
	}
	if off := e.offLoopback(); len(off) > 0 {
		return fmt.Errorf("environment %s: local_credentials %s", quote(e.Name), localCredentialsMessage(off))
	}
	return nil
}

// IsLoopbackURL reports whether s is an http(s) URL on localhost or a loopback address: the
// one meaning of "on this machine", for local_credentials here and for local stacks in
// awsclient (which then never asks AWS STS who the caller is).
func IsLoopbackURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || s == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func plainHTTP(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// checkBucket returns a message when b is not a usable bucket name, and whether it is only
// a warning (a legacy name that S3 no longer lets anyone create).
func checkBucket(b string) (msg string, warning bool) {
	switch {
	case b == "":
		return "required: the S3 bucket in which the gateway stores request bodies", false
	case strings.HasPrefix(b, "arn:"):
		return "", false // access point ARNs work wherever a bucket name does
	case strings.Contains(b, "://") || strings.Contains(b, "/"):
		return fmt.Sprintf("%s is not a bucket name; give only the name (my-bucket) and put a key prefix in storage.prefix", quote(b)), false
	case bucketRe.MatchString(b) && !strings.Contains(b, "..") && net.ParseIP(b) == nil && !strings.HasPrefix(b, "xn--"):
		return "", false
	case legacyBktRe.MatchString(b) && !strings.Contains(b, "..") && net.ParseIP(b) == nil &&
		(len(b) > 63 || strings.ContainsAny(b, "_ABCDEFGHIJKLMNOPQRSTUVWXYZ")):
		return fmt.Sprintf("%s is only valid for legacy us-east-1 buckets created before 2018; check the name", quote(b)), true
	}
	return fmt.Sprintf("%s is not a valid S3 bucket name; expected 3-63 lower-case letters, digits, . and -, starting and ending with a letter or digit", quote(b)), false
}

func checkColor(s string) bool {
	if hexColorRe.MatchString(s) {
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 255
}
