package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

func s(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: v} }
func n(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberN{Value: v} }

func apiError(t *testing.T, err error) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want a DynamoDB error, got %v", err)
	}
	return ae
}

// Anything the emulator does not implement is a ValidationException naming it.
func TestDynamoRefusesWhatItDoesNotSupport(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	c := dynamoClient(st.DynamoDBURL)
	ctx := context.Background()
	table := aws.String(st.Table)
	key := map[string]ddb.AttributeValue{"requestId": s("k")}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"operation", func() error {
			_, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
			return err
		}, "unsupported operation ListTables"},
		{"legacy parameter", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key, AttributesToGet: []string{"a"}})
			return err
		}, "unsupported parameter AttributesToGet"},
		{"legacy filter", func() error {
			_, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: table, ScanFilter: map[string]ddb.Condition{"a": {ComparisonOperator: ddb.ComparisonOperatorNotNull}}})
			return err
		}, "unsupported parameter ScanFilter"},
		{"nested path", func() error {
			_, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: table, ProjectionExpression: aws.String("processor.version")})
			return err
		}, "unsupported ProjectionExpression nested document path"},
		{"size function", func() error {
			_, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: table, FilterExpression: aws.String("size(#e) > :n"),
				ExpressionAttributeNames: map[string]string{"#e": "error"}, ExpressionAttributeValues: map[string]ddb.AttributeValue{":n": n("1")}})
			return err
		}, "unsupported FilterExpression function size"},
		{"consumed capacity", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key, ReturnConsumedCapacity: ddb.ReturnConsumedCapacityTotal})
			return err
		}, "unsupported ReturnConsumedCapacity TOTAL"},
		{"update DELETE clause", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key, UpdateExpression: aws.String("DELETE tags :t"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":t": &ddb.AttributeValueMemberSS{Value: []string{"a"}}}})
			return err
		}, "unsupported UpdateExpression clause DELETE"},
		{"list_append", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key, UpdateExpression: aws.String("SET h = list_append(h, :v)"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":v": &ddb.AttributeValueMemberL{}}})
			return err
		}, "unsupported UpdateExpression function list_append"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ae := apiError(t, tc.call())
			if ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), tc.want) ||
				!strings.HasPrefix(ae.ErrorMessage(), "stowage devstack: unsupported") {
				t.Errorf("got %s: %s; want ValidationException naming %q", ae.ErrorCode(), ae.ErrorMessage(), tc.want)
			}
		})
	}
}

