package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
)

// runningDemo is a `stowage demo --serve` run in the test's process.
type runningDemo struct {
	out    string // stdout up to and including "ready"
	stderr *lockedBuffer
	cancel context.CancelFunc
	done   chan int
}

// serveDemo runs stowage with args until it prints "ready".
func serveDemo(t *testing.T, args ...string) *runningDemo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	outR, outW := io.Pipe()
	d := &runningDemo{stderr: &lockedBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		code := Run(ctx, args, strings.NewReader(""), outW, d.stderr)
		outW.Close()
		d.done <- code
	}()
	var printed strings.Builder
	sc := bufio.NewScanner(outR)
	ready := false
	for sc.Scan() {
		printed.WriteString(sc.Text() + "\n")
		if sc.Text() == "ready" {
			ready = true
			break
		}
	}
	go io.Copy(io.Discard, outR)
	if !ready {
		t.Fatalf("no ready line; stdout:\n%s\nstderr:\n%s", printed.String(), d.stderr.String())
	}
	d.out = printed.String()
	return d
}

// stop interrupts the demo and returns its exit code.
func (d *runningDemo) stop(t *testing.T) int {
	t.Helper()
	d.cancel()
	select {
	case code := <-d.done:
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop after its context ended")
	}
	return -1
}

// demo --serve prints the endpoints and "ready", serves until its context ends, and then
// shuts down cleanly with exit code 0.
func TestDemoServe(t *testing.T) {
	hermeticAWS(t)
	cfg := filepath.Join(t.TempDir(), "demo.yaml")
	d := serveDemo(t, "demo", "--serve", "--seed", "3", "--requests", "40", "--config-out", cfg)
	out, stderr := d.out, d.stderr
	for _, want := range []string{"S3        http://127.0.0.1:", "DynamoDB  http://127.0.0.1:", "gateway   http://127.0.0.1:",
		"export AWS_ACCESS_KEY_ID=" + devstack.AccessKey, "s3api list-objects-v2 --bucket " + devstack.DefaultBucket, cfg} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "temporary") {
		t.Errorf("--config-out FILE is called temporary:\n%s", out)
	}
	// The config selects the running stack.
	f, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env, err := f.Select("demo", config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if key := env.Gateway.APIKey; key == "" || strings.Contains(out+stderr.String(), key) {
		t.Errorf("the API key %q is missing from the config or printed", key)
	}
	s3URL := regexp.MustCompile(`S3 +(http://\S+)`).FindStringSubmatch(out)[1]
	if env.Endpoints.S3 != s3URL {
		t.Errorf("config S3 endpoint %q, printed %q", env.Endpoints.S3, s3URL)
	}
	// A plain AWS client with the printed credentials lists the seeded requests.
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(s3URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(devstack.AccessKey, devstack.SecretKey, "")})
	list, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(env.Storage.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.Contents); n < 35 {
		t.Errorf("listed %d seeded requests, want about 40", n)
	}

	if code := d.stop(t); code != ExitOK {
		t.Errorf("exit code %d after interrupt, want 0; stderr %s", code, stderr.String())
	}
	if conn, err := net.Dial("tcp", strings.TrimPrefix(s3URL, "http://")); err == nil {
		conn.Close()
		t.Error("S3 still accepts connections after the demo stopped")
	}
	if _, err := os.Stat(cfg); err != nil {
		t.Errorf("the --config-out file is gone: %v", err)
	}
}

