package cli

import "github.com/spf13/cobra"

// newTailCmd is stowage tail (#14).
func newTailCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:    "tail",
		Short:  "Stream status changes as they happen (follows the status index)",
		Hidden: true, // until it is built
		Args:   cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return exitf(ExitUsage, "stowage tail is not available in this build")
		},
	}
}
