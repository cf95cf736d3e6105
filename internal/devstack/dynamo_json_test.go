package devstack

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// oracleJSON is v in the shape encoding/json writes the JSON protocol's attribute values
// from: the oracle the hand-written answers are held to, byte for byte.
func oracleJSON(v attrValue) any {
	switch v.kind {
	case "B":
		return map[string]any{"B": []byte(v.str)}
	case "BOOL":
		return map[string]any{"BOOL": v.bool}
	case "NULL":
		return map[string]any{"NULL": true}
	case "SS", "NS":
		return map[string]any{v.kind: v.set}
	case "BS":
		bs := make([][]byte, len(v.set))
		for i, s := range v.set {
			bs[i] = []byte(s)
		}
		return map[string]any{"BS": bs}
	case "L":
		l := make([]any, len(v.list))
		for i, e := range v.list {
			l[i] = oracleJSON(e)
		}
		return map[string]any{"L": l}
	case "M":
		return map[string]any{"M": oracleItem(v.m)}
	}
	return map[string]any{v.kind: v.str} // S N
}

func oracleItem(it map[string]attrValue) map[string]any {
	m := make(map[string]any, len(it))
	for k, v := range it {
		m[k] = oracleJSON(v)
	}
	return m
}

func oracleItems(items []item) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = oracleItem(it)
	}
	return out
}

