package awsclient_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/testenv"
)

const statusIndex = "by-status"

// statusTable creates a table keyed by requestId with a GSI on (status, updatedAt), and
// deletes it when the test ends.
func statusTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	client := testenv.NewDynamoDBClient(t, testenv.DynamoDB(t))
	name := testenv.CreateTable(t, client, "status", &dynamodb.CreateTableInput{
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("requestId"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("status"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("updatedAt"), AttributeType: ddbtypes.ScalarAttributeTypeS},
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

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fill writes n items "req-NNNN"; every third is FAILED, the rest PROCESSED, each updated
// one minute after the previous one.
func fill(t *testing.T, client *dynamodb.Client, table string, n int) (failed []string) {
	t.Helper()
	var reqs []ddbtypes.WriteRequest
	flush := func() {
		for len(reqs) > 0 {
			out, err := client.BatchWriteItem(ctxT(t), &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]ddbtypes.WriteRequest{table: reqs}})
			if err != nil {
				t.Fatal(err)
			}
			reqs = out.UnprocessedItems[table]
		}
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("req-%04d", i)
		state := "PROCESSED"
		item := map[string]ddbtypes.AttributeValue{
			"requestId": &ddbtypes.AttributeValueMemberS{Value: id},
			"updatedAt": &ddbtypes.AttributeValueMemberS{Value: epoch.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)},
			"attempts":  &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(i%5 + 1)},
		}
		if i%3 == 0 {
			state = "FAILED"
			failed = append(failed, id)
			item["error"] = &ddbtypes.AttributeValueMemberS{Value: "schema violation at line " + strconv.Itoa(i)}
		}
		item["status"] = &ddbtypes.AttributeValueMemberS{Value: state}
		reqs = append(reqs, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: item}})
		if len(reqs) == 25 {
			flush()
		}
	}
	flush()
	return failed
}

func TestStatusGet(t *testing.T) {
	client, table := statusTable(t)
	fill(t, client, table, 4)
	store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table, Index: statusIndex})

	st, found, err := store.Get(ctxT(t), "req-0003")
	if err != nil || !found {
		t.Fatalf("found=%v err=%v", found, err)
	}
	want := awsclient.Status{RequestID: "req-0003", State: "FAILED", Error: "schema violation at line 3", Attempts: 4,
		UpdatedAt: epoch.Add(3 * time.Minute)}
	if st.RequestID != want.RequestID || st.State != want.State || st.Error != want.Error ||
		st.Attempts != want.Attempts || !st.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("got %+v, want %+v", st, want)
	}
	if st.Item["attempts"] != json.Number("4") || st.Item["status"] != "FAILED" {
		t.Errorf("raw item = %#v", st.Item)
	}

	_, found, err = store.Get(ctxT(t), "req-9999")
	if err != nil || found {
		t.Fatalf("missing item: found=%v err=%v, want not found and no error", found, err)
	}
}

func TestMissingTableSaysWhatToCheck(t *testing.T) {
	client := testenv.NewDynamoDBClient(t, testenv.DynamoDB(t))
	table := testenv.UniqueName(t, "no-such-table")
	store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table})
	_, _, err := store.Get(ctxT(t), "req-1")
	var e *awsclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if e.Kind != awsclient.KindNotFound || e.Code != "ResourceNotFoundException" || !strings.Contains(e.Remedy, "status.table") ||
		e.Resource != "dynamodb://"+table {
		t.Fatalf("err = %+v", e)
	}
	if _, err := store.BatchGet(ctxT(t), []string{"a", "b"}); awsclient.KindOf(err) != awsclient.KindNotFound {
		t.Errorf("batch-get: err = %v, want not found", err)
	}
	if _, err := store.ListByStatus(ctxT(t), "FAILED", "", 10); awsclient.KindOf(err) != awsclient.KindNotFound {
		t.Errorf("scan: err = %v, want not found", err)
	}
}

