package devstack

import (
	"encoding/json"
	"fmt"
	"testing"
)

// scaleServer is a status table of n items, half FAILED and half PROCESSED.
func scaleServer(t testing.TB, n int) *dynamoServer {
	srv := &dynamoServer{table: newStatusTable(tableSchema{Name: "t", KeyAttr: "requestId", IndexName: "i",
		IndexHash: "status", IndexSort: "updatedAt", Region: Region}, testNow)}
	for i := range n {
		st := "PROCESSED"
		if i%2 == 0 {
			st = "FAILED"
		}
		body := fmt.Sprintf(`{"TableName":"t","Item":{"requestId":{"S":"req-%07d"},"status":{"S":%q},"updatedAt":{"S":"2026-03-01T%07d"},"size":{"N":"%d"}}}`, i, st, i, i)
		if _, err := srv.dispatch("PutItem", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

// Every read costs in proportion to what it returns, not to the table: a page of 10 from
// a table of 20,000 allocates no more than from a table of 1,000 (the emulator used to
// walk, hash and sort the whole table for every Scan and Query). Allocations, not time,
// so that a loaded machine cannot fail it.
func TestReadsCostTheirResultNotTheTable(t *testing.T) {
	small, large := scaleServer(t, 1000), scaleServer(t, 20000)
	reads := []struct{ op, body string }{
		{"Scan", `{"TableName":"t","Limit":10}`},
		{"Scan", `{"TableName":"t","Limit":10,"Segment":3,"TotalSegments":7}`},
		{"Scan", `{"TableName":"t","Limit":10,"ExclusiveStartKey":{"requestId":{"S":"req-0000500"}}}`},
		{"Scan", `{"TableName":"t","IndexName":"i","Limit":10}`},
		{"Query", `{"TableName":"t","IndexName":"i","KeyConditionExpression":"#s = :s","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":s":{"S":"FAILED"}},"Limit":10}`},
		{"Query", `{"TableName":"t","IndexName":"i","KeyConditionExpression":"#s = :s","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":s":{"S":"FAILED"}},"Limit":10,"ScanIndexForward":false}`},
		{"Query", `{"TableName":"t","IndexName":"i","KeyConditionExpression":"#s = :s AND updatedAt BETWEEN :a AND :b","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":s":{"S":"PROCESSED"},":a":{"S":"2026-03-01T0000400"},":b":{"S":"2026-03-01T0000440"}}}`},
		{"Query", `{"TableName":"t","IndexName":"i","KeyConditionExpression":"#s = :s AND begins_with(updatedAt, :p)","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":s":{"S":"FAILED"},":p":{"S":"2026-03-01T000050"}},"ScanIndexForward":false}`},
		{"Query", `{"TableName":"t","KeyConditionExpression":"requestId = :k","ExpressionAttributeValues":{":k":{"S":"req-0000777"}}}`},
		{"DescribeTable", `{"TableName":"t"}`},
	}
	for _, r := range reads {
		allocs := func(srv *dynamoServer) float64 {
			return testing.AllocsPerRun(5, func() {
				if _, err := srv.dispatch(r.op, []byte(r.body)); err != nil {
					t.Fatal(err)
				}
			})
		}
		if a, b := allocs(small), allocs(large); b > a*1.1+5 {
			t.Errorf("%s %s: %.0f allocations on 20,000 items, %.0f on 1,000", r.op, r.body, b, a)
		}
	}
}

// DescribeTable's counts are kept as items are written, replaced and updated; they must
// equal what a walk of the table finds.
func TestDescribeCountsFollowWrites(t *testing.T) {
	srv := scaleServer(t, 300)
	for _, body := range []string{
		`{"TableName":"t","Item":{"requestId":{"S":"req-0000001"},"status":{"S":"FAILED"},"updatedAt":{"S":"x"},"error":{"S":"a longer item than before"}}}`,
		`{"TableName":"t","Item":{"requestId":{"S":"req-0000002"}}}`,
		`{"TableName":"t","Item":{"requestId":{"S":"new"},"status":{"S":"PENDING"},"updatedAt":{"S":"y"}}}`,
	} {
		if _, err := srv.dispatch("PutItem", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.dispatch("UpdateItem", []byte(`{"TableName":"t","Key":{"requestId":{"S":"req-0000003"}},"UpdateExpression":"REMOVE #s","ExpressionAttributeNames":{"#s":"status"}}`)); err != nil {
		t.Fatal(err)
	}
	out, err := srv.dispatch("DescribeTable", []byte(`{"TableName":"t"}`))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(out)
	var got struct {
		Table struct {
			ItemCount, TableSizeBytes int
			GlobalSecondaryIndexes    []struct{ ItemCount, IndexSizeBytes int }
		}
	}
	json.Unmarshal(data, &got)
	count, size, icount, isize := 0, 0, 0, 0
	for k := range srv.table.items {
		it, _ := srv.table.get(k)
		count++
		size += it.size()
		if it["status"].kind == "S" && it["updatedAt"].kind == "S" {
			icount++
			isize += it.size()
		}
	}
	g := got.Table
	if g.ItemCount != count || g.TableSizeBytes != size || len(g.GlobalSecondaryIndexes) != 1 ||
		g.GlobalSecondaryIndexes[0].ItemCount != icount || g.GlobalSecondaryIndexes[0].IndexSizeBytes != isize {
		t.Errorf("DescribeTable %+v; a walk finds %d items (%d bytes), %d indexed (%d bytes)", g, count, size, icount, isize)
	}
	if count != 301 || icount != 299 {
		t.Errorf("walk found %d items, %d indexed; want 301, 299", count, icount)
	}
}

// A Scan for the keys alone (LOST's, the biggest read of the demo) answers from the
// entries, and answers what projecting the items would; no Scan decodes an item to
// write its answer.
func TestKeyOnlyScanDecodesNoItem(t *testing.T) {
	srv := scaleServer(t, 2000)
	keys := `{"TableName":"t","ProjectionExpression":"requestId, #s, updatedAt","ExpressionAttributeNames":{"#s":"status"}}`
	all := `{"TableName":"t"}`
	got, err := srv.dispatch("Scan", []byte(keys))
	if err != nil {
		t.Fatal(err)
	}
	full, _ := srv.dispatch("Scan", []byte(all))
	var want []item
	for _, it := range answerItems(t, full) {
		want = append(want, project(it, []string{"requestId", "status", "updatedAt"}))
	}
	if g := answerItems(t, got); fmt.Sprint(g) != fmt.Sprint(want) || len(g) != 2000 {
		t.Fatalf("key-only Scan: %d items, differing from the projected items", len(g))
	}
	// No item is decoded for the answer, by this Scan or one projecting another attribute:
	// a Scan of ten times the items allocates hardly more (a decoded item is a map).
	small := scaleServer(t, 200)
	allocs := func(srv *dynamoServer, body string) float64 {
		return testing.AllocsPerRun(3, func() {
			if _, err := srv.dispatch("Scan", []byte(body)); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, body := range []string{keys, `{"TableName":"t","ProjectionExpression":"requestId, #z","ExpressionAttributeNames":{"#z":"size"}}`, all} {
		if a, b := allocs(small, body), allocs(srv, body); b > a+20 {
			t.Errorf("%s: %.0f allocations for 2,000 items, %.0f for 200", body, b, a)
		}
	}
}

// answerItems reads the Items of a Query or Scan answer.
func answerItems(t testing.TB, out any) []item {
	t.Helper()
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var a struct{ Items []item }
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return a.Items
}
