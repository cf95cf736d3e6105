//go:build unix

package cli

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
	"github.com/stowage-cli/stowage/redrive"
)

// A closed terminal sends SIGHUP: a second one must cut the requests in flight as a
// second SIGTERM or Ctrl+C does, not leave the run waiting on a hung gateway.
func TestRedriveSecondSIGHUPAbortsInFlight(t *testing.T) {
	// This test's own handler keeps a SIGHUP sent before the redrive listens from killing
	// the test binary.
	guard := make(chan os.Signal, 16)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	d, _ := redriveDemo(t, func(o *devstack.Options) { o.Gateway.Latency = time.Minute })
	id := transientFailed(t, d, 1)[0]
	stage, err := url.Parse(d.stack.GatewayURL)
	if err != nil {
		t.Fatal(err)
	}
	gw := countWrites(t, stage.Scheme+"://"+stage.Host) // counts a request as it arrives
	d = d.withEnv(t, func(e *config.Env) { e.Gateway.URL = gw.url + stage.Path })
	ctx, cancel := context.WithCancel(context.Background()) // the first signal's cancel
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- d.runIn(ctx, strings.NewReader(""), &out, &errb,
			"redrive", "--yes", "--max-attempts", "1", "--unknown-settle", "0", "--timeout", "10m", "-o", "json", id)
	}()
	for gw.writes.Load() == 0 {
		select {
		case code := <-done:
			t.Fatalf("the run ended (exit %d) before sending:\n%s", code, errb.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var code int
wait:
	for {
		select {
		case code = <-done:
			break wait
		case <-tick.C:
			syscall.Kill(os.Getpid(), syscall.SIGHUP)
		}
	}
	if code != ExitCancelled {
		t.Errorf("exit %d, want %d\n%s", code, ExitCancelled, errb.String())
	}
	rows := jsonLines(t, out.String())
	if len(rows) != 1 || rows[0]["state"] != string(redrive.StateUnknown) {
		t.Errorf("the request in flight was not cut (want unknown): %v\n%s", rows, errb.String())
	}
}
