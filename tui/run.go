package tui

import (
	"context"

	tea "charm.land/bubbletea/v2"
)

// Run shows the TUI until the operator quits or ctx is cancelled. A cancelled ctx
// returns an error matching ctx.Err().
func Run(ctx context.Context, opts Options, progOpts ...tea.ProgramOption) error {
	opts.Context = ctx
	all := append([]tea.ProgramOption{tea.WithContext(ctx)}, progOpts...)
	_, err := tea.NewProgram(New(opts), all...).Run()
	return err
}
