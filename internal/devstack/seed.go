package devstack

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// SeedRequest describes one seeded request, so tests and demos can find examples of each
// kind without guessing.
type SeedRequest struct {
	Key             string
	Route           string // "reupload" (PUT /product, key = UUID) or "inplace" (PUT /product/{bucket}/{key})
	Kind            string // one of the Kind* constants
	ContentType     string
	ContentEncoding string
	Size            int
	Created         time.Time
	// Redriven is set when the seed also redelivered the request (in place, as stowage's
	// CopyInPlace does) at that time.
	Redriven time.Time
	// Caller is the partner that sent the request: BurstCaller for the seeded burst of
	// malformed payloads, "" for the rest.
	Caller string
}

// Kinds of seeded payloads.
const (
	KindProductXML    = "product-xml"
	KindProfileJSON   = "profile-json"
	KindLargeXML      = "large-xml"
	KindLargeJSON     = "large-json"
	KindMalformedXML  = "malformed-xml"
	KindMalformedJSON = "malformed-json"
	KindInvalid       = "invalid" // well-formed but rejected by validation
	KindGzip          = "gzip"
	KindBinary        = "binary"
	KindEmpty         = "empty"
	KindEscapes       = "escapes" // terminal escape sequences and other hostile bytes
	// KindMisencodedXML is the seeded burst: one partner's feed sends Latin-1 bytes in a
	// document that declares UTF-8, so every one fails to parse with the same message but
	// for its line and column.
	KindMisencodedXML = "misencoded-xml"
)

// BurstCaller is the partner whose feed makes the seeded burst of malformed payloads
// (SeedRequest.Caller). Its keys are partners/BurstCaller/DATE/catalog-delta-N.xml, sent
// on the in-place route.
const BurstCaller = "northwind"

// seededList keeps what Seeded reports in about 40 bytes a request instead of a
// SeedRequest's 136: a million are kept for the stack's life.
type seededList struct {
	loc     *time.Location // of the seed's clock, which the times had
	strs    []string       // the few distinct route, kind and content strings
	recs    []seededRecord
	strsIDs map[string]uint8
	// rejected holds, by index in recs, the payload check's failure of the requests whose
	// bytes the processor rejects (a few in a hundred): with the seed it decides every
	// delivery again, for the log lines derived from the records (seeded_logs.go).
	rejected map[int32]checked
}

type seededRecord struct {
	key               string
	created, redriven int64 // UnixNano; redriven 0 for none
	size              int32
	route, kind       uint8 // into strs
	ctype, encoding   uint8
}

func (l *seededList) intern(s string) uint8 {
	if id, ok := l.strsIDs[s]; ok {
		return id
	}
	if l.strsIDs == nil {
		l.strsIDs = map[string]uint8{}
	}
	if len(l.strs) > 255 {
		panic("devstack: more than 256 distinct seed strings")
	}
	l.strs = append(l.strs, s)
	l.strsIDs[s] = uint8(len(l.strs) - 1)
	return uint8(len(l.strs) - 1)
}

func (l *seededList) add(r SeedRequest) {
	rec := seededRecord{key: r.Key, created: r.Created.UnixNano(), size: int32(r.Size),
		route: l.intern(r.Route), kind: l.intern(r.Kind), ctype: l.intern(r.ContentType), encoding: l.intern(r.ContentEncoding)}
	if !r.Redriven.IsZero() {
		rec.redriven = r.Redriven.UnixNano()
	}
	l.recs = append(l.recs, rec)
}

// failed records that the payload check of request i failed with c.
func (l *seededList) failed(i int, c checked) {
	if l.rejected == nil {
		l.rejected = map[int32]checked{}
	}
	l.rejected[int32(i)] = checked{kind: c.kind, err: c.err}
}

