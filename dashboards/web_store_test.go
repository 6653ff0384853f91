package dashboards

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// storeNow is when the store fixtures end: their UI is asked at this
// moment.
var storeNow = time.Date(2026, 11, 23, 9, 20, 0, 0, time.UTC)

// storeRun says what a canary's run at minute i (0 is the oldest) of a
// region was; ok false is a timeout.
type storeRun func(region string, i int) (ok bool, d time.Duration)

// storeCanary is a canary of a store fixture: its regions, how many
// minutes of runs (one a minute, ending at storeNow) and what each was.
type storeCanary struct {
	name    string
	regions []string
	minutes int
	run     storeRun
}

// writeStore records the canaries' runs through the real Recorder into a
// real SQLite store.
func writeStore(t testing.TB, canaries []storeCanary) *metrics.Store {
	t.Helper()
	ctx := context.Background()
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: filepath.Join(t.TempDir(), "nines.db"), Clock: clock.NewFake(storeNow)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close(ctx) })
	for _, c := range canaries {
		for _, region := range c.regions {
			rec, _ := metrics.NewRecorder(metrics.RecorderConfig{Region: region, Period: time.Minute})
			var b metrics.Batch
			for i := 0; i < c.minutes; i++ {
				at := storeNow.Add(time.Duration(i-c.minutes) * time.Minute)
				ok, d := c.run(region, i)
				res := canary.Result{Canary: c.name, Scheduled: at, Start: at, OK: ok, Duration: d}
				if !ok {
					res.Failure = canary.FailTimeout
				}
				rec.Observe(res)
				if i%5000 == 4999 {
					b.Aggregates = append(b.Aggregates, rec.FlushAll()...)
				}
			}
			b.Aggregates = append(b.Aggregates, rec.FlushAll()...)
			if err := store.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	return store
}

// storeWeb serves the UI over a store with the SLOs and compositions
// given, as `nines run` wires it.
func storeWeb(t testing.TB, store *metrics.Store, slos []slo.SLO, comps []slo.Composition, canaries []string, artifactDir string, runs *RunLog) *httptest.Server {
	t.Helper()
	src, err := slo.NewLocalSource(store)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(storeNow)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	w, err := NewWeb(WebConfig{SLOs: slos, Compositions: comps, Canaries: canaries, Decisions: EvaluatorDecisions{Evaluator: ev, SLOs: slos},
		Source: src, Latency: StoreSources{Store: store}, Counts: StoreSources{Store: store}, Failures: StoreSources{Store: store},
		Runs: runs, ArtifactDir: artifactDir, Listen: srv.Listener.Addr().String(), Now: func() time.Time { return storeNow }})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = w
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

const month = 30 * 24 * 60

// monthFixture is 30 days of two canaries, one run a minute:
//
//   - checkout-api in eu-west-1 takes 10, 11, ..., 100 ms in turn and
//     every 100th run (minute 0, 100, ...) times out; in us-east-1 every
//     run takes 200 ms. Its SLO, 99% over 30 days, sees 432 bad runs of
//     86400: 0.5% bad, half the 1% budget, so 50% remains.
//   - ledger runs in eu-west-1 only, 20 ms, and times out every run of
//     the last two hours: 120 bad of 43200. Its SLO, 99.9% over 30 days,
//     has 43.2 bad runs of budget: 1 - 120/43.2 = -177.78% remains.
//
// checkout-journey composes the two in series: goal 0.99 x 0.999 =
// 98.901%.
func monthFixture(t testing.TB) (*metrics.Store, []slo.SLO, []slo.Composition, []string) {
	store := writeStore(t, []storeCanary{
		{name: "checkout-api", regions: []string{"eu-west-1", "us-east-1"}, minutes: month, run: func(region string, i int) (bool, time.Duration) {
			if region == "us-east-1" {
				return true, 200 * time.Millisecond
			}
			return i%100 != 0, time.Duration(10+i%91) * time.Millisecond
		}},
		{name: "ledger", regions: []string{"eu-west-1"}, minutes: month, run: func(_ string, i int) (bool, time.Duration) {
			return i < month-120, 20 * time.Millisecond
		}},
	})
	window := slo.RollingWindow(30 * 24 * time.Hour)
	slos := []slo.SLO{
		{Name: "checkout-availability", Objective: 0.99, Window: window, SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout-api"}},
		{Name: "ledger-availability", Objective: 0.999, Window: window, SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "ledger"}},
	}
	comps := []slo.Composition{{Name: "checkout-journey", Mode: slo.Serial, Parts: []string{"checkout-availability", "ledger-availability"}}}
	return store, slos, comps, []string{"checkout-api", "ledger"}
}
