package cli

import "github.com/spf13/cobra"

func newLostCmd(g *Globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:   "lost",
		Short: "List lost requests: stored, never processed (ls --lost)",
		Long: `List the requests stored more than status.lost_after ago (or --older-than) that have no
status item: the processor never recorded them, as if it crashed or never got the event.
It is ls --lost.

The listing is reconciled against the status table without one GetItem per object: the
candidates are looked up 100 at a time with BatchGetItem, or, when the table is small
for its item count, its keys are read once with a parallel Scan and only the objects it
did not find are confirmed with BatchGetItem.
` + jsonFieldsHelp + "\n" + exitCodesHelp + `
  lost exits 1 when there are no lost requests.`,
		Example: `  # Is anything lost in prod? (exit 1: no)
  stowage --env prod lost -o json | jq -r .id

  # Lost for more than an hour, stored today
  stowage --env prod lost --older-than 1h --since 24h

  # Redrive every lost request of the last day, dry run first
  stowage --env prod lost --since 24h -o json | stowage --env prod redrive --from-file - --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.lost = true
			return runList(cmd.Context(), g, f)
		},
	}
	addListFlags(cmd, g, &f, false)
	return cmd
}