// awkwardServer is a status table whose items take every attribute type and the strings
// encoding/json escapes, some outside the index (no updatedAt, or no status).
func awkwardServer(t testing.TB) *dynamoServer {
	srv := scaleServer(t, 300)
	odd := []string{`<a href="x">&amp;</a>`, "line\nbreak\ttab\u2028sep\u2029", "\x01\x1f\x7f", "café 製品 \U0001F600", `back\slash "quoted"`}
	for i, s := range odd {
		body := fmt.Sprintf(`{"TableName":"t","Item":{"requestId":{"S":%s},"status":{"S":"FAILED"},"updatedAt":{"S":%s},"error":{"S":%s},`+
			`"n":{"N":"-1.50"},"b":{"B":"AAEC/w=="},"ok":{"BOOL":%v},"nil":{"NULL":true},"ss":{"SS":[%s,"x"]},"ns":{"NS":["1","2.5"]},"bs":{"BS":["AA==","/w=="]},`+
			`"l":{"L":[{"S":%s},{"M":{"k":{"N":"1"},"e":{"L":[]}}}]},"m":{"M":{"z":{"S":%s},"a":{"M":{}}}}}}`,
			quoteJS(fmt.Sprint("odd-", i, s)), quoteJS("2026-03-01T"+s), quoteJS(s), i%2 == 0, quoteJS(s), quoteJS(s), quoteJS(s))
		if _, err := srv.dispatch("PutItem", []byte(body)); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
	}
	for _, body := range []string{
		`{"TableName":"t","Item":{"requestId":{"S":"no-updatedAt"},"status":{"S":"FAILED"}}}`,
		`{"TableName":"t","Item":{"requestId":{"S":"no-status"},"updatedAt":{"S":"2026"}}}`,
	} {
		if _, err := srv.dispatch("PutItem", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

func quoteJS(s string) string { b, _ := json.Marshal(s); return string(b) }

// The answers of BatchGetItem, Query and Scan, written by hand from the stored items,
// are byte for byte what encoding/json writes for the same answer, and hold the items
// the table holds, projected.
func TestReadAnswersAreWhatJSONWrites(t *testing.T) {
	srv := awkwardServer(t)
	var keys []string
	for k := range srv.table.items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	batch := func(ids []string, proj string) string {
		var ks []string
		for _, id := range ids {
			ks = append(ks, `{"requestId":{"S":`+quoteJS(id)+`}}`)
		}
		p := ""
		if proj != "" {
			p = `,"ProjectionExpression":` + quoteJS(proj) + `,"ExpressionAttributeNames":{"#s":"status","#e":"error"}`
		}
		return `{"RequestItems":{"t":{"Keys":[` + strings.Join(ks, ",") + `]` + p + `}}}`
	}
	names := `"ExpressionAttributeNames":{"#s":"status"}`
	cases := []struct {
		op, body string
		proj     []string
	}{
		{"BatchGetItem", batch(append(keys[:50:50], "missing", "odd-0"+"x"), ""), nil},
		{"BatchGetItem", batch(keys[250:], "requestId, #s, #e, m"), []string{"requestId", "status", "error", "m"}},
		{"BatchGetItem", batch([]string{"missing"}, ""), nil},
		{"Query", `{"TableName":"t","IndexName":"i","KeyConditionExpression":"#s = :s",` + names + `,"ExpressionAttributeValues":{":s":{"S":"FAILED"}},"ScanIndexForward":false,"Limit":40}`, nil},
		{"Query", `{"TableName":"t","IndexName":"i","KeyConditionExpression":"#s = :s",` + names + `,"ExpressionAttributeValues":{":s":{"S":"FAILED"}},"ProjectionExpression":"requestId, updatedAt"}`, []string{"requestId", "updatedAt"}},
		{"Query", `{"TableName":"t","IndexName":"i","KeyConditionExpression":"#s = :s",` + names + `,"ExpressionAttributeValues":{":s":{"S":"NONE"}}}`, nil},
		{"Query", `{"TableName":"t","KeyConditionExpression":"requestId = :k","ExpressionAttributeValues":{":k":{"S":"odd-1line\nbreak\ttab\u2028sep\u2029"}}}`, nil},
		{"Scan", `{"TableName":"t"}`, nil},
		{"Scan", `{"TableName":"t","Limit":7,"Segment":2,"TotalSegments":5}`, nil},
		{"Scan", `{"TableName":"t","ProjectionExpression":"#k","ExpressionAttributeNames":{"#k":"requestId"},"Segment":1,"TotalSegments":3}`, []string{"requestId"}},
		{"Scan", `{"TableName":"t","ProjectionExpression":"updatedAt, #s, requestId",` + names + `}`, []string{"updatedAt", "status", "requestId"}},
		{"Scan", `{"TableName":"t","ProjectionExpression":"#s",` + names + `,"Limit":50}`, []string{"status"}},
		{"Scan", `{"TableName":"t","IndexName":"i","ProjectionExpression":"#s, requestId",` + names + `,"Limit":30}`, []string{"status", "requestId"}},
		{"Scan", `{"TableName":"t","FilterExpression":"attribute_exists(m) OR #s = :p","ProjectionExpression":"requestId, m, ok",` + names + `,"ExpressionAttributeValues":{":p":{"S":"PROCESSED"}},"Limit":80}`, []string{"requestId", "m", "ok"}},
		{"Scan", `{"TableName":"t","Select":"COUNT","FilterExpression":"attribute_exists(l)"}`, nil},
		{"Scan", `{"TableName":"t","Select":"COUNT"}`, nil},
	}
	for _, tc := range cases {
		out, err := srv.dispatch(tc.op, []byte(tc.body))
		if err != nil {
			t.Fatalf("%s %s: %v", tc.op, tc.body, err)
		}
		got, raw := out.(rawAnswer) // as ServeHTTP writes it (json.Marshal would escape it again)
		if !raw {
			t.Fatalf("%s answers %T, not the bytes it writes", tc.op, out)
		}
		var a struct {
			Count, ScannedCount *int
			Items               []item
			LastEvaluatedKey    item
			Responses           map[string][]item
			UnprocessedKeys     map[string]any
		}
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%s %s answers %s: %v", tc.op, tc.body, got, err)
		}
		oracle := map[string]any{}
		items := a.Items
		if tc.op == "BatchGetItem" {
			items = a.Responses["t"]
			oracle["Responses"] = map[string]any{"t": oracleItems(items)}
			oracle["UnprocessedKeys"] = map[string]any{}
		} else {
			oracle["Count"], oracle["ScannedCount"] = *a.Count, *a.ScannedCount
			if a.Items != nil {
				oracle["Items"] = oracleItems(a.Items)
			}
			if a.LastEvaluatedKey != nil {
				oracle["LastEvaluatedKey"] = oracleItem(a.LastEvaluatedKey)
			}
		}
		want, _ := json.Marshal(oracle)
		if string(got) != string(want) {
			t.Errorf("%s %s:\n got %s\nwant %s", tc.op, tc.body, got, want)
		}
		for _, it := range items {
			id := it["requestId"].str
			if stored, ok := srv.table.get(id); id != "" && (!ok || fmt.Sprint(project(stored, tc.proj)) != fmt.Sprint(it)) {
				t.Errorf("%s %s: item %q is %v, the table holds %v", tc.op, tc.body, id, it, project(stored, tc.proj))
			}
		}
	}
}

// An item from outside, stored and written back from its stored form, projected or not,
// is what encoding/json writes for it.
func FuzzEntryJSON(f *testing.F) {
	for _, s := range []string{
		`{"status":{"S":"FAILED"},"updatedAt":{"S":"2026"},"error":{"S":"<&>\u2028"}}`,
		`{"b":{"B":"AAE="},"ok":{"BOOL":false},"nil":{"NULL":true},"ss":{"SS":["a","b"]},"ns":{"NS":["1","01"]},"bs":{"BS":["AA=="]}}`,
		`{"l":{"L":[{"S":"x"},{"M":{"k":{"L":[]}}}]},"m":{"M":{"z":{"N":"1"},"a":{"S":"\u0000"}}},"status":{"S":"k"}}`,
		`{"status":{"S":"PENDING"},"processor":{"M":{"function":{"S":"product-ingest"}}}}`,
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(0xff))
		f.Add([]byte(s), uint8(0x0b))
	}
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		var it item
		if err := json.Unmarshal(data, &it); err != nil || it == nil {
			return
		}
		for _, a := range []string{"status", "updatedAt"} { // index keys must be S, as validateItem has them
			if v, ok := it[a]; ok && (v.kind != "S" || v.str == "") {
				delete(it, a)
			}
		}
		tb := newStatusTable(tableSchema{Name: "t", KeyAttr: "requestId", IndexName: "i", IndexHash: "status", IndexSort: "updatedAt", Region: Region}, testNow)
		for _, k := range []string{"k1", "k2"} { // the second shares the first's dictionary entries
			c := it.clone()
			c["requestId"] = stringValue(k)
			tb.put(k, tb.items[k], c)
		}
		names := sortedNames(it)
		var proj []string
		if sel != 0 {
			proj = []string{}
			for i, n := range append(names, "requestId", "status", "updatedAt", "absent") {
				if sel&(1<<(i%8)) != 0 {
					proj = append(proj, n)
				}
			}
		}
		srv := &dynamoServer{table: tb}
		for _, k := range []string{"k1", "k2"} {
			e := tb.items[k]
			stored := project(e.decode(tb.dict.strs), proj)
			want, _ := json.Marshal(oracleItem(stored))
			if got := newEntryJSON(tb.dict, proj).appendEntry(nil, e); string(got) != string(want) {
				t.Fatalf("%s (projection %q):\n got %s\nwant %s", k, proj, got, want)
			}
			if srv.keysOnly(proj) && e.idx {
				if got := newKeysJSON(tb.schema, proj).appendEntry(nil, e); string(got) != string(want) {
					t.Fatalf("%s keys only (projection %q):\n got %s\nwant %s", k, proj, got, want)
				}
			}
		}
	})
}

