package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

// Week 47 of 2026 runs from Monday 16 November to Monday 23 November.
var week47 = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)

type fixedLatency map[string]map[string][]float64 // week start -> region -> values

func (f fixedLatency) Percentiles(ctx context.Context, canary string, from, to time.Time, percents []float64) (map[string][]float64, error) {
	if v, ok := f[canary+"@"+from.Format("2006-01-02")]; ok {
		return v, nil
	}
	return f[canary+"@any"], nil
}

type fixedFailures []FailureCount

func (f fixedFailures) Failures(ctx context.Context, from, to time.Time) ([]FailureCount, error) {
	return append([]FailureCount(nil), f...), nil
}

type fixedAlerts []AlertRecord

func (f fixedAlerts) Alerts(ctx context.Context, from, to time.Time) ([]AlertRecord, error) {
	return append([]AlertRecord(nil), f...), nil
}

// reviewFixture: five weeks of per-minute canary data; checkout has a
// 30-minute full outage on Wednesday of week 47, search is clean.
func reviewFixture(t *testing.T, checkoutName string) ReviewConfig {
	t.Helper()
	start := week47.AddDate(0, 0, -28)
	n := int(week47.AddDate(0, 0, 7).Sub(start) / time.Minute)
	outage := week47.Add(2*24*time.Hour + 14*time.Hour)
	mk := func(bad func(time.Time) bool) slo.Trace {
		tr := slo.Trace{Start: start, Step: time.Minute, Good: make([]float64, n), Total: make([]float64, n)}
		for i := 0; i < n; i++ {
			at := start.Add(time.Duration(i) * time.Minute)
			tr.Total[i] = 6
			if !bad(at) {
				tr.Good[i] = 6
			}
		}
		return tr
	}
	checkout := slo.SLO{Name: checkoutName, Objective: 0.999, Window: slo.RollingWindow(28 * 24 * time.Hour),
		SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout-api"}}
	search := slo.SLO{Name: "search-availability", Objective: 0.995, Window: slo.RollingWindow(28 * 24 * time.Hour),
		SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "search"}}
	src := slo.NewMemorySource()
	if err := src.Add(checkout.SLI, mk(func(at time.Time) bool { return !at.Before(outage) && at.Before(outage.Add(30*time.Minute)) })); err != nil {
		t.Fatal(err)
	}
	if err := src.Add(search.SLI, mk(func(time.Time) bool { return false })); err != nil {
		t.Fatal(err)
	}
	return ReviewConfig{
		SLOs:         []slo.SLO{checkout, search},
		Compositions: []slo.Composition{{Name: "shop", Mode: slo.Serial, Parts: []string{checkoutName, "search-availability"}}},
		Canaries:     []string{"checkout-api", "search"},
		Source:       src,
		Latency: fixedLatency{
			"checkout-api@2026-11-16": {"eu-west-1": {182.4, 240.9}, "us-east-1": {96.1, 130.2}},
			"checkout-api@2026-11-09": {"eu-west-1": {150.0, 201.0}},
			"search@2026-11-16":       {"eu-west-1": {45.5, 61.0}},
			"checkout-api@any":        {"eu-west-1": {20.1, 38.5, 182.4, 240.9}},
		},
		Certificates: fixtureCerts,
		Failures:     fixedFailures{{Canary: "checkout-api", Class: "http_status", Count: 150}, {Canary: "checkout-api", Class: "timeout", Count: 30}, {Canary: "search", Class: "dns", Count: 2}},
		Alerts: fixedAlerts{{SLO: checkoutName, Severity: "page", Tier: "page_fast", StartedAt: outage,
			FiredAt: outage.Add(2 * time.Minute), ResolvedAt: outage.Add(34 * time.Minute)}},
		Week: "2026-W47",
		Now:  time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
	}
}

