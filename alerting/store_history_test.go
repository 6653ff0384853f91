package alerting

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/nines-dev/nines/internal/awsfake"
)

// incidentStore is a Store that keeps the incident history.
type incidentStore interface {
	Store
	Incidents(ctx context.Context, from, to time.Time) ([]Incident, error)
}

// historyStores are the stores that keep incident history. Each sets up
// an empty store for one test and returns how to open it, again and again
// as the review would: the SQLite file, and a DynamoDB table through the
// real SDK on the fake and on dynalite.
func historyStores() map[string]func(t *testing.T) func() incidentStore {
	stores := map[string]func(t *testing.T) func() incidentStore{
		"sqlite": func(t *testing.T) func() incidentStore {
			path := filepath.Join(t.TempDir(), "nines.db")
			return func() incidentStore {
				st, err := OpenSQLite(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
		},
	}
	for _, b := range dynamoDBBackends {
		stores[b.name] = func(t *testing.T) func() incidentStore {
			open := openDynamoDBStore(t, b.start(t))
			return func() incidentStore { return open() }
		}
	}
	return stores
}

// Both stores keep every incident, not only the current one, so the
// weekly review can list a week's alerts; the tier an incident fired with
// survives its resolve, and the alert itself loads as before.
func TestStoresKeepEveryIncident(t *testing.T) {
	ctx := context.Background()
	for name, setup := range historyStores() {
		t.Run(name, func(t *testing.T) {
			open := setup(t)
			st := open()
			t0 := time.Date(2026, 11, 18, 14, 2, 0, 0, time.UTC)
			a := &Alert{Key: Key{Subject: "checkout", Severity: Page}, Status: Firing, FiredAt: t0, Last: Details{Tier: "page_fast"}}
			steps := []func(){
				func() {},
				func() { a.LastSent = t0.Add(time.Hour) }, // a reminder: same incident
				func() { a.Status, a.ResolvedAt, a.Last.Tier = Resolved, t0.Add(32*time.Minute), "" },
				func() { // a second incident the next day
					a.Status, a.FiredAt, a.ResolvedAt, a.Last.Tier = Firing, t0.Add(24*time.Hour), time.Time{}, "page_slow"
				},
			}
			for i, step := range steps {
				step()
				if err := st.Save(ctx, a); err != nil {
					t.Fatalf("save %d: %v", i, err)
				}
			}

			st = open()
			got, err := st.Incidents(ctx, t0.Add(-24*time.Hour), t0.Add(7*24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("got %d incidents, want 2: %+v", len(got), got)
			}
			if !got[0].FiredAt.Equal(t0) || !got[0].ResolvedAt.Equal(t0.Add(32*time.Minute)) || got[0].Tier != "page_fast" {
				t.Errorf("first incident %+v", got[0])
			}
			if !got[1].FiredAt.Equal(t0.Add(24*time.Hour)) || !got[1].ResolvedAt.IsZero() || got[1].Tier != "page_slow" {
				t.Errorf("second incident %+v, want still firing", got[1])
			}
			// A range after the first resolved holds only the second.
			later, err := st.Incidents(ctx, t0.Add(time.Hour), t0.Add(48*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(later) != 1 || !later[0].FiredAt.Equal(t0.Add(24*time.Hour)) {
				t.Errorf("incidents after the first resolved: %+v", later)
			}
			// The history does not show up as alerts.
			alerts, err := st.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(alerts) != 1 || alerts[0].Key != a.Key || !alerts[0].FiredAt.Equal(a.FiredAt) {
				t.Errorf("loaded alerts %+v, want the one alert in its second incident", alerts)
			}
		})
	}
}

// A history write that fails leaves the alert saved, and says so with
// ErrIncidentNotRecorded, so the service pages anyway.
func TestAFailedHistoryWriteKeepsTheAlert(t *testing.T) {
	ctx := context.Background()
	ddb := awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})
	st, err := NewDynamoDBStore(ddb.Client(func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }), "nines-alerts")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTable(ctx, awsfake.ShortTableWait); err != nil {
		t.Fatal(err)
	}
	ddb.FailStatus("UpdateItem", 1, 500)
	a := &Alert{Key: Key{Subject: "checkout", Severity: Page}, Status: Firing, FiredAt: time.Date(2026, 11, 18, 14, 2, 0, 0, time.UTC)}
	err = st.Save(ctx, a)
	if !errors.Is(err, ErrIncidentNotRecorded) {
		t.Fatalf("save = %v, want ErrIncidentNotRecorded", err)
	}
	if alerts, lerr := st.Load(ctx); lerr != nil || len(alerts) != 1 || alerts[0].Version != a.Version {
		t.Errorf("after a failed history write: alerts %+v (%v), want the alert at version %d", alerts, lerr, a.Version)
	}
}

// Agents in two regions record a canary's failures in the state table in
// any order; the table keeps the latest, the evaluator reads it back, and
// the alerts loaded from the same table are not disturbed.
func TestDynamoDBStoreKeepsEachCanarysLastFailure(t *testing.T) {
	for _, b := range dynamoDBBackends {
		t.Run(b.name, func(t *testing.T) { testLastFailures(t, openDynamoDBStore(t, b.start(t))()) })
	}
}

func testLastFailures(t *testing.T, st *DynamoDBStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 18, 14, 2, 0, 0, time.UTC)
	a := &Alert{Key: Key{Subject: "checkout", Severity: Page}, Status: Firing, FiredAt: t0}
	if err := st.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	for _, f := range []Failure{
		{Canary: "checkout", Region: "eu-west-1", At: t0.Add(time.Minute), Class: "http_status", Error: `step "login": status 503`},
		{Canary: "checkout", Region: "ap-southeast-2", At: t0, Class: "timeout", Error: "an older run, recorded late"},
		{Canary: "search", Region: "ap-southeast-2", At: t0, Class: "dns", Error: "no such host", Artifacts: []string{"s3://b/k.png"}},
	} {
		if err := st.RecordFailure(ctx, f); err != nil {
			t.Fatalf("recording %s in %s: %v", f.Canary, f.Region, err)
		}
	}
	got, err := st.RecentFailures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["checkout"].Region != "eu-west-1" || got["checkout"].Class != "http_status" || !got["checkout"].At.Equal(t0.Add(time.Minute)) {
		t.Errorf("failures %+v, want checkout's from eu-west-1 at %s (the later one)", got, t0.Add(time.Minute))
	}
	if s := got["search"]; s.Class != "dns" || len(s.Artifacts) != 1 || s.Artifacts[0] != "s3://b/k.png" {
		t.Errorf("search's failure %+v", s)
	}
	alerts, err := st.Load(ctx)
	if err != nil || len(alerts) != 1 {
		t.Errorf("alerts %+v (%v), want the one alert", alerts, err)
	}
}

// An incident a silence held back keeps the silence's ID in the history
// after it resolves (when the alert's Silenced is cleared); one no silence
// touched has none.
func TestStoresRecordTheSilenceThatHeldAnIncident(t *testing.T) {
	ctx := context.Background()
	for name, setup := range historyStores() {
		t.Run(name, func(t *testing.T) {
			open := setup(t)
			st := open()
			t0 := time.Date(2026, 11, 18, 14, 2, 0, 0, time.UTC)
			a := &Alert{Key: Key{Subject: "checkout", Severity: Page}, Status: Firing, FiredAt: t0, Last: Details{Tier: "page_fast"}}
			steps := []func(){
				func() {}, // fired, sent
				func() { a.Silenced, a.SilencedBy = KindRemind, "s-deploy" }, // a reminder held back
				func() { a.Status, a.ResolvedAt, a.Silenced = Resolved, t0.Add(32*time.Minute), "" },
				func() { // the next incident: a new alert, no silence
					*a = Alert{Key: a.Key, Status: Firing, FiredAt: t0.Add(24 * time.Hour), Version: a.Version}
				},
			}
			for i, step := range steps {
				step()
				if err := st.Save(ctx, a); err != nil {
					t.Fatalf("save %d: %v", i, err)
				}
			}
			got, err := open().Incidents(ctx, t0.Add(-time.Hour), t0.Add(48*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].Silence != "s-deploy" || got[1].Silence != "" {
				t.Errorf("incidents %+v, want the first held by s-deploy and the second by none", got)
			}
		})
	}
}

// A SQLite file written before the history kept silences opens, reads its
// old incidents as held by none, and records new ones with their silence.
func TestAnOldSQLiteHistoryStaysReadable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nines.db")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE nines_incidents (subject TEXT NOT NULL, severity TEXT NOT NULL, fired_at INTEGER NOT NULL,
			resolved_at INTEGER, tier TEXT NOT NULL DEFAULT '', PRIMARY KEY (subject, severity, fired_at))`,
		// 2026-11-18 14:02 UTC to 14:34 UTC, in Unix milliseconds.
		`INSERT INTO nines_incidents VALUES ('checkout', 'page', 1795010520000, 1795012440000, 'page_fast')`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	st, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("opening a file with the old incident table: %v", err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 18, 14, 2, 0, 0, time.UTC)
	a := &Alert{Key: Key{Subject: "search", Severity: Ticket}, Status: Firing, FiredAt: t0.Add(time.Hour), SilencedBy: "s1"}
	if err := st.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := st.Incidents(ctx, t0.Add(-time.Hour), t0.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].FiredAt.Equal(t0) || !got[0].ResolvedAt.Equal(t0.Add(32*time.Minute)) || got[0].Silence != "" ||
		got[1].Key.Subject != "search" || got[1].Silence != "s1" {
		t.Errorf("incidents %+v, want the old checkout one held by none and the new search one by s1", got)
	}
	// Opening it again (the column now there) changes nothing.
	st2, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	st2.Close()
}
