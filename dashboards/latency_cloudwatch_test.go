package dashboards

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// cwLatencyHour is one hour of a region's successful runs: how many took
// each latency. Every fourth hour has the slowest tail; over the week each
// region has 1,680,000 runs, so every percentile asked for falls on a whole
// rank and the store's round-half-up rank and CloudWatch's nearest rank
// agree.
func cwLatencyHour(region string, hour int) []struct{ ms, n int64 } {
	ms := map[string][5]int64{
		"eu-west-1": {8, 25, 150, 400, 900},
		"us-east-1": {60, 80, 300, 1200, 2500},
	}[region]
	if hour%4 == 0 {
		return []struct{ ms, n int64 }{{ms[0], 4000}, {ms[1], 5980}, {ms[2], 12}, {ms[4], 8}}
	}
	return []struct{ ms, n int64 }{{ms[0], 4000}, {ms[1], 5980}, {ms[2], 16}, {ms[3], 4}}
}

// cwLatencyWant is each region's p50, p99.9 and p99.99 over the week, in ms,
// from the cumulative shares: 40% at the first latency, 99.8% at the
// second, 99.95% at the third, 99.98% at the fourth.
var cwLatencyWant = map[string][]float64{
	"eu-west-1": {25, 150, 900},
	"us-east-1": {80, 300, 2500},
}

var cwLatencyPercents = []float64{50, 99.9, 99.99}

// cwLatencyWeek is a week of checkout runs in eu-west-1 and us-east-1 (and
// search runs in ap-southeast-2), written by the real sinks to a SQLite
// store and, through the SDK, to the CloudWatch fake.
type cwLatencyWeek struct {
	from, to time.Time
	clk      *clock.Fake
	cw       *awsfake.CloudWatch
	store    *metrics.Store
}