func TestReviewFigures(t *testing.T) {
	rv, err := BuildReview(context.Background(), reviewFixture(t, "checkout-availability"))
	if err != nil {
		t.Fatal(err)
	}
	if !rv.From.Equal(week47) || !rv.To.Equal(week47.AddDate(0, 0, 7)) {
		t.Fatalf("week %s to %s", rv.From, rv.To)
	}
	c := rv.SLOs[0]
	// 30 bad minutes of 7 x 24 x 60.
	wantAvail := 1 - 30.0/(7*24*60)
	if c.Availability == nil || !near(*c.Availability, wantAvail) {
		t.Errorf("availability %v, want %g", c.Availability, wantAvail)
	}
	if c.MetObjective == nil || *c.MetObjective {
		t.Errorf("99.70%% is below 99.9%%: met = %v", c.MetObjective)
	}
	// The window is 28 days, all in the fixture; bad = 180 events of
	// 28 x 1440 x 6 total, budget 0.001 of it.
	windowTotal := 28 * 1440 * 6.0
	wantUsed := 180 / (0.001 * windowTotal)
	if c.BudgetConsumedWeek == nil || !near(*c.BudgetConsumedWeek, wantUsed) {
		t.Errorf("budget used this week %v, want %g", c.BudgetConsumedWeek, wantUsed)
	}
	if c.BudgetRemaining == nil || !near(*c.BudgetRemaining, 1-wantUsed) {
		t.Errorf("budget remaining %v, want %g", c.BudgetRemaining, 1-wantUsed)
	}
	if len(c.BurnDown) != 7*24 || c.BurnDown[0].V != 1 || !near(c.BurnDown[len(c.BurnDown)-1].V, 1-wantUsed) {
		t.Errorf("burn-down has %d points from %v to %v", len(c.BurnDown), c.BurnDown[0], c.BurnDown[len(c.BurnDown)-1])
	}
	if s := rv.SLOs[1]; s.Availability == nil || *s.Availability != 1 || s.BudgetRemaining == nil || *s.BudgetRemaining != 1 {
		t.Errorf("search had no errors: %+v", s)
	}
	// Alerts: detected in 2 minutes, resolved 34 minutes after the start.
	if len(rv.Alerts) != 1 || *rv.Alerts[0].TimeToDetectS != 120 || *rv.Alerts[0].TimeToResolveS != 34*60 {
		t.Errorf("alerts %+v", rv.Alerts)
	}
	mttr := 34 * 60.0
	mtbf := 7*24*3600.0 - mttr
	if r := rv.Reliability; r.MTTRS == nil || *r.MTTRS != mttr || *r.MTBFS != mtbf || !near(*r.Availability, mtbf/(mtbf+mttr)) {
		t.Errorf("reliability %+v", r)
	}
	// Nines table: 99.9% allows 8h 45m 36s a year.
	if rv.Nines[1].Label != "99.9%" || !near(rv.Nines[1].AllowedPerYearS, 31536) {
		t.Errorf("nines row %+v", rv.Nines[1])
	}
	if got := rv.Nines[len(referenceNines)]; got.DowntimeS == nil || !near(*got.DowntimeS, 30*60) {
		t.Errorf("observed downtime for checkout %+v, want 30 minutes", got)
	}
	// Latency worst first, with week-over-week change.
	if rv.Latency[0].Region != "eu-west-1" || rv.Latency[0].ChangeP999 == nil || !near(*rv.Latency[0].ChangeP999, (182.4-150)/150) {
		t.Errorf("latency %+v", rv.Latency[0])
	}
	if rv.Latency[1].Region != "us-east-1" || rv.Latency[1].PrevP999Ms != nil {
		t.Errorf("us-east-1 had no data the week before: %+v", rv.Latency[1])
	}
	if rv.Failures[0].Class != "http_status" || rv.Failures[0].Count != 150 {
		t.Errorf("top failure %+v", rv.Failures[0])
	}
	comp := rv.Compositions[0]
	if !near(comp.Goal, 0.999*0.995) || comp.Availability == nil || !near(*comp.Availability, wantAvail*1) {
		t.Errorf("composition %+v", comp)
	}
	if comp.Parts[0].Contribution == nil || *comp.Parts[0].Contribution != 1 {
		t.Errorf("checkout is all of the shop's unavailability: %+v", comp.Parts[0])
	}
	// The wheel is reproducible from its seed.
	again, _ := BuildReview(context.Background(), reviewFixture(t, "checkout-availability"))
	if rv.Wheel == nil || again.Wheel.SLO != rv.Wheel.SLO || again.Wheel.Seed != rv.Wheel.Seed {
		t.Errorf("the wheel is not stable: %+v vs %+v", rv.Wheel, again.Wheel)
	}
	picks := map[string]bool{}
	for seed := uint64(1); seed <= 40; seed++ {
		cfg := reviewFixture(t, "checkout-availability")
		cfg.Seed = seed
		r, _ := BuildReview(context.Background(), cfg)
		picks[r.Wheel.SLO] = true
	}
	if len(picks) != 2 {
		t.Errorf("40 seeds picked only %v", picks)
	}
}

