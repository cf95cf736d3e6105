package cli

import (
	"context"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/config"
)

// events checks the event targets (SQS GetQueueAttributes, Lambda GetFunction, EventBridge DescribeEventBus; #18).
func (d *doctor) events(ctx context.Context, env *config.Env, c *awsclient.Clients) {}
