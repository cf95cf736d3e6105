package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func txItem(id, status string, extra ...string) map[string]ddb.AttributeValue {
	it := map[string]ddb.AttributeValue{"requestId": s(id), "status": s(status), "updatedAt": s("2026-03-01T00:00:00.000Z")}
	for i := 0; i+1 < len(extra); i += 2 {
		it[extra[i]] = s(extra[i+1])
	}
	return it
}

// txStack is a devstack whose status table holds r1 (FAILED) and r2 (PENDING), and whose
// lease table holds L1.
func txStack(t *testing.T) (*Stack, *dynamodb.Client) {
	st := startStack(t, Options{Requests: -1})
	c := dynamoClient(st.DynamoDBURL)
	ctx := context.Background()
	for _, it := range []map[string]ddb.AttributeValue{txItem("r1", "FAILED", "error", "boom"), txItem("r2", "PENDING")} {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.Table, Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.LeaseTable, Item: map[string]ddb.AttributeValue{"requestId": s("L1"), "runId": s("A")}}); err != nil {
		t.Fatal(err)
	}
	return st, c
}

// tableDump is every item of a table, as JSON, with the DescribeTable counts, and checks
// that those counts are what a walk of the items finds.
func tableDump(t *testing.T, tb *statusTable) string {
	t.Helper()
	tb.mu.RLock()
	defer tb.mu.RUnlock()
	size, icount, isize := 0, 0, 0
	var keys []string
	for k := range tb.items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		it := tb.items[k].decode(tb.dict.strs)
		size += it.size()
		if tb.items[k].idx {
			icount++
			isize += it.size()
		}
		j, _ := json.Marshal(it)
		b.WriteString(k + "=" + string(j) + "\n")
	}
	if size != tb.size || icount != tb.indexCount || isize != tb.indexSize || tb.scan.len() != len(tb.items) {
		t.Errorf("%s: totals %d bytes, %d indexed (%d bytes), %d in scan order; a walk finds %d bytes, %d indexed (%d bytes), %d items",
			tb.schema.Name, tb.size, tb.indexCount, tb.indexSize, tb.scan.len(), size, icount, isize, len(tb.items))
	}
	n := 0
	for _, part := range tb.index {
		n += part.len()
	}
	if n != icount {
		t.Errorf("%s: %d entries in the index partitions, %d indexed items", tb.schema.Name, n, icount)
	}
	return b.String()
}

// A transaction that passes writes every action, across both tables, and the reads see
// it: Query on the index, Scan, DescribeTable's counts.
func TestTransactWriteItemsWritesAll(t *testing.T) {
	st, c := txStack(t)
	ctx := context.Background()
	names := map[string]string{"#s": "status"}
	_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddb.TransactWriteItem{
		{Update: &ddb.Update{TableName: &st.Table, Key: map[string]ddb.AttributeValue{"requestId": s("r1")},
			UpdateExpression: aws.String("SET #s = :p, updatedAt = :u REMOVE #e ADD attempts :one"), ConditionExpression: aws.String("#s = :f"),
			ExpressionAttributeNames:  map[string]string{"#s": "status", "#e": "error"},
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":p": s("PROCESSED"), ":u": s("2026-03-02T00:00:00.000Z"), ":f": s("FAILED"), ":one": n("1")}}},
		{Put: &ddb.Put{TableName: &st.Table, Item: txItem("r3", "PENDING"), ConditionExpression: aws.String("attribute_not_exists(requestId)")}},
		{Delete: &ddb.Delete{TableName: &st.Table, Key: map[string]ddb.AttributeValue{"requestId": s("r2")},
			ConditionExpression: aws.String("#s = :p"), ExpressionAttributeNames: names, ExpressionAttributeValues: map[string]ddb.AttributeValue{":p": s("PENDING")}}},
		{ConditionCheck: &ddb.ConditionCheck{TableName: &st.LeaseTable, Key: map[string]ddb.AttributeValue{"requestId": s("L1")},
			ConditionExpression: aws.String("runId = :a"), ExpressionAttributeValues: map[string]ddb.AttributeValue{":a": s("A")}}},
		{Put: &ddb.Put{TableName: &st.LeaseTable, Item: map[string]ddb.AttributeValue{"requestId": s("r1"), "runId": s("B")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.Table, Key: map[string]ddb.AttributeValue{"requestId": s("r1")}})
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Item["status"].(*ddb.AttributeValueMemberS).Value; v != "PROCESSED" || got.Item["error"] != nil || got.Item["attempts"].(*ddb.AttributeValueMemberN).Value != "1" {
		t.Errorf("r1 after the transaction: %v", got.Item)
	}
	q := func(status string) []string {
		out, err := c.Query(ctx, &dynamodb.QueryInput{TableName: &st.Table, IndexName: &st.Index, KeyConditionExpression: aws.String("#s = :s"),
			ExpressionAttributeNames: names, ExpressionAttributeValues: map[string]ddb.AttributeValue{":s": s(status)}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range out.Items {
			ids = append(ids, it["requestId"].(*ddb.AttributeValueMemberS).Value)
		}
		return ids
	}
	if f, p, d := q("FAILED"), q("PROCESSED"), q("PENDING"); len(f) != 0 || !reflect.DeepEqual(p, []string{"r1"}) || !reflect.DeepEqual(d, []string{"r3"}) {
		t.Errorf("index after the transaction: FAILED %v, PROCESSED %v, PENDING %v", f, p, d)
	}
	sc, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: &st.Table})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Count != 2 {
		t.Errorf("Scan finds %d items, want 2 (r1, r3)", sc.Count)
	}
	desc, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &st.Table})
	if err != nil {
		t.Fatal(err)
	}
	if *desc.Table.ItemCount != 2 || *desc.Table.GlobalSecondaryIndexes[0].ItemCount != 2 {
		t.Errorf("DescribeTable: %d items, %d indexed", *desc.Table.ItemCount, *desc.Table.GlobalSecondaryIndexes[0].ItemCount)
	}
	tableDump(t, st.table)
	if l, ok := st.leases.get("r1"); !ok || l["runId"].str != "B" {
		t.Errorf("lease r1: %v %v", l, ok)
	}
}