func (l *seededList) list() []SeedRequest {
	if len(l.recs) == 0 {
		return nil
	}
	out := make([]SeedRequest, len(l.recs))
	for i, r := range l.recs {
		out[i] = SeedRequest{Key: r.key, Route: l.strs[r.route], Kind: l.strs[r.kind], ContentType: l.strs[r.ctype],
			ContentEncoding: l.strs[r.encoding], Size: int(r.size), Created: time.Unix(0, r.created).In(l.loc)}
		if out[i].Kind == KindMisencodedXML {
			out[i].Caller = BurstCaller // only the burst has that kind: no byte per record for it
		}
		if r.redriven != 0 {
			out[i].Redriven = time.Unix(0, r.redriven).In(l.loc)
		}
	}
	return out
}

type seedRequest struct {
	SeedRequest
	body []byte
	meta map[string]string
	// known is what the processor extracts from body, when the generator knows it
	// (payloads.known); nil: parse it.
	known map[string]any
}

// rngReader feeds uuid.NewRandomFromReader from the seeded generator.
type rngReader struct{ r *rand.Rand }

func (g rngReader) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 8 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], g.r.Uint64())
		copy(p[i:], b[:])
	}
	return len(p), nil
}

// callerKeys are keys chosen by callers of PUT /product/{bucket}/{key}: they exercise
// escaping (spaces, +, %, #, ?, unicode, a / inside the key).
var callerKeys = []string{
	"partner uploads/acme corp/feed 17.json",
	"café/crème brûlée.xml",
	"製品/カタログ-42.xml",
	"orders/2025/ORD-000123.xml",
	"a+b=c.json",
	"100% cotton.xml",
	"hash#tag.json",
	"what?.xml",
	"emoji 📦 shipment.json",
	"trailing space .xml",
	"Ünïcödé/naïve-résumé.json",
	"very/deep/path/to/the/product.xml",
}

// generateSeed builds n requests spread over the week before now, deterministically
// for seed.
func generateSeed(seed int64, n int, now time.Time) []seedRequest {
	var out []seedRequest
	for g := newSeedGen(seed, n, now); ; {
		r, ok := g.next()
		if !ok {
			return out
		}
		out = append(out, r)
	}
}

// The seeded week has the time patterns of a real API, so that failure classes, their
// first and last seen and a histogram have something to show:
//
//   - arrivals follow the day: busy from 08:00 to 18:00 UTC, quiet at night, and about
//     half as busy on Saturday and Sunday (arrivalWeight);
//   - a burst: one partner (BurstCaller) sends a batch of misencoded XML within a quarter
//     of an hour, between 60 and 36 hours before now (seededBurst): permanent failures of
//     one class;
//   - an outage: a flash sale doubles the traffic for an hour in busy hours of the day
//     before, 34 to 10 hours before now (seededOutage, processor.go), and pricing-service
//     falls over: it answers 503 for that hour, so every delivery in it that parses fails,
//     a transient failure of one class (the peak is there even without transient
//     failures: it is traffic);
//   - a trickle: inventory-service timeouts and throttling on a share of first deliveries
//     all week (Options.TransientRatio), transient.
//
// They are drawn from the seed and now alone.

// burstSize is how many of n seeded requests are the partner's burst (none below 100).
func burstSize(n int) int {
	if n < 100 {
		return 0
	}
	return max(12, n/60)
}

// peakSize is how many of n seeded requests are the flash sale's extra traffic: about
// four times the rate of a busy hour.
func peakSize(n int) int {
	if n < 100 {
		return 0
	}
	return max(20, n/25)
}

// seededBurst is when the partner's burst starts and how long it lasts.
func seededBurst(seed int64, now time.Time) (time.Time, time.Duration) {
	from := now.Add(-60*time.Hour + time.Duration(chance(seed, "", "burst-at")*float64(24*time.Hour))).Truncate(time.Second)
	return from, 8*time.Minute + time.Duration(chance(seed, "", "burst-for")*float64(12*time.Minute)).Truncate(time.Second)
}

// hourWeight is the relative arrival rate per hour of the day (UTC).
var hourWeight = [24]float64{
	0.22, 0.18, 0.16, 0.16, 0.2, 0.3, 0.45, 0.7, 0.9, 1, 1, 0.95,
	0.85, 0.95, 1, 1, 0.95, 0.85, 0.7, 0.55, 0.45, 0.38, 0.3, 0.25,
}

