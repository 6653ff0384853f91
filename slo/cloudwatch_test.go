package slo_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// cwTrace is one canary's runs in two regions, a minute or more apart: the
// same events go to the CloudWatch fake, as agents publish them, and into a
// MemorySource, as the SLIs count them.
type cwTrace struct {
	start   time.Time
	step    time.Duration
	n       int
	regions []string
	// attempts, successes and fast (successful runs at or under 300 ms)
	// per region and point.
	attempts, successes, fast [][]float64
	// A load balancer's requests and 5xx per point (under a namespace of
	// its own: CloudWatch keeps AWS/ for AWS).
	requests, errors5xx []float64
}

const cwThreshold = 300 * time.Millisecond

// newCWTrace makes n points of step: 200 runs a point per region, with an
// outage (30% failures) and a slow spell (half the runs at 800 ms) in the
// last day, at different times in each region.
func newCWTrace(start time.Time, step time.Duration, n int) *cwTrace {
	tr := &cwTrace{start: start, step: step, n: n, regions: []string{"eu-west-1", "us-east-1"}}
	day := int(24 * time.Hour / step)
	for r := range tr.regions {
		a, s, f := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range n {
			a[i] = 100 + float64((i*7+r*13)%5)*25
			s[i] = a[i] - float64((i+r)%3)
			if i >= n-day/2+r*day/8 && i < n-day/2+r*day/8+day/24 {
				s[i] = math.Floor(a[i] * 0.7)
			}
			f[i] = s[i] - float64(i%2)
			if i >= n-day/4 && i < n-day/4+day/48 {
				f[i] = math.Floor(s[i] / 2)
			}
		}
		tr.attempts, tr.successes, tr.fast = append(tr.attempts, a), append(tr.successes, s), append(tr.fast, f)
	}
	for i := range n {
		tr.requests = append(tr.requests, 5000+float64(i%11)*100)
		bad := float64(i % 4)
		if i >= n-day/3 && i < n-day/3+day/24 {
			bad = 400
		}
		tr.errors5xx = append(tr.errors5xx, bad)
	}
	return tr
}

func (tr *cwTrace) at(i int) time.Time { return tr.start.Add(time.Duration(i) * tr.step) }

// albMetric is the ALB metric of a ratio SLI.
func albMetric(name string) *slo.Metric {
	return &slo.Metric{Namespace: "Shop/LoadBalancer", Name: name, Dimensions: map[string]string{"LoadBalancer": "app/shop/1"}, Statistic: "Sum"}
}

var (
	cwAvailability = slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}
	cwAvailEU      = slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout", Regions: []string{"eu-west-1"}}
	cwLatency      = slo.SLI{Kind: slo.SLILatency, Canary: "checkout", Threshold: cwThreshold}
	cwALB          = slo.SLI{Kind: slo.SLIRatio, Bad: albMetric("HTTPCode_ELB_5XX_Count"), Total: albMetric("RequestCount")}
)

// memory files the trace's SLIs in a MemorySource.
func (tr *cwTrace) memory(t testing.TB) *slo.MemorySource {
	t.Helper()
	src := slo.NewMemorySource()
	add := func(sli slo.SLI, good, total func(i int) float64) {
		tt := slo.Trace{Start: tr.start, Step: tr.step, Good: make([]float64, tr.n), Total: make([]float64, tr.n)}
		for i := range tr.n {
			tt.Good[i], tt.Total[i] = good(i), total(i)
		}
		if err := src.Add(sli, tt); err != nil {
			t.Fatal(err)
		}
	}
	sum := func(xs [][]float64) func(int) float64 {
		return func(i int) float64 {
			s := 0.0
			for _, x := range xs {
				s += x[i]
			}
			return s
		}
	}
	add(cwAvailability, sum(tr.successes), sum(tr.attempts))
	add(cwAvailEU, sum(tr.successes[:1]), sum(tr.attempts[:1]))
	add(cwLatency, sum(tr.fast), sum(tr.attempts))
	add(cwALB, func(i int) float64 { return tr.requests[i] - tr.errors5xx[i] }, func(i int) float64 { return tr.requests[i] })
	return src
}

