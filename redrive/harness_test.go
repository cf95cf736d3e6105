package redrive_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

// hermeticAWS keeps the machine's AWS configuration (profiles, CA bundle, region) out of
// the SDK's default loading.
func hermeticAWS(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	set := map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
	for k, v := range set {
		t.Setenv(k, v)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
}

// dev is a devstack with an environment and clients pointed at it.
type dev struct {
	st      *devstack.Stack
	env     *config.Env
	clients *awsclient.Clients
	dir     string
}

// devOptions tune startDev.
type devOptions struct {
	stack devstack.Options
	// edit changes the environment before the clients are opened (to route the gateway
	// through a proxy, make it read-only, ...).
	edit func(env *config.Env)
	open []awsclient.OpenOption
}

func startDev(t testing.TB, o devOptions) *dev {
	t.Helper()
	hermeticAWS(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := devstack.Start(ctx, o.stack)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	return attachDev(t, st, o)
}

// attachDev opens clients on a running stack.
func attachDev(t testing.TB, st *devstack.Stack, o devOptions) *dev {
	t.Helper()
	env := st.Config().Environments[devstack.EnvName]
	env.Name = devstack.EnvName
	env.ApplyDefaults()
	if o.edit != nil {
		o.edit(env)
	}
	opts := append([]awsclient.OpenOption{awsclient.WithStaticCredentials(st.AccessKey, st.SecretKey)}, o.open...)
	c, err := awsclient.Open(context.Background(), env, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &dev{st: st, env: env, clients: c, dir: t.TempDir()}
}

// failed lists the FAILED requests whose error kind is kind ("" for any), up to n.
func (d *dev) failed(t testing.TB, kind string, n int) []string {
	t.Helper()
	var ids []string
	next := ""
	for {
		page, err := d.clients.Statuses.ListByStatus(context.Background(), devstack.StateFailed, next, 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Items {
			if kind == "" || s.Item["errorKind"] == kind {
				ids = append(ids, s.RequestID)
				if len(ids) == n {
					return ids
				}
			}
		}
		if page.NextToken == "" {
			return ids
		}
		next = page.NextToken
	}
}

// plan plans sel in mode with the environment's settings, unlimited rate.
func (d *dev) plan(t testing.TB, mode redrive.Mode, sel redrive.Selection, edit ...func(*redrive.PlanOptions)) *redrive.Manifest {
	t.Helper()
	opts, err := redrive.PlanOptionsFor(d.env, mode)
	if err != nil {
		t.Fatal(err)
	}
	opts.Rate, opts.Concurrency = 0, 8
	for _, e := range edit {
		e(&opts)
	}
	m, err := redrive.Plan(context.Background(), redrive.PlanDepsFor(d.clients, d.env), sel, opts)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return m
}

// options are fast run options journaling under the test's directory.
func (d *dev) options(name string) redrive.Options {
	o := redrive.OptionsFor(d.env)
	o.JournalPath = filepath.Join(d.dir, name+".journal.jsonl")
	o.BackoffBase, o.BackoffMax = 2*time.Millisecond, 20*time.Millisecond
	o.ProgressInterval = 10 * time.Millisecond
	o.UnknownSettle = 50 * time.Millisecond
	return o
}

func (d *dev) run(t testing.TB, m *redrive.Manifest, o redrive.Options) *redrive.Report {
	t.Helper()
	r, err := redrive.New(redrive.DepsFor(d.clients), m, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r.Wait()
}

func (d *dev) settle(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.st.Settle(ctx); err != nil {
		t.Fatal(err)
	}
}

// state is the processing state of id in the devstack's table ("" when none).
func (d *dev) state(id string) string {
	s, ok := d.st.Status(id)
	if !ok {
		return ""
	}
	return s.State
}