// One failed condition cancels the whole transaction: nothing is written, and the
// answer is a TransactionCanceledException the SDK reads, with a reason per action in
// order and the old item where ALL_OLD asked for it.
func TestTransactWriteItemsCancelsAll(t *testing.T) {
	st, c := txStack(t)
	ctx := context.Background()
	before, leasesBefore := tableDump(t, st.table), tableDump(t, st.leases)
	writesBefore := st.dynamo.writes.Load()
	key := func(id string) map[string]ddb.AttributeValue {
		return map[string]ddb.AttributeValue{"requestId": s(id)}
	}
	_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddb.TransactWriteItem{
		{Update: &ddb.Update{TableName: &st.Table, Key: key("r1"), UpdateExpression: aws.String("SET note = :n"),
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":n": s("x")}}},
		{ConditionCheck: &ddb.ConditionCheck{TableName: &st.Table, Key: key("r2"), ConditionExpression: aws.String("attribute_not_exists(requestId)"),
			ReturnValuesOnConditionCheckFailure: ddb.ReturnValuesOnConditionCheckFailureAllOld}},
		{Put: &ddb.Put{TableName: &st.Table, Item: txItem("r9", "PENDING")}},
		{Delete: &ddb.Delete{TableName: &st.LeaseTable, Key: key("L1"), ConditionExpression: aws.String("runId = :b"),
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":b": s("B")}}},
		{Update: &ddb.Update{TableName: &st.Table, Key: key("r7"), UpdateExpression: aws.String("SET a = :n"), ConditionExpression: aws.String("attribute_exists(requestId)"),
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":n": s("x")}, ReturnValuesOnConditionCheckFailure: ddb.ReturnValuesOnConditionCheckFailureAllOld}},
		{Update: &ddb.Update{TableName: &st.LeaseTable, Key: key("L2"), UpdateExpression: aws.String("SET c = c + :one"),
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":one": n("1")}}},
	}})
	var tce *ddb.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("want a TransactionCanceledException, got %v", err)
	}
	wantMsg := "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None, ConditionalCheckFailed, ConditionalCheckFailed, ValidationError]"
	if tce.ErrorMessage() != wantMsg || tce.ErrorCode() != "TransactionCanceledException" {
		t.Errorf("error %s: %q\nwant %q", tce.ErrorCode(), tce.ErrorMessage(), wantMsg)
	}
	var got []string
	for _, r := range tce.CancellationReasons {
		line := aws.ToString(r.Code) + "|" + aws.ToString(r.Message)
		if r.Item != nil {
			line += fmt.Sprintf("|item %s %s", r.Item["requestId"].(*ddb.AttributeValueMemberS).Value, r.Item["status"].(*ddb.AttributeValueMemberS).Value)
		}
		got = append(got, line)
	}
	want := []string{
		"None|",
		"ConditionalCheckFailed|The conditional request failed|item r2 PENDING",
		"None|",
		"ConditionalCheckFailed|The conditional request failed", // ALL_OLD not asked
		"ConditionalCheckFailed|The conditional request failed", // ALL_OLD, but no item
		"ValidationError|The provided expression refers to an attribute that does not exist in the item",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CancellationReasons:\n got %q\nwant %q", got, want)
	}
	if after := tableDump(t, st.table); after != before {
		t.Errorf("a cancelled transaction changed the status table:\n%s\nwas\n%s", after, before)
	}
	if after := tableDump(t, st.leases); after != leasesBefore {
		t.Errorf("a cancelled transaction changed the lease table:\n%s\nwas\n%s", after, leasesBefore)
	}
	if n := st.dynamo.writes.Load() - writesBefore; n != 1 {
		t.Errorf("%d write requests counted, want 1", n)
	}
}

