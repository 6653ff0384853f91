package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

// The goldens below come from small traces built by hand. Every expected
// figure is worked out in the comment beside it, from the trace, never from
// the code's own output. The SLO is 99.9% availability over a rolling 28
// days; its budget is 0.001 of the events.

var (
	week46 = time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC) // Mon 9 Nov to Mon 16 Nov
	week45 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	sevenD = 7 * 24 * time.Hour
)

// minuteTrace has perMinute events in each minute of [start, end), the bad
// ones as bad(minute) says.
func minuteTrace(start, end time.Time, perMinute float64, bad func(time.Time) float64) slo.Trace {
	n := int(end.Sub(start) / time.Minute)
	tr := slo.Trace{Start: start, Step: time.Minute, Good: make([]float64, n), Total: make([]float64, n)}
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * time.Minute)
		tr.Total[i] = perMinute
		tr.Good[i] = perMinute - bad(at)
	}
	return tr
}

func handSLO() slo.SLO {
	return slo.SLO{Name: "checkout", Objective: 0.999, Window: slo.RollingWindow(28 * 24 * time.Hour),
		SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout-api"}}
}

func handReview(t *testing.T, week string, now time.Time, traces ...slo.Trace) *Review {
	t.Helper()
	s := handSLO()
	src := slo.NewMemorySource()
	for _, tr := range traces {
		if err := src.Add(s.SLI, tr); err != nil {
			t.Fatal(err)
		}
	}
	rv, err := BuildReview(context.Background(), ReviewConfig{SLOs: []slo.SLO{s}, Source: src, Week: week, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

func wantFloat(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no figure, want %g", what, want)
		return
	}
	if math.Abs(*got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %g, want %g", what, *got, want)
	}
}

func markdown(t *testing.T, rv *Review) string {
	t.Helper()
	var b bytes.Buffer
	if err := rv.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func mustContain(t *testing.T, doc string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(doc, w) {
			t.Errorf("the report does not say %q:\n%s", w, doc)
		}
	}
}

// Ten minutes of data in the week so far: the first agent run began Monday
// 10:00, now is 10:10. Each minute has 6 runs, 1 of them failed.
//
//	good 50, total 60, availability 50/60 = 0.833333
//	observed 10 min = 600 s of the week's 604800 s
//	downtime observed = (1/6) x 600 s = 100 s  (not (1/6) x 7 d = 28 h)
//	allowed in the observed time = 0.001 x 600 s = 0.6 s
//	budget: 10 bad of an allowance of 0.001 x 60 = 0.06 events,
//	        used 10/0.06 = 166.667, remaining 1 - 166.667 = -165.667
//	window: 600 s observed of 28 d
//	burn-down: no hour of the week before 10:00 has data, so one point, at
//	           now (10:10), -165.667; nothing after now.
//
// With no --week, and no data in week 46, the review is this week so far,
// marked partial.
func TestReviewOfAPartialWeekCountsOnlyTheObservedTime(t *testing.T) {
	began := week47.Add(10 * time.Hour)
	now := began.Add(10 * time.Minute)
	rv := handReview(t, "", now, minuteTrace(began, now, 6, func(time.Time) float64 { return 1 }))
	if rv.Week != "2026-W47" || !rv.Partial {
		t.Fatalf("default week %s (partial %v): week 46 has no data, so want this week so far, partial", rv.Week, rv.Partial)
	}
	if !rv.From.Equal(week47) || !rv.To.Equal(week47.Add(sevenD)) || !rv.Until.Equal(now) {
		t.Errorf("span %s to %s until %s", rv.From, rv.To, rv.Until)
	}
	s := rv.SLOs[0]
	wantFloat(t, "availability", s.Availability, 50.0/60)
	wantFloat(t, "observed seconds", &s.ObservedS, 600)
	wantFloat(t, "week seconds", &s.SpanS, 604800)
	wantFloat(t, "budget used this week", s.BudgetConsumedWeek, 10/0.06)
	wantFloat(t, "budget remaining", s.BudgetRemaining, 1-10/0.06)
	wantFloat(t, "window observed seconds", &s.WindowObservedS, 600)
	wantFloat(t, "window seconds", &s.WindowSpanS, 28*24*3600)
	if len(s.BurnDown) != 1 || !s.BurnDown[0].T.Equal(now) || math.Abs(s.BurnDown[0].V-(1-10/0.06)) > 1e-9 {
		t.Errorf("burn-down %+v, want one point at now of %g", s.BurnDown, 1-10/0.06)
	}
	row := rv.Nines[len(referenceNines)]
	wantFloat(t, "downtime observed", row.DowntimeS, 100)
	wantFloat(t, "observed", row.ObservedS, 600)
	wantFloat(t, "allowed in the observed time", row.AllowedObservedS, 0.6)

	md := markdown(t, rv)
	mustContain(t, md, "2026-W47 so far (partial)", "observed 10m 00s of 7d 00h",
		"| checkout (99.9%) | 8h 45m | 40m 19s (rolling 28d) | 10m 05s | 10m 00s | 1m 40s | 0.6s |")
	var slack strings.Builder
	for _, b := range rv.SlackSummary() {
		js, _ := json.Marshal(b)
		slack.Write(js)
	}
	mustContain(t, slack.String(), "2026-W47 so far (partial)", "observed 10m 00s of 7d 00h")
	for _, wrong := range []string{"28h", "1d 04h", "30d 00h"} {
		if strings.Contains(md, wrong) {
			t.Errorf("the report extrapolates (%q):\n%s", wrong, md)
		}
	}
}

// Week 46 observed in full, one run a minute, a 20-minute outage on
// Tuesday 12:00 to 12:20. Now is Wednesday of week 47.
//
//	total 7 x 1440 = 10080, bad 20, availability 1 - 20/10080 = 0.998016
//	observed 604800 s of 604800 s; downtime 20 x 60 s = 1200 s
//	allowed in the observed time = 0.001 x 604800 s = 604.8 s
//	budget: allowance 0.001 x 10080 = 10.08 events; used 20/10.08 = 1.984127,
//	        remaining 1 - 1.984127 = -0.984127 (the window holds only week 46)
//	window observed: 7 d of 28 d
//	burn-down: 168 hourly points, the last at Mon 16 Nov 00:00
func TestReviewOfAFullWeek(t *testing.T) {
	outage := week46.Add(24*time.Hour + 12*time.Hour)
	now := week47.Add(2*24*time.Hour + 9*time.Hour)
	rv := handReview(t, "", now, minuteTrace(week46, week46.Add(sevenD), 1, func(at time.Time) float64 {
		if !at.Before(outage) && at.Before(outage.Add(20*time.Minute)) {
			return 1
		}
		return 0
	}))
	if rv.Week != "2026-W46" || rv.Partial || !rv.Until.Equal(rv.To) {
		t.Fatalf("default week %s partial %v until %s: week 46 has data, so want it whole", rv.Week, rv.Partial, rv.Until)
	}
	s := rv.SLOs[0]
	wantFloat(t, "availability", s.Availability, 1-20.0/10080)
	wantFloat(t, "observed seconds", &s.ObservedS, 604800)
	wantFloat(t, "budget used this week", s.BudgetConsumedWeek, 20/10.08)
	wantFloat(t, "budget remaining", s.BudgetRemaining, 1-20/10.08)
	wantFloat(t, "window observed seconds", &s.WindowObservedS, 604800)
	if len(s.BurnDown) != 168 || !s.BurnDown[167].T.Equal(week47) {
		t.Errorf("burn-down has %d points, want 168 ending at %s", len(s.BurnDown), week47)
	}
	row := rv.Nines[len(referenceNines)]
	wantFloat(t, "downtime observed", row.DowntimeS, 1200)
	wantFloat(t, "allowed in the observed time", row.AllowedObservedS, 604.8)
	md := markdown(t, rv)
	mustContain(t, md, "Mon 9 Nov 2026 00:00 UTC to Mon 16 Nov 2026 00:00 UTC", "observed 7d 00h of 7d 00h",
		"| 7d 00h | 20m 00s | 10m 05s |")
	if strings.Contains(md, "partial") {
		t.Errorf("a whole week is not partial:\n%s", md)
	}
}

// An outage from Sunday 15 Nov 23:50 to Monday 16 Nov 00:10 spans the
// boundary of weeks 46 and 47: 10 bad minutes in each. Both weeks are
// observed in full, one run a minute. Review week 47 on Monday 23 Nov.
//
//	week 47: total 10080, bad 10, availability 1 - 10/10080; downtime 600 s
//	window (28 d back from 23 Nov) holds weeks 46 and 47: total 20160, bad 20,
//	        allowance 20.16; remaining 1 - 20/20.16 = 0.0079365
//	        used this week 10/20.16 = 0.4960317; observed 14 d of 28 d
//	the page fired 23:55 on Sunday, resolved Mon 00:12; the burn began
//	23:50: time to detect 5 min, to resolve 22 min = 1320 s. Inside week 47
//	the service was down 12 of those minutes (00:00 to 00:12), so
//	MTBF = (604800 - 720) / 1 = 604080 s, MTTR = 1320 s.
func TestReviewOfAnOutageAcrossTheWeekBoundary(t *testing.T) {
	outage := week47.Add(-10 * time.Minute)
	s := handSLO()
	src := slo.NewMemorySource()
	if err := src.Add(s.SLI, minuteTrace(week46, week47.Add(sevenD), 1, func(at time.Time) float64 {
		if !at.Before(outage) && at.Before(outage.Add(20*time.Minute)) {
			return 1
		}
		return 0
	})); err != nil {
		t.Fatal(err)
	}
	rv, err := BuildReview(context.Background(), ReviewConfig{SLOs: []slo.SLO{s}, Source: src, Week: "2026-W47",
		Now: week47.Add(sevenD + 9*time.Hour),
		Alerts: fixedAlerts{{SLO: "checkout", Severity: "page", Tier: "page_fast", StartedAt: outage,
			FiredAt: outage.Add(5 * time.Minute), ResolvedAt: week47.Add(12 * time.Minute)}}})
	if err != nil {
		t.Fatal(err)
	}
	w := rv.SLOs[0]
	wantFloat(t, "availability", w.Availability, 1-10.0/10080)
	wantFloat(t, "budget remaining", w.BudgetRemaining, 1-20/20.16)
	wantFloat(t, "budget used this week", w.BudgetConsumedWeek, 10/20.16)
	wantFloat(t, "window observed seconds", &w.WindowObservedS, 14*24*3600)
	wantFloat(t, "downtime observed", rv.Nines[len(referenceNines)].DowntimeS, 600)
	if len(rv.Alerts) != 1 {
		t.Fatalf("alerts %+v: the page that resolved inside the week belongs to it", rv.Alerts)
	}
	wantFloat(t, "time to detect", rv.Alerts[0].TimeToDetectS, 300)
	wantFloat(t, "time to resolve", rv.Alerts[0].TimeToResolveS, 1320)
	wantFloat(t, "MTBF", rv.Reliability.MTBFS, 604080)
	wantFloat(t, "MTTR", rv.Reliability.MTTRS, 1320)
	wantFloat(t, "MTBF/(MTBF+MTTR)", rv.Reliability.Availability, 604080.0/(604080+1320))
	mustContain(t, markdown(t, rv), "observed 14d 00h of 28d 00h")
}

// Week 45 has no data at all: every figure says so, none is 0 or 100%.
func TestReviewOfAWeekWithNoData(t *testing.T) {
	rv := handReview(t, "2026-W45", week47.Add(time.Hour), minuteTrace(week46, week47, 1, func(time.Time) float64 { return 0 }))
	s := rv.SLOs[0]
	if s.Availability != nil || s.MetObjective != nil || s.BudgetConsumedWeek != nil || s.ObservedS != 0 || len(s.BurnDown) != 0 {
		t.Errorf("a week with no data has figures: %+v", s)
	}
	row := rv.Nines[len(referenceNines)]
	if row.DowntimeS != nil || row.AllowedObservedS != nil {
		t.Errorf("nines row %+v", row)
	}
	mustContain(t, markdown(t, rv), "observed 0s of 7d 00h", "| checkout | availability of checkout-api in all regions | 99.9% | no data | no data |")
}

// A week that has not begun has nothing to review; the error says which
// weeks can be.
func TestReviewOfAWeekStillToComeIsAnError(t *testing.T) {
	_, err := BuildReview(context.Background(), ReviewConfig{SLOs: []slo.SLO{handSLO()}, Source: slo.NewMemorySource(),
		Week: "2026-W48", Now: week47.Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "2026-W48 has not begun") || !strings.Contains(err.Error(), "2026-W47") {
		t.Fatalf("err = %v", err)
	}
}

// During a total outage in one region there is no successful run to take a
// percentile from: the review says so, first, with the failure rate beside
// it, and never shows 0.0 ms. Percentiles elsewhere are labelled as over
// successful runs.
//
//	ap-south-1: 60 attempts, 0 successes -> 100% failed, no percentiles
//	eu-west-1: 60 attempts, 57 successes -> 3/60 = 5% failed, p99.9 182.4 ms
func TestReviewTailLatencyIsOverSuccessfulRunsWithTheFailureRateBeside(t *testing.T) {
	began := week47.Add(10 * time.Hour)
	now := began.Add(time.Hour)
	src := slo.NewMemorySource()
	for region, bad := range map[string]float64{"ap-south-1": 1, "eu-west-1": 0.05} {
		sli := slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout-api", Regions: []string{region}}
		if err := src.Add(sli, minuteTrace(began, now, 1, func(at time.Time) float64 {
			if bad == 1 || at.Sub(began) < 3*time.Minute {
				return 1
			}
			return 0
		})); err != nil {
			t.Fatal(err)
		}
	}
	rv, err := BuildReview(context.Background(), ReviewConfig{SLOs: []slo.SLO{handSLO()}, Source: src, Week: "2026-W47", Now: now,
		Canaries: []string{"checkout-api"}, Regions: []string{"ap-south-1", "eu-west-1", "us-east-1"},
		Latency: fixedLatency{"checkout-api@2026-11-16": {"eu-west-1": {182.4, 240.9}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rv.Latency) != 2 {
		t.Fatalf("latency rows %+v: want ap-south-1 (no successful run) and eu-west-1; us-east-1 never ran", rv.Latency)
	}
	ap, eu := rv.Latency[0], rv.Latency[1]
	if ap.Region != "ap-south-1" || ap.P999Ms != nil || ap.Attempts != 60 {
		t.Errorf("first row %+v, want ap-south-1 without percentiles", ap)
	}
	wantFloat(t, "ap-south-1 failure rate", ap.FailureRate, 1)
	wantFloat(t, "eu-west-1 failure rate", eu.FailureRate, 3.0/60)
	md := markdown(t, rv)
	mustContain(t, md, "Percentiles are over successful runs only",
		"| checkout-api | ap-south-1 | no successful runs | no successful runs | 100% of 60 runs |",
		"| checkout-api | eu-west-1 | 182.4 ms | 240.9 ms | 5% of 60 runs |")
	var h bytes.Buffer
	if err := rv.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{md, h.String()} {
		if strings.Contains(doc, "0.0 ms") {
			t.Errorf("a canary with no successful run shows 0.0 ms")
		}
	}
	mustContain(t, h.String(), "p99.9 (successful runs)", "no successful runs", "Percentiles are over successful runs only")
}

// minuteLatency refuses a range that is not whole minutes, as CloudWatch
// does.
type minuteLatency struct{ fixedLatency }

func (m minuteLatency) Percentiles(ctx context.Context, canary string, from, to time.Time, percents []float64) (map[string][]float64, error) {
	if from.Truncate(time.Minute) != from || to.Truncate(time.Minute) != to {
		return nil, errors.New("periods are whole minutes")
	}
	return m.fixedLatency.Percentiles(ctx, canary, from, to, percents)
}

// A review of the week so far, at a moment between minutes, asks the
// latency source for whole minutes.
func TestReviewOfThisWeekAsksForWholeMinutes(t *testing.T) {
	_, err := BuildReview(context.Background(), ReviewConfig{SLOs: []slo.SLO{handSLO()}, Source: slo.NewMemorySource(),
		Canaries: []string{"checkout-api"}, Latency: minuteLatency{fixedLatency{}},
		Week: "2026-W47", Now: week47.Add(10*time.Hour + 30*time.Second + 7)})
	if err != nil {
		t.Fatal(err)
	}
}

// MTBF and MTTR count outages, not notifications. In week 47, on Tuesday:
//
//	ticket  burn from 09:50, fired 10:00, resolved 11:00
//	page    burn from 10:10, fired 10:20, resolved 10:50 (inside the ticket's)
//	warning (budget) fired 10:30, still firing: no outage of its own
//	error   (unreadable SLO) 12:00 to 12:05: nines could not read, not down
//
// One outage, 09:50 to 11:00 = 4200 s. MTTR = 4200 s,
// MTBF = (604800 - 4200) / 1 = 600600 s. Every alert is still listed.
func TestReviewReliabilityCountsOutagesNotNotifications(t *testing.T) {
	tue := week47.Add(24 * time.Hour)
	at := func(h, m int) time.Time { return tue.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	s := handSLO()
	src := slo.NewMemorySource()
	if err := src.Add(s.SLI, minuteTrace(week46, week47.Add(sevenD), 1, func(time.Time) float64 { return 0 })); err != nil {
		t.Fatal(err)
	}
	rv, err := BuildReview(context.Background(), ReviewConfig{SLOs: []slo.SLO{s}, Source: src, Week: "2026-W47",
		Now: week47.Add(sevenD + time.Hour),
		Alerts: fixedAlerts{
			{SLO: "checkout", Severity: "ticket", Tier: "ticket_slow", StartedAt: at(9, 50), FiredAt: at(10, 0), ResolvedAt: at(11, 0)},
			{SLO: "checkout", Severity: "page", Tier: "page_fast", StartedAt: at(10, 10), FiredAt: at(10, 20), ResolvedAt: at(10, 50)},
			{SLO: "checkout", Severity: "warning", FiredAt: at(10, 30)},
			{SLO: "checkout", Severity: "error", FiredAt: at(12, 0), ResolvedAt: at(12, 5)},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rv.Alerts) != 4 {
		t.Errorf("%d alerts listed, want all 4", len(rv.Alerts))
	}
	if rv.Reliability.Failures != 1 {
		t.Errorf("failures %d, want 1 outage", rv.Reliability.Failures)
	}
	wantFloat(t, "MTTR", rv.Reliability.MTTRS, 4200)
	wantFloat(t, "MTBF", rv.Reliability.MTBFS, 600600)
}
