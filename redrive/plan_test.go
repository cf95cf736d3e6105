package redrive

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stowage-cli/stowage/awsclient"
	"github.com/stowage-cli/stowage/internal/inventory"
)

var planNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func planOpts(mode Mode) PlanOptions {
	return PlanOptions{Env: "staging", Mode: mode, Bucket: "b", GatewayURL: "https://gw.example/prod",
		Route: routeFor(mode), Rate: 10, Concurrency: 2, SuccessStates: []string{"PROCESSED"},
		LostAfter: 15 * time.Minute, Now: func() time.Time { return planNow }, RunID: "run-1"}
}

func TestPlanResolvesIDsStatusAndLostIntoOneManifest(t *testing.T) {
	store, status := newFakeStore(), newFakeStatus()
	add := func(id, state string, age time.Duration) {
		o := store.put(id, []byte("body of "+id), "application/xml")
		o.modified = planNow.Add(-age)
		if state != "" {
			status.set(id, state)
		}
	}
	add("a", "FAILED", time.Hour)
	add("b", "FAILED", time.Hour)
	add("c", "PROCESSED", time.Hour)
	add("lost-old", "", time.Hour)
	add("lost-young", "", time.Minute) // not lost yet: the processor may still come
	status.set("gone", "FAILED")       // a status item whose object is missing

	sel := Selection{IDs: []string{"c", "nope", "c"}, Status: "FAILED", Lost: true}
	m, err := Plan(context.Background(), PlanDeps{Source: inventory.Source{Objects: store, Statuses: status}}, sel, planOpts(ModeInplace))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range m.Items {
		got = append(got, it.RequestID+"="+it.Status)
	}
	want := "c=PROCESSED a=FAILED b=FAILED lost-old="
	if strings.Join(got, " ") != want {
		t.Errorf("items %v, want %s", got, want)
	}
	if strings.Join(m.Missing, ",") != "nope,gone" {
		t.Errorf("missing %v", m.Missing)
	}
	a := m.Items[1]
	if a.Key != "a" || a.ContentType != "application/xml" || a.ETag == "" || a.Size != int64(len("body of a")) {
		t.Errorf("item a %+v", a)
	}
	if m.Target.String() != "PUT https://gw.example/prod/product/{bucket}/{key}" {
		t.Errorf("target %s", m.Target)
	}

	s := m.Summary()
	if s.Count != 4 || s.AlreadyDone != 1 || s.TotalBytes != m.TotalBytes() || s.ETA != 400*time.Millisecond {
		t.Errorf("summary %+v", s)
	}
	if s.StatusCounts() != "(no status) 1, FAILED 2, PROCESSED 1" {
		t.Errorf("status counts %q", s.StatusCounts())
	}
	if len(s.Samples) != 4 || s.Hash != m.Hash() {
		t.Errorf("samples %d, hash %s", len(s.Samples), s.Hash)
	}
}

func TestPlanSinceLimitsStatusAndLostSelections(t *testing.T) {
	store, status := newFakeStore(), newFakeStatus()
	for id, age := range map[string]time.Duration{"new": 30 * time.Minute, "old": 3 * time.Hour} {
		store.put(id, []byte(id), "").modified = planNow.Add(-age)
	}
	sel := Selection{Lost: true, Since: planNow.Add(-time.Hour)}
	m, err := Plan(context.Background(), PlanDeps{Source: inventory.Source{Objects: store, Statuses: status}}, sel, planOpts(ModeS3Copy))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Items) != 1 || m.Items[0].RequestID != "new" {
		t.Errorf("items %+v", m.Items)
	}
	if sel.Describe() != "lost since 2024-06-01T11:00:00Z" {
		t.Errorf("describe %q", sel.Describe())
	}
}

func TestPlanRefusesBadOptions(t *testing.T) {
	store, status := newFakeStore(), newFakeStatus()
	deps := PlanDeps{Source: inventory.Source{Objects: store, Statuses: status}}
	cases := map[string]struct {
		sel  Selection
		edit func(*PlanOptions)
		want string
	}{
		"empty selection": {Selection{}, func(*PlanOptions) {}, "nothing selected"},
		"no gateway url":  {Selection{IDs: []string{"a"}}, func(o *PlanOptions) { o.GatewayURL = "" }, "gateway.url"},
		"bad mode":        {Selection{IDs: []string{"a"}}, func(o *PlanOptions) { o.Mode = "resend" }, "unknown mode"},
		"no bucket":       {Selection{IDs: []string{"a"}}, func(o *PlanOptions) { o.Bucket = "" }, "storage.bucket"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			o := planOpts(ModeReupload)
			c.edit(&o)
			_, err := Plan(context.Background(), deps, c.sel, o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// headFailer fails every HEAD with access denied.
type headFailer struct{ *fakeStore }

func (headFailer) Head(ctx context.Context, key string) (awsclient.Object, error) {
	return awsclient.Object{}, &awsclient.Error{Kind: awsclient.KindAccessDenied, Op: "head", Resource: "s3://b/" + key, Remedy: "grant s3:GetObject"}
}

func TestPlanStopsOnAccessDeniedNamingTheRequest(t *testing.T) {
	status := newFakeStatus()
	_, err := Plan(context.Background(), PlanDeps{Source: inventory.Source{Objects: headFailer{newFakeStore()}, Statuses: status}},
		Selection{IDs: []string{"x"}}, planOpts(ModeReupload))
	if err == nil || !strings.Contains(err.Error(), "describe request x") || awsclient.KindOf(err) != awsclient.KindAccessDenied {
		t.Errorf("err %v", err)
	}
}

func TestManifestHashSurvivesAJSONRoundTrip(t *testing.T) {
	f := newFixture(t, 3)
	m := f.plan(t, ModeReupload)
	b, _ := json.Marshal(m)
	var back Manifest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Hash() != m.Hash() {
		t.Errorf("hash changed after a round trip: %s vs %s", back.Hash(), m.Hash())
	}
	back.Items[0].ETag = "different"
	if back.Hash() == m.Hash() {
		t.Error("a changed manifest kept its hash")
	}
}

func TestConfirmationRules(t *testing.T) {
	cases := []struct {
		count      int
		production bool
		want       Confirmation
	}{
		{1, false, ConfirmYesNo},
		{1, true, ConfirmYesNo},
		{10, false, ConfirmYesNo},
		{2, true, ConfirmTypeEnv},
		{11, false, ConfirmTypeEnv},
	}
	for _, c := range cases {
		if got := ConfirmationFor(c.count, c.production); got != c.want {
			t.Errorf("ConfirmationFor(%d, production=%v) = %v, want %v", c.count, c.production, got, c.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"reupload", "INPLACE", "s3-copy"} {
		if _, err := ParseMode(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParseMode("copy"); err == nil {
		t.Error("ParseMode(copy) accepted")
	}
	if !ModeInplace.UsesGateway() || ModeS3Copy.UsesGateway() {
		t.Error("UsesGateway")
	}
}