// arrivalWeight is the chance in [0, 1] that a request arrives at t, relative to the
// busiest hour.
func arrivalWeight(t time.Time) float64 {
	t = t.UTC()
	w := hourWeight[t.Hour()]
	if d := t.Weekday(); d == time.Saturday || d == time.Sunday {
		w *= 0.5
	}
	return w
}

// arrival draws one arrival time in [start, start+span) with the shape of arrivalWeight.
func arrival(rng *rand.Rand, start time.Time, span int64) time.Time {
	for {
		t := start.Add(time.Duration(rng.Int64N(span)))
		if rng.Float64() < arrivalWeight(t) {
			return t.Truncate(time.Millisecond)
		}
	}
}

// seedGen makes the seeded requests one at a time, in creation order, so that seeding a
// million holds only the request in hand rather than every body at once. The sequence
// is the same for the same seed, n and now.
type seedGen struct {
	rng        *rand.Rand
	g          *payloads
	times      []time.Time
	kinds      []string
	i          int
	usedCaller int
	// burst holds the arrival times of the partner's burst, merged with times in order.
	burst     []time.Time
	bi        int
	burstBase int
	// seen holds the caller-chosen keys: a caller may reuse one, and the first wins so
	// that every request is one object. Generated UUIDs cannot collide with them.
	seen map[string]bool
}

func newSeedGen(seed int64, n int, now time.Time) *seedGen {
	if n <= 0 {
		return &seedGen{}
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed5eed))
	start := now.Add(-7 * 24 * time.Hour)
	span := int64(7*24*time.Hour - 2*time.Minute)
	nBurst, nPeak := burstSize(n), peakSize(n)
	regular := n - nBurst
	times := make([]time.Time, regular)
	for i := range regular - nPeak {
		times[i] = arrival(rng, start, span)
	}
	peak, _ := seededOutage(seed, now)
	for i := regular - nPeak; i < regular; i++ {
		times[i] = peak.Add(time.Duration(rng.Int64N(int64(time.Hour)))).Truncate(time.Millisecond)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	burst := make([]time.Time, nBurst)
	from, length := seededBurst(seed, now)
	for i := range burst {
		burst[i] = from.Add(time.Duration(rng.Int64N(int64(length)))).Truncate(time.Millisecond)
	}
	sort.Slice(burst, func(i, j int) bool { return burst[i].Before(burst[j]) })

	var kinds []string
	if n >= 8 {
		kinds = append(kinds, KindGzip, KindBinary, KindEmpty, KindEscapes)
	}
	switch large := min(3, n/150); {
	case large >= 3:
		kinds = append(kinds, KindLargeXML, KindLargeJSON, KindLargeJSON)
	case large == 2:
		kinds = append(kinds, KindLargeXML, KindLargeJSON)
	case large == 1:
		kinds = append(kinds, KindLargeJSON)
	}
	if n >= 20 {
		bad := max(1, n*4/100)
		for range bad {
			kinds = append(kinds, KindMalformedXML, KindMalformedJSON)
		}
		kinds = append(kinds, KindInvalid, KindInvalid)
	}
	for len(kinds) < regular {
		if rng.IntN(100) < 55 {
			kinds = append(kinds, KindProductXML)
		} else {
			kinds = append(kinds, KindProfileJSON)
		}
	}
	kinds = kinds[:regular]
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	return &seedGen{rng: rng, g: &payloads{rng: rng}, times: times, kinds: kinds, seen: map[string]bool{},
		burst: burst, burstBase: 100 + rng.IntN(800)*10}
}

