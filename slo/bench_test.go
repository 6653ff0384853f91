package slo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// BenchmarkBacktest replays 30 days of per-minute data (43,200 evaluations)
// and reports how many days of trace it replays a second.
func BenchmarkBacktest(b *testing.B) {
	const days = 30
	tr := synth(days*24*60, 1000, outage(10*24*60, 45, 0.2))
	cfg := slo.BacktestConfig{Trace: tr, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := slo.Backtest(context.Background(), cfg)
		if err != nil || len(res.Alerts) == 0 {
			b.Fatal(err, res.Alerts)
		}
	}
	b.ReportMetric(float64(days*b.N)/b.Elapsed().Seconds(), "days/s")
}

// BenchmarkEvaluate evaluates 100 SLOs, each over its own 30 days of
// per-minute data, with the default 3 window pairs.
func BenchmarkEvaluate(b *testing.B) {
	src := slo.NewMemorySource()
	var slos []slo.SLO
	for i := 0; i < 100; i++ {
		sli := slo.SLI{Kind: slo.SLIAvailability, Canary: fmt.Sprintf("canary-%03d", i)}
		if err := src.Add(sli, synth(30*24*60, 100, outage(29*24*60+i, 30, 0.01*float64(i%10)))); err != nil {
			b.Fatal(err)
		}
		slos = append(slos, slo.SLO{Name: sli.Canary, SLI: sli, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow)})
	}
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(traceStart.Add(30 * 24 * time.Hour))})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ev.Evaluate(context.Background(), slos); err != nil {
			b.Fatal(err)
		}
	}
}
