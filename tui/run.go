package tui

import (
	"context"

	tea "charm.land/bubbletea/v2"
)

// Run shows the TUI until the operator quits or ctx is cancelled. A cancelled ctx
// returns an error matching ctx.Err(). A redrive still running then is cancelled and
// waited for (the requests in flight finish), and its report and audit entry written.
func Run(ctx context.Context, opts Options, progOpts ...tea.ProgramOption) error {
	opts.Context = ctx
	all := append([]tea.ProgramOption{tea.WithContext(ctx)}, progOpts...)
	final, err := tea.NewProgram(New(opts), all...).Run()
	if fm, ok := final.(*Model); ok {
		fm.waitForRedrive()
	}
	return err
}