// next returns the next request, or false after the last.
func (sg *seedGen) next() (seedRequest, bool) {
	for sg.i < len(sg.kinds) || sg.bi < len(sg.burst) {
		if sg.bi < len(sg.burst) && (sg.i >= len(sg.kinds) || sg.burst[sg.bi].Before(sg.times[sg.i])) {
			sg.bi++
			return sg.burstRequest(sg.burst[sg.bi-1], sg.burstBase+sg.bi), true
		}
		i, kind, rng := sg.i, sg.kinds[sg.i], sg.rng
		sg.i++
		r := seedRequest{SeedRequest: SeedRequest{Kind: kind, Route: "reupload", Created: sg.times[i]}}
		id, _ := uuid.NewRandomFromReader(rngReader{rng})
		r.Key = id.String()
		r.body, r.ContentType, r.ContentEncoding = sg.g.make(kind)
		r.known = sg.g.known(kind)
		small := kind == KindProductXML || kind == KindProfileJSON || kind == KindMalformedJSON || kind == KindMalformedXML
		if small && rng.IntN(100) < 12 {
			r.Route = "inplace"
			if sg.usedCaller < len(callerKeys) {
				r.Key = callerKeys[sg.usedCaller]
			} else {
				ext := ".xml"
				if strings.Contains(r.ContentType, "json") {
					ext = ".json"
				}
				r.Key = fmt.Sprintf("orders/%d/ORD-%06d%s", sg.times[i].Year(), rng.IntN(1000000), ext)
			}
			sg.usedCaller++
			if sg.seen[r.Key] {
				continue
			}
			sg.seen[r.Key] = true
		}
		return sg.finish(r), true
	}
	sg.times, sg.kinds, sg.seen, sg.burst = nil, nil, nil, nil
	return seedRequest{}, false
}

// burstRequest is request seq of the partner's batch, sent in place under the partner's
// own key.
func (sg *seedGen) burstRequest(at time.Time, seq int) seedRequest {
	r := seedRequest{SeedRequest: SeedRequest{Kind: KindMisencodedXML, Route: "inplace", Created: at, Caller: BurstCaller}}
	r.Key = fmt.Sprintf("partners/%s/%s/catalog-delta-%05d.xml", BurstCaller, at.UTC().Format("2006-01-02"), seq)
	r.body, r.ContentType, r.ContentEncoding = sg.g.make(KindMisencodedXML)
	return sg.finish(r)
}

func (sg *seedGen) finish(r seedRequest) seedRequest {
	r.Size = len(r.body)
	r.meta = map[string]string{"Content-Type": r.ContentType}
	if r.ContentEncoding != "" {
		r.meta["Content-Encoding"] = r.ContentEncoding
	}
	return r
}

// payloads makes seeded request bodies.
type payloads struct {
	rng *rand.Rand
	// What the last product and profile documents hold that the processor extracts.
	sku, clientID, documentID string
	assets, holdings          int
}

// known is what checkPayload finds in the document make just made of kind, when the
// generator knows it without parsing (the valid products and profiles, nine in ten
// requests): seeding a million no longer parses them. nil for every other kind.
// TestKnownResultsAreTheParsersOwn holds it to checkPayload's answer.
func (g *payloads) known(kind string) map[string]any {
	switch kind {
	case KindProductXML:
		return map[string]any{"format": "xml", "kind": "product", "sku": g.sku, "assets": g.assets}
	case KindProfileJSON:
		return map[string]any{"format": "json", "kind": "investment-profile", "clientId": g.clientID,
			"holdings": g.holdings, "documentId": g.documentID}
	}
	return nil
}

func (g *payloads) pick(xs ...string) string { return xs[g.rng.IntN(len(xs))] }

