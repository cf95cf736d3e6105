package cli

import (
	"context"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/devstack"
)

// seams are what a test replaces for one run, on its own Globals, so that tests need no
// package state and can run in parallel. A nil field is the real thing; only tests set
// them.
type seams struct {
	now            func() time.Time // what ages and --since are measured against
	isTerminal     func(v any) bool
	terminalWidth  func(w io.Writer) int
	openClients    func(ctx context.Context, env *config.Env, opts ...awsclient.OpenOption) (*awsclient.Clients, error)
	doctorHTTP     *http.Client // the gateway probe when the gateway client cannot send it
	runTUI         func(ctx context.Context, g *Globals) error
	demoTUI        func(ctx context.Context, g *Globals, st *devstack.Stack, env *config.Env, file *config.File) error
	promptTerminal func(g *Globals, stdinIsData bool) (io.Reader, io.Writer, func(), error)
}

// clock is what the commands measure ages and --since against.
func (g *Globals) clock() func() time.Time {
	if g.seams.now != nil {
		return g.seams.now
	}
	return time.Now
}

func (g *Globals) now() time.Time { return g.clock()() }

// isTerminal reports whether v (stdout, stderr or stdin) is a terminal.
func (g *Globals) isTerminal(v any) bool {
	if g.seams.isTerminal != nil {
		return g.seams.isTerminal(v)
	}
	return fileIsTerminal(v)
}

// terminalWidth is w's width in cells, or 0 when unknown (not a terminal).
func (g *Globals) terminalWidth(w io.Writer) int {
	if g.seams.terminalWidth != nil {
		return g.seams.terminalWidth(w)
	}
	return fileWidth(w)
}

// openClients opens an environment's AWS clients.
func (g *Globals) openClients(ctx context.Context, env *config.Env, opts ...awsclient.OpenOption) (*awsclient.Clients, error) {
	if g.seams.openClients != nil {
		return g.seams.openClients(ctx, env, opts...)
	}
	return awsclient.Open(ctx, env, opts...)
}

func (g *Globals) doctorHTTP() *http.Client {
	if g.seams.doctorHTTP != nil {
		return g.seams.doctorHTTP
	}
	return defaultDoctorHTTP
}

// runTUI opens the terminal UI on the selected environment.
func (g *Globals) runTUI(ctx context.Context) error {
	if g.seams.runTUI != nil {
		return g.seams.runTUI(ctx, g)
	}
	return openTUI(ctx, g)
}

// demoTUI opens the terminal UI on the running demo.
func (g *Globals) demoTUI(ctx context.Context, st *devstack.Stack, env *config.Env, file *config.File) error {
	if g.seams.demoTUI != nil {
		return g.seams.demoTUI(ctx, g, st, env, file)
	}
	return startTUI(ctx, g, env, file)
}

// promptTerminal finds where to ask for a confirmation (see the package-level one).
func (g *Globals) promptTerminal(stdinIsData bool) (io.Reader, io.Writer, func(), error) {
	if g.seams.promptTerminal != nil {
		return g.seams.promptTerminal(g, stdinIsData)
	}
	return promptTerminal(g, stdinIsData)
}

// fileIsTerminal reports whether v is an *os.File on a terminal.
func fileIsTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// fileWidth is the width in cells of the terminal w is, or 0.
func fileWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return 0
	}
	width, _, err := term.GetSize(f.Fd())
	if err != nil {
		return 0
	}
	return width
}
