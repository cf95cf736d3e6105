package awsclient

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stowage-cli/stowage/internal/config"
)

// EventSender sends synthesized S3 event notifications to the processor's SQS queue, Lambda function or EventBridge bus (#18).
type EventSender struct{}

// openEvents builds the EventSender for env, or returns nil when env does not configure it.
func openEvents(cfg aws.Config, env *config.Env, profile string, sso bool) *EventSender { return nil }