func (g *payloads) make(kind string) (body []byte, contentType, encoding string) {
	switch kind {
	case KindProductXML:
		return g.productXML(), g.pick("application/xml", "application/xml; charset=utf-8", "text/xml"), ""
	case KindProfileJSON:
		return g.profileJSON(), g.pick("application/json", "application/json; charset=utf-8"), ""
	case KindLargeXML:
		return g.catalogXML(2<<20 + g.rng.IntN(512<<10)), "application/xml", ""
	case KindLargeJSON:
		return g.portfolioJSON(3<<20 + g.rng.IntN(5<<20)), "application/json", ""
	case KindMalformedXML:
		return g.malformedXML(), "application/xml", ""
	case KindMalformedJSON:
		return g.malformedJSON(), "application/json", ""
	case KindInvalid:
		if g.rng.IntN(2) == 0 {
			b := g.profileJSON()
			return bytes.Replace(b, []byte(`"score": `), []byte(`"score": 1`), 1), "application/json", ""
		}
		b := bytes.Replace(g.productXML(), []byte("<SKU>"), []byte("<ManufacturerSKU>"), 1)
		return bytes.Replace(b, []byte("</SKU>"), []byte("</ManufacturerSKU>"), 1), "application/xml", ""
	case KindGzip:
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write(g.profileJSON())
		zw.Close()
		return buf.Bytes(), "application/json", "gzip"
	case KindBinary:
		b := make([]byte, 2048+g.rng.IntN(6144))
		for i := range b {
			b[i] = byte(g.rng.Uint32())
		}
		copy(b, "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
		return b, "application/octet-stream", ""
	case KindEmpty:
		return []byte{}, "application/json", ""
	case KindEscapes:
		return g.escapesXML(), "application/xml", ""
	case KindMisencodedXML:
		return g.misencodedXML(), "application/xml; charset=utf-8", ""
	}
	panic("devstack: unknown seed kind " + kind)
}

var (
	brands    = []string{"Acme Outdoor", "Nordwand", "Bluefin Labs", "Kestrel & Co", "Ørsted Living", "Maison Lumière"}
	nouns     = []string{"Trail Runner", "Down Jacket", "Espresso Grinder", "Desk Lamp", "Rain Shell", "Carbon Pole", "Wool Beanie"}
	colors    = []string{"Black", "Glacier Blue", "Moss", "Rust", "Sand", "Graphite"}
	assetType = []string{"Primary Image", "Alternate Image", "Swatch", "Lifestyle Image", "Spec Sheet"}
	givenName = []string{"Amélie", "Jonas", "Priya", "Mateo", "Sakura", "Oluwaseun", "Zoë", "Lars"}
	family    = []string{"Lefèvre", "Schmidt", "Raman", "García", "Tanaka", "Adeyemi", "Nyström", "O'Brien"}
	funds     = []string{"IE00B4L5Y983", "LU0274208692", "IE00BK5BQT80", "DE0005933931", "US0378331005", "FR0000120271"}
	risks     = []string{"conservative", "balanced", "growth", "aggressive"}
)

func (g *payloads) productXML() []byte {
	id := 10000 + g.rng.IntN(90000)
	var b bytes.Buffer
	b.Grow(1024) // most are 600 to 900 bytes: one allocation rather than a doubling series
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Product id=\"P-%d\" xmlns=\"urn:acme:product:v3\">\n", id)
	g.sku = "ACME-" + strconv.Itoa(id) + "-" + strings.ToUpper(g.pick(colors...)[:3])
	fmt.Fprintf(&b, "  <SKU>%s</SKU>\n", g.sku)
	fmt.Fprintf(&b, "  <Name>%s %d — %s</Name>\n", g.pick(nouns...), 1+g.rng.IntN(5), g.pick(colors...))
	fmt.Fprintf(&b, "  <Brand>%s</Brand>\n", xmlEscape(g.pick(brands...)))
	fmt.Fprintf(&b, "  <Price currency=\"%s\">%d.%02d</Price>\n", g.pick("EUR", "USD", "GBP"), 5+g.rng.IntN(900), g.rng.IntN(100))
	b.WriteString("  <Attributes>\n")
	for range 1 + g.rng.IntN(4) {
		fmt.Fprintf(&b, "    <Attribute name=\"%s\">%d</Attribute>\n", g.pick("size", "weight_g", "width_mm", "batch"), g.rng.IntN(5000))
	}
	b.WriteString("  </Attributes>\n")
	fmt.Fprintf(&b, "  <AssetCrossReference Type=\"Primary Image\" AssetID=\"A-%d-0\"/>\n", id)
	more := g.rng.IntN(4)
	g.assets = 1 + more
	for i := range more {
		fmt.Fprintf(&b, "  <AssetCrossReference Type=\"%s\" AssetID=\"A-%d-%d\"/>\n", g.pick(assetType[1:]...), id, i+1)
	}
	fmt.Fprintf(&b, "  <ClassificationReference ClassificationID=\"%s\"/>\n", g.pick("footwear/running", "apparel/outerwear", "home/kitchen", "home/lighting"))
	b.WriteString("</Product>\n")
	return b.Bytes()
}