// Without --config-out the operator is still told where the config is, that it goes
// away with the demo, and how to keep one; the commands it prints work while it runs.
func TestDemoServeWithoutConfigOut(t *testing.T) {
	hermeticAWS(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	d := serveDemo(t, "demo", "--serve", "--requests", "10")
	m := regexp.MustCompile(`(?m)^  config +(\S+) +environment demo\n +\(a temporary file, removed when the demo stops; to keep one, run with --config-out FILE\)$`).FindStringSubmatch(d.out)
	if m == nil {
		t.Fatalf("output does not say where the temporary config is and how to keep one:\n%s", d.out)
	}
	cfg := m[1]
	if filepath.Dir(cfg) != tmp {
		t.Errorf("config %s is not in the temporary directory %s", cfg, tmp)
	}
	if !strings.Contains(d.out, "stowage --config "+cfg+" --env demo ls") {
		t.Errorf("output does not show how to use the CLI with %s:\n%s", cfg, d.out)
	}
	f, err := config.Load(cfg)
	if err != nil {
		t.Fatalf("the printed config does not load while the demo runs: %v", err)
	}
	if _, err := f.Select("demo", config.Overrides{}); err != nil {
		t.Fatal(err)
	}
	if code := d.stop(t); code != ExitOK {
		t.Errorf("exit code %d, want 0; stderr %s", code, d.stderr.String())
	}
	if _, err := os.Stat(cfg); !os.IsNotExist(err) {
		t.Errorf("the temporary config outlived the demo: %v", err)
	}
}

// --now fixes the stack's clock and hands it to the terminal UI, for screenshots that
// are the same on every run. It is hidden from help.
func TestDemoNowFixesTheClock(t *testing.T) {
	hermeticAWS(t)
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	var stdout, stderr strings.Builder
	stdin := strings.NewReader("")
	var uiNow time.Time
	var seeded []devstack.SeedRequest
	var status []devstack.StatusItem
	g := &Globals{Stdin: stdin, Stdout: &stdout, Stderr: &stderr, seams: seams{}.onTerminal(100, &stdout, stdin)}
	g.seams.demoTUI = func(ctx context.Context, g *Globals, st *devstack.Stack, env *config.Env, file *config.File) error {
		if g.demoClock == nil {
			return errors.New("no demo clock for the UI")
		}
		uiNow = g.demoClock()
		seeded = st.Seeded()
		for _, r := range seeded {
			if s, ok := st.Status(r.Key); ok {
				status = append(status, s)
			}
		}
		return nil
	}
	code := run(context.Background(), g, []string{"demo", "--now", "2026-03-02T10:30:00+01:00", "--requests", "30"})
	if code != ExitOK {
		t.Fatalf("exit %d; stderr %s", code, stderr.String())
	}
	if !uiNow.Equal(at) {
		t.Errorf("the UI's clock reads %v, want %v", uiNow, at)
	}
	if g.demoClock != nil {
		t.Error("the demo clock is still set after the demo ended")
	}
	if len(seeded) != 30 || len(status) == 0 {
		t.Fatalf("seeded %d requests, %d statuses", len(seeded), len(status))
	}
	for _, r := range seeded {
		if r.Created.After(at) || r.Created.Before(at.Add(-7*24*time.Hour)) {
			t.Errorf("%s seeded at %v, outside the week before %v", r.Key, r.Created, at)
		}
	}
	for _, s := range status {
		if s.UpdatedAt.After(at) {
			t.Errorf("status updated at %v, after --now %v", s.UpdatedAt, at)
		}
	}

	var help strings.Builder
	Run(context.Background(), []string{"demo", "--help"}, strings.NewReader(""), &help, &help)
	if strings.Contains(help.String(), "--now") || !strings.Contains(help.String(), "--config-out") {
		t.Errorf("demo --help shows --now, or is not the help:\n%s", help.String())
	}

	stderr.Reset()
	if code := Run(context.Background(), []string{"demo", "--serve", "--now", "yesterday"}, strings.NewReader(""), &stdout, &stderr); code != ExitUsage ||
		!strings.Contains(stderr.String(), "RFC3339") {
		t.Errorf("--now yesterday: exit %d, stderr %q; want a usage error naming RFC3339", code, stderr.String())
	}
}

func TestDemoRefusesNonLoopbackAddr(t *testing.T) {
	hermeticAWS(t)
	var stdout, stderr strings.Builder
	code := Run(context.Background(), []string{"demo", "--serve", "--addr", "0.0.0.0:0"}, strings.NewReader(""), &stdout, &stderr)
	if code != ExitUsage || !strings.Contains(stderr.String(), "not loopback") {
		t.Errorf("code %d stderr %q, want a usage error about loopback", code, stderr.String())
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/tmp/demo.yaml": "/tmp/demo.yaml", "/tmp/my demo.yaml": "'/tmp/my demo.yaml'", "it's": `'it'\''s'`, "": "''"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// lockedBuffer is a strings.Builder safe for the command's goroutine and the test's.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// demo --verbose logs keys chosen by whoever calls the gateway: they reach the
// operator's terminal inert.
func TestDemoVerboseLogIsInert(t *testing.T) {
	hermeticAWS(t)
	cfg := filepath.Join(t.TempDir(), "demo.yaml")
	d := serveDemo(t, "demo", "--serve", "--verbose", "--requests", "0", "--config-out", cfg)
	f, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env, err := f.Select("demo", config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, env.Gateway.URL+"/product/"+env.Storage.Bucket+"/evil%1B%5B2J%1B%5D0%3Bpwned%07", strings.NewReader("{}"))
	req.Header.Set("x-api-key", env.Gateway.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %s", resp.Status)
	}
	for i := 0; !strings.Contains(d.stderr.String(), "processor: evil"); i++ {
		if i == 3000 {
			t.Fatalf("the processor never logged the request:\n%s", d.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := d.stop(t); code != ExitOK {
		t.Errorf("exit %d", code)
	}
	log := d.stderr.String()
	if !strings.Contains(log, "evil␛[2J␛]0;pwned␇") {
		t.Errorf("the key is not shown visibly:\n%s", log)
	}
	if strings.ContainsAny(log, "\x1b\x07") {
		t.Errorf("raw control bytes reached stderr: %q", log)
	}
}

// The demo keeps its own state: its redrives (the terminal UI runs in the demo's process)
// write their audit entries and journals under the demo's state directory, which it names
// and keeps, never into the operator's real audit log.
func TestDemoKeepsItsOwnState(t *testing.T) {
	hermeticAWS(t)
	real := os.Getenv("XDG_STATE_HOME")
	cfg := filepath.Join(t.TempDir(), "demo.yaml")
	d := serveDemo(t, "demo", "--serve", "--requests", "40", "--config-out", cfg)
	want := filepath.Join(real, "stowage", "demo", "stowage")
	if !strings.Contains(d.out, "  state     "+want+"\n") || !strings.Contains(d.out, "XDG_STATE_HOME="+filepath.Join(real, "stowage", "demo")+" stowage --config") {
		t.Fatalf("the demo does not name its state directory %s:\n%s", want, d.out)
	}
	// A redrive in the demo's process, as its terminal UI runs one.
	var out, errb strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if code := Run(ctx, []string{"--config", cfg, "--env", "demo", "redrive", "--status", "FAILED", "--dry-run"}, strings.NewReader(""), &out, &errb); code != ExitOK {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if _, err := os.Stat(filepath.Join(want, "audit.jsonl")); err != nil {
		t.Fatalf("the demo's redrive is not in the demo's audit log: %v", err)
	}
	if code := d.stop(t); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(real, "stowage", "audit.jsonl")); !os.IsNotExist(err) {
		t.Fatalf("the demo wrote into the real audit log: %v", err)
	}
	if os.Getenv("XDG_STATE_HOME") != real {
		t.Fatal("the demo left its state directory in the environment")
	}
	if _, err := os.Stat(filepath.Join(want, "audit.jsonl")); err != nil {
		t.Fatalf("the demo's audit log did not stay: %v", err)
	}
}

// demo --live keeps requests arriving through the gateway while it serves, says so, and
// stops cleanly when interrupted.
func TestDemoLive(t *testing.T) {
	hermeticAWS(t)
	cfg := filepath.Join(t.TempDir(), "demo.yaml")
	d := serveDemo(t, "demo", "--serve", "--live", "--live-rate", "200", "--requests", "0", "--config-out", cfg)
	if !strings.Contains(d.out, "live      200 new requests a second through the gateway; pricing-service outage 45 s after the start, for 1 min, every 5 min") {
		t.Errorf("output does not describe the live traffic:\n%s", d.out)
	}
	f, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env, err := f.Select("demo", config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(env.Endpoints.S3), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(devstack.AccessKey, devstack.SecretKey, "")})
	deadline := time.Now().Add(30 * time.Second)
	for n := 0; n < 5; {
		list, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(env.Storage.Bucket)})
		if err != nil {
			t.Fatal(err)
		}
		if n = len(list.Contents); n < 5 && time.Now().After(deadline) {
			t.Fatalf("%d requests arrived in 30 s at 200 a second", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := d.stop(t); code != ExitOK {
		t.Errorf("exit %d; stderr:\n%s", code, d.stderr.String())
	}
	if strings.Contains(d.stderr.String(), "arrive") {
		t.Errorf("an arrival failed:\n%s", d.stderr.String())
	}
}

func TestDemoLiveRateNeedsLive(t *testing.T) {
	hermeticAWS(t)
	for _, args := range [][]string{
		{"demo", "--serve", "--live-rate", "5"},
		{"demo", "--serve", "--live", "--live-rate", "0"},
		{"demo", "--serve", "--live", "--live-rate", "5000"},
	} {
		var stdout, stderr strings.Builder
		code := Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if code != ExitUsage || !strings.Contains(stderr.String(), "--live") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, stderr.String())
		}
	}
}