func TestStatusBatchGetOverHundredKeys(t *testing.T) {
	client, table := statusTable(t)
	fill(t, client, table, 220)
	store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table})

	var ids []string
	for i := 0; i < 250; i++ { // 220 present, 30 missing
		ids = append(ids, fmt.Sprintf("req-%04d", i))
	}
	ids = append(ids, ids[:40]...) // duplicates
	ids = append(ids, "")          // ignored
	got, err := store.BatchGet(ctxT(t), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 220 {
		t.Fatalf("got %d statuses, want 220", len(got))
	}
	for i := 0; i < 250; i++ {
		id := fmt.Sprintf("req-%04d", i)
		st, ok := got[id]
		if ok != (i < 220) {
			t.Fatalf("%s: present=%v", id, ok)
		}
		if ok && (st.RequestID != id || st.State == "") {
			t.Fatalf("%s: %+v", id, st)
		}
	}
	empty, err := store.BatchGet(ctxT(t), nil)
	if err != nil || len(empty) != 0 {
		t.Fatalf("no ids: %v %v", empty, err)
	}
}

func TestStatusQueryNewestFirstPaged(t *testing.T) {
	client, table := statusTable(t)
	failed := fill(t, client, table, 75) // 25 FAILED
	store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table, Index: statusIndex})

	var got []awsclient.Status
	token, pages := "", 0
	for {
		page, err := store.ListByStatus(ctxT(t), "FAILED", token, 10)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Items) > 10 {
			t.Fatalf("page of %d", len(page.Items))
		}
		got = append(got, page.Items...)
		if page.NextToken == "" {
			break
		}
		token = page.NextToken
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(got) != len(failed) {
		t.Fatalf("got %d items, want %d", len(got), len(failed))
	}
	for i, st := range got {
		if st.State != "FAILED" {
			t.Fatalf("item %d is %s", i, st.State)
		}
		if i > 0 && !st.UpdatedAt.Before(got[i-1].UpdatedAt) {
			t.Fatalf("item %d (%v) is not older than item %d (%v)", i, st.UpdatedAt, i-1, got[i-1].UpdatedAt)
		}
	}
	if got[0].RequestID != failed[len(failed)-1] {
		t.Errorf("newest = %s, want %s", got[0].RequestID, failed[len(failed)-1])
	}

	if _, err := store.QueryByStatus(ctxT(t), "FAILED", "not a token!", 10); awsclient.KindOf(err) != awsclient.KindInvalid {
		t.Errorf("bad token: err = %v, want invalid", err)
	}
}

func TestStatusScanFallback(t *testing.T) {
	client, table := statusTable(t)
	failed := fill(t, client, table, 75)
	store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table}) // no index: Scan

	for _, limit := range []int32{1, 7, 10, 100} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			seen := map[string]bool{}
			token := ""
			for rounds := 0; ; rounds++ {
				page, err := store.ListByStatus(ctxT(t), "FAILED", token, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Items) > int(limit) {
					t.Fatalf("page of %d, limit %d", len(page.Items), limit)
				}
				for _, st := range page.Items {
					if st.State != "FAILED" || seen[st.RequestID] {
						t.Fatalf("bad or repeated item %+v", st)
					}
					seen[st.RequestID] = true
				}
				if page.NextToken == "" {
					break
				}
				token = page.NextToken
				if rounds > 100 {
					t.Fatal("paging does not end")
				}
			}
			if len(seen) != len(failed) {
				t.Fatalf("saw %d FAILED, want %d", len(seen), len(failed))
			}
		})
	}
}

