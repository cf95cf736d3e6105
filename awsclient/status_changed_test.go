package awsclient_test

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/testenv"
)

// fill's items: req-NNNN updated at epoch + N minutes, FAILED when N%3 == 0.

func TestChangedSinceOldestFirstPaged(t *testing.T) {
	client, table := statusTable(t)
	fill(t, client, table, 90) // 30 FAILED, at minutes 0, 3, …, 87
	store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table, Index: statusIndex})

	since := epoch.Add(30 * time.Minute) // req-0030 is at since exactly: left out
	got, err := store.ChangedSince(ctxT(t), "FAILED", since, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 19 { // minutes 33 … 87
		t.Fatalf("%d items, want 19", len(got))
	}
	for i, st := range got {
		want := fmt.Sprintf("req-%04d", 33+3*i)
		if st.RequestID != want || st.State != "FAILED" || !st.UpdatedAt.After(since) {
			t.Fatalf("item %d = %s %s %v, want %s after %v", i, st.RequestID, st.State, st.UpdatedAt, want, since)
		}
	}
	// A limit cuts the oldest first, across pages.
	few, err := store.ChangedSince(ctxT(t), "FAILED", since, 5)
	if err != nil || len(few) != 5 || few[0].RequestID != "req-0033" || few[4].RequestID != "req-0045" {
		t.Fatalf("limit 5: %v %v", ids(few), err)
	}
	// Nothing new, and a state nobody is in.
	if none, err := store.ChangedSince(ctxT(t), "FAILED", epoch.Add(2*time.Hour), 0); err != nil || len(none) != 0 {
		t.Fatalf("after the last: %v %v", ids(none), err)
	}
	if none, err := store.ChangedSince(ctxT(t), "NO-SUCH-STATE", epoch, 0); err != nil || len(none) != 0 {
		t.Fatalf("empty state: %v %v", ids(none), err)
	}
	// A change written now shows up on the next call.
	putS(t, client, table, "req-new", "FAILED", epoch.Add(2*time.Hour+time.Second).Format("2006-01-02T15:04:05.000Z"))
	next, err := store.ChangedSince(ctxT(t), "FAILED", epoch.Add(2*time.Hour), 0)
	if err != nil || len(next) != 1 || next[0].RequestID != "req-new" {
		t.Fatalf("new failure: %v %v", ids(next), err)
	}
}

func TestChangedSinceEpochMillis(t *testing.T) {
	client, table := statusTableN(t)
	store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table, Index: statusIndex})
	for i := 0; i < 10; i++ {
		putN(t, client, table, fmt.Sprintf("m-%d", i), "FAILED", epoch.Add(time.Duration(i)*time.Second).UnixMilli())
	}
	got, err := store.ChangedSince(ctxT(t), "FAILED", epoch.Add(4500*time.Millisecond), 0)
	if err != nil || len(got) != 5 || got[0].RequestID != "m-5" {
		t.Fatalf("millis: %v %v", ids(got), err)
	}
	var n int
	err = store.UpdatedTimes(ctxT(t), "FAILED", epoch.Add(2*time.Second), epoch.Add(7*time.Second), 3, func(ts []time.Time) error {
		n += len(ts)
		return nil
	})
	if err != nil || n != 5 {
		t.Fatalf("UpdatedTimes [2s, 7s): %d %v, want 5", n, err)
	}
}

func TestUpdatedTimesWindowAndParts(t *testing.T) {
	client, table := statusTable(t)
	fill(t, client, table, 120) // 40 FAILED
	store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table, Index: statusIndex})
	for _, parts := range []int{1, 4, 7} {
		var got []time.Time
		err := store.UpdatedTimes(ctxT(t), "FAILED", epoch.Add(30*time.Minute), epoch.Add(90*time.Minute), parts, func(ts []time.Time) error {
			got = append(got, ts...)
			return nil
		})
		if err != nil || len(got) != 20 { // minutes 30, 33, …, 87
			t.Fatalf("parts %d: %d times, %v; want 20", parts, len(got), err)
		}
	}
	var all int
	if err := store.UpdatedTimes(ctxT(t), "PROCESSED", time.Time{}, time.Time{}, 4, func(ts []time.Time) error {
		all += len(ts)
		return nil
	}); err != nil || all != 80 {
		t.Fatalf("open window: %d %v, want 80", all, err)
	}
	stop := errors.New("stop")
	if err := store.UpdatedTimes(ctxT(t), "PROCESSED", time.Time{}, time.Time{}, 1, func([]time.Time) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("fn's error: %v", err)
	}
}

func TestChangedSinceNeedsTheIndex(t *testing.T) {
	store := awsclient.NewStatusStore(nil, awsclient.StatusSchema{Table: "t"})
	if _, err := store.ChangedSince(ctxT(t), "FAILED", epoch, 0); awsclient.KindOf(err) != awsclient.KindInvalid {
		t.Fatalf("err = %v, want invalid (no index)", err)
	}
}

func ids(ss []awsclient.Status) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.RequestID)
	}
	return out
}

func putS(t *testing.T, client *dynamodb.Client, table, id, state, updated string) {
	t.Helper()
	_, err := client.PutItem(ctxT(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
		"requestId": &ddbtypes.AttributeValueMemberS{Value: id},
		"status":    &ddbtypes.AttributeValueMemberS{Value: state},
		"updatedAt": &ddbtypes.AttributeValueMemberS{Value: updated},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func putN(t *testing.T, client *dynamodb.Client, table, id, state string, updated int64) {
	t.Helper()
	_, err := client.PutItem(ctxT(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
		"requestId": &ddbtypes.AttributeValueMemberS{Value: id},
		"status":    &ddbtypes.AttributeValueMemberS{Value: state},
		"updatedAt": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(updated, 10)},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// statusTableN is statusTable with updatedAt a number (epoch milliseconds).
func statusTableN(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	client := testenv.NewDynamoDBClient(t, testenv.DynamoDB(t))
	name := testenv.CreateTable(t, client, "status-n", &dynamodb.CreateTableInput{
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("requestId"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("status"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("updatedAt"), AttributeType: ddbtypes.ScalarAttributeTypeN},
		},
		KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("requestId"), KeyType: ddbtypes.KeyTypeHash}},
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{
			IndexName: aws.String(statusIndex),
			KeySchema: []ddbtypes.KeySchemaElement{
				{AttributeName: aws.String("status"), KeyType: ddbtypes.KeyTypeHash},
				{AttributeName: aws.String("updatedAt"), KeyType: ddbtypes.KeyTypeRange},
			},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		}},
	})
	return client, name
}
