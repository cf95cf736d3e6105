package config

// Events names the processor's trigger targets, for redrive --mode sqs, lambda and
// eventbridge. Owned by the events work (#18).
type Events struct {
	SQSQueueURL    string `yaml:"sqs_queue_url,omitempty"`
	LambdaFunction string `yaml:"lambda_function,omitempty"`
	EventBus       string `yaml:"event_bus,omitempty"`
}

// checkEvents validates the events section.
func checkEvents(e *Env, errf, warnf problemf) {}

// defaultEvents fills the events settings the file left empty.
func defaultEvents(e *Env, explicit func(field string) bool) {}
