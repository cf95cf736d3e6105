package cli

import (
	"bufio"
	"context"
	"io"
	"net"
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

// demo --serve prints the endpoints and "ready", serves until its context ends, and then
// shuts down cleanly with exit code 0.
func TestDemoServe(t *testing.T) {
	hermeticAWS(t)
	cfg := filepath.Join(t.TempDir(), "demo.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		code := Run(ctx, []string{"demo", "--serve", "--seed", "3", "--requests", "40", "--config-out", cfg}, strings.NewReader(""), outW, &stderr)
		outW.Close()
		done <- code
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
		t.Fatalf("no ready line; stdout:\n%s\nstderr:\n%s", printed.String(), stderr.String())
	}
	out := printed.String()
	for _, want := range []string{"S3        http://127.0.0.1:", "DynamoDB  http://127.0.0.1:", "gateway   http://127.0.0.1:",
		"export AWS_ACCESS_KEY_ID=" + devstack.AccessKey, "s3api list-objects-v2 --bucket " + devstack.DefaultBucket, cfg} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
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

	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit code %d after interrupt, want 0; stderr %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop after its context ended")
	}
	if conn, err := net.Dial("tcp", strings.TrimPrefix(s3URL, "http://")); err == nil {
		conn.Close()
		t.Error("S3 still accepts connections after the demo stopped")
	}
	if _, err := os.Stat(cfg); err != nil {
		t.Errorf("the --config-out file is gone: %v", err)
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
