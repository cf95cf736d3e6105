package cli

import "github.com/spf13/cobra"

// newJobsCmd is stowage jobs (#15).
func newJobsCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:    "jobs",
		Short:  "List and watch stowage's S3 Batch Operations jobs",
		Hidden: true, // until it is built
		Args:   cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return exitf(ExitUsage, "stowage jobs is not available in this build")
		},
	}
}
