package awsclient

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stowage-cli/stowage/internal/config"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// fauxqsSender is an EventSender whose SQS is fauxqs, a separately written SQS.
func fauxqsSender(t *testing.T) (*EventSender, *sqs.Client) {
	t.Helper()
	ep := testenv.SQS(t)
	cfg := aws.Config{Region: ep.Region, Credentials: credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, ""),
		HTTPClient: &http.Client{Transport: testenv.LoopbackOnlyTransport(t)}}
	return NewEventSender(cfg, config.Endpoints{SQS: ep.URL}, false, "", false), testenv.NewSQSClient(t, ep)
}

func receiveAll(t *testing.T, c *sqs.Client, queueURL string, want int) []string {
	t.Helper()
	var bodies []string
	for try := 0; try < 10 && len(bodies) < want; try++ {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL),
			MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if v := m.MessageAttributes["X-Stowage-Redrive-Id"]; aws.ToString(v.StringValue) != "run-1" {
				t.Errorf("message attributes: %v", m.MessageAttributes)
			}
		}
	}
	return bodies
}

func TestSendSQSOnFauxqs(t *testing.T) {
	s, c := fauxqsSender(t)
	q := testenv.NewQueue(t, c, "stowage-events", false, nil)
	res, err := s.SendSQS(context.Background(), q, entries(13))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil || r.MessageID == "" {
			t.Fatalf("entry %s: %+v", r.ID, r)
		}
	}
	if got := receiveAll(t, c, q, 13); len(got) != 13 {
		t.Errorf("received %d messages, want 13", len(got))
	}
	info, err := s.ProbeQueue(context.Background(), q)
	if err != nil || info.FIFO || info.ARN == "" {
		t.Errorf("ProbeQueue = %+v, %v", info, err)
	}
	_, err = s.SendSQS(context.Background(), q+"-missing", entries(1))
	if KindOf(err) != KindNotFound {
		t.Errorf("a missing queue: %v (kind %v)", err, KindOf(err))
	}
}

func TestSendSQSFIFODeduplicatesOnFauxqs(t *testing.T) {
	s, c := fauxqsSender(t)
	q := testenv.NewQueue(t, c, "stowage-events", true, map[string]string{"FifoQueue": "true"})
	es := entries(3)
	for i := range es {
		es[i].GroupID, es[i].DedupID = "g"+es[i].ID, "run-1-"+es[i].ID
	}
	for range 2 { // the same batch again, as a retry sends it
		if _, err := s.SendSQS(context.Background(), q, es); err != nil {
			t.Fatal(err)
		}
	}
	// Counted before anything is received: in a FIFO queue a received message would hide
	// its group's duplicates.
	info, err := s.ProbeQueue(context.Background(), q)
	if err != nil || !info.FIFO || info.Messages != 3 {
		t.Errorf("ProbeQueue = %+v, %v; want a FIFO queue of 3 messages: the resend is deduplicated", info, err)
	}
	if got := receiveAll(t, c, q, 3); len(got) != 3 {
		t.Errorf("received %d messages, want 3", len(got))
	}
}