// postDynamo sends body to the DynamoDB emulator at url as operation op, without the SDK.
func postDynamo(t *testing.T, url, op, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func TestDynamoErrorShape(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	resp, body := postDynamo(t, st.DynamoDBURL, "CreateTable", `{}`)
	want := `{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"stowage devstack: unsupported operation CreateTable`
	if resp.StatusCode != 400 || !strings.HasPrefix(string(body), want) || resp.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("got %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestDynamoValidatesLikeDynamoDB(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	c := dynamoClient(st.DynamoDBURL)
	ctx := context.Background()
	table := aws.String(st.Table)
	cases := []struct {
		name, code, msg string
		call            func() error
	}{
		{"missing table", "ResourceNotFoundException", "Requested resource not found", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: map[string]ddb.AttributeValue{"requestId": s("k")}})
			return err
		}},
		{"describe missing table", "ResourceNotFoundException", "Table: nope not found", func() error {
			_, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("nope")})
			return err
		}},
		{"wrong key", "ValidationException", "The provided key element does not match the schema", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: map[string]ddb.AttributeValue{"id": s("k")}})
			return err
		}},
		{"reserved word", "ValidationException", "reserved keyword: status", func() error {
			_, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: table, FilterExpression: aws.String("status = :s"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":s": s("FAILED")}})
			return err
		}},
		{"unused value", "ValidationException", "unused in expressions: keys: {:x}", func() error {
			_, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: table, FilterExpression: aws.String("#s = :s"),
				ExpressionAttributeNames:  map[string]string{"#s": "status"},
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":s": s("FAILED"), ":x": s("y")}})
			return err
		}},
		{"names without a projection", "ValidationException", "ExpressionAttributeNames can only be specified when using expressions", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: map[string]ddb.AttributeValue{"requestId": s("k")},
				ExpressionAttributeNames: map[string]string{"#s": "status"}})
			return err
		}},
		{"batch projection with an unused name", "ValidationException", "unused in expressions: keys: {#e}", func() error {
			_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddb.KeysAndAttributes{st.Table: {
				Keys:                     []map[string]ddb.AttributeValue{{"requestId": s("k")}},
				ProjectionExpression:     aws.String("#s"),
				ExpressionAttributeNames: map[string]string{"#s": "status", "#e": "error"}}}})
			return err
		}},
		{"undefined name", "ValidationException", "attribute name: #s", func() error {
			_, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: table, FilterExpression: aws.String("#s = :s"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":s": s("FAILED")}})
			return err
		}},
		{"batch duplicates", "ValidationException", "contains duplicates", func() error {
			_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddb.KeysAndAttributes{
				st.Table: {Keys: []map[string]ddb.AttributeValue{{"requestId": s("a")}, {"requestId": s("a")}}}}})
			return err
		}},
		{"batch over 100", "ValidationException", "Too many items requested", func() error {
			keys := make([]map[string]ddb.AttributeValue, 101)
			for i := range keys {
				keys[i] = map[string]ddb.AttributeValue{"requestId": s(fmt.Sprint(i))}
			}
			_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddb.KeysAndAttributes{st.Table: {Keys: keys}}})
			return err
		}},
		{"query without hash key", "ValidationException", "Query condition missed key schema element: status", func() error {
			_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: table, IndexName: aws.String(st.Index),
				KeyConditionExpression: aws.String("#u > :t"), ExpressionAttributeNames: map[string]string{"#u": "updatedAt"},
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":t": s("2020")}})
			return err
		}},
		{"query on an unknown index", "ValidationException", "does not have the specified index: other", func() error {
			_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: table, IndexName: aws.String("other"),
				KeyConditionExpression: aws.String("#s = :s"), ExpressionAttributeNames: map[string]string{"#s": "status"},
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":s": s("x")}})
			return err
		}},
		{"condition failed", "ConditionalCheckFailedException", "The conditional request failed", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]ddb.AttributeValue{"requestId": s("c")},
				ConditionExpression: aws.String("attribute_exists(requestId)")})
			return err
		}},
		{"index key type", "ValidationException", "Type mismatch for Index Key status", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]ddb.AttributeValue{"requestId": s("c"), "status": n("1")}})
			return err
		}},
		{"update the key", "ValidationException", "Cannot update attribute requestId", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: map[string]ddb.AttributeValue{"requestId": s("c")},
				UpdateExpression: aws.String("SET requestId = :v"), ExpressionAttributeValues: map[string]ddb.AttributeValue{":v": s("d")}})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ae := apiError(t, tc.call())
			if ae.ErrorCode() != tc.code || !strings.Contains(ae.ErrorMessage(), tc.msg) {
				t.Errorf("got %s: %s; want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), tc.code, tc.msg)
			}
		})
	}
}

func TestDynamoWritesAndReads(t *testing.T) {
	st := startStack(t, Options{Requests: -1})
	c := dynamoClient(st.DynamoDBURL)
	ctx := context.Background()
	table := aws.String(st.Table)
	key := map[string]ddb.AttributeValue{"requestId": s("r1")}
	update := func(expr string, values map[string]ddb.AttributeValue) map[string]ddb.AttributeValue {
		t.Helper()
		out, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key, UpdateExpression: aws.String(expr),
			ExpressionAttributeNames: map[string]string{"#s": "status", "#a": "attempts"}, ExpressionAttributeValues: values,
			ReturnValues: ddb.ReturnValueAllNew})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return out.Attributes
	}
	got := update("SET #s = :f, note = if_not_exists(note, :n) ADD #a :one", map[string]ddb.AttributeValue{":f": s("FAILED"), ":n": s("first"), ":one": n("1")})
	got = update("SET #s = :p, note = if_not_exists(note, :n) ADD #a :one", map[string]ddb.AttributeValue{":p": s("PROCESSED"), ":n": s("second"), ":one": n("1")})
	if v := got["attempts"].(*ddb.AttributeValueMemberN).Value; v != "2" {
		t.Errorf("attempts %s, want 2", v)
	}
	if v := got["note"].(*ddb.AttributeValueMemberS).Value; v != "first" {
		t.Errorf("note %s, want first (if_not_exists)", v)
	}
	got = update("REMOVE note SET #a = #a + :ten, #s = :p", map[string]ddb.AttributeValue{":ten": n("10"), ":p": s("PROCESSED")})
	if _, ok := got["note"]; ok || got["attempts"].(*ddb.AttributeValueMemberN).Value != "12" {
		t.Errorf("after REMOVE and SET +: %v", got)
	}
	out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key, ProjectionExpression: aws.String("#s"),
		ExpressionAttributeNames: map[string]string{"#s": "status"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Item) != 1 || out.Item["status"].(*ddb.AttributeValueMemberS).Value != "PROCESSED" {
		t.Errorf("projected GetItem %v", out.Item)
	}
	miss, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: map[string]ddb.AttributeValue{"requestId": s("none")}})
	if err != nil || miss.Item != nil {
		t.Errorf("GetItem of a missing key: %v %v", miss.Item, err)
	}
}

