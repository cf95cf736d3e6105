package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stowage-cli/stowage/internal/config"
)

func newConfigCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print an example config, check a config, or show which file is used",
		Long: `stowage reads its environments from $XDG_CONFIG_HOME/stowage/config.yaml
(~/.config/stowage/config.yaml), or from the file given with --config.`,
		Example: `  # start a config from the commented example
  mkdir -p ~/.config/stowage && stowage config example > ~/.config/stowage/config.yaml

  # check it (exit code 2 and one line per problem when something is wrong)
  stowage config validate
  stowage config validate --env prod ./other.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newConfigExampleCmd(), newConfigValidateCmd(g), newConfigPathCmd(g))
	return cmd
}

func newConfigExampleCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "example",
		Short: "Print a commented example config",
		Example: `  stowage config example > ~/.config/stowage/config.yaml
  chmod 600 ~/.config/stowage/config.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), config.Example())
			return err
		},
	}
}

func newConfigValidateCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a config file and report every problem",
		Long: `Check the config file (FILE, --config, or the default location) and print every
problem on its own line as FILE:LINE: FIELD: what is wrong and what is expected.
Unknown fields and values of the wrong type do not stop the other checks; only a file
that is not YAML at all does. Warnings are printed too but do not fail. With --env, also
check that the environment exists and that --profile, --region and --endpoint-url are
usable with it (a local_credentials environment takes no --profile and no --endpoint-url
off this machine).

Exits 0 when the file is usable and 2 when it is not.`,
		Example: `  stowage config validate
  stowage config validate ./config.yaml
  stowage --env prod --region eu-west-1 config validate`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := g.configPath()
			if len(args) == 1 {
				if g.ConfigPath != "" && g.ConfigPath != args[0] {
					return exitf(ExitUsage, "both --config %s and FILE %s given; pass one", g.ConfigPath, args[0])
				}
				path, err = args[0], nil
			}
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			f, err := config.LoadPartial(path)
			if err != nil {
				var cfgErr *config.Error
				if errors.As(err, &cfgErr) {
					for _, p := range cfgErr.Problems {
						fmt.Fprintln(stderr, p)
					}
					return exitf(ExitUsage, "%s is not a usable config; fix the problems above", path)
				}
				return &ExitError{Code: ExitUsage, Err: err}
			}
			problems := f.Validate()
			for _, p := range problems {
				fmt.Fprintln(stderr, p)
			}
			if errs := config.Errors(problems); len(errs) > 0 {
				return exitf(ExitUsage, "%s has %d problem(s); fix them and run stowage config validate again", path, len(errs))
			}
			if g.Env != "" {
				if _, err := f.Select(g.Env, g.overrides()); err != nil {
					return &ExitError{Code: ExitUsage, Err: err}
				}
			}
			names := f.Names()
			noun := "environments"
			if len(names) == 1 {
				noun = "environment"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "ok: %d %s (%s)\n", len(names), noun, strings.Join(names, ", "))
			return err
		},
	}
}

func newConfigPathCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "path",
		Short: "Print the path of the config file in use",
		Example: `  stowage config path
  $EDITOR "$(stowage config path)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := g.configPath()
			if err != nil {
				return err
			}
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(cmd.ErrOrStderr(), "stowage: %s does not exist yet; create it with: stowage config example > %s\n", path, path)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), path)
			return err
		},
	}
}
