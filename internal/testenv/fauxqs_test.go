package testenv_test

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stowage-cli/stowage/internal/testenv"
)

// fauxqs answers the current SDK's SQS client (AWS JSON 1.0) on loopback, and a client
// that goes away mid-request does not end it for the tests after it.
func TestFauxqsRoundTrip(t *testing.T) {
	ep := testenv.SQS(t)
	u, err := url.Parse(ep.URL)
	if err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(u.Host); host != "127.0.0.1" {
		t.Fatalf("fauxqs listens on %s, want 127.0.0.1", u.Host)
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("POST / HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/x-amz-json-1.0\r\n" +
		"X-Amz-Target: AmazonSQS.ListQueues\r\nContent-Length: 1000\r\n\r\n{\"Max"))
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()

	client := testenv.NewSQSClient(t, ep)
	q := testenv.NewQueue(t, client, "stowage-test", false, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q), MessageBody: aws.String(`{"Records":[]}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q), WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != `{"Records":[]}` {
		t.Fatalf("received %+v", out.Messages)
	}
}