func FuzzParseCondition(f *testing.F) {
	for _, e := range []string{"#s = :s", "#s = :s AND #u BETWEEN :a AND :b", "attribute_not_exists(#e) OR NOT (#a > :n)",
		"#s IN (:s, :a)", "begins_with(#u, :a)", "contains(#e, :s)", "((#s <> :s))", "a.b = :s", "size(#e) > :n"} {
		f.Add(e)
	}
	values := map[string]attrValue{":s": stringValue("FAILED"), ":a": stringValue("2025"), ":b": stringValue("2026"), ":n": numberValue("1")}
	names := map[string]string{"#s": "status", "#u": "updatedAt", "#e": "error", "#a": "attempts"}
	it := item{"status": stringValue("FAILED"), "updatedAt": stringValue("2025-06"), "attempts": numberValue("3")}
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := newExprParser("FilterExpression", expr, newExprContext(names, values))
		if err != nil {
			return
		}
		cond, err := p.parseCondition()
		if err != nil {
			var de *dynamoError
			if !errors.As(err, &de) || de.typ != "ValidationException" {
				t.Fatalf("error that is not a ValidationException: %v", err)
			}
			return
		}
		cond.eval(it)
		cond.eval(item{})
	})
}

func FuzzParseUpdate(f *testing.F) {
	for _, e := range []string{"SET #s = :s ADD #a :n", "SET #a = #a + :n, x = if_not_exists(x, :s) REMOVE #e", "DELETE x :s", "SET a = list_append(a, :s)"} {
		f.Add(e)
	}
	values := map[string]attrValue{":s": stringValue("FAILED"), ":n": numberValue("1")}
	names := map[string]string{"#s": "status", "#e": "error", "#a": "attempts"}
	f.Fuzz(func(t *testing.T, expr string) {
		actions, err := parseUpdate(expr, newExprContext(names, values))
		if err != nil {
			return
		}
		applyUpdate(item{"requestId": stringValue("k"), "attempts": numberValue("2")}, actions)
		applyUpdate(item{}, actions)
	})
}

// parseProjection reads expressions from outside. It must not panic, refuse with a
// ValidationException only, and what it returns must parse back from placeholders.
func FuzzParseProjection(f *testing.F) {
	for _, e := range []string{"#s, #u", "status", "#s,#s", "a.b", "a[0]", "#k, attempts, #odd", ",", "#", "#missing", "  ", "size"} {
		f.Add(e)
	}
	names := map[string]string{"#s": "status", "#u": "updatedAt", "#k": "requestId", "#odd": "a name, with: symbols"}
	f.Fuzz(func(t *testing.T, expr string) {
		got, err := parseProjection(expr, newExprContext(names, nil))
		if err != nil {
			var de *dynamoError
			if !errors.As(err, &de) || de.typ != "ValidationException" {
				t.Fatalf("error that is not a ValidationException: %v", err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("%q parsed to no attributes", expr)
		}
		again := map[string]string{}
		var parts []string
		for i, name := range got {
			if name == "" {
				t.Fatalf("%q parsed to an empty attribute name", expr)
			}
			p := fmt.Sprintf("#p%d", i)
			again[p] = name
			parts = append(parts, p)
		}
		back, err := parseProjection(strings.Join(parts, ", "), newExprContext(again, nil))
		if err != nil || fmt.Sprint(back) != fmt.Sprint(got) {
			t.Fatalf("%q parsed to %q; from placeholders %q, %v", expr, got, back, err)
		}
	})
}

// An AttributeValue read from a request writes back in a canonical form that reads to
// the same value.
func FuzzAttrValueRoundTrip(f *testing.F) {
	for _, v := range []string{`{"S":"a"}`, `{"N":"-1.5e3"}`, `{"B":"AAE="}`, `{"BOOL":true}`, `{"NULL":true}`, `{"SS":["a","b"]}`,
		`{"NS":["1","01"]}`, `{"BS":["AA=="]}`, `{"L":[{"S":"x"},{"M":{}}]}`, `{"M":{"k":{"L":null}}}`, `{"S":"\u001b[2J"}`, `{}`, `null`, `{"S":1}`} {
		f.Add([]byte(v))
	}
	for _, v := range []string{`{"S":"req-0001"}`, `{"S":""}`, `{"S":"caf\u00e9"}`, `{"S":"café"}`, "{\"S\":\"\xff\"}", `{"S":"a\"b"}`, ` {"S":"a"}`} {
		f.Add([]byte(v))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, ok := plainString(data); ok { // the fast path reads what the general one does
			var w attrValue
			if err := w.unmarshalGeneral(data); err != nil || w.kind != "S" || w.str != s {
				t.Fatalf("%q: the fast path reads %q, the general one %#v, %v", data, s, w, err)
			}
		}
		var v attrValue
		if err := json.Unmarshal(data, &v); err != nil {
			return
		}
		first, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal %#v: %v", v, err)
		}
		var w attrValue
		if err := json.Unmarshal(first, &w); err != nil {
			t.Fatalf("%s wrote %s, which does not read back: %v", data, first, err)
		}
		second, _ := json.Marshal(w)
		if !bytes.Equal(first, second) || !v.equal(w) && v.kind != "L" && v.kind != "M" {
			t.Fatalf("%s: wrote %s, then %s", data, first, second)
		}
	})
}

