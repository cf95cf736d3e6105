package devstack

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/internal/testenv"
)

// The read paths of `stowage ls` (BatchGetItem of 100 keys, Query on the status index)
// and `stowage lost` (Scan by segments of the keys alone), through the whole handler:
// the request's parsing, the read, and the answer's encoding. Each reports the process's
// CPU per item returned (cpu-ns/item, from getrusage where there is one), which a loaded
// machine does not inflate the way it does wall time.

// benchItems is how many seeded-shape status items the benchmarks' table holds.
const benchItems = 100_000

var benchTables = map[int]*dynamoServer{}

// benchServer is a status table of n items shaped as the seed writes them: most
// PROCESSED with a small result map, one in six FAILED with an error.
func benchServer(b *testing.B, n int) *dynamoServer {
	if srv := benchTables[n]; srv != nil {
		return srv
	}
	srv := &dynamoServer{table: newStatusTable(tableSchema{Name: "t", KeyAttr: "requestId", IndexName: "i",
		IndexHash: "status", IndexSort: "updatedAt", Region: Region}, testNow),
		more: []*statusTable{newStatusTable(tableSchema{Name: "leases", KeyAttr: "requestId", Region: Region}, testNow)}} // as the demo's
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		key := benchKey(i)
		at := base.Add(time.Duration(i) * time.Second)
		o := outcome{state: StateProcessed, result: map[string]any{"sku": "SKU-" + strconv.Itoa(i), "lines": i % 17, "currency": "EUR"}}
		if i%6 == 0 {
			o = outcome{state: StateFailed, err: fmt.Sprintf("malformed XML at line %d, column 4: unexpected EOF", i%300), kind: "parse"}
		}
		it := deliveryItem(nil, false, objectEvent{Bucket: "stowage-demo-requests", Key: key, At: at.Add(-time.Second)}, at,
			[]byte(key[:16]), 1000+i%5000, "application/xml", o)
		srv.table.seedPut(key, prefix24(key), srv.table.seedEncode(it))
	}
	srv.table.seedDone()
	benchTables[n] = srv
	return srv
}

func benchKey(i int) string {
	return fmt.Sprintf("2026/03/01/%08x-4c1d-4e2a-9f3b-%012d.xml", i*2654435761%(1<<32), i)
}

// serveBench runs the requests in turn through ServeHTTP, b.N times in all, and reports
// the items answered and the CPU they cost.
func serveBench(b *testing.B, srv *dynamoServer, op string, bodies [][]byte, items func(body []byte) int) {
	b.Helper()
	per := make([]int, len(bodies))
	for i, body := range bodies { // warm, and count what each answers
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, dynamoRequest(op, body))
		if rec.Code != 200 {
			b.Fatalf("%s: %d %s", op, rec.Code, rec.Body.Bytes())
		}
		per[i] = items(rec.Body.Bytes())
	}
	runtime.GC() // the table's building is not the reads' garbage
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testenv.ProcessCPU()
	total := 0
	for i := range b.N {
		j := i % len(bodies)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, dynamoRequest(op, bodies[j]))
		total += per[j]
	}
	cpu := testenv.ProcessCPU() - cpu0
	b.StopTimer()
	if total > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/item")
		if cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(total), "cpu-ns/item")
		}
	}
}

func dynamoRequest(op string, body []byte) *http.Request {
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	r.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	return r
}

// countOf counts the items of an answer by their key attribute.
func countOf(body []byte) int { return bytes.Count(body, []byte(`"requestId":`)) }

func BenchmarkDynamoBatchGet100(b *testing.B) {
	srv := benchServer(b, benchItems)
	var bodies [][]byte
	for c := range 64 {
		var buf bytes.Buffer
		buf.WriteString(`{"RequestItems":{"t":{"Keys":[`)
		for k := range 100 {
			if k > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `{"requestId":{"S":%q}}`, benchKey((c*7919+k*104729)%benchItems))
		}
		buf.WriteString(`]}}}`)
		bodies = append(bodies, buf.Bytes())
	}
	serveBench(b, srv, "BatchGetItem", bodies, countOf)
}

func BenchmarkDynamoQueryStatus(b *testing.B) {
	srv := benchServer(b, benchItems)
	var bodies [][]byte
	for _, st := range []string{"FAILED", "PROCESSED"} {
		bodies = append(bodies, []byte(`{"TableName":"t","IndexName":"i","KeyConditionExpression":"#s = :s","ExpressionAttributeNames":{"#s":"status"},`+
			`"ExpressionAttributeValues":{":s":{"S":"`+st+`"}},"ScanIndexForward":false,"Limit":100}`))
	}
	serveBench(b, srv, "Query", bodies, countOf)
}

func BenchmarkDynamoScanKeys(b *testing.B) {
	srv := benchServer(b, benchItems)
	var bodies [][]byte
	for seg := range 16 {
		bodies = append(bodies, []byte(fmt.Sprintf(`{"TableName":"t","ProjectionExpression":"#k","ExpressionAttributeNames":{"#k":"requestId"},"Segment":%d,"TotalSegments":16}`, seg)))
	}
	serveBench(b, srv, "Scan", bodies, countOf)
}
