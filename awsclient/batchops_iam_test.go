package awsclient

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/stowage-cli/stowage/internal/config"
)

// fakeIAM answers GetRole and SimulatePrincipalPolicy in IAM's query protocol, as the
// SDK's client reads them: roles by name (with their trust policy), and the decision on
// iam:PassRole for each policy source.
type fakeIAM struct {
	roles     map[string]string // name → trust policy
	decisions map[string]string // policy source ARN → decision
	deny      map[string]bool   // actions answered AccessDenied
	simulated []string          // the policy sources asked about
}

const iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"

func (f *fakeIAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	action := r.Form.Get("Action")
	w.Header().Set("Content-Type", "text/xml")
	fail := func(status int, code, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, iamNS, code, msg)
	}
	if f.deny[action] {
		fail(http.StatusForbidden, "AccessDenied", "User is not authorized to perform: iam:"+action)
		return
	}
	switch action {
	case "GetRole":
		name := r.Form.Get("RoleName")
		trust, ok := f.roles[name]
		if !ok {
			fail(http.StatusNotFound, "NoSuchEntity", "The role with name "+name+" cannot be found.")
			return
		}
		fmt.Fprintf(w, `<GetRoleResponse xmlns="%s"><GetRoleResult><Role><Path>/ops/</Path><RoleName>%s</RoleName><RoleId>AROA1</RoleId>`+
			`<Arn>arn:aws:iam::123456789012:role/ops/%s</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate>`+
			`<AssumeRolePolicyDocument>%s</AssumeRolePolicyDocument></Role></GetRoleResult></GetRoleResponse>`, iamNS, name, name, url.QueryEscape(trust))
	case "SimulatePrincipalPolicy":
		src := r.Form.Get("PolicySourceArn")
		f.simulated = append(f.simulated, src)
		if r.Form.Get("ActionNames.member.1") != "iam:PassRole" || r.Form.Get("ResourceArns.member.1") == "" {
			fail(http.StatusBadRequest, "InvalidInput", "unexpected simulation "+r.Form.Encode())
			return
		}
		d := f.decisions[src]
		if d == "" {
			d = "implicitDeny"
		}
		fmt.Fprintf(w, `<SimulatePrincipalPolicyResponse xmlns="%s"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>`+
			`<member><EvalActionName>iam:PassRole</EvalActionName><EvalResourceName>%s</EvalResourceName><EvalDecision>%s</EvalDecision></member>`+
			`</EvaluationResults></SimulatePrincipalPolicyResult></SimulatePrincipalPolicyResponse>`, iamNS, r.Form.Get("ResourceArns.member.1"), d)
	default:
		fail(http.StatusBadRequest, "InvalidAction", action)
	}
}

func iamStore(t *testing.T, f *fakeIAM, role, caller string) *JobStore {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	env := &config.Env{Name: "t", Endpoints: config.Endpoints{S3Control: "https://s3-control.example.com"}, BatchOps: config.BatchOps{
		RoleARN: role, ManifestPrefix: "s3://ops-bucket/m/", ReportPrefix: "s3://ops-bucket/r/", AccountID: "123456789012"}}
	j := openJobs(cfg, env, "", false)
	if j.iam == nil {
		t.Fatal("no IAM client off a local stack")
	}
	c := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return j.WithIAM(c, caller)
}

const batchTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"batchoperations.s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestJobStoreCheckRole(t *testing.T) {
	ctx := context.Background()
	const role = "arn:aws:iam::123456789012:role/ops/batch"
	t.Run("AllowedThroughAnAssumedRole", func(t *testing.T) {
		f := &fakeIAM{roles: map[string]string{"batch": batchTrust, "oncall": "{}"},
			decisions: map[string]string{"arn:aws:iam::123456789012:role/ops/oncall": "allowed"}}
		rc := iamStore(t, f, role, "arn:aws:sts::123456789012:assumed-role/oncall/alice").CheckRole(ctx)
		if !rc.Exists || !rc.TrustRead || !rc.Trusted || rc.PassRole != "allowed" || rc.PassRoleErr != nil || rc.ExistsErr != nil ||
			rc.Caller != "arn:aws:iam::123456789012:role/ops/oncall" {
			t.Fatalf("%+v", rc)
		}
	})
	t.Run("MissingRoleAndDeniedPassRole", func(t *testing.T) {
		f := &fakeIAM{roles: map[string]string{}}
		rc := iamStore(t, f, role, "arn:aws:iam::123456789012:user/bob").CheckRole(ctx)
		if rc.Exists || KindOf(rc.ExistsErr) != KindNotFound || rc.PassRole != "implicitDeny" || rc.Caller != "arn:aws:iam::123456789012:user/bob" {
			t.Fatalf("%+v (%v)", rc, rc.ExistsErr)
		}
	})
	t.Run("UntrustedRole", func(t *testing.T) {
		f := &fakeIAM{roles: map[string]string{"batch": strings.ReplaceAll(batchTrust, "batchoperations.s3", "lambda")},
			decisions: map[string]string{"arn:aws:iam::123456789012:user/bob": "allowed"}}
		rc := iamStore(t, f, role, "arn:aws:iam::123456789012:user/bob").CheckRole(ctx)
		if !rc.Exists || !rc.TrustRead || rc.Trusted || rc.PassRole != "allowed" {
			t.Fatalf("%+v", rc)
		}
	})
	t.Run("NoIAMReadsDegrade", func(t *testing.T) {
		f := &fakeIAM{roles: map[string]string{"batch": batchTrust}, deny: map[string]bool{"GetRole": true, "SimulatePrincipalPolicy": true}}
		rc := iamStore(t, f, role, "arn:aws:iam::123456789012:user/bob").CheckRole(ctx)
		if rc.Exists || KindOf(rc.ExistsErr) != KindAccessDenied || rc.PassRole != "" || KindOf(rc.PassRoleErr) != KindAccessDenied ||
			!strings.Contains(rc.PassRoleErr.Error(), ActionSimulate) {
			t.Fatalf("%+v: %v / %v", rc, rc.ExistsErr, rc.PassRoleErr)
		}
	})
	t.Run("RootCannotBeSimulated", func(t *testing.T) {
		f := &fakeIAM{roles: map[string]string{"batch": batchTrust}}
		rc := iamStore(t, f, role, "arn:aws:iam::123456789012:root").CheckRole(ctx)
		if !rc.Exists || rc.PassRoleErr == nil || len(f.simulated) != 0 {
			t.Fatalf("%+v, simulated %v", rc, f.simulated)
		}
	})
	t.Run("LocalStackSkips", func(t *testing.T) {
		env := &config.Env{Name: "t", Endpoints: config.Endpoints{S3Control: "http://127.0.0.1:4510"}, BatchOps: config.BatchOps{
			RoleARN: role, ManifestPrefix: "s3://ops-bucket/m/", ReportPrefix: "s3://ops-bucket/r/", AccountID: "123456789012"}}
		rc := openJobs(aws.Config{Region: "us-east-1"}, env, "", false).CheckRole(ctx)
		if !strings.Contains(rc.Skipped, "local") || rc.Exists || rc.PassRole != "" {
			t.Fatalf("%+v", rc)
		}
	})
}