// Every operation decodes its request strictly from outside bytes: no panic, only
// DynamoDB-shaped client errors, and an answer that marshals.
func FuzzDynamoRequest(f *testing.F) {
	ops := []string{"GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DescribeTable", "DeleteItem", "TransactWriteItems"}
	seeds := []string{
		`{"TableName":"t","Key":{"requestId":{"S":"a"}}}`,
		`{"RequestItems":{"t":{"Keys":[{"requestId":{"S":"a"}}],"ProjectionExpression":"#s","ExpressionAttributeNames":{"#s":"status"}}}}`,
		`{"TableName":"t","IndexName":"i","KeyConditionExpression":"#s = :s","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":s":{"S":"FAILED"}},"Limit":2}`,
		`{"TableName":"t","FilterExpression":"#s = :s","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":s":{"S":"FAILED"}},"Segment":0,"TotalSegments":2}`,
		`{"TableName":"t","Item":{"requestId":{"S":"b"},"status":{"S":"FAILED"},"updatedAt":{"S":"2025"}},"ConditionExpression":"attribute_not_exists(requestId)"}`,
		`{"TableName":"t","Key":{"requestId":{"S":"a"}},"UpdateExpression":"SET #s = :s ADD attempts :n","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":s":{"S":"PROCESSED"},":n":{"N":"1"}},"ReturnValues":"ALL_NEW"}`,
		`{"TableName":"t"}`, `{"AttributesToGet":["a"]}`, `[]`, `{"TableName":"t","ExclusiveStartKey":{"requestId":{"N":"1"}}}`,
		`{"TableName":"leases","Key":{"requestId":{"S":"a"}},"UpdateExpression":"SET #r = :r REMOVE #o","ConditionExpression":"attribute_not_exists(#i) OR #e <= :n","ExpressionAttributeNames":{"#r":"runId","#o":"outcome","#i":"requestId","#e":"expiresAt"},"ExpressionAttributeValues":{":r":{"S":"A"},":n":{"N":"5"}},"ReturnValues":"ALL_OLD"}`,
		`{"RequestItems":{"leases":{"Keys":[{"requestId":{"S":"a"}}]}},"TableName":"t"}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	f.Add(uint8(len(ops)-1), []byte(`{"TransactItems":[{"Update":{"TableName":"t","Key":{"requestId":{"S":"a"}},"UpdateExpression":"SET #s = :s","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":s":{"S":"PROCESSED"}}}},{"ConditionCheck":{"TableName":"leases","Key":{"requestId":{"S":"a"}},"ConditionExpression":"attribute_not_exists(requestId)"}}]}`))
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte) {
		srv := &dynamoServer{table: newStatusTable(tableSchema{Name: "t", KeyAttr: "requestId", IndexName: "i",
			IndexHash: "status", IndexSort: "updatedAt", Region: Region}, testNow),
			more: []*statusTable{newStatusTable(tableSchema{Name: "leases", KeyAttr: "requestId", Region: Region}, testNow)}}
		srv.table.put("a", nil, item{"requestId": stringValue("a"), "status": stringValue("FAILED"), "updatedAt": stringValue("2025-06")})
		out, err := srv.dispatch(ops[int(opIndex)%len(ops)], body)
		if err != nil {
			var de *dynamoError
			if !errors.As(err, &de) || de.status < 400 || de.status >= 500 {
				t.Fatalf("error that is not a DynamoDB client error: %#v", err)
			}
			return
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("answer does not marshal: %v", err)
		}
	})
}