// xmlEscaper is built once: building it per call was an eighth of seeding's garbage.
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }

func (g *payloads) profileJSON() []byte {
	var b bytes.Buffer
	b.Grow(1024)
	day := func() string {
		return time.Date(2020+g.rng.IntN(5), time.Month(1+g.rng.IntN(12)), 1+g.rng.IntN(28), g.rng.IntN(24), g.rng.IntN(60), 0, 0, time.UTC).Format(time.RFC3339)
	}
	g.documentID, g.clientID = fmt.Sprintf("DOC-%08d", g.rng.IntN(100000000)), fmt.Sprintf("C-%07d", g.rng.IntN(10000000))
	fmt.Fprintf(&b, "{\n  \"documentId\": \"%s\",\n  \"clientId\": \"%s\",\n  \"profileVersion\": %d,\n",
		g.documentID, g.clientID, 1+g.rng.IntN(9))
	fmt.Fprintf(&b, "  \"name\": {\"given\": %q, \"family\": %q},\n", g.pick(givenName...), g.pick(family...))
	fmt.Fprintf(&b, "  \"riskProfile\": {\n    \"score\": %d,\n    \"category\": %q,\n    \"assessedAt\": %q\n  },\n",
		1+g.rng.IntN(10), g.pick(risks...), day())
	b.WriteString("  \"holdings\": [")
	g.holdings = 1 + g.rng.IntN(5)
	for i := range g.holdings {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n    {\"isin\": %q, \"quantity\": %d, \"currency\": %q, \"costBasis\": %d.%02d}",
			g.pick(funds...), 1+g.rng.IntN(2000), g.pick("EUR", "USD", "CHF"), g.rng.IntN(100000), g.rng.IntN(100))
	}
	b.WriteString("\n  ],\n")
	fmt.Fprintf(&b, "  \"metadata\": {\n    \"source\": %q,\n    \"advisorId\": \"ADV-%04d\",\n    \"tags\": [%q, %q],\n",
		g.pick("advisor-portal", "mobile-app", "batch-import"), g.rng.IntN(10000), g.pick("kyc-refresh", "onboarding", "annual-review"), g.pick("eu", "ch", "uk"))
	fmt.Fprintf(&b, "    \"consent\": {\"marketing\": %t, \"dataSharing\": %t},\n", g.rng.IntN(2) == 0, g.rng.IntN(2) == 0)
	fmt.Fprintf(&b, "    \"audit\": {\"createdBy\": \"svc-onboarding\", \"createdAt\": %q, \"revision\": %d}\n  }\n}\n", day(), 1+g.rng.IntN(20))
	return b.Bytes()
}

func (g *payloads) catalogXML(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 1024)
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Catalog xmlns=\"urn:acme:product:v3\" generated=\"full-export\">\n")
	for i := 0; b.Len() < size; i++ {
		id := 100000 + i
		b.WriteString("  <Product id=\"P-")
		b.WriteString(strconv.Itoa(id))
		b.WriteString("\"><SKU>ACME-")
		b.WriteString(strconv.Itoa(id))
		b.WriteString("</SKU><Name>")
		b.WriteString(nouns[i%len(nouns)])
		b.WriteString("</Name><Stock warehouse=\"W")
		b.WriteString(strconv.Itoa(i % 7))
		b.WriteString("\">")
		b.WriteString(strconv.Itoa(int(g.rng.Uint32() % 10000)))
		b.WriteString("</Stock><AssetCrossReference Type=\"Primary Image\" AssetID=\"A-")
		b.WriteString(strconv.Itoa(id))
		b.WriteString("\"/></Product>\n")
	}
	b.WriteString("</Catalog>\n")
	return b.Bytes()
}