// publish sends the trace to the fake as agents would: Attempts and
// Successes as counts, Latency as values and counts (120 ms for fast runs,
// 800 ms for slow ones), and the ALB's own metrics. The fake's clock moves
// along, because CloudWatch refuses timestamps over two weeks old.
func (tr *cwTrace) publish(t testing.TB, client *cloudwatch.Client, clk *clock.Fake) {
	t.Helper()
	ctx := context.Background()
	var batch []types.MetricDatum
	flush := func(ns string) {
		for len(batch) > 0 {
			n := min(len(batch), 1000)
			if _, err := client.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: batch[:n]}); err != nil {
				t.Fatal(err)
			}
			batch = batch[n:]
		}
	}
	count := func(name string, dims []types.Dimension, ts time.Time, v float64) types.MetricDatum {
		return types.MetricDatum{MetricName: aws.String(name), Dimensions: dims, Timestamp: aws.Time(ts), Value: aws.Float64(v), Unit: types.StandardUnitCount}
	}
	day := int(24 * time.Hour / tr.step)
	for d := 0; d*day < tr.n; d++ {
		clk.Set(tr.at(min((d+1)*day, tr.n)))
		for i := d * day; i < min((d+1)*day, tr.n); i++ {
			ts := tr.at(i)
			for r, region := range tr.regions {
				dims := []types.Dimension{{Name: aws.String("Canary"), Value: aws.String("checkout")}, {Name: aws.String("Region"), Value: aws.String(region)}}
				batch = append(batch, count("Attempts", dims, ts, tr.attempts[r][i]), count("Successes", dims, ts, tr.successes[r][i]))
				var values, counts []float64
				if f := tr.fast[r][i]; f > 0 {
					values, counts = append(values, 120), append(counts, f)
				}
				if slow := tr.successes[r][i] - tr.fast[r][i]; slow > 0 {
					values, counts = append(values, 800), append(counts, slow)
				}
				if len(values) > 0 {
					batch = append(batch, types.MetricDatum{MetricName: aws.String("Latency"), Dimensions: dims, Timestamp: aws.Time(ts),
						Values: values, Counts: counts, Unit: types.StandardUnitMilliseconds})
				}
			}
		}
		flush("Nines")
		for i := d * day; i < min((d+1)*day, tr.n); i++ {
			dims := []types.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/shop/1")}}
			batch = append(batch, count("RequestCount", dims, tr.at(i), tr.requests[i]), count("HTTPCode_ELB_5XX_Count", dims, tr.at(i), tr.errors5xx[i]))
		}
		flush("Shop/LoadBalancer")
	}
}

func cwSLOs(window slo.Window) []slo.SLO {
	return []slo.SLO{
		{Name: "availability", SLI: cwAvailability, Objective: 0.999, Window: window},
		{Name: "availability-tight", SLI: cwAvailability, Objective: 0.9999, Window: window},
		{Name: "availability-eu", SLI: cwAvailEU, Objective: 0.995, Window: window},
		{Name: "latency", SLI: cwLatency, Objective: 0.99, Window: window},
		{Name: "alb", SLI: cwALB, Objective: 0.999, Window: window},
	}
}

func evaluateWith(t *testing.T, src slo.Source, at time.Time, slos []slo.SLO) []slo.Decision {
	t.Helper()
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(at)})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ev.Evaluate(context.Background(), slos)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// sameDecisions compares what a status shows: budgets, burn rates, states
// and projections, with a tolerance for float sums taken in another order.
func sameDecisions(t *testing.T, got, want []slo.Decision) {
	t.Helper()
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for i := range want {
		g, w := got[i], want[i]
		if g.State != w.State || g.Reason != w.Reason {
			t.Errorf("%s: state %s (%s), want %s (%s)", w.SLO, g.State, g.Reason, w.State, w.Reason)
		}
		if !near(g.Budget.Good, w.Budget.Good) || !near(g.Budget.Total, w.Budget.Total) || !near(g.Budget.Remaining, w.Budget.Remaining) {
			t.Errorf("%s: budget %+v, want %+v", w.SLO, g.Budget.Counts, w.Budget.Counts)
		}
		for j := range w.Burns {
			if !near(g.Burns[j].Good, w.Burns[j].Good) || !near(g.Burns[j].Total, w.Burns[j].Total) {
				t.Errorf("%s: %s window counts %+v, want %+v", w.SLO, slo.FormatDuration(w.Burns[j].Window), g.Burns[j].Counts, w.Burns[j].Counts)
			}
		}
		if (g.ExhaustedAt == nil) != (w.ExhaustedAt == nil) || (g.ExhaustedAt != nil && !g.ExhaustedAt.Equal(*w.ExhaustedAt)) {
			t.Errorf("%s: exhausted at %v, want %v", w.SLO, g.ExhaustedAt, w.ExhaustedAt)
		}
	}
}

