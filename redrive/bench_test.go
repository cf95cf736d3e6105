package redrive_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/internal/testenv"
	"github.com/stowage-cli/stowage/redrive"
)

// serveSpecEnv asks the re-executed test binary to serve a devstack.
const serveSpecEnv = "STOWAGE_REDRIVE_SERVE_CONFIG"

// TestServeDevstackChild is not a test on its own: BenchmarkRedriveThroughput runs the test
// binary again with only this function, so that the devstack's CPU is not counted as the
// client's. It serves an empty stack until its stdin closes.
func TestServeDevstackChild(t *testing.T) {
	path := os.Getenv(serveSpecEnv)
	if path == "" {
		t.Skip("runs only as the server process of BenchmarkRedriveThroughput")
	}
	st, err := devstack.Start(context.Background(), devstack.Options{Requests: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.WriteConfig(path); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
}

// serveDevstack starts a devstack in a child process and returns its config.
func serveDevstack(b *testing.B) *config.Env {
	b.Helper()
	path := filepath.Join(b.TempDir(), "config.yaml")
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeDevstackChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), serveSpecEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if sc.Text() == "ready" {
			go io.Copy(io.Discard, stdout)
			f, err := config.Load(path)
			if err != nil {
				b.Fatal(err)
			}
			env, err := f.Select(devstack.EnvName, config.Overrides{})
			if err != nil {
				b.Fatal(err)
			}
			return env
		}
	}
	b.Fatal("the devstack child did not start")
	return nil
}

// BenchmarkRedriveThroughput redrives b.N stored 10 KB requests through the devstack (in
// another process), unlimited rate, 16 in flight, journal fsynced, in each mode that writes:
// in place and reupload through the gateway, and s3-copy. It reports requests per second,
// the client's CPU per request (user + system, from getrusage around the run: the
// devstack's CPU is in the other process) and its allocations per request.
//
// STOWAGE_BENCH_CPUPROFILE=FILE writes a CPU profile of the run alone (not of the
// seeding and planning before it), for go tool pprof.
func BenchmarkRedriveThroughput(b *testing.B) {
	hermeticAWS(b)
	env := serveDevstack(b)
	env.ApplyDefaults()
	c, err := awsclient.Open(context.Background(), env, awsclient.WithStaticCredentials(devstack.AccessKey, devstack.SecretKey))
	if err != nil {
		b.Fatal(err)
	}
	d := &dev{env: env, clients: c, dir: b.TempDir()}
	body := bytes.Repeat([]byte(`{"sku":"ABC-123","qty":1}`+"\n"), 10<<10/26)
	for _, mode := range []redrive.Mode{redrive.ModeInplace, redrive.ModeReupload, redrive.ModeS3Copy} {
		b.Run(string(mode), func(b *testing.B) {
			ids := seedBench(b, c, string(mode), b.N, body)
			m := d.plan(b, mode, redrive.Selection{IDs: ids}, func(o *redrive.PlanOptions) { o.Concurrency = 16 })
			o := d.options(fmt.Sprintf("bench-%s-%d", mode, b.N))
			r, err := redrive.New(redrive.DepsFor(c), m, o)
			if err != nil {
				b.Fatal(err)
			}
			stopProfile := benchProfile(b, string(mode))
			b.ResetTimer()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			cpu0, t0 := testenv.ProcessCPU(), time.Now()
			if err := r.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			rep := r.Wait()
			cpu, wall := testenv.ProcessCPU()-cpu0, time.Since(t0)
			runtime.ReadMemStats(&ms1)
			b.StopTimer()
			stopProfile()
			if rep.Counts.Delivered+rep.Counts.Failed != b.N || (mode != redrive.ModeS3Copy && rep.Counts.Delivered != b.N) {
				// s3-copy: a copy within the second the seeding wrote fails "not re-fired"
				// on a server whose LastModified does not move; it still made its calls.
				b.Fatalf("delivered %d of %d: %s; first: %+v", rep.Counts.Delivered, b.N, rep.Counts, rep.Items[0])
			}
			b.ReportMetric(float64(b.N)/wall.Seconds(), "req/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/req")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N), "allocs/req")
		})
	}
}

// seedBench stores n copies of body under bench/<name>/ and returns their keys.
func seedBench(b *testing.B, c *awsclient.Clients, name string, n int, body []byte) []string {
	b.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench/%s-%06d.json", name, i) // the request ID is the base name
		wg.Add(1)
		sem <- struct{}{}
		go func(key string) {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := c.Objects.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), "application/json", "", nil); err != nil {
				b.Error(err)
			}
		}(ids[i])
	}
	wg.Wait()
	return ids
}

// benchProfile starts the CPU profile STOWAGE_BENCH_CPUPROFILE asks for (FILE becomes
// FILE.<name>) and returns what stops it.
func benchProfile(b *testing.B, name string) func() {
	path := os.Getenv("STOWAGE_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path + "." + name)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
