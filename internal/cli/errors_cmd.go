package cli

import "github.com/spf13/cobra"

// newErrorsCmd is stowage errors ( count, first and last seen, transient or permanent:#14).
func newErrorsCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:    "errors",
		Short:  "Group FAILED requests into failure classes",
		Hidden: true, // until it is built
		Args:   cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return exitf(ExitUsage, "stowage errors is not available in this build")
		},
	}
}