// The same trace, published to CloudWatch through the real SDK and filed
// in memory, gives the same budgets, burn rates and states from both
// sources: at the start of the outage, in it, and after it, over a 30-day
// window whose older half CloudWatch keeps only at 5 minutes.
func TestCloudWatchSourceMatchesTheMemorySource(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	const days = 31
	tr := newCWTrace(start, 5*time.Minute, days*288)
	clk := clock.NewFake(start)
	fake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	tr.publish(t, fake.Client(), clk)
	mem := tr.memory(t)

	rolling := cwSLOs(slo.RollingWindow(30 * 24 * time.Hour))
	weekly := cwSLOs(slo.CalendarWindow(slo.Week, time.UTC))
	end := tr.at(tr.n)
	for _, at := range []time.Duration{-12*time.Hour - 5*time.Minute, -12*time.Hour + 30*time.Minute, -8 * time.Hour, -6 * time.Hour, -10 * time.Minute, 0} {
		now := end.Add(at)
		for _, slos := range [][]slo.SLO{rolling, weekly} {
			t.Run(fmt.Sprintf("%s at %s", slos[0].Window, now.Format(time.RFC3339)), func(t *testing.T) {
				src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: fake.Client(), Regions: tr.regions, Clock: clock.NewFake(now)})
				if err != nil {
					t.Fatal(err)
				}
				want := evaluateWith(t, mem, now, slos)
				got := evaluateWith(t, src, now, slos)
				sameDecisions(t, got, want)
				if src.Calls() > 2 {
					t.Errorf("took %d GetMetricData calls, want at most 2", src.Calls())
				}
			})
		}
	}
	// The outage must show, or the comparison proves little.
	d := evaluateWith(t, mem, end.Add(-12*time.Hour+30*time.Minute), rolling)
	if d[0].State != slo.StatePage {
		t.Errorf("the trace does not page in its outage: %s (%s)", d[0].State, d[0].Reason)
	}
}

// Small limits force several calls, and pages with NextToken, without
// changing any answer; every call is counted.
func TestCloudWatchSourcePacksAndPages(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := newCWTrace(start, time.Minute, 2*24*60)
	clk := clock.NewFake(start)
	fake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	tr.publish(t, fake.Client(), clk)
	now := tr.at(tr.n).Add(-13 * time.Hour)
	slos := cwSLOs(slo.RollingWindow(24 * time.Hour))
	want := evaluateWith(t, tr.memory(t), now, slos)

	tests := []struct {
		name                     string
		maxQueries, maxDatapoint int
		wantCalls                int64
	}{
		{"CloudWatch's own limits take one call for every window", 0, 0, 1},
		{"Ten queries a call split the SLIs over three calls", 10, 0, 3},
		// The 1-day window's policy has 5 distinct windows (1d, 2h24m,
		// 12m, 2m, 1m): at one datapoint a series each is a range of its
		// own, each SLI a call of its own, and each series a page: 5 x 4 x 2.
		{"One datapoint a call takes a page for every series", 0, 1, 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := fake.Calls("GetMetricData")
			src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: fake.Client(), Regions: tr.regions, Clock: clock.NewFake(now),
				MaxQueries: tc.maxQueries, MaxDatapoints: tc.maxDatapoint})
			if err != nil {
				t.Fatal(err)
			}
			sameDecisions(t, evaluateWith(t, src, now, slos), want)
			if got := fake.Calls("GetMetricData") - before; int64(got) != src.Calls() {
				t.Errorf("the source counted %d calls, the fake saw %d", src.Calls(), got)
			}
			if src.Calls() != tc.wantCalls {
				t.Errorf("calls = %d, want %d", src.Calls(), tc.wantCalls)
			}
		})
	}
}