func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d < 1e-9*max(1, b)
}

func TestReviewGolden(t *testing.T) {
	rv, err := BuildReview(context.Background(), reviewFixture(t, "checkout-availability"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"review.html", func(b *bytes.Buffer) error { return rv.WriteHTML(b) }},
		{"review.md", func(b *bytes.Buffer) error { return rv.WriteMarkdown(b) }},
		{"review.json", func(b *bytes.Buffer) error { return rv.WriteJSON(b) }},
	} {
		t.Run(f.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := f.write(&b); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", f.name)
			if *update {
				os.WriteFile(golden, b.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(want, b.Bytes()) {
				t.Errorf("%s differs from its golden; rerun with -update and review the diff", f.name)
			}
		})
	}
}

// An SLO named like markup stays text in every format.
func TestReviewEscapesNamesFromTheConfig(t *testing.T) {
	evil := `<script>alert("nines")</script>|**x**`
	rv, err := BuildReview(context.Background(), reviewFixture(t, evil))
	if err != nil {
		t.Fatal(err)
	}
	var h, md, js bytes.Buffer
	rv.WriteHTML(&h)
	rv.WriteMarkdown(&md)
	rv.WriteJSON(&js)
	if strings.Contains(h.String(), "<script>") {
		t.Error("the HTML report contains a raw <script> tag from an SLO name")
	}
	if !strings.Contains(h.String(), "&lt;script&gt;") {
		t.Error("the HTML report does not show the escaped name")
	}
	if strings.Contains(md.String(), "<script>") || strings.Contains(md.String(), "</script>|") {
		t.Error("the Markdown report carries the name unescaped")
	}
	var back Review
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.SLOs[0].Name != evil {
		t.Errorf("JSON must round-trip the name exactly: %v", err)
	}
}

func TestParseISOWeek(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2026-W47", week47, ""},
		{"2026-W01", time.Date(2025, 12, 29, 0, 0, 0, 0, time.UTC), ""},
		{"2026-W53", time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC), ""},
		{"2025-W53", time.Time{}, "2025 has no week 53"},
		{"2026-47", time.Time{}, "write it as YYYY-Www"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseISOWeek(tc.in, time.UTC)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
	if LastFullWeek(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) != "2026-W47" {
		t.Error("on Monday of W48 the last full week is W47")
	}
}

// Without a recorded start, time to detect is measured from the first bad
// minute of the run that led to the alert.
func TestReviewFindsWhenTheBurnBegan(t *testing.T) {
	cfg := reviewFixture(t, "checkout-availability")
	a := cfg.Alerts.(fixedAlerts)[0]
	a.StartedAt = time.Time{}
	cfg.Alerts = fixedAlerts{a}
	rv, err := BuildReview(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rv.Alerts) != 1 || rv.Alerts[0].TimeToDetectS == nil || *rv.Alerts[0].TimeToDetectS != 120 {
		t.Fatalf("time to detect %+v, want 120 s: the outage began 2 minutes before the page", rv.Alerts)
	}
	if *rv.Alerts[0].TimeToResolveS != 34*60 {
		t.Errorf("time to resolve %v, want from the start of the burn", *rv.Alerts[0].TimeToResolveS)
	}
}
