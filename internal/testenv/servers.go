package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Server is a local test server process.
type Server struct {
	Name     string
	Endpoint Endpoint
	cmd      *exec.Cmd
	stdin    io.Closer
	done     chan struct{}
	waitErr  error
}

// Stop ends the server and waits for it, killing it if it does not stop within 5 s.
func (s *Server) Stop() {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	if s.stdin != nil {
		_ = s.stdin.Close()
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// ToolsDir is where `make tools` caches pinned tools: $STOWAGE_TOOLS or <repo>/.tools.
func ToolsDir() (string, error) {
	if d := os.Getenv("STOWAGE_TOOLS"); d != "" {
		return filepath.Abs(d)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".tools"), nil
}

// RepoRoot is the nearest directory at or above the working directory holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (go.mod) from the working directory; set STOWAGE_TOOLS")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitTCP(ctx context.Context, addr string, done <-chan struct{}) error {
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not accept connections: %w", addr, ctx.Err())
		case <-done:
			return errors.New("server exited before accepting connections")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func start(name string, cmd *exec.Cmd, logTo io.Writer) (*Server, error) {
	cmd.SysProcAttr = serverProcAttr()
	if cmd.Stderr == nil {
		cmd.Stderr = logTo
	}
	s := &Server{Name: name, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { s.waitErr = cmd.Wait(); close(s.done) }()
	return s, nil
}

// StartVersityGW runs versitygw's posix backend on a fresh directory under dataDir.
func StartVersityGW(ctx context.Context, tools, dataDir string, logTo io.Writer) (*Server, error) {
	bin := filepath.Join(tools, "bin", "versitygw")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("versitygw not installed at %s: run `make tools`", bin)
	}
	const access, secret = "stowage-test-access", "stowage-test-secret"
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ { // the free port can be taken between probe and bind
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cmd := exec.Command(bin, "--access", access, "--secret", secret, "--port", addr, "--quiet", "posix", dataDir)
		cmd.Stdout = logTo
		s, err := start("versitygw", cmd, logTo)
		if err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = waitTCP(wctx, addr, s.done)
		cancel()
		if err == nil {
			s.Endpoint = Endpoint{URL: "http://" + addr, AccessKey: access, SecretKey: secret, Region: Region}
			return s, nil
		}
		s.Stop()
		lastErr = fmt.Errorf("versitygw on %s: %w", addr, err)
	}
	return nil, lastErr
}

// StartDynalite runs dynalite in memory on an ephemeral port.
func StartDynalite(ctx context.Context, tools, script string, logTo io.Writer) (*Server, error) {
	s, err := startNode(ctx, "dynalite", tools, script, logTo)
	if err != nil {
		return nil, err
	}
	s.Endpoint.AccessKey, s.Endpoint.SecretKey = dynamoAccessKey, dynamoSecretKey
	return s, nil
}

// StartFauxqs runs fauxqs 1.9.2 (SQS over the AWS JSON 1.0 protocol) in memory on an
// ephemeral loopback port. script is node/fauxqs-ephemeral.mjs.
func StartFauxqs(ctx context.Context, tools, script string, logTo io.Writer) (*Server, error) {
	s, err := startNode(ctx, "fauxqs", tools, script, logTo)
	if err != nil {
		return nil, err
	}
	s.Endpoint.AccessKey, s.Endpoint.SecretKey = sqsAccessKey, sqsSecretKey
	return s, nil
}

// startNode runs a node script that prints "listening PORT" once it serves on 127.0.0.1
// and exits when its stdin closes. The package name is the script's node module.
func startNode(ctx context.Context, name, tools, script string, logTo io.Writer) (*Server, error) {
	modules := filepath.Join(tools, "node", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, name)); err != nil {
		return nil, fmt.Errorf("%s not installed under %s: run `make tools`", name, modules)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not on PATH: install Node.js (Debian: apt-get install nodejs)")
	}
	cmd := exec.Command(node, script)
	// NODE_PATH serves require (dynalite); an ES module (fauxqs) is imported from FAUXQS_MODULES.
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "FAUXQS_MODULES="+modules)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s, err := start(name, cmd, logTo)
	if err != nil {
		return nil, err
	}
	s.stdin = stdin
	portc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if p, ok := strings.CutPrefix(line, "listening "); ok {
				select {
				case portc <- p:
				default:
				}
			}
			fmt.Fprintln(logTo, name+":", line)
		}
	}()
	select {
	case p := <-portc:
		s.Endpoint = Endpoint{URL: "http://127.0.0.1:" + p, Region: Region}
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("%s exited at start: %v", name, s.waitErr)
	case <-time.After(15 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("%s did not start within 15 s", name)
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
}
