// Command withservers starts the integration test servers (versitygw, dynalite and fauxqs) on
// 127.0.0.1 ephemeral ports, runs the given command with their endpoints in the
// environment, and stops them afterwards, whether the command passed or not.
//
//	go run ./internal/testenv/cmd/withservers -- go test ./...
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/stowage-cli/stowage/internal/testenv"
)

func main() { os.Exit(run()) }

func run() int {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: withservers -- COMMAND [ARGS...]")
		return 2
	}
	tools, err := testenv.ToolsDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "withservers:", err)
		return 2
	}
	work, err := os.MkdirTemp("", "stowage-servers-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "withservers:", err)
		return 2
	}
	defer os.RemoveAll(work)
	if err := os.MkdirAll(tools, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "withservers:", err)
		return 2
	}
	logf, err := os.Create(filepath.Join(tools, "servers.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "withservers:", err)
		return 2
	}
	defer logf.Close()

	ctx := context.Background()
	data := filepath.Join(work, "s3")
	if err := os.MkdirAll(data, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "withservers:", err)
		return 2
	}
	s3srv, err := testenv.StartVersityGW(ctx, tools, data, logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "withservers: S3:", err, "(log:", logf.Name()+")")
		return 2
	}
	defer s3srv.Stop()
	root, err := testenv.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "withservers:", err)
		return 2
	}
	script := filepath.Join(root, "internal", "testenv", "node", "dynalite-ephemeral.js")
	ddb, err := testenv.StartDynalite(ctx, tools, script, logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "withservers: DynamoDB:", err, "(log:", logf.Name()+")")
		return 2
	}
	defer ddb.Stop()
	sqsScript := filepath.Join(root, "internal", "testenv", "node", "fauxqs-ephemeral.mjs")
	sqsSrv, err := testenv.StartFauxqs(ctx, tools, sqsScript, logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "withservers: SQS:", err, "(log:", logf.Name()+")")
		return 2
	}
	defer sqsSrv.Stop()
	fmt.Fprintf(os.Stderr, "withservers: S3 (versitygw) %s, DynamoDB (dynalite) %s, SQS (fauxqs) %s\n",
		s3srv.Endpoint.URL, ddb.Endpoint.URL, sqsSrv.Endpoint.URL)

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(),
		testenv.EnvS3URL+"="+s3srv.Endpoint.URL,
		testenv.EnvS3AccessKey+"="+s3srv.Endpoint.AccessKey,
		testenv.EnvS3SecretKey+"="+s3srv.Endpoint.SecretKey,
		testenv.EnvDynamoDBURL+"="+ddb.Endpoint.URL,
		testenv.EnvSQSURL+"="+sqsSrv.Endpoint.URL,
	)
	// Forward Ctrl+C to the command and still stop the servers afterwards.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "withservers:", err)
		return 2
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() < 0 {
			return 1
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "withservers:", err)
		return 1
	}
	return 0
}
