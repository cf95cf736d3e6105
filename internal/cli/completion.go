package cli

import (
	"io"
	"slices"

	"github.com/spf13/cobra"
)

// completionShells are the shells `stowage completion` writes scripts for, in the order
// the help lists them; the release ships one script for each (internal/release/assets).
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// CompletionShells are the shells `stowage completion` writes scripts for.
func CompletionShells() []string { return slices.Clone(completionShells) }

func newCompletionCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script",
		Long: `Print the completion script for bash, zsh, fish or PowerShell. It completes commands, flags
and the values of -o, --sort, --status and --env (the environments of the config file).
The release archives and the Homebrew, deb, rpm and apk packages carry these scripts already.`,
		Example: `  # bash, for this shell
  source <(stowage completion bash)

  # bash, for every shell (Debian/Ubuntu)
  stowage completion bash | sudo tee /etc/bash_completion.d/stowage > /dev/null

  # zsh (compinit must be enabled)
  stowage completion zsh > "${fpath[1]}/_stowage"

  # fish
  stowage completion fish > ~/.config/fish/completions/stowage.fish

  # PowerShell, for every session
  stowage completion powershell >> $PROFILE`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return exitf(ExitUsage, "completion needs one shell: bash, zsh, fish or powershell; see %s --help", cmd.CommandPath())
			}
			return nil
		},
		ValidArgs:             completionShells,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeCompletion(cmd.Root(), args[0], cmd.OutOrStdout())
		},
	}
}

// writeCompletion writes root's completion script for shell to w.
func writeCompletion(root *cobra.Command, shell string, w io.Writer) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, true)
	case "zsh":
		return root.GenZshCompletion(w)
	case "fish":
		return root.GenFishCompletion(w, true)
	case "powershell":
		return root.GenPowerShellCompletionWithDesc(w)
	}
	return exitf(ExitUsage, "completion %q: want bash, zsh, fish or powershell", shell)
}
