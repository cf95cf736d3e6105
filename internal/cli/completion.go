package cli

import (
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newCompletionCmd) }

func newCompletionCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script",
		Long: `Print the completion script for bash, zsh or fish. It completes commands, flags and the
values of -o, --sort, --status and --env (the environments of the config file).`,
		Example: `  # bash, for this shell
  source <(stowage completion bash)

  # bash, for every shell (Debian/Ubuntu)
  stowage completion bash | sudo tee /etc/bash_completion.d/stowage > /dev/null

  # zsh (compinit must be enabled)
  stowage completion zsh > "${fpath[1]}/_stowage"

  # fish
  stowage completion fish > ~/.config/fish/completions/stowage.fish`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return exitf(ExitUsage, "completion needs one shell: bash, zsh or fish; see %s --help", cmd.CommandPath())
			}
			return nil
		},
		ValidArgs:             []string{"bash", "zsh", "fish"},
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			out := cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			}
			return exitf(ExitUsage, "completion %q: want bash, zsh or fish", args[0])
		},
	}
}
