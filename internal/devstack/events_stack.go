package devstack

import "github.com/stowage-cli/stowage/internal/config"

// The event targets of the stack (#18): an SQS queue, a Lambda Invoke endpoint and an
// EventBridge PutEvents endpoint, and the trigger topology (Options.Trigger).

// eventServices are the event targets' servers.
func (s *Stack) eventServices() []auxService { return nil }

// trigger is what an ObjectCreated event does: by default it invokes the processor
// directly (the S3 notification topology).
func (s *Stack) trigger() func(objectEvent) { return s.proc.enqueue }

// configEvents adds the event targets to the demo environment.
func (s *Stack) configEvents(env *config.Env) {}
