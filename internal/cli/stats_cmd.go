package cli

import "github.com/spf13/cobra"

// newStatsCmd is stowage stats (#14).
func newStatsCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:    "stats",
		Short:  "Count arrivals, processed, failed and lost requests per time bucket",
		Hidden: true, // until it is built
		Args:   cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return exitf(ExitUsage, "stowage stats is not available in this build")
		},
	}
}