func TestStatusScanIDs(t *testing.T) {
	client, table := statusTable(t)
	fill(t, client, table, 300)
	store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table})

	var (
		mu      sync.Mutex
		ids     []string
		inside  int
		overlap bool
	)
	err := store.ScanIDs(ctxT(t), 4, func(page []string) error {
		mu.Lock()
		inside++
		overlap = overlap || inside > 1
		mu.Unlock()
		ids = append(ids, page...) // safe only because fn is never called concurrently
		mu.Lock()
		inside--
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if overlap {
		t.Error("fn was called concurrently")
	}
	sort.Strings(ids)
	if len(ids) != 300 || ids[0] != "req-0000" || ids[299] != "req-0299" {
		t.Fatalf("got %d ids", len(ids))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			t.Fatalf("duplicate %s", ids[i])
		}
	}

	stop := errors.New("stop")
	if err := store.ScanIDs(ctxT(t), 3, func([]string) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("err = %v, want fn's error", err)
	}
}

func TestStatusDescribe(t *testing.T) {
	client, table := statusTable(t)
	fill(t, client, table, 3)
	store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table})
	info, err := store.Describe(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != table || len(info.Keys) != 1 || info.Keys[0] != (awsclient.KeyAttr{Name: "requestId", Role: "HASH", Type: "S"}) {
		t.Fatalf("info = %+v", info)
	}
	if len(info.Indexes) != 1 || info.Indexes[0].Name != statusIndex || len(info.Indexes[0].Keys) != 2 ||
		info.Indexes[0].Keys[0].Name != "status" || info.Indexes[0].Keys[1].Role != "RANGE" {
		t.Fatalf("indexes = %+v", info.Indexes)
	}
	// ItemCount is not checked: DynamoDB refreshes it every few hours, dynalite never.
}

// A status section that does not fit the table names the setting to fix. DynamoDB answers
// both mistakes with a ValidationException, not ResourceNotFoundException.
func TestStatusSchemaMismatchSaysWhatToCheck(t *testing.T) {
	client, table := statusTable(t)
	fill(t, client, table, 3)
	check := func(t *testing.T, what string, err error, remedy string) {
		t.Helper()
		var e *awsclient.Error
		if !errors.As(err, &e) || e.Kind != awsclient.KindInvalid {
			t.Fatalf("%s: err = %v (kind %v), want invalid", what, err, awsclient.KindOf(err))
		}
		if e.Remedy != remedy {
			t.Errorf("%s: remedy\n %q, want\n %q", what, e.Remedy, remedy)
		}
	}

	t.Run("key_attr", func(t *testing.T) {
		store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table, KeyAttr: "id"})
		const want = `check status.key_attr in the config: the table's partition key is "requestId"`
		_, _, err := store.Get(ctxT(t), "req-0001")
		check(t, "get", err, want)
		_, err = store.BatchGet(ctxT(t), []string{"req-0001", "req-0002"})
		check(t, "batch-get", err, want)
		// A Scan does not fail on a wrong key_attr; it must not report every request as
		// having no status either.
		err = store.ScanIDs(ctxT(t), 2, func([]string) error { return nil })
		check(t, "scan", err, want)
	})

	t.Run("index", func(t *testing.T) {
		store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table, Index: "no-such-index"})
		_, err := store.ListByStatus(ctxT(t), "FAILED", "", 10)
		check(t, "query", err, "check status.index in the config (or remove it to use a Scan)")
	})

	t.Run("index keys", func(t *testing.T) {
		store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table, Index: statusIndex, StatusAttr: "state"})
		_, err := store.ListByStatus(ctxT(t), "FAILED", "", 10)
		check(t, "query", err, "check status.status_attr and status.updated_at_attr in the config: they must be the keys of status.index (or remove status.index to use a Scan)")
	})
}

func TestStatusSampleStates(t *testing.T) {
	client, table := statusTable(t)
	fill(t, client, table, 30)
	for _, index := range []string{"", statusIndex} {
		t.Run("index="+index, func(t *testing.T) {
			store := awsclient.NewStatusStore(client, awsclient.StatusSchema{Table: table, Index: index})
			states, err := store.SampleStates(ctxT(t), 100)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(states, ",") != "FAILED,PROCESSED" {
				t.Fatalf("states %v, want FAILED,PROCESSED", states)
			}
		})
	}
}