// The wire shape, byte for byte as DynamoDB sends it: the reasons in order, a None
// reason with a Code only, and "Message" capitalized.
func TestTransactionCanceledWireShape(t *testing.T) {
	st, _ := txStack(t)
	body := `{"TransactItems":[{"ConditionCheck":{"TableName":"` + st.Table + `","Key":{"requestId":{"S":"r1"}},"ConditionExpression":"attribute_exists(requestId)"}},` +
		`{"ConditionCheck":{"TableName":"` + st.Table + `","Key":{"requestId":{"S":"r2"}},"ConditionExpression":"attribute_not_exists(requestId)","ReturnValuesOnConditionCheckFailure":"ALL_OLD"}}]}`
	resp, got := postDynamo(t, st.DynamoDBURL, "TransactWriteItems", body)
	want := `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","CancellationReasons":[{"Code":"None"},` +
		`{"Code":"ConditionalCheckFailed","Item":{"requestId":{"S":"r2"},"status":{"S":"PENDING"},"updatedAt":{"S":"2026-03-01T00:00:00.000Z"}},"Message":"The conditional request failed"}],` +
		`"Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"}`
	if resp.StatusCode != 400 || string(got) != want {
		t.Errorf("got %d %s\nwant 400 %s", resp.StatusCode, got, want)
	}
}