// At a minute that is not on a 5-minute boundary, the start of a 16-day
// budget lies in 5-minute data, so CloudWatch counts from the boundary
// before it; the rest of the window still matches to the minute.
func TestCloudWatchSourceWidensOldStartsToFiveMinutes(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := newCWTrace(start, time.Minute, 17*24*60)
	// One event a minute keeps the arithmetic plain: every minute has one
	// attempt and the minutes at :00 to :04 past the hour fail.
	for r := range tr.regions {
		for i := range tr.n {
			tr.attempts[r][i], tr.successes[r][i], tr.fast[r][i] = 1, 1, 1
			if i%60 < 5 {
				tr.successes[r][i], tr.fast[r][i] = 0, 0
			}
		}
	}
	clk := clock.NewFake(start)
	fake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	tr.publish(t, fake.Client(), clk)
	now := tr.at(tr.n).Add(-57 * time.Minute) // 00:03
	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: fake.Client(), Regions: tr.regions, Clock: clock.NewFake(now)})
	if err != nil {
		t.Fatal(err)
	}
	window := 16 * 24 * time.Hour
	series, err := src.Counts(context.Background(), []slo.Query{
		{SLI: cwAvailability, From: now.Add(-window), To: now, Step: window},
		{SLI: cwAvailability, From: now.Add(-time.Hour), To: now, Step: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	// 16 days and 3 minutes of minutes, two regions: the widened start
	// adds 00:00 to 00:02, which fail.
	budget := series[0].Buckets[0]
	if wantTotal, wantBad := 2*(16*24*60+3.0), 2*(16*24*5+3.0); budget.Total != wantTotal || budget.Total-budget.Good != wantBad {
		t.Errorf("budget counts %+v, want total %v and bad %v", budget, wantTotal, wantBad)
	}
	if !budget.Start.Equal(now.Add(-window)) {
		t.Errorf("budget bucket starts at %s, want the query's start %s", budget.Start, now.Add(-window))
	}
	hour := series[1].Buckets[0]
	if hour.Total != 120 || hour.Good != 110 {
		t.Errorf("last hour %+v, want 120 attempts of which 110 good", hour)
	}
	if src.Calls() != 2 {
		t.Errorf("calls = %d, want 2: the 5-minute part, and the rest at one minute", src.Calls())
	}
}

func TestCloudWatchSourceErrors(t *testing.T) {
	now := time.Date(2025, 4, 1, 0, 3, 0, 0, time.UTC)
	clk := clock.NewFake(now)
	fake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	tests := []struct {
		name    string
		regions []string
		fail    func()
		q       slo.Query
		want    string
	}{
		{
			"An SLI over all regions needs the source to know them", nil, nil,
			slo.Query{SLI: cwAvailability, From: now.Add(-time.Hour), To: now, Step: time.Hour},
			"query 0: availability of checkout in all regions: the SLI covers all regions, but the CloudWatch source was given no regions to sum",
		},
		{
			"One-minute slices are not kept past 15 days", []string{"eu-west-1"}, nil,
			slo.Query{SLI: cwAvailability, From: now.Add(-20 * 24 * time.Hour).Truncate(time.Minute), To: now, Step: 20 * 24 * time.Hour, Slices: &slo.SliceSpec{Length: time.Minute, Threshold: 0.99}},
			"query 0 (availability of checkout in all regions): slices of 1m reach back 20d, where CloudWatch keeps only 5m data; use a shorter window or slices of 5m",
		},
		{
			"Data older than 455 days is gone", []string{"eu-west-1"}, nil,
			slo.Query{SLI: cwAvailability, From: now.Add(-500 * 24 * time.Hour), To: now, Step: 500 * 24 * time.Hour},
			"query 0 (availability of checkout in all regions): starts 500d ago, before the 455 days CloudWatch keeps",
		},
		{
			"Seconds are not a CloudWatch period", []string{"eu-west-1"}, nil,
			slo.Query{SLI: cwAvailability, From: now.Add(-90 * time.Second), To: now, Step: 90 * time.Second},
			"query 0 (availability of checkout in all regions): CloudWatch periods are whole minutes: From, To and Step must be too",
		},
		{
			"A server error that outlasts the retries fails the call", []string{"eu-west-1"}, func() { fake.FailStatus("GetMetricData", 3, 500) },
			slo.Query{SLI: cwAvailability, From: now.Add(-time.Hour), To: now, Step: time.Hour},
			"slo: CloudWatch GetMetricData: operation error CloudWatch: GetMetricData",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fail != nil {
				tc.fail()
			}
			src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: fake.Client(), Regions: tc.regions, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Counts(context.Background(), []slo.Query{tc.q})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
	if _, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{}); err == nil || err.Error() != "slo: the CloudWatch source needs a client" {
		t.Errorf("a source without a client: err = %v", err)
	}
}

// Timeslices over CloudWatch count the same good minutes as in memory.
func TestCloudWatchSourceCountsTimeslices(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := newCWTrace(start, time.Minute, 3*24*60)
	clk := clock.NewFake(start)
	fake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	tr.publish(t, fake.Client(), clk)
	now := tr.at(tr.n).Add(-11 * time.Hour)
	var slos []slo.SLO
	for _, s := range cwSLOs(slo.CalendarWindow(slo.Week, time.UTC)) {
		s.Budgeting = slo.Budgeting{Method: slo.Timeslices, SliceThreshold: 0.98}
		slos = append(slos, s)
	}
	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: fake.Client(), Regions: tr.regions, Clock: clock.NewFake(now)})
	if err != nil {
		t.Fatal(err)
	}
	want := evaluateWith(t, tr.memory(t), now, slos)
	sameDecisions(t, evaluateWith(t, src, now, slos), want)
	if want[0].Budget.Total == 0 || want[0].Budget.Good == want[0].Budget.Total {
		t.Errorf("the week has %+v slices; want some good and some bad", want[0].Budget.Counts)
	}
}

// One SLO whose query CloudWatch refuses (a statistic it does not know)
// fails alone: the SLOs beside it are evaluated from the same data as
// without it, and it is an error with CloudWatch's own message. Throttling
// is nobody's query at fault: it is not split into more calls, and every
// SLO of the round shows it.
func TestCloudWatchSourceIsolatesARefusedQuery(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := newCWTrace(start, time.Minute, 2*24*60)
	clk := clock.NewFake(start)
	fake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	tr.publish(t, fake.Client(), clk)
	now := tr.at(tr.n).Add(-13 * time.Hour)
	good := cwSLOs(slo.RollingWindow(24 * time.Hour))
	bogus := *cwALB.Total
	bogus.Statistic = "Sum-ish"
	broken := slo.SLO{Name: "broken", SLI: slo.SLI{Kind: slo.SLIRatio, Good: cwALB.Total, Total: &bogus}, Objective: 0.99, Window: slo.RollingWindow(24 * time.Hour)}
	want := evaluateWith(t, tr.memory(t), now, good)

	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: fake.Client(), Regions: tr.regions, Clock: clock.NewFake(now)})
	if err != nil {
		t.Fatal(err)
	}
	all := append([]slo.SLO{good[0], good[1], broken}, good[2:]...)
	got := evaluateWith(t, src, now, all)
	b := got[2]
	if b.State != slo.StateError || b.Err == nil || !strings.Contains(b.Err.Error(), "Sum-ish") {
		t.Fatalf("the broken SLO: state %s, err %v; want an error naming the statistic", b.State, b.Err)
	}
	sameDecisions(t, append(got[:2:2], got[3:]...), want)
	// The first call fails; halving by SLI (five SLIs: 2, then 3, then 1
	// and 2, then 1 and 1) takes 7 more.
	if n := src.Calls(); n > 8 {
		t.Errorf("%d GetMetricData calls to isolate one refused query among five SLIs, want at most 8", n)
	}

	// Throttle every attempt the SDK's retryer makes, then clear.
	fake.Throttle("GetMetricData", 100)
	defer fake.ClearFaults()
	src2, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: fake.Client(), Regions: tr.regions, Clock: clock.NewFake(now)})
	if err != nil {
		t.Fatal(err)
	}
	throttled := evaluateWith(t, src2, now, good)
	for _, d := range throttled {
		if d.State != slo.StateError || d.BudgetState != slo.BudgetError {
			t.Errorf("%s under throttling: state %s, budget %s; want error", d.SLO, d.State, d.BudgetState)
		}
	}
	if n := src2.Calls(); n != 1 {
		t.Errorf("throttling took %d calls, want 1: it is not split", n)
	}
}