// What the fast reader of BatchGetItem requests reads is what the strict decoder reads.
func FuzzFastBatchGet(f *testing.F) {
	for _, s := range []string{
		`{"RequestItems":{"t":{"Keys":[{"requestId":{"S":"a"}},{"requestId":{"S":"b"}}]}}}`,
		`{"RequestItems":{"t":{"Keys":[{"requestId":{"S":"caf\u00e9"}}]}}}`,
		`{"RequestItems":{"t":{"Keys":[{"requestId":{"S":"a"}}],"ConsistentRead":true}}}`,
		`{"RequestItems":{"t":{"Keys":[]}}}`, `{"RequestItems":{"t":{"Keys":[{"requestId":{"S":"a"}}]}}} `,
		"{\"RequestItems\":{\"t\":{\"Keys\":[{\"requestId\":{\"S\":\"\xff\"}}]}}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, table, ok := fastBatchGet(body)
		if !ok {
			return
		}
		var strict batchGetInput
		if err := decodeRequest("BatchGetItem", body, &strict); err != nil {
			t.Fatalf("%q: the fast reader reads it, the strict decoder refuses it: %v", body, err)
		}
		if _, ok := strict.RequestItems[table]; !ok || len(strict.RequestItems) != 1 {
			t.Fatalf("%q: the fast reader reads table %q", body, table)
		}
		a, _ := json.Marshal(fast)
		b, _ := json.Marshal(&strict)
		if string(a) != string(b) {
			t.Fatalf("%q:\nfast   %s\nstrict %s", body, a, b)
		}
	})
}