func (g *payloads) portfolioJSON(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 1024)
	fmt.Fprintf(&b, "{\n  \"documentId\": \"DOC-%08d\",\n  \"clientId\": \"C-%07d\",\n  \"kind\": \"portfolio-history\",\n  \"transactions\": [\n",
		g.rng.IntN(100000000), g.rng.IntN(10000000))
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(`    {"seq": `)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`, "isin": "`)
		b.WriteString(funds[i%len(funds)])
		b.WriteString(`", "side": "`)
		if g.rng.Uint32()&1 == 0 {
			b.WriteString("BUY")
		} else {
			b.WriteString("SELL")
		}
		b.WriteString(`", "quantity": `)
		b.WriteString(strconv.Itoa(int(g.rng.Uint32() % 5000)))
		b.WriteString(`, "price": `)
		b.WriteString(strconv.Itoa(int(g.rng.Uint32() % 100000)))
		b.WriteString(`.25, "metadata": {"venue": "XETR", "settled": true}}`)
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}

func (g *payloads) malformedXML() []byte {
	b := g.productXML()
	switch g.rng.IntN(4) {
	case 0: // a close tag that does not match
		return bytes.Replace(b, []byte("</Brand>"), []byte("</Brnad>"), 1)
	case 1: // truncated upload
		return b[:len(b)*2/3]
	case 2: // an unescaped ampersand
		return bytes.Replace(b, []byte("<Brand>"), []byte("<Brand>Salt & Pepper "), 1)
	default: // an attribute without quotes
		return bytes.Replace(b, []byte(`currency="`), []byte(`currency=`), 1)
	}
}

func (g *payloads) malformedJSON() []byte {
	b := g.profileJSON()
	switch g.rng.IntN(4) {
	case 0: // trailing comma
		return bytes.Replace(b, []byte("\n  ],"), []byte(",\n  ],"), 1)
	case 1: // truncated upload
		return b[:len(b)*3/5]
	case 2: // single quotes
		return bytes.Replace(b, []byte(`"profileVersion"`), []byte(`'profileVersion'`), 1)
	default: // a missing comma
		return bytes.Replace(b, []byte("},\n  \"riskProfile\""), []byte("}\n  \"riskProfile\""), 1)
	}
}

// frenchCopy is the partner's product copy: its accents are where its Latin-1 export
// breaks the UTF-8 the document declares.
var frenchCopy = []string{
	"qualité supérieure", "façon cuir", "fabriqué à Lyon", "très léger", "crème", "coloris écru",
	"idéal pour la randonnée", "garantie 2 ans, pièces et main-d'œuvre",
}

// misencodedXML is a product document whose description is Latin-1 although the
// declaration says UTF-8: the parser stops at the first accented byte, whose line and
// column vary with the document.
func (g *payloads) misencodedXML() []byte {
	b := g.productXML()
	desc := fmt.Sprintf("  <Description>%s %d, %s: %s</Description>\n", g.pick(nouns...), 1+g.rng.IntN(5), g.pick(colors...), g.pick(frenchCopy...))
	end := bytes.LastIndex(b, []byte("</Product>"))
	out := make([]byte, 0, len(b)+len(desc))
	out = append(out, b[:end]...)
	for _, r := range desc {
		if r < 0x100 {
			out = append(out, byte(r))
		} else {
			out = append(out, '?')
		}
	}
	return append(out, b[end:]...)
}

// escapesXML carries bytes that would drive a terminal if printed raw: clear screen,
// cursor moves, OSC 52 (write the clipboard), OSC 0 (window title), colours, a C1 CSI,
// carriage returns, backspaces and a right-to-left override.
func (g *payloads) escapesXML() []byte {
	hostile := "\x1b[2J\x1b[H\x1b]52;c;cm0gLXJmIH4vKgo=\x07\x1b]0;you have been pwned\x07" +
		"\x1b[31;1mRED ALERT\x1b[0m\r\x08\x08\x9b6n\u202etxt.exe\x1b[?1049h\x1b[10A"
	return []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Product id=\"P-66666\">\n  <SKU>ACME-66666-ESC</SKU>\n  <Name>" +
		hostile + "</Name>\n  <AssetCrossReference Type=\"Primary Image\"/>\n</Product>\n")
}
