// Command review times the weekly review over a local store: reading every
// SLO's week and window, the tail latency of every canary and region this
// week and last, the failure classes, and rendering HTML, Markdown and JSON.
// Make the store with bench/metrics first:
//
//	go run ./bench/metrics -store-days 30 -dir /tmp/nines-bench
//	go run ./bench/review -store /tmp/nines-bench/bench.db -week 2026-W44
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"github.com/nines-dev/nines/dashboards"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

func main() {
	path := flag.String("store", "", "the store file (made by bench/metrics)")
	week := flag.String("week", "2026-W44", "the ISO week to review")
	n := flag.Int("slos", 100, "SLOs, one per canary canary-000, canary-001, ...")
	flag.Parse()
	if *path == "" {
		fmt.Fprintln(os.Stderr, "bench/review: -store is required")
		os.Exit(2)
	}
	ctx := context.Background()
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: *path})
	if err != nil {
		fail(err)
	}
	defer store.Close(ctx)
	src, err := slo.NewLocalSource(store)
	if err != nil {
		fail(err)
	}
	var slos []slo.SLO
	var canaries []string
	for i := 0; i < *n; i++ {
		c := fmt.Sprintf("canary-%03d", i)
		canaries = append(canaries, c)
		slos = append(slos, slo.SLO{Name: c + "-availability", Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour),
			SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: c}})
	}
	began := time.Now()
	regions, err := dashboards.StoreSources{Store: store}.Regions(ctx)
	if err != nil {
		fail(err)
	}
	rv, err := dashboards.BuildReview(ctx, dashboards.ReviewConfig{
		SLOs: slos, Canaries: canaries, Source: src, Regions: regions,
		Latency: dashboards.StoreSources{Store: store}, Failures: dashboards.StoreSources{Store: store},
		Week: *week, Now: time.Now(),
	})
	if err != nil {
		fail(err)
	}
	built := time.Since(began)
	var html, md, js bytes.Buffer
	t := time.Now()
	if err := rv.WriteHTML(&html); err != nil {
		fail(err)
	}
	rv.WriteMarkdown(&md)
	rv.WriteJSON(&js)
	rendered := time.Since(t)
	fmt.Printf("review of %s: %d SLOs, %d latency rows, %d failure rows\n", *week, len(rv.SLOs), len(rv.Latency), len(rv.Failures))
	fmt.Printf("gather %s, render %s (HTML %d KB, Markdown %d KB, JSON %d KB), total %s\n",
		built.Round(time.Millisecond), rendered.Round(time.Millisecond), html.Len()/1024, md.Len()/1024, js.Len()/1024,
		(built + rendered).Round(time.Millisecond))

	// The web UI's SLO list: every SLO evaluated (budget and three window
	// pairs) from the store, then the page rendered; best of 5.
	at, _ := dashboards.ParseISOWeek(*week, time.UTC)
	at = at.AddDate(0, 0, 7)
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(at)})
	if err != nil {
		fail(err)
	}
	bestEval := time.Duration(1 << 62)
	for i := 0; i < 5; i++ {
		t := time.Now()
		if _, err := ev.Evaluate(ctx, slos); err != nil {
			fail(err)
		}
		bestEval = min(bestEval, time.Since(t))
	}
	fmt.Printf("evaluation round, %d SLOs (budget and 3 window pairs each) from the store: best of 5 %s\n", len(slos), bestEval.Round(time.Millisecond))
	web, err := dashboards.NewWeb(dashboards.WebConfig{SLOs: slos, Canaries: canaries,
		Decisions: dashboards.EvaluatorDecisions{Evaluator: ev, SLOs: slos}, Now: func() time.Time { return at }})
	if err != nil {
		fail(err)
	}
	best := time.Duration(1 << 62)
	for i := 0; i < 5; i++ {
		rec := httptest.NewRecorder()
		t := time.Now()
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = "127.0.0.1" // the UI answers only to its own names
		web.ServeHTTP(rec, req)
		if rec.Code != 200 {
			fail(fmt.Errorf("the SLO list answered %d", rec.Code))
		}
		best = min(best, time.Since(t))
	}
	fmt.Printf("web UI SLO list, %d SLOs from the store: best of 5 %s server time\n", len(slos), best.Round(time.Millisecond))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/review:", err)
	os.Exit(1)
}
