package devstack

import (
	"net/http"
	"time"

	"github.com/stowage-cli/stowage/internal/config"
)

// The stack's services beyond S3, DynamoDB and the gateway each live in a file of their
// own and plug in here: the event targets (events_stack.go: SQS, Lambda, EventBridge),
// CloudWatch Logs (logs_stack.go) and S3 Control (control_stack.go).

// auxService is one more loopback server of the stack.
type auxService struct {
	name    string
	url     *string // set to http://127.0.0.1:port once it listens
	handler http.Handler
}

// auxServices lists the extra servers Start listens on, after the first three.
func (s *Stack) auxServices() []auxService {
	var all []auxService
	all = append(all, s.eventServices()...)
	all = append(all, s.logServices()...)
	all = append(all, s.controlServices()...)
	return all
}

// configExtras adds the extra services' settings to the demo environment.
func (s *Stack) configExtras(env *config.Env) {
	s.configEvents(env)
	s.configLogs(env)
	s.configBatchOps(env)
}

// logSink receives the lines a Lambda function and API Gateway would send to CloudWatch
// Logs. The processor writes to ProcessorLogGroup, the gateway to AccessLogGroup.
type logSink interface {
	put(group string, at time.Time, message string)
}

// The demo's log groups, as AWS names them for a function and a stage's access log.
const (
	ProcessorLogGroup = "/aws/lambda/product-ingest"
	AccessLogGroup    = "/aws/apigateway/stowage-demo/access"
)

// nopSink drops every line (the default until CloudWatch Logs is served).
type nopSink struct{}

func (nopSink) put(string, time.Time, string) {}
