package testenv_test

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stowage-cli/stowage/internal/testenv"
)

// A client that goes away in the middle of a request body (a cancelled context, a fault
// test) must not end the shared dynalite: it used to crash on ECONNRESET, failing every
// test that ran after it.
func TestDynaliteSurvivesAClientThatGoesAway(t *testing.T) {
	ep := testenv.DynamoDB(t)
	u, err := url.Parse(ep.URL)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("POST / HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/x-amz-json-1.0\r\n" +
			"X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 1000\r\n\r\n{\"Lim"))
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, as a killed client sends
		}
		c.Close()
	}
	time.Sleep(200 * time.Millisecond) // the server handles the resets on its own time
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := testenv.NewDynamoDBClient(t, ep).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("dynalite stopped answering after clients went away: %v", err)
	}
}