func newCWLatencyWeek(t *testing.T) *cwLatencyWeek {
	t.Helper()
	ctx := context.Background()
	w := &cwLatencyWeek{from: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)}
	w.to = w.from.AddDate(0, 0, 7)
	// PutMetricData takes timestamps up to two weeks old: publish as the
	// week ends.
	w.clk = clock.NewFake(w.to)

	var b metrics.Batch
	add := func(canary, region string, start time.Time, mix []struct{ ms, n int64 }) {
		h := metrics.NewLatencyHistogram(metrics.DefaultPrecision)
		var n int64
		for _, m := range mix {
			if err := h.RecordValues(m.ms*1000, m.n); err != nil {
				t.Fatal(err)
			}
			n += m.n
		}
		b.Aggregates = append(b.Aggregates, &metrics.Aggregate{Series: metrics.Series{Canary: canary, Region: region},
			Start: start, Period: time.Hour, Attempts: n, Successes: n, Latency: h})
	}
	for hour := range 7 * 24 {
		start := w.from.Add(time.Duration(hour) * time.Hour)
		for _, region := range []string{"eu-west-1", "us-east-1"} {
			add("checkout", region, start, cwLatencyHour(region, hour))
		}
		add("search", "ap-southeast-2", start, []struct{ ms, n int64 }{{30, 100}})
	}

	st, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: filepath.Join(t.TempDir(), "nines.db"), Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(ctx) })
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	w.store = st

	w.cw = awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: w.clk})
	sink, err := metrics.NewCloudWatch(ctx, metrics.CloudWatchConfig{Client: w.cw.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Publish(ctx, b); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *cwLatencyWeek) source(client slo.GetMetricDataAPI, regions ...string) *CloudWatchLatency {
	if client == nil {
		client = w.cw.Client()
	}
	if regions == nil {
		regions = []string{"eu-west-1", "us-east-1", "ap-southeast-2"}
	}
	return &CloudWatchLatency{Client: client, Regions: regions, Clock: w.clk}
}

// sameLatency fails unless got has exactly want's regions, each value within
// one HDR bucket at the default precision (3 significant figures: a bucket
// is at most 0.1% wide). Regions differ by 2x or more and percents within a
// region by 3x or more, so a mixed-up region or percent cannot pass.
func sameLatency(t *testing.T, what string, got, want map[string][]float64) {
	t.Helper()
	regions := func(m map[string][]float64) []string {
		var out []string
		for r := range m {
			out = append(out, r)
		}
		slices.Sort(out)
		return out
	}
	if g, w := regions(got), regions(want); !slices.Equal(g, w) {
		t.Fatalf("%s: regions %v, want %v", what, g, w)
	}
	tol := math.Pow(10, -metrics.DefaultPrecision)
	for r, w := range want {
		g := got[r]
		if len(g) != len(w) {
			t.Fatalf("%s: %s has %d values, want %d", what, r, len(g), len(w))
		}
		for i := range w {
			if math.Abs(g[i]-w[i]) > tol*w[i] {
				t.Errorf("%s: %s p%v = %v ms, want %v ms (within %g%%)", what, r, cwLatencyPercents[i], g[i], w[i], tol*100)
			}
		}
	}
}

// CloudWatch's percentiles of what the real sink published are the known
// values of the week's runs, and what the local store gives for the same
// runs, from one GetMetricData call. A region without data for the canary
// is absent, and so is everything before the week and in another
// namespace.
func TestCloudWatchLatencyMatchesTheKnownValuesAndTheStore(t *testing.T) {
	ctx := context.Background()
	w := newCWLatencyWeek(t)
	src := w.source(nil)

	got, err := src.Percentiles(ctx, "checkout", w.from, w.to, cwLatencyPercents)
	if err != nil {
		t.Fatal(err)
	}
	sameLatency(t, "CloudWatch against the known values", got, cwLatencyWant)
	local, err := StoreSources{Store: w.store}.Percentiles(ctx, "checkout", w.from, w.to, cwLatencyPercents)
	if err != nil {
		t.Fatal(err)
	}
	sameLatency(t, "CloudWatch against the store", got, local)
	if src.Calls() != 1 || w.cw.Calls("GetMetricData") != 1 {
		t.Errorf("Calls() = %d, the fake saw %d GetMetricData calls; want 1 and 1", src.Calls(), w.cw.Calls("GetMetricData"))
	}

	t.Run("The week before has no data, so no regions", func(t *testing.T) {
		prev, err := src.Percentiles(ctx, "checkout", w.from.AddDate(0, 0, -7), w.from, cwLatencyPercents)
		if err != nil {
			t.Fatal(err)
		}
		sameLatency(t, "the week before", prev, map[string][]float64{})
	})
	t.Run("Another canary reads only its own region", func(t *testing.T) {
		search, err := src.Percentiles(ctx, "search", w.from, w.to, []float64{50})
		if err != nil {
			t.Fatal(err)
		}
		if len(search) != 1 || math.Abs(search["ap-southeast-2"][0]-30) > 0.03 {
			t.Errorf("search = %v, want only ap-southeast-2 at 30 ms", search)
		}
	})
	t.Run("The namespace is the one asked for", func(t *testing.T) {
		other := w.source(nil)
		other.Namespace = "Other"
		m, err := other.Percentiles(ctx, "checkout", w.from, w.to, cwLatencyPercents)
		if err != nil {
			t.Fatal(err)
		}
		sameLatency(t, "namespace Other", m, map[string][]float64{})
	})
}

// More than 500 region x percent queries take a second call, and a page
// per datapoint gives the same answer as one page.
func TestCloudWatchLatencyChunksAndPages(t *testing.T) {
	ctx := context.Background()
	w := newCWLatencyWeek(t)

	t.Run("167 regions of 3 percents are 501 queries: two calls", func(t *testing.T) {
		regions := []string{"eu-west-1"}
		for i := range 165 {
			regions = append(regions, fmt.Sprintf("xx-nodata-%d", i))
		}
		// us-east-1 comes last, so its queries are in the second call.
		src := w.source(nil, append(regions, "us-east-1")...)
		before := w.cw.Calls("GetMetricData")
		got, err := src.Percentiles(ctx, "checkout", w.from, w.to, cwLatencyPercents)
		if err != nil {
			t.Fatal(err)
		}
		sameLatency(t, "chunked", got, cwLatencyWant)
		if n := w.cw.Calls("GetMetricData") - before; src.Calls() != 2 || n != 2 {
			t.Errorf("Calls() = %d, the fake saw %d; want 2", src.Calls(), n)
		}
	})
	t.Run("One datapoint a page: six pages, same answer", func(t *testing.T) {
		src := w.source(nil)
		src.maxDatapoints = 1
		before := w.cw.Calls("GetMetricData")
		got, err := src.Percentiles(ctx, "checkout", w.from, w.to, cwLatencyPercents)
		if err != nil {
			t.Fatal(err)
		}
		sameLatency(t, "paged", got, cwLatencyWant)
		if n := w.cw.Calls("GetMetricData") - before; src.Calls() != 6 || n != 6 {
			t.Errorf("Calls() = %d, the fake saw %d; want 6 (2 regions x 3 percents)", src.Calls(), n)
		}
	})
}

// rewriteResults passes calls to the real client and edits what comes back,
// for what the fake never answers: a failed query, a missing percentile.
type rewriteResults struct {
	client slo.GetMetricDataAPI
	edit   func(*types.MetricDataResult)
}

func (r rewriteResults) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	out, err := r.client.GetMetricData(ctx, in, optFns...)
	if err == nil {
		for i := range out.MetricDataResults {
			r.edit(&out.MetricDataResults[i])
		}
	}
	return out, err
}

