package inventory

import (
	"context"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

// NewSource is the Source of an environment's clients, so that every caller (CLI, redrive,
// TUI) lists the same keys under the same prefix and maps IDs to keys the same way.
func NewSource(c *awsclient.Clients, env *config.Env) Source {
	src := Source{
		Objects:  c.Objects,
		Statuses: c.Statuses,
		Prefix:   env.Storage.Prefix,
		Key:      env.Key,
		Scanner:  c.Statuses,
		Size: func(ctx context.Context) (TableSize, error) {
			info, err := c.Statuses.Describe(ctx)
			if err != nil {
				return TableSize{}, err
			}
			return TableSize{Items: info.ItemCount, Bytes: info.SizeBytes}, nil
		},
	}
	return src
}