// What the service refuses before looking at any item, as it refuses it.
func TestTransactWriteItemsValidates(t *testing.T) {
	st, c := txStack(t)
	ctx := context.Background()
	before := tableDump(t, st.table)
	key := map[string]ddb.AttributeValue{"requestId": s("r1")}
	upd := func(table, id string) ddb.TransactWriteItem {
		return ddb.TransactWriteItem{Update: &ddb.Update{TableName: aws.String(table), Key: map[string]ddb.AttributeValue{"requestId": s(id)},
			UpdateExpression: aws.String("SET note = :n"), ExpressionAttributeValues: map[string]ddb.AttributeValue{":n": s("x")}}}
	}
	var many []ddb.TransactWriteItem
	for i := range 101 {
		many = append(many, upd(st.Table, fmt.Sprint("k", i)))
	}
	call := func(items ...ddb.TransactWriteItem) error {
		_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	}
	cases := []struct {
		name, code, msg string
		err             error
	}{
		{"empty", "ValidationException", "Member must have length greater than or equal to 1", call([]ddb.TransactWriteItem{}...)},
		{"101 actions", "ValidationException", "Member must have length less than or equal to 100", call(many...)},
		{"two actions on one item", "ValidationException", "Transaction request cannot include multiple operations on one item",
			call(upd(st.Table, "r1"), ddb.TransactWriteItem{ConditionCheck: &ddb.ConditionCheck{TableName: &st.Table, Key: key, ConditionExpression: aws.String("attribute_exists(requestId)")}})},
		{"missing table", "ResourceNotFoundException", "Requested resource not found", call(upd(st.Table, "r1"), upd("nope", "r1"))},
		{"two kinds in one action", "ValidationException", "TransactItems can only contain one of Check, Put, Update or Delete",
			call(ddb.TransactWriteItem{Update: upd(st.Table, "r1").Update, Delete: &ddb.Delete{TableName: &st.Table, Key: key}})},
		{"wrong key", "ValidationException", "The provided key element does not match the schema",
			call(ddb.TransactWriteItem{Delete: &ddb.Delete{TableName: &st.Table, Key: map[string]ddb.AttributeValue{"id": s("r1")}}})},
		{"update of the key", "ValidationException", "Cannot update attribute requestId",
			call(ddb.TransactWriteItem{Update: &ddb.Update{TableName: &st.Table, Key: key, UpdateExpression: aws.String("SET requestId = :n"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":n": s("x")}}})},
		{"unused value", "ValidationException", "unused in expressions: keys: {:x}",
			call(ddb.TransactWriteItem{ConditionCheck: &ddb.ConditionCheck{TableName: &st.Table, Key: key, ConditionExpression: aws.String("attribute_exists(requestId)"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":x": s("y")}}})},
		{"put without its key", "ValidationException", "Missing the key requestId in the item",
			call(ddb.TransactWriteItem{Put: &ddb.Put{TableName: &st.Table, Item: map[string]ddb.AttributeValue{"status": s("FAILED")}}})},
		{"consumed capacity", "ValidationException", "unsupported ReturnConsumedCapacity TOTAL", func() error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddb.TransactWriteItem{upd(st.Table, "r1")},
				ReturnConsumedCapacity: ddb.ReturnConsumedCapacityTotal})
			return err
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ae := apiError(t, tc.err)
			if ae.ErrorCode() != tc.code || !strings.Contains(ae.ErrorMessage(), tc.msg) {
				t.Errorf("got %s: %s; want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), tc.code, tc.msg)
			}
		})
	}
	// Members the SDK itself insists on, sent raw.
	raw := []struct{ body, msg string }{
		{`{}`, "Value null at 'transactItems' failed to satisfy constraint: Member must not be null"},
		{`{"TransactItems":[{"ConditionCheck":{"TableName":"` + st.Table + `","Key":{"requestId":{"S":"r1"}}}}]}`,
			"Value null at 'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null"},
		{`{"TransactItems":[{"Put":{"TableName":"` + st.Table + `","Item":{"requestId":{"S":"a"}}}},{"Update":{"TableName":"` + st.Table + `","Key":{"requestId":{"S":"r1"}}}}]}`,
			"Value null at 'transactItems.2.member.update.updateExpression' failed to satisfy constraint: Member must not be null"},
		{`{"TransactItems":[{"Delete":{"Key":{"requestId":{"S":"r1"}}}}]}`,
			"Value null at 'transactItems.1.member.delete.tableName' failed to satisfy constraint: Member must not be null"},
		{`{"TransactItems":[{}]}`, "TransactItems can only contain one of Check, Put, Update or Delete"},
		{`{"TransactItems":[{"Put":{"TableName":"` + st.Table + `","Item":{"requestId":{"S":"a"}},"UpdateExpression":"SET a = :a"}}]}`,
			"stowage devstack: unsupported parameter UpdateExpression in TransactWriteItems"},
	}
	for _, r := range raw {
		_, err := st.dynamo.dispatch("TransactWriteItems", []byte(r.body))
		var de *dynamoError
		if !errors.As(err, &de) || de.typ != "ValidationException" || !strings.Contains(de.msg, r.msg) {
			t.Errorf("%s: got %v, want a ValidationException containing %q", r.body, err, r.msg)
		}
	}
	if after := tableDump(t, st.table); after != before {
		t.Errorf("a refused transaction changed the table:\n%s\nwas\n%s", after, before)
	}
}