func TestCloudWatchLatencyErrors(t *testing.T) {
	ctx := context.Background()
	w := newCWLatencyWeek(t)
	onResult := func(id string, edit func(*types.MetricDataResult)) slo.GetMetricDataAPI {
		return rewriteResults{client: w.cw.Client(), edit: func(res *types.MetricDataResult) {
			if aws.ToString(res.Id) == id {
				edit(res)
			}
		}}
	}
	longAgo := w.to.AddDate(0, 0, -20).Truncate(time.Hour)
	cases := []struct {
		name     string
		src      *CloudWatchLatency
		from, to time.Time
		percents []float64
		want     []string // in the error; none: no error
		calls    int64
	}{
		{name: "A span that is not whole minutes is refused before any call",
			src: w.source(nil), from: w.from, to: w.to.Add(-30 * time.Second),
			want: []string{"CloudWatch GetMetricData: ", "whole minutes"}},
		{name: "A start off the minute is refused",
			src: w.source(nil), from: w.from.Add(10 * time.Second), to: w.to.Add(10 * time.Second),
			want: []string{"whole minutes"}},
		{name: "A range ending before it starts is refused",
			src: w.source(nil), from: w.to, to: w.from,
			want: []string{"whole minutes"}},
		{name: "No regions names the settings that give them",
			src: w.source(nil, []string{}...), from: w.from, to: w.to,
			want: []string{"CloudWatch GetMetricData: ", "deploy.agent_regions", "dashboards.regions"}},
		{name: "Twenty days back, a span of 62 minutes is not whole 5-minute periods",
			src: w.source(nil), from: longAgo, to: longAgo.Add(62 * time.Minute),
			want: []string{"5m", "whole multiples"}},
		{name: "Twenty days back, a span of 60 minutes is fine and empty",
			src: w.source(nil), from: longAgo, to: longAgo.Add(60 * time.Minute), calls: 1},
		{name: "Before the 455 days CloudWatch keeps is refused",
			src: w.source(nil), from: w.from.AddDate(-2, 0, 0), to: w.from.AddDate(-2, 0, 7),
			want: []string{"455 days"}},
		{name: "A percentile with three decimals is refused",
			src: w.source(nil), from: w.from, to: w.to, percents: []float64{99.999},
			want: []string{"99.999", "two decimals"}},
		{name: "A failed query is an error naming it and CloudWatch's message",
			src: w.source(onResult("r0_p1", func(res *types.MetricDataResult) {
				res.StatusCode = types.StatusCodeForbidden
				res.Messages = []types.MessageData{{Code: aws.String("AccessDenied"), Value: aws.String("no cloudwatch:GetMetricData")}}
			})),
			from: w.from, to: w.to, calls: 1,
			want: []string{"CloudWatch GetMetricData: ", "r0_p1", "p99.9 in eu-west-1", "Forbidden", "AccessDenied: no cloudwatch:GetMetricData"}},
		{name: "Two datapoints for one period are an error",
			src: w.source(onResult("r1_p0", func(res *types.MetricDataResult) {
				res.Timestamps = append(res.Timestamps, res.Timestamps...)
				res.Values = append(res.Values, res.Values...)
			})),
			from: w.from, to: w.to, calls: 1,
			want: []string{"r1_p0", "p50 in us-east-1", "more than one datapoint"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			percents := c.percents
			if percents == nil {
				percents = cwLatencyPercents
			}
			got, err := c.src.Percentiles(ctx, "checkout", c.from, c.to, percents)
			if len(c.want) == 0 {
				if err != nil || len(got) != 0 {
					t.Errorf("got %v, %v; want no regions and no error", got, err)
				}
			} else if err == nil {
				t.Errorf("got %v and no error; want one with %q", got, c.want)
			} else {
				for _, s := range c.want {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
			}
			if c.src.Calls() != c.calls {
				t.Errorf("Calls() = %d, want %d", c.src.Calls(), c.calls)
			}
		})
	}

	t.Run("A region missing one percentile is left out, the others kept", func(t *testing.T) {
		src := w.source(onResult("r0_p2", func(res *types.MetricDataResult) { res.Timestamps, res.Values = nil, nil }))
		got, err := src.Percentiles(ctx, "checkout", w.from, w.to, cwLatencyPercents)
		if err != nil {
			t.Fatal(err)
		}
		sameLatency(t, "eu-west-1 without p99.99", got, map[string][]float64{"us-east-1": cwLatencyWant["us-east-1"]})
	})
	t.Run("Without a client is an error", func(t *testing.T) {
		if _, err := (&CloudWatchLatency{Regions: []string{"eu-west-1"}}).Percentiles(ctx, "checkout", w.from, w.to, cwLatencyPercents); err == nil {
			t.Error("no error")
		}
	})
}

// *CloudWatchLatency is a LatencySource.
var _ LatencySource = (*CloudWatchLatency)(nil)
