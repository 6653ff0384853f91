package dashboards

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// oneByOne reads the store as the UI did before it read many canaries at
// once: it lists the series for every canary, then asks Counts and Latency
// once per region. It is the reference the batched pages must match.
type oneByOne struct{ store *metrics.Store }

func (o oneByOne) RunCounts(ctx context.Context, name string, from, to time.Time, every time.Duration) (map[string][]RunCount, error) {
	series, err := o.store.Series(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]RunCount{}
	for _, se := range series {
		if se.Canary != name || se.Step != "" {
			continue
		}
		bs, err := o.store.Counts(ctx, metrics.StoreQuery{Canary: name, Regions: []string{se.Region}, From: from, To: to, Every: every})
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			out[se.Region] = append(out[se.Region], RunCount{Start: b.Start, Attempts: b.Attempts, Successes: b.Successes})
		}
	}
	return out, nil
}

func (o oneByOne) Percentiles(ctx context.Context, name string, from, to time.Time, percents []float64) (map[string][]float64, error) {
	series, err := o.store.Series(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]float64{}
	for _, se := range series {
		if se.Canary != name || se.Step != "" {
			continue
		}
		d, err := o.store.Latency(ctx, metrics.StoreQuery{Canary: name, Regions: []string{se.Region}, From: from, To: to})
		if err != nil {
			return nil, err
		}
		if d.Total() == 0 {
			continue
		}
		for _, p := range percents {
			out[se.Region] = append(out[se.Region], float64(d.ValueAtPercentile(p))/1000)
		}
	}
	return out, nil
}

// countsOnly hides the store's batch read, so the SLO source asks it once
// per query.
type countsOnly struct{ store *metrics.Store }

func (c countsOnly) Counts(ctx context.Context, q metrics.StoreQuery) ([]metrics.CountBucket, error) {
	return c.store.Counts(ctx, q)
}

// TestBatchedPagesMatchTheOneByOneReads serves the same store twice, once
// through the batch reads and once through one read per canary, region and
// SLO, and wants the same bytes on every page. The store: three canaries
// over 26 hours in three regions (a failure every 7th minute in one, slow
// runs every 11th in another), one that ran for the last 30 minutes in one
// region, and one that never ran.
func TestBatchedPagesMatchTheOneByOneReads(t *testing.T) {
	regions := []string{"eu-west-1", "us-east-1", "ap-southeast-2"}
	var fixtures []storeCanary
	for _, name := range []string{"api", "checkout", "search"} {
		fixtures = append(fixtures, storeCanary{name: name, regions: regions, minutes: 26 * 60, run: func(region string, i int) (bool, time.Duration) {
			d := time.Duration(20+i%40) * time.Millisecond
			if region == "us-east-1" && i%11 == 0 {
				d = 900 * time.Millisecond
			}
			return !(region == "eu-west-1" && i%7 == 0), d
		}})
	}
	fixtures = append(fixtures, storeCanary{name: "young", regions: regions[:1], minutes: 30, run: func(string, int) (bool, time.Duration) {
		return true, 35 * time.Millisecond
	}})
	store := writeStore(t, fixtures)
	names := []string{"api", "checkout", "search", "young", "ghost"}
	var slos []slo.SLO
	for _, n := range names {
		slos = append(slos,
			slo.SLO{Name: n + "-availability", Objective: 0.99, Window: slo.RollingWindow(7 * 24 * time.Hour), SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: n}},
			slo.SLO{Name: n + "-latency", Objective: 0.95, Window: slo.RollingWindow(24 * time.Hour), SLI: slo.SLI{Kind: slo.SLILatency, Canary: n, Threshold: 50 * time.Millisecond}},
			slo.SLO{Name: n + "-us", Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour), SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: n, Regions: []string{"us-east-1"}}})
	}
	web := func(src slo.CountStore, runs interface {
		RunCountSource
		LatencySource
	}) *Web {
		s, err := slo.NewLocalSource(src)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: s, Clock: clock.NewFake(storeNow)})
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWeb(WebConfig{SLOs: slos, Canaries: names, Decisions: EvaluatorDecisions{Evaluator: ev, SLOs: slos}, Source: s,
			Latency: runs, Counts: runs, Failures: StoreSources{Store: store}, Now: func() time.Time { return storeNow }})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	batched, reference := web(store, StoreSources{Store: store}), web(countsOnly{store}, oneByOne{store})
	if _, ok := any(oneByOne{}).(RunCountBatchSource); ok {
		t.Fatal("the reference reads in batches; it must read one canary at a time")
	}
	get := func(w *Web, path string) string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		req.Host = "127.0.0.1"
		w.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("GET %s: status %d", path, rec.Code)
		}
		return rec.Body.String()
	}
	for _, path := range []string{"/", "/canary/api", "/canary/young", "/canary/ghost", "/slo/api-availability", "/slo/checkout-latency", "/slo/young-us", "/slo/ghost-availability"} {
		t.Run(path, func(t *testing.T) {
			got, want := get(batched, path), get(reference, path)
			if got != want {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("pages differ at byte %d:\nbatched:   %q\none by one: %q", i, excerpt(got, i), excerpt(want, i))
			}
			if path == "/" {
				// 3 canaries x 3 regions, young's one region, ghost's
				// "no runs" row.
				if n := strings.Count(got, `<tr class="region">`); n != 11 {
					t.Fatalf("%d canary rows, want 11", n)
				}
			}
		})
	}
}

func excerpt(s string, at int) string {
	return s[max(0, at-80):min(len(s), at+80)]
}