// A ClientRequestToken that made a transaction succeed makes the same request succeed
// again for 10 minutes without writing it twice; with other parameters it is refused.
func TestTransactWriteItemsClientRequestToken(t *testing.T) {
	st, c := txStack(t)
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st.dynamo.clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	add := func(token, by string) error {
		_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{ClientRequestToken: aws.String(token), TransactItems: []ddb.TransactWriteItem{
			{Update: &ddb.Update{TableName: &st.Table, Key: map[string]ddb.AttributeValue{"requestId": s("r1")}, UpdateExpression: aws.String("ADD attempts :n"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":n": n(by)}}}}})
		return err
	}
	attempts := func() string {
		it, _ := st.table.get("r1")
		return it["attempts"].str
	}
	for i, step := range []struct {
		token, by string
		wait      time.Duration
		code      string
		want      string
	}{
		{"tok-1", "1", 0, "", "1"},
		{"tok-1", "1", time.Minute, "", "1"}, // replayed: not applied again
		{"tok-1", "5", 0, "IdempotentParameterMismatchException", "1"},
		{"tok-2", "1", 0, "", "2"},
		{"tok-1", "1", 9 * time.Minute, "", "3"}, // 10 minutes after its first use: a new request
		{"tok-1", "1", 0, "", "3"},
		{"", "1", 0, "", "4"}, // the SDK fills one in: each call is new
		{"", "1", 0, "", "5"},
	} {
		advance(step.wait)
		var err error
		if step.token == "" {
			_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddb.TransactWriteItem{
				{Update: &ddb.Update{TableName: &st.Table, Key: map[string]ddb.AttributeValue{"requestId": s("r1")}, UpdateExpression: aws.String("ADD attempts :n"),
					ExpressionAttributeValues: map[string]ddb.AttributeValue{":n": n(step.by)}}}}})
		} else {
			err = add(step.token, step.by)
		}
		code := ""
		if err != nil {
			code = apiError(t, err).ErrorCode()
		}
		if code != step.code || attempts() != step.want {
			t.Errorf("step %d (%s, +%s): error %q, attempts %s; want %q, %s", i, step.token, step.by, code, attempts(), step.code, step.want)
		}
	}
}

// A transaction is atomic against every other request: a reader's Scan (one page, under
// the table's read lock) never sees one half of a transfer between two items without the
// other, and concurrent UpdateItems are neither lost nor torn.
func TestTransactWriteItemsIsAtomic(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	c := dynamoClient(st.DynamoDBURL)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.Table, Item: map[string]ddb.AttributeValue{"requestId": s(id), "n": n("100")}}); err != nil {
			t.Fatal(err)
		}
	}
	move := func(from, to string) error {
		_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddb.TransactWriteItem{
			{Update: &ddb.Update{TableName: &st.Table, Key: map[string]ddb.AttributeValue{"requestId": s(from)}, UpdateExpression: aws.String("SET n = n - :one"),
				ConditionExpression: aws.String("n > :zero"), ExpressionAttributeValues: map[string]ddb.AttributeValue{":one": n("1"), ":zero": n("0")}}},
			{Update: &ddb.Update{TableName: &st.Table, Key: map[string]ddb.AttributeValue{"requestId": s(to)}, UpdateExpression: aws.String("SET n = n + :one"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":one": n("1")}}},
		}})
		var tce *ddb.TransactionCanceledException
		if errors.As(err, &tce) {
			return nil // the source was empty: nothing moved
		}
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				from, to := "a", "b"
				if (i+w)%2 == 0 {
					from, to = "b", "a"
				}
				if err := move(from, to); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // a plain UpdateItem on a third attribute of the same items, meanwhile
		defer wg.Done()
		for range 40 {
			if _, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &st.Table, Key: map[string]ddb.AttributeValue{"requestId": s("a")},
				UpdateExpression: aws.String("ADD touched :one"), ExpressionAttributeValues: map[string]ddb.AttributeValue{":one": n("1")}}); err != nil {
				errs <- err
				return
			}
		}
	}()
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			out, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: &st.Table})
			if err != nil {
				errs <- err
				return
			}
			sum := 0
			for _, it := range out.Items {
				var v int
				fmt.Sscan(it["n"].(*ddb.AttributeValueMemberN).Value, &v)
				sum += v
			}
			if sum != 200 {
				errs <- fmt.Errorf("a Scan saw a half-applied transaction: the items sum to %d, not 200", sum)
				return
			}
		}
	}()
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if it, _ := st.table.get("a"); it["touched"].str != "40" {
		t.Errorf("touched = %s after 40 UpdateItems beside the transactions, want 40", it["touched"].str)
	}
	tableDump(t, st.table)
}

