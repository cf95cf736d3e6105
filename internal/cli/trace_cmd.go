package cli

import "github.com/spf13/cobra"

// newTraceCmd is stowage trace (#16).
func newTraceCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:    "trace",
		Short:  "Print one request's timeline from S3, the gateway, the processor's logs, its status and redrives",
		Hidden: true, // until it is built
		Args:   cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return exitf(ExitUsage, "stowage trace is not available in this build")
		},
	}
}