// A transaction's writes, a Delete among them, reach the DataDir's log and load back.
func TestTransactWriteItemsPersist(t *testing.T) {
	dir := t.TempDir()
	files := tableFiles{dir, "status-table"}
	srv := &dynamoServer{table: persistTable()}
	for i := range 20 {
		id := fmt.Sprintf("req-%02d", i)
		srv.table.update(id, func(item, bool) (item, error) { return statusItem(id, "FAILED"), nil })
	}
	if err := srv.table.save(files); err != nil { // the snapshot
		t.Fatal(err)
	}
	_, err := srv.dispatch("TransactWriteItems", []byte(`{"TransactItems":[`+
		`{"Delete":{"TableName":"t","Key":{"requestId":{"S":"req-03"}}}},`+
		`{"Update":{"TableName":"t","Key":{"requestId":{"S":"req-04"}},"UpdateExpression":"SET #s = :p","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":p":{"S":"PROCESSED"}}}},`+
		`{"Put":{"TableName":"t","Item":{"requestId":{"S":"new"},"status":{"S":"PENDING"},"updatedAt":{"S":"2026"}}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !srv.table.dirty.Load() {
		t.Error("the table is not marked for the next save")
	}
	if err := srv.table.save(files); err != nil { // the log
		t.Fatal(err)
	}
	if _, err := os.Stat(files.log(1)); err != nil {
		t.Fatalf("no log after the transaction: %v", err)
	}
	loaded := persistTable()
	if err := loaded.load(files); err != nil {
		t.Fatal(err)
	}
	if _, ok := loaded.get("req-03"); ok {
		t.Error("the deleted item came back on load")
	}
	sameTable(t, loaded, srv.table)
	if got, want := tableDump(t, loaded), tableDump(t, srv.table); got != want {
		t.Errorf("loaded:\n%s\nwant\n%s", got, want)
	}
}

// Any transaction from outside either succeeds or leaves every table as it was, and
// refuses only with DynamoDB-shaped client errors.
func FuzzTransactWriteItems(f *testing.F) {
	for _, s := range []string{
		`{"TransactItems":[{"Update":{"TableName":"t","Key":{"requestId":{"S":"a"}},"UpdateExpression":"SET #s = :s","ConditionExpression":"#s = :f","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":s":{"S":"PROCESSED"},":f":{"S":"FAILED"}}}},{"Delete":{"TableName":"leases","Key":{"requestId":{"S":"a"}}}}]}`,
		`{"TransactItems":[{"ConditionCheck":{"TableName":"t","Key":{"requestId":{"S":"a"}},"ConditionExpression":"attribute_not_exists(requestId)","ReturnValuesOnConditionCheckFailure":"ALL_OLD"}},{"Put":{"TableName":"t","Item":{"requestId":{"S":"b"}}}}]}`,
		`{"TransactItems":[{"Update":{"TableName":"t","Key":{"requestId":{"S":"a"}},"UpdateExpression":"SET n = n + :one","ExpressionAttributeValues":{":one":{"N":"1"}}}}],"ClientRequestToken":"x"}`,
		`{"TransactItems":[{"Delete":{"TableName":"t","Key":{"requestId":{"S":"a"}}}},{"Delete":{"TableName":"t","Key":{"requestId":{"S":"a"}}}}]}`,
		`{"TransactItems":[]}`, `{"TransactItems":[{}]}`, `{"TransactItems":null}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		srv := &dynamoServer{table: newStatusTable(tableSchema{Name: "t", KeyAttr: "requestId", IndexName: "i",
			IndexHash: "status", IndexSort: "updatedAt", Region: Region}, testNow),
			more: []*statusTable{newStatusTable(tableSchema{Name: "leases", KeyAttr: "requestId", Region: Region}, testNow)}}
		srv.table.put("a", nil, item{"requestId": stringValue("a"), "status": stringValue("FAILED"), "updatedAt": stringValue("2025-06")})
		srv.more[0].put("a", nil, item{"requestId": stringValue("a"), "runId": stringValue("A")})
		before, leases := tableDump(t, srv.table), tableDump(t, srv.more[0])
		out, err := srv.dispatch("TransactWriteItems", body)
		if err != nil {
			var de *dynamoError
			if !errors.As(err, &de) || de.status < 400 || de.status >= 500 {
				t.Fatalf("error that is not a DynamoDB client error: %#v", err)
			}
			if tableDump(t, srv.table) != before || tableDump(t, srv.more[0]) != leases {
				t.Fatalf("a refused transaction (%v) changed a table", err)
			}
			if de.reasons != nil {
				var in transactWriteInput
				json.Unmarshal(body, &in)
				if len(de.reasons) != len(in.TransactItems) {
					t.Fatalf("%d reasons for %d actions", len(de.reasons), len(in.TransactItems))
				}
			}
			return
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("answer does not marshal: %v", err)
		}
		tableDump(t, srv.table)
		tableDump(t, srv.more[0])
	})
}
