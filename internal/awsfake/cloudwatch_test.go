package awsfake

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/nines-dev/nines/internal/clock"
)

// cwT0 is the start of every test's hour of data; the fake clock reads an
// hour later, so the whole hour is in the past.
var cwT0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func newTestCloudWatch(t *testing.T) (*CloudWatch, *cloudwatch.Client, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(cwT0.Add(time.Hour))
	cw := NewCloudWatchT(t, CloudWatchConfig{Clock: clk})
	return cw, cw.Client(), clk
}

func cwDims(kv ...string) []types.Dimension {
	var out []types.Dimension
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Dimension{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// cwDistribution is a latency distribution with known values and counts.
func cwDistribution(n int, seed uint64) (values, counts []float64) {
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range n {
		values = append(values, float64(i+1)*1.5)
		counts = append(counts, float64(1+r.IntN(20)))
	}
	return values, counts
}

// cwSplit splits values and counts into datums of at most 150 each, the
// way the metrics sink publishes a histogram.
func cwSplit(name string, dims []types.Dimension, ts time.Time, values, counts []float64) []types.MetricDatum {
	var out []types.MetricDatum
	for start := 0; start < len(values); start += 150 {
		end := min(start+150, len(values))
		out = append(out, types.MetricDatum{
			MetricName: aws.String(name), Dimensions: dims, Timestamp: aws.Time(ts), Unit: types.StandardUnitMilliseconds,
			Values: values[start:end], Counts: counts[start:end],
		})
	}
	return out
}

// cwNearestRank is the percentile computed directly over the expanded
// samples: the value at rank ceil(p/100 * N).
func cwNearestRank(values, counts []float64, p float64) float64 {
	var all []float64
	for i, v := range values {
		for range int(counts[i]) {
			all = append(all, v)
		}
	}
	slices.Sort(all)
	rank := int(math.Ceil(p / 100 * float64(len(all))))
	return all[max(rank, 1)-1]
}

func cwPercentRank(values, counts []float64, lower, upper float64) float64 {
	in, total := 0.0, 0.0
	for i, v := range values {
		total += counts[i]
		if v > lower && v <= upper {
			in += counts[i]
		}
	}
	return 100 * in / total
}

func TestCloudWatchPutMetricDataStoresEveryKindOfDatum(t *testing.T) {
	cw, client, _ := newTestCloudWatch(t)
	ctx := context.Background()
	dims := cwDims("Canary", "home", "Region", "eu-west-1")
	values, counts := cwDistribution(400, 1)
	data := cwSplit("Latency", dims, cwT0.Add(time.Minute), values, counts)
	data = append(data,
		types.MetricDatum{MetricName: aws.String("Attempts"), Dimensions: dims, Value: aws.Float64(3), Unit: types.StandardUnitCount, StorageResolution: aws.Int32(1)},
		types.MetricDatum{MetricName: aws.String("Successes"), Dimensions: dims, Timestamp: aws.Time(cwT0),
			StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(4), Sum: aws.Float64(10), Minimum: aws.Float64(1), Maximum: aws.Float64(4)}},
	)
	if _, err := client.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}

	got := cw.Datums()
	if len(got) != 5 {
		t.Fatalf("stored %d datums, want 5 (3 latency splits, 1 value, 1 statistic set)", len(got))
	}
	var joinedValues, joinedCounts []float64
	for _, d := range got[:3] {
		if d.Namespace != "Nines" || d.MetricName != "Latency" || d.Unit != "Milliseconds" || d.StorageResolution != 60 {
			t.Errorf("latency datum = %+v", d)
		}
		if d.Dimensions["Canary"] != "home" || d.Dimensions["Region"] != "eu-west-1" || len(d.Dimensions) != 2 {
			t.Errorf("dimensions = %v", d.Dimensions)
		}
		if !d.Timestamp.Equal(cwT0.Add(time.Minute)) {
			t.Errorf("timestamp = %s", d.Timestamp)
		}
		joinedValues = append(joinedValues, d.Values...)
		joinedCounts = append(joinedCounts, d.Counts...)
	}
	if !slices.Equal(joinedValues, values) || !slices.Equal(joinedCounts, counts) {
		t.Error("the split Values/Counts do not join back into the distribution sent")
	}
	if d := got[3]; d.Value == nil || *d.Value != 3 || d.StorageResolution != 1 || !d.Timestamp.Equal(cwT0.Add(time.Hour)) {
		t.Errorf("value datum = %+v; want value 3, resolution 1, timestamp defaulted to the fake's now", d)
	}
	if d := got[4]; d.StatisticValues == nil || *d.StatisticValues != (StatisticSet{4, 10, 1, 4}) || d.Unit != "None" {
		t.Errorf("statistic set datum = %+v", d)
	}

	wantCount := 0.0
	for _, n := range counts {
		wantCount += n
	}
	metric := Metric{Namespace: "Nines", MetricName: "Latency", Dimensions: map[string]string{"Canary": "home", "Region": "eu-west-1"}}
	if n, ok, err := cw.Statistic(metric, "SampleCount", cwT0, cwT0.Add(time.Hour)); err != nil || !ok || n != wantCount {
		t.Errorf("SampleCount = %v, %v, %v; want %v", n, ok, err, wantCount)
	}
	metric.Dimensions = map[string]string{"Canary": "home"}
	if _, ok, _ := cw.Statistic(metric, "SampleCount", cwT0, cwT0.Add(time.Hour)); ok {
		t.Error("a subset of the dimensions matched; CloudWatch matches the exact set")
	}
}

func TestCloudWatchGzipsLargeBatches(t *testing.T) {
	cw, client, _ := newTestCloudWatch(t)
	var data []types.MetricDatum
	for i := range 400 {
		data = append(data, types.MetricDatum{
			MetricName: aws.String("Attempts"), Dimensions: cwDims("Canary", fmt.Sprintf("canary-%03d", i), "Region", "us-east-1"),
			Timestamp: aws.Time(cwT0), Value: aws.Float64(float64(i)),
		})
	}
	if _, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	cw.mu.Lock()
	gzipped := cw.gzipped
	cw.mu.Unlock()
	if gzipped != 1 {
		t.Errorf("gzipped requests = %d, want 1: a body over 10 KB should arrive gzipped", gzipped)
	}
	if n := len(cw.Datums()); n != 400 {
		t.Errorf("stored %d datums, want 400", n)
	}
}

func TestCloudWatchPutMetricDataLimits(t *testing.T) {
	datum := func(mod func(*types.MetricDatum)) []types.MetricDatum {
		d := types.MetricDatum{MetricName: aws.String("Latency"), Timestamp: aws.Time(cwT0), Value: aws.Float64(1)}
		mod(&d)
		return []types.MetricDatum{d}
	}
	many := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(i)
		}
		return out
	}
	now := cwT0.Add(time.Hour)
	cases := []struct {
		name     string
		data     []types.MetricDatum
		wantCode string // empty: accepted
	}{
		{"A batch of 1000 datums is accepted", slices.Repeat(datum(func(*types.MetricDatum) {}), 1000), ""},
		{"A batch of 1001 datums is rejected", slices.Repeat(datum(func(*types.MetricDatum) {}), 1001), "InvalidParameterValue"},
		{"150 values in a datum are accepted", datum(func(d *types.MetricDatum) { d.Value = nil; d.Values = many(150) }), ""},
		{"151 values in a datum are rejected", datum(func(d *types.MetricDatum) { d.Value = nil; d.Values = many(151) }), "InvalidParameterValue"},
		{"Counts of another length than values are rejected", datum(func(d *types.MetricDatum) { d.Value = nil; d.Values = many(3); d.Counts = []float64{1, 2} }), "InvalidParameterValue"},
		{"A NaN value is rejected", datum(func(d *types.MetricDatum) { d.Value = aws.Float64(math.NaN()) }), "InvalidParameterValue"},
		{"An infinite value among values is rejected", datum(func(d *types.MetricDatum) { d.Value = nil; d.Values = []float64{1, math.Inf(1)} }), "InvalidParameterValue"},
		{"A negative infinite count is rejected", datum(func(d *types.MetricDatum) { d.Value = nil; d.Values = []float64{1}; d.Counts = []float64{math.Inf(-1)} }), "InvalidParameterValue"},
		{"30 dimensions are accepted", datum(func(d *types.MetricDatum) {
			for i := range 30 {
				d.Dimensions = append(d.Dimensions, cwDims(fmt.Sprintf("d%d", i), "x")...)
			}
		}), ""},
		{"31 dimensions are rejected", datum(func(d *types.MetricDatum) {
			for i := range 31 {
				d.Dimensions = append(d.Dimensions, cwDims(fmt.Sprintf("d%d", i), "x")...)
			}
		}), "InvalidParameterValue"},
		{"Storage resolution 1 is accepted", datum(func(d *types.MetricDatum) { d.StorageResolution = aws.Int32(1) }), ""},
		{"Storage resolution 5 is rejected", datum(func(d *types.MetricDatum) { d.StorageResolution = aws.Int32(5) }), "InvalidParameterValue"},
		{"A timestamp just under two weeks old is accepted", datum(func(d *types.MetricDatum) { d.Timestamp = aws.Time(now.Add(-14*24*time.Hour + time.Minute)) }), ""},
		{"A timestamp over two weeks old is rejected", datum(func(d *types.MetricDatum) { d.Timestamp = aws.Time(now.Add(-14*24*time.Hour - time.Minute)) }), "InvalidParameterValue"},
		{"A timestamp two hours ahead is accepted", datum(func(d *types.MetricDatum) { d.Timestamp = aws.Time(now.Add(2 * time.Hour)) }), ""},
		{"A timestamp over two hours ahead is rejected", datum(func(d *types.MetricDatum) { d.Timestamp = aws.Time(now.Add(2*time.Hour + time.Minute)) }), "InvalidParameterValue"},
		{"A value together with values is rejected", datum(func(d *types.MetricDatum) { d.Values = []float64{1} }), "InvalidParameterCombination"},
		{"A datum without any value is rejected", datum(func(d *types.MetricDatum) { d.Value = nil }), "MissingParameter"},
		{"A dimension value of printable ASCII is accepted", datum(func(d *types.MetricDatum) { d.Dimensions = cwDims("Canary", "checkout/eu-west-1 :#~") }), ""},
		{"A dimension value with a non-ASCII letter is rejected", datum(func(d *types.MetricDatum) { d.Dimensions = cwDims("Canary", "zürich") }), "InvalidParameterValue"},
		{"A blank dimension value is rejected", datum(func(d *types.MetricDatum) { d.Dimensions = cwDims("Canary", "   ") }), "InvalidParameterValue"},
		{"A dimension value with a control character is rejected", datum(func(d *types.MetricDatum) { d.Dimensions = cwDims("Canary", "check\tout") }), "InvalidParameterValue"},
		{"A dimension value with DEL is rejected", datum(func(d *types.MetricDatum) { d.Dimensions = cwDims("Canary", "check\x7fout") }), "InvalidParameterValue"},
		{"A dimension name starting with a colon is rejected", datum(func(d *types.MetricDatum) { d.Dimensions = cwDims(":Canary", "checkout") }), "InvalidParameterValue"},
		{"A dimension name with a colon inside is accepted", datum(func(d *types.MetricDatum) { d.Dimensions = cwDims("Canary:Name", "checkout") }), ""},
		{"A dimension name with a non-ASCII letter is rejected", datum(func(d *types.MetricDatum) { d.Dimensions = cwDims("Kanärie", "checkout") }), "InvalidParameterValue"},
		{"A blank dimension name is rejected", datum(func(d *types.MetricDatum) { d.Dimensions = cwDims(" ", "checkout") }), "InvalidParameterValue"},
		{"A dimension name with a control character is rejected", datum(func(d *types.MetricDatum) { d.Dimensions = cwDims("Can\nary", "checkout") }), "InvalidParameterValue"},
		{"A value of 2^360 is accepted", datum(func(d *types.MetricDatum) { d.Value = aws.Float64(math.Ldexp(1, 360)) }), ""},
		{"A value of -2^360 is accepted", datum(func(d *types.MetricDatum) { d.Value = aws.Float64(-math.Ldexp(1, 360)) }), ""},
		{"A value of zero is accepted", datum(func(d *types.MetricDatum) { d.Value = aws.Float64(0) }), ""},
		{"A value of 2^-360 is accepted", datum(func(d *types.MetricDatum) { d.Value = aws.Float64(math.Ldexp(1, -360)) }), ""},
		{"A value past 2^360 is rejected", datum(func(d *types.MetricDatum) { d.Value = aws.Float64(math.Nextafter(math.Ldexp(1, 360), math.Inf(1))) }), "InvalidParameterValue"},
		{"A value past -2^360 is rejected", datum(func(d *types.MetricDatum) { d.Value = aws.Float64(-math.Ldexp(1, 361)) }), "InvalidParameterValue"},
		{"A value smaller in magnitude than 2^-360 is rejected", datum(func(d *types.MetricDatum) { d.Value = aws.Float64(-math.Ldexp(1, -361)) }), "InvalidParameterValue"},
		{"A value past 2^360 among values is rejected", datum(func(d *types.MetricDatum) { d.Value = nil; d.Values = []float64{1, 1e300} }), "InvalidParameterValue"},
		{"A statistic set whose sum is past 2^360 is rejected", datum(func(d *types.MetricDatum) {
			d.Value = nil
			d.StatisticValues = &types.StatisticSet{SampleCount: aws.Float64(2), Sum: aws.Float64(1e200), Minimum: aws.Float64(1), Maximum: aws.Float64(2)}
		}), "InvalidParameterValue"},
		{"A body over 1 MB is rejected", slices.Repeat(datum(func(d *types.MetricDatum) { d.Value = nil; d.Values = many(150) }), 1000), "RequestEntityTooLarge"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cw, client, _ := newTestCloudWatch(t)
			_, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: tc.data})
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("PutMetricData: %v", err)
				}
				if len(cw.Datums()) != len(tc.data) {
					t.Fatalf("stored %d datums, want %d", len(cw.Datums()), len(tc.data))
				}
				return
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.wantCode {
				t.Fatalf("error = %v, want code %s", err, tc.wantCode)
			}
			if len(cw.Datums()) != 0 {
				t.Error("a rejected batch stored datums")
			}
			if cw.Calls("PutMetricData") != 1 {
				t.Errorf("calls = %d, want 1: a validation error is not retried", cw.Calls("PutMetricData"))
			}
			// The SDK surfaces modelled errors as their own types.
			switch tc.wantCode {
			case "InvalidParameterValue":
				var typed *types.InvalidParameterValueException
				if !errors.As(err, &typed) {
					t.Errorf("error %T is not *types.InvalidParameterValueException", err)
				}
			case "InvalidParameterCombination":
				var typed *types.InvalidParameterCombinationException
				if !errors.As(err, &typed) {
					t.Errorf("error %T is not *types.InvalidParameterCombinationException", err)
				}
			case "MissingParameter":
				var typed *types.MissingRequiredParameterException
				if !errors.As(err, &typed) {
					t.Errorf("error %T is not *types.MissingRequiredParameterException", err)
				}
			}
		})
	}
}

// cwGet runs one GetMetricData call over the test hour.
func cwGet(t *testing.T, client *cloudwatch.Client, scanBy types.ScanBy, queries ...types.MetricDataQuery) map[string]types.MetricDataResult {
	t.Helper()
	out, err := client.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(cwT0), EndTime: aws.Time(cwT0.Add(time.Hour)), MetricDataQueries: queries, ScanBy: scanBy,
	})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	results := map[string]types.MetricDataResult{}
	for _, r := range out.MetricDataResults {
		if r.StatusCode != types.StatusCodeComplete {
			t.Errorf("%s: status %s, want Complete", aws.ToString(r.Id), r.StatusCode)
		}
		results[aws.ToString(r.Id)] = r
	}
	return results
}

func cwStatQuery(id, name string, dims []types.Dimension, period int32, stat string) types.MetricDataQuery {
	return types.MetricDataQuery{Id: aws.String(id), MetricStat: &types.MetricStat{
		Metric: &types.Metric{Namespace: aws.String("Nines"), MetricName: aws.String(name), Dimensions: dims},
		Period: aws.Int32(period), Stat: aws.String(stat),
	}}
}

func TestCloudWatchStatisticsMatchADirectComputation(t *testing.T) {
	cw, client, _ := newTestCloudWatch(t)
	dims := cwDims("Canary", "checkout")
	values, counts := cwDistribution(700, 7)
	// Two agents publish halves of the distribution; CloudWatch merges them.
	data := cwSplit("Latency", dims, cwT0.Add(10*time.Minute), values[:350], counts[:350])
	data = append(data, cwSplit("Latency", dims, cwT0.Add(40*time.Minute), values[350:], counts[350:])...)
	for start := 0; start < len(data); start += 2 {
		if _, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{
			Namespace: aws.String("Nines"), MetricData: data[start:min(start+2, len(data))],
		}); err != nil {
			t.Fatalf("PutMetricData: %v", err)
		}
	}
	sum, n := 0.0, 0.0
	for i, v := range values {
		sum += v * counts[i]
		n += counts[i]
	}
	cases := []struct {
		stat string
		want float64
	}{
		{"SampleCount", n},
		{"Sum", sum},
		{"Average", sum / n},
		{"Minimum", values[0]},
		{"Maximum", values[len(values)-1]},
		{"p50", cwNearestRank(values, counts, 50)},
		{"p90", cwNearestRank(values, counts, 90)},
		{"p99", cwNearestRank(values, counts, 99)},
		{"p99.9", cwNearestRank(values, counts, 99.9)},
		{"p99.99", cwNearestRank(values, counts, 99.99)},
		{"p100", values[len(values)-1]},
		{"PR(:300)", cwPercentRank(values, counts, math.Inf(-1), 300)},
		{"PR(150:600)", cwPercentRank(values, counts, 150, 600)},
		{"PR(900:)", cwPercentRank(values, counts, 900, math.Inf(1))},
		{"PR(:1.5)", cwPercentRank(values, counts, math.Inf(-1), 1.5)},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s over the hour equals the direct computation", tc.stat), func(t *testing.T) {
			res := cwGet(t, client, "", cwStatQuery("m", "Latency", dims, 3600, tc.stat))["m"]
			if len(res.Values) != 1 || !res.Timestamps[0].Equal(cwT0) {
				t.Fatalf("got %v at %v, want one datapoint at %s", res.Values, res.Timestamps, cwT0)
			}
			if math.Abs(res.Values[0]-tc.want) > 1e-9*math.Max(1, math.Abs(tc.want)) {
				t.Errorf("%s = %v, want %v", tc.stat, res.Values[0], tc.want)
			}
			got, ok, err := cw.Statistic(Metric{Namespace: "Nines", MetricName: "Latency", Dimensions: map[string]string{"Canary": "checkout"}}, tc.stat, cwT0, cwT0.Add(time.Hour))
			if err != nil || !ok || math.Abs(got-res.Values[0]) > 1e-9*math.Max(1, math.Abs(got)) {
				t.Errorf("Statistic helper = %v, %v, %v; GetMetricData said %v", got, ok, err, res.Values[0])
			}
		})
	}

	t.Run("Percentiles are unavailable over a statistic set of unequal samples", func(t *testing.T) {
		_, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: []types.MetricDatum{{
			MetricName: aws.String("Latency"), Dimensions: cwDims("Canary", "sets"), Timestamp: aws.Time(cwT0),
			StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(3), Sum: aws.Float64(6), Minimum: aws.Float64(1), Maximum: aws.Float64(3)},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		res := cwGet(t, client, "", cwStatQuery("p", "Latency", cwDims("Canary", "sets"), 3600, "p99"), cwStatQuery("s", "Latency", cwDims("Canary", "sets"), 3600, "Sum"))
		if len(res["p"].Values) != 0 {
			t.Errorf("p99 = %v, want no datapoint", res["p"].Values)
		}
		if !slices.Equal(res["s"].Values, []float64{6}) {
			t.Errorf("Sum = %v, want [6]", res["s"].Values)
		}
	})
}

func TestCloudWatchMetricMath(t *testing.T) {
	_, client, _ := newTestCloudWatch(t)
	ctx := context.Background()
	// Per region, per 5-minute period k: Attempts 10, Successes 10-k, over
	// the first four periods. eu-west-1 skips period 2.
	var data []types.MetricDatum
	regions := []string{"us-east-1", "eu-west-1", "ap-south-1"}
	for _, region := range regions {
		for k := range 4 {
			if region == "eu-west-1" && k == 2 {
				continue
			}
			ts := aws.Time(cwT0.Add(time.Duration(k)*5*time.Minute + time.Minute))
			dims := cwDims("Canary", "home", "Region", region)
			data = append(data,
				types.MetricDatum{MetricName: aws.String("Attempts"), Dimensions: dims, Timestamp: ts, Value: aws.Float64(10)},
				types.MetricDatum{MetricName: aws.String("Successes"), Dimensions: dims, Timestamp: ts, Value: aws.Float64(float64(10 - k))},
			)
		}
	}
	if _, err := client.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	hidden := func(q types.MetricDataQuery) types.MetricDataQuery { q.ReturnData = aws.Bool(false); return q }
	var queries []types.MetricDataQuery
	for i, region := range regions {
		dims := cwDims("Canary", "home", "Region", region)
		queries = append(queries,
			hidden(cwStatQuery(fmt.Sprintf("a%d", i), "Attempts", dims, 300, "Sum")),
			hidden(cwStatQuery(fmt.Sprintf("s%d", i), "Successes", dims, 300, "Sum")),
		)
	}
	expr := func(id, e string) types.MetricDataQuery {
		return types.MetricDataQuery{Id: aws.String(id), Expression: aws.String(e)}
	}
	queries = append(queries,
		expr("attempts", "SUM([a0, a1, a2])"),
		expr("successes", "SUM([s0,s1,s2])"),
		expr("bad", "attempts - successes"),
		expr("error_pct", "100 * (1 - successes / attempts)"),
		expr("filled", "FILL(s1, 0)"),
		expr("precedence", "-a0 + 2 * (s0 - 1) / 4"),
	)
	ts := func(ks ...int) []time.Time {
		var out []time.Time
		for _, k := range ks {
			out = append(out, cwT0.Add(time.Duration(k)*5*time.Minute))
		}
		return out
	}
	wantAsc := map[string]struct {
		times  []time.Time
		values []float64
	}{
		"attempts":   {ts(0, 1, 2, 3), []float64{30, 30, 20, 30}},
		"successes":  {ts(0, 1, 2, 3), []float64{30, 27, 16, 21}},
		"bad":        {ts(0, 1, 2, 3), []float64{0, 3, 4, 9}},
		"error_pct":  {ts(0, 1, 2, 3), []float64{0, 10, 20, 30}},
		"filled":     {ts(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), []float64{10, 9, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0}},
		"precedence": {ts(0, 1, 2, 3), []float64{-10 + 2*9.0/4, -10 + 2*8.0/4, -10 + 2*7.0/4, -10 + 2*6.0/4}},
	}
	for _, scan := range []types.ScanBy{types.ScanByTimestampAscending, types.ScanByTimestampDescending, ""} {
		name := fmt.Sprintf("Results come back %s", map[types.ScanBy]string{
			types.ScanByTimestampAscending: "oldest first when asked", types.ScanByTimestampDescending: "newest first when asked", "": "newest first by default",
		}[scan])
		t.Run(name, func(t *testing.T) {
			res := cwGet(t, client, scan, queries...)
			if len(res) != len(wantAsc) {
				t.Errorf("got results for %d queries, want %d: ReturnData false must hide the inputs", len(res), len(wantAsc))
			}
			for id, want := range wantAsc {
				times, values := slices.Clone(want.times), slices.Clone(want.values)
				if scan != types.ScanByTimestampAscending {
					slices.Reverse(times)
					slices.Reverse(values)
				}
				got := res[id]
				if !slices.EqualFunc(got.Timestamps, times, time.Time.Equal) {
					t.Errorf("%s timestamps = %v, want %v", id, got.Timestamps, times)
				}
				if !slices.EqualFunc(got.Values, values, func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }) {
					t.Errorf("%s values = %v, want %v", id, got.Values, values)
				}
			}
		})
	}
}

func TestCloudWatchGetMetricDataRejectsBadQueries(t *testing.T) {
	dims := cwDims("Canary", "home")
	good := cwStatQuery("m", "Latency", dims, 60, "p99")
	expr := func(e string) []types.MetricDataQuery {
		return []types.MetricDataQuery{good, {Id: aws.String("e"), Expression: aws.String(e)}}
	}
	many := make([]types.MetricDataQuery, 501)
	for i := range many {
		many[i] = cwStatQuery(fmt.Sprintf("m%d", i), "Latency", dims, 60, "Sum")
	}
	cases := []struct {
		name    string
		queries []types.MetricDataQuery
		max     *int32
	}{
		{"An unknown statistic is rejected", []types.MetricDataQuery{cwStatQuery("m", "Latency", dims, 60, "p101")}, nil},
		{"A misspelt statistic is rejected", []types.MetricDataQuery{cwStatQuery("m", "Latency", dims, 60, "Avg")}, nil},
		{"A percent rank without bounds is rejected", []types.MetricDataQuery{cwStatQuery("m", "Latency", dims, 60, "PR(:)")}, nil},
		{"A period of 45 seconds is rejected", []types.MetricDataQuery{cwStatQuery("m", "Latency", dims, 45, "Sum")}, nil},
		{"An expression with a syntax error is rejected", expr("m +* 2"), nil},
		{"An expression with an unclosed parenthesis is rejected", expr("(m + 2"), nil},
		{"An expression naming a missing id is rejected", expr("m + nope"), nil},
		{"An expression calling an unknown function is rejected", expr("FROB(m)"), nil},
		{"An id starting with a capital is rejected", []types.MetricDataQuery{cwStatQuery("M", "Latency", dims, 60, "Sum")}, nil},
		{"Two queries with one id are rejected", []types.MetricDataQuery{good, good}, nil},
		{"501 queries are rejected", many, nil},
		{"Asking for more than 100,800 datapoints is rejected", []types.MetricDataQuery{good}, aws.Int32(100801)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, client, _ := newTestCloudWatch(t)
			_, err := client.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
				StartTime: aws.Time(cwT0), EndTime: aws.Time(cwT0.Add(time.Hour)), MetricDataQueries: tc.queries, MaxDatapoints: tc.max,
			})
			var typed *types.ValidationException
			if !errors.As(err, &typed) || typed.ErrorCode() != "ValidationError" {
				t.Fatalf("error = %v (%T), want *types.ValidationException with code ValidationError", err, err)
			}
		})
	}
}

func TestCloudWatchGetMetricDataPaginates(t *testing.T) {
	_, client, _ := newTestCloudWatch(t)
	var data []types.MetricDatum
	for k := range 60 {
		data = append(data, types.MetricDatum{MetricName: aws.String("Attempts"), Timestamp: aws.Time(cwT0.Add(time.Duration(k) * time.Minute)), Value: aws.Float64(float64(k))})
	}
	if _, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	p := cloudwatch.NewGetMetricDataPaginator(client, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(cwT0), EndTime: aws.Time(cwT0.Add(time.Hour)), MaxDatapoints: aws.Int32(25), ScanBy: types.ScanByTimestampAscending,
		MetricDataQueries: []types.MetricDataQuery{cwStatQuery("a", "Attempts", nil, 60, "Sum"), cwStatQuery("b", "Attempts", nil, 60, "Maximum")},
	})
	got := map[string][]float64{}
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		n := 0
		for _, r := range page.MetricDataResults {
			got[aws.ToString(r.Id)] = append(got[aws.ToString(r.Id)], r.Values...)
			n += len(r.Values)
		}
		if n > 25 {
			t.Errorf("page %d holds %d datapoints, over MaxDatapoints 25", pages, n)
		}
	}
	if pages != 5 {
		t.Errorf("pages = %d, want 5 for 120 datapoints at 25 a page", pages)
	}
	for _, id := range []string{"a", "b"} {
		if len(got[id]) != 60 || got[id][0] != 0 || got[id][59] != 59 {
			t.Errorf("%s = %v, want 0..59", id, got[id])
		}
	}
}

func TestCloudWatchFaults(t *testing.T) {
	put := func(ctx context.Context, client *cloudwatch.Client) error {
		_, err := client.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: []types.MetricDatum{
			{MetricName: aws.String("Attempts"), Value: aws.Float64(1)},
		}})
		return err
	}
	cases := []struct {
		name      string
		inject    func(cw *CloudWatch)
		wantCode  string // empty: the call succeeds
		wantCalls int
		wantStore int
	}{
		{"Throttling twice is retried and then succeeds", func(cw *CloudWatch) { cw.Throttle("PutMetricData", 2) }, "", 3, 1},
		{"Throttling three times exhausts the SDK's three attempts", func(cw *CloudWatch) { cw.Throttle("", 3) }, "Throttling", 3, 0},
		{"Throttling another operation leaves this one alone", func(cw *CloudWatch) { cw.Throttle("GetMetricData", 5) }, "", 1, 1},
		{"A 500 is retried and then succeeds", func(cw *CloudWatch) { cw.FailStatus("PutMetricData", 1, 500) }, "", 2, 1},
		{"Persistent 500s surface as InternalServiceError", func(cw *CloudWatch) { cw.FailStatus("PutMetricData", 10, 500) }, "InternalServiceError", 3, 0},
		{"A dropped connection is retried and then succeeds", func(cw *CloudWatch) { cw.Drop("PutMetricData", 1) }, "", 2, 1},
		{"An outage fails every attempt with 503", func(cw *CloudWatch) { cw.SetDown(true) }, "ServiceUnavailable", 3, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cw, client, _ := newTestCloudWatch(t)
			tc.inject(cw)
			err := put(context.Background(), client)
			if tc.wantCode == "" && err != nil {
				t.Fatalf("PutMetricData: %v", err)
			}
			if tc.wantCode != "" {
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.wantCode {
					t.Fatalf("error = %v, want code %s", err, tc.wantCode)
				}
			}
			if got := cw.Calls("PutMetricData"); got != tc.wantCalls {
				t.Errorf("calls = %d, want %d", got, tc.wantCalls)
			}
			if got := len(cw.Datums()); got != tc.wantStore {
				t.Errorf("stored %d datums, want %d", got, tc.wantStore)
			}
		})
	}

	t.Run("Persistent 500s surface as the modelled InternalServiceFault", func(t *testing.T) {
		cw, client, _ := newTestCloudWatch(t)
		cw.FailStatus("", 3, 500)
		var typed *types.InternalServiceFault
		if err := put(context.Background(), client); !errors.As(err, &typed) {
			t.Fatalf("error = %v (%T), want *types.InternalServiceFault", err, err)
		}
	})

	t.Run("The outage ends when switched back", func(t *testing.T) {
		cw, client, _ := newTestCloudWatch(t)
		cw.SetDown(true)
		if err := put(context.Background(), client); err == nil {
			t.Fatal("a call succeeded during the outage")
		}
		cw.SetDown(false)
		if err := put(context.Background(), client); err != nil {
			t.Fatalf("after the outage: %v", err)
		}
	})

	t.Run("A hang lasts until the client's timeout", func(t *testing.T) {
		cw, client, _ := newTestCloudWatch(t)
		cw.Hang("PutMetricData", 1)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := put(ctx, client)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want the context deadline", err)
		}
		if got := cw.Calls("PutMetricData"); got != 1 {
			t.Errorf("calls = %d, want 1", got)
		}
		if err := put(context.Background(), client); err != nil {
			t.Errorf("the call after the hang: %v", err)
		}
	})

	t.Run("Closing the fake releases a hanging call", func(t *testing.T) {
		cw, client, _ := newTestCloudWatch(t)
		hanging := make(chan struct{})
		cw.mu.Lock()
		cw.onHang = func() { close(hanging) }
		cw.mu.Unlock()
		cw.Hang("", 1)
		done := make(chan error, 1)
		go func() {
			done <- put(context.Background(), client)
		}()
		<-hanging
		cw.Close()
		if err := <-done; err == nil {
			t.Fatal("the released call succeeded; want an error")
		}
	})
}

func TestCloudWatchDashboards(t *testing.T) {
	cw, client, _ := newTestCloudWatch(t)
	ctx := context.Background()
	body := `{"widgets":[{"type":"alarm","properties":{"alarms":["arn:aws:cloudwatch:us-east-1:123456789012:alarm:home-page"]}}]}`
	for _, name := range []string{"nines-home", "nines-checkout", "other"} {
		out, err := client.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String(name), DashboardBody: aws.String(body)})
		if err != nil {
			t.Fatalf("PutDashboard %s: %v", name, err)
		}
		if len(out.DashboardValidationMessages) != 0 {
			t.Errorf("validation messages = %v, want none", out.DashboardValidationMessages)
		}
	}

	t.Run("A stored dashboard comes back as it was sent", func(t *testing.T) {
		out, err := client.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("nines-home")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.DashboardBody) != body || aws.ToString(out.DashboardArn) != "arn:aws:cloudwatch::123456789012:dashboard/nines-home" {
			t.Errorf("got %q at %q", aws.ToString(out.DashboardBody), aws.ToString(out.DashboardArn))
		}
		if got, ok := cw.Dashboard("nines-home"); !ok || got != body {
			t.Errorf("Dashboard accessor = %q, %v", got, ok)
		}
	})

	t.Run("Listing filters by prefix and sorts by name", func(t *testing.T) {
		out, err := client.ListDashboards(ctx, &cloudwatch.ListDashboardsInput{DashboardNamePrefix: aws.String("nines-")})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range out.DashboardEntries {
			names = append(names, aws.ToString(e.DashboardName))
			if aws.ToInt64(e.Size) != int64(len(body)) || !aws.ToTime(e.LastModified).Equal(cwT0.Add(time.Hour)) {
				t.Errorf("entry %s: size %d, modified %s", aws.ToString(e.DashboardName), aws.ToInt64(e.Size), aws.ToTime(e.LastModified))
			}
		}
		if !slices.Equal(names, []string{"nines-checkout", "nines-home"}) {
			t.Errorf("names = %v", names)
		}
	})

	invalid := []struct{ name, body, path string }{
		{"A body that is not JSON is rejected", `{"widgets": [`, ""},
		{"A body without widgets is rejected", `{"start": "-PT3H"}`, ""},
		{"A widget without a type is rejected", `{"widgets": [{"properties": {}}]}`, "/widgets/0"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("broken"), DashboardBody: aws.String(tc.body)})
			var typed *types.DashboardInvalidInputError
			if !errors.As(err, &typed) {
				t.Fatalf("error = %v (%T), want *types.DashboardInvalidInputError", err, err)
			}
			if len(typed.DashboardValidationMessages) != 1 || aws.ToString(typed.DashboardValidationMessages[0].DataPath) != tc.path {
				t.Errorf("validation messages = %+v, want one at %q", typed.DashboardValidationMessages, tc.path)
			}
			if _, ok := cw.Dashboard("broken"); ok {
				t.Error("the invalid dashboard was stored")
			}
		})
	}

	t.Run("Deleting a missing dashboard deletes nothing", func(t *testing.T) {
		_, err := client.DeleteDashboards(ctx, &cloudwatch.DeleteDashboardsInput{DashboardNames: []string{"other", "missing"}})
		var typed *types.DashboardNotFoundError
		if !errors.As(err, &typed) {
			t.Fatalf("error = %v (%T), want *types.DashboardNotFoundError", err, err)
		}
		if _, ok := cw.Dashboard("other"); !ok {
			t.Error("dashboard other was deleted")
		}
	})

	t.Run("Deleted dashboards are gone", func(t *testing.T) {
		if _, err := client.DeleteDashboards(ctx, &cloudwatch.DeleteDashboardsInput{DashboardNames: []string{"other"}}); err != nil {
			t.Fatal(err)
		}
		_, err := client.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("other")})
		var typed *types.DashboardNotFoundError
		if !errors.As(err, &typed) {
			t.Fatalf("error = %v (%T), want *types.DashboardNotFoundError", err, err)
		}
		if got := cw.DashboardNames(); !slices.Equal(got, []string{"nines-checkout", "nines-home"}) {
			t.Errorf("names = %v", got)
		}
	})
}

func TestCloudWatchAlarms(t *testing.T) {
	ctx := context.Background()
	latency := &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("home-latency"), Namespace: aws.String("Nines"), MetricName: aws.String("Latency"),
		Dimensions: cwDims("Canary", "home"), ExtendedStatistic: aws.String("p99.9"), Period: aws.Int32(60),
		EvaluationPeriods: aws.Int32(5), DatapointsToAlarm: aws.Int32(3), Threshold: aws.Float64(800),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String("breaching"),
		AlarmActions: []string{"arn:aws:sns:us-east-1:123456789012:page"}, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("sre")}},
	}
	mathQueries := func(n int, expr string) []types.MetricDataQuery {
		q := []types.MetricDataQuery{{Id: aws.String("e"), Expression: aws.String(expr), Label: aws.String("errors")}}
		for i := range n - 1 {
			m := cwStatQuery(fmt.Sprintf("m%d", i), "Attempts", cwDims("Canary", "home"), 300, "Sum")
			m.ReturnData = aws.Bool(false)
			q = append(q, m)
		}
		return q
	}
	burn := &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("home-burn"), Metrics: mathQueries(3, "m0 - m1"), EvaluationPeriods: aws.Int32(12),
		Threshold: aws.Float64(14.4), ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
	}

	t.Run("Alarms come back as they were put, with CloudWatch's state", func(t *testing.T) {
		cw, client, _ := newTestCloudWatch(t)
		for _, in := range []*cloudwatch.PutMetricAlarmInput{latency, burn} {
			if _, err := client.PutMetricAlarm(ctx, in); err != nil {
				t.Fatalf("PutMetricAlarm %s: %v", aws.ToString(in.AlarmName), err)
			}
		}
		out, err := client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.MetricAlarms) != 2 {
			t.Fatalf("got %d alarms, want 2", len(out.MetricAlarms))
		}
		b, l := out.MetricAlarms[0], out.MetricAlarms[1]
		if aws.ToString(l.AlarmName) != "home-latency" || aws.ToString(l.ExtendedStatistic) != "p99.9" || aws.ToInt32(l.Period) != 60 ||
			aws.ToFloat64(l.Threshold) != 800 || l.ComparisonOperator != types.ComparisonOperatorGreaterThanThreshold ||
			aws.ToString(l.TreatMissingData) != "breaching" || !slices.Equal(l.AlarmActions, latency.AlarmActions) ||
			aws.ToInt32(l.DatapointsToAlarm) != 3 || len(l.Dimensions) != 1 || !aws.ToBool(l.ActionsEnabled) {
			t.Errorf("latency alarm = %+v", l)
		}
		if l.StateValue != types.StateValueInsufficientData || aws.ToString(l.AlarmArn) != "arn:aws:cloudwatch:us-east-1:123456789012:alarm:home-latency" {
			t.Errorf("latency alarm state %s, arn %s", l.StateValue, aws.ToString(l.AlarmArn))
		}
		if len(b.Metrics) != 3 || aws.ToString(b.Metrics[0].Expression) != "m0 - m1" || aws.ToString(b.Metrics[1].MetricStat.Stat) != "Sum" {
			t.Errorf("burn alarm metrics = %+v", b.Metrics)
		}
		got, ok := cw.Alarm("home-burn")
		if !ok || len(got.Metrics) != 3 || got.Metrics[1].Metric == nil || got.Metrics[1].Metric.Dimensions["Canary"] != "home" || got.Metrics[1].ReturnData {
			t.Errorf("Alarm accessor = %+v", got)
		}
	})

	t.Run("Alarm state set by a test shows in DescribeAlarms and its filter", func(t *testing.T) {
		cw, client, _ := newTestCloudWatch(t)
		for _, in := range []*cloudwatch.PutMetricAlarmInput{latency, burn} {
			if _, err := client.PutMetricAlarm(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		if err := cw.SetAlarmState("home-burn", "ALARM", "Threshold Crossed"); err != nil {
			t.Fatal(err)
		}
		out, err := client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: types.StateValueAlarm})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.MetricAlarms) != 1 || aws.ToString(out.MetricAlarms[0].AlarmName) != "home-burn" || aws.ToString(out.MetricAlarms[0].StateReason) != "Threshold Crossed" {
			t.Errorf("alarms in ALARM = %+v", out.MetricAlarms)
		}
		if _, err := client.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("home-burn"), StateValue: types.StateValueOk, StateReason: aws.String("recovered")}); err != nil {
			t.Fatal(err)
		}
		if a, _ := cw.Alarm("home-burn"); a.State != "OK" {
			t.Errorf("state after SetAlarmState = %s, want OK", a.State)
		}
	})

	invalid := []struct {
		name string
		in   *cloudwatch.PutMetricAlarmInput
	}{
		{"A metric math alarm with 21 queries is rejected", &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String("x"), Metrics: mathQueries(21, "m0"), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
			ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold}},
		{"SEARCH in an alarm is rejected", &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String("x"), Metrics: mathQueries(2, `SUM(SEARCH('{Nines,Canary} Attempts', 'Sum', 300))`), EvaluationPeriods: aws.Int32(1),
			Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold}},
		{"An alarm over more than a day of one-minute periods is rejected", func() *cloudwatch.PutMetricAlarmInput {
			in := *latency
			in.EvaluationPeriods, in.DatapointsToAlarm = aws.Int32(1441), nil
			return &in
		}()},
		{"An alarm with both a statistic and an extended statistic is rejected", func() *cloudwatch.PutMetricAlarmInput {
			in := *latency
			in.Statistic = types.StatisticAverage
			return &in
		}()},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			cw, client, _ := newTestCloudWatch(t)
			_, err := client.PutMetricAlarm(ctx, tc.in)
			var typed *types.ValidationException
			if !errors.As(err, &typed) {
				t.Fatalf("error = %v (%T), want *types.ValidationException", err, err)
			}
			if len(cw.Alarms()) != 0 {
				t.Error("the invalid alarm was stored")
			}
		})
	}
}

// CloudWatch documents that percentile statistics are not available for a
// metric any of whose values are negative; the other statistics are.
func TestCloudWatchPercentilesAreUnavailableOverNegativeValues(t *testing.T) {
	cw, client, _ := newTestCloudWatch(t)
	dims := cwDims("Canary", "skew")
	put := func(ts time.Time, values ...float64) {
		t.Helper()
		if _, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: []types.MetricDatum{{
			MetricName: aws.String("Offset"), Dimensions: dims, Timestamp: aws.Time(ts), Values: values,
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	put(cwT0.Add(5*time.Minute), 10, 20, 30)
	put(cwT0.Add(45*time.Minute), -1, 40)
	for _, stat := range []string{"p50", "p99", "PR(:25)"} {
		t.Run(stat+" has no datapoint in any period", func(t *testing.T) {
			res := cwGet(t, client, "", cwStatQuery("m", "Offset", dims, 1800, stat))["m"]
			if len(res.Values) != 0 {
				t.Errorf("%s = %v at %v, want no datapoint", stat, res.Values, res.Timestamps)
			}
			if _, ok, err := cw.Statistic(Metric{Namespace: "Nines", MetricName: "Offset", Dimensions: map[string]string{"Canary": "skew"}}, stat, cwT0, cwT0.Add(30*time.Minute)); err != nil || ok {
				t.Errorf("Statistic helper = %v, %v; want no value", ok, err)
			}
		})
	}
	t.Run("Sum and Minimum are still answered", func(t *testing.T) {
		res := cwGet(t, client, types.ScanByTimestampAscending, cwStatQuery("s", "Offset", dims, 1800, "Sum"), cwStatQuery("n", "Offset", dims, 1800, "Minimum"))
		if !slices.Equal(res["s"].Values, []float64{60, 39}) || !slices.Equal(res["n"].Values, []float64{10, -1}) {
			t.Errorf("Sum = %v, Minimum = %v; want [60 39] and [10 -1]", res["s"].Values, res["n"].Values)
		}
	})
}

// cwGetRange runs one GetMetricData call with one query over [start, end).
func cwGetRange(t *testing.T, client *cloudwatch.Client, start, end time.Time, q types.MetricDataQuery) types.MetricDataResult {
	t.Helper()
	out, err := client.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end), MetricDataQueries: []types.MetricDataQuery{q}, ScanBy: types.ScanByTimestampAscending,
	})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	if len(out.MetricDataResults) != 1 {
		t.Fatalf("got %d results, want 1", len(out.MetricDataResults))
	}
	return out.MetricDataResults[0]
}

// CloudWatch keeps data under a minute for 3 hours, 1-minute data for 15
// days, 5-minute data for 63 days and hourly data for 455 days. A period
// finer than what is kept at its start's age answers no datapoints; a
// coarser one answers from the aggregated data.
func TestCloudWatchAnswersOnlyFromTheResolutionItStillKeeps(t *testing.T) {
	cases := []struct {
		name   string
		later  time.Duration // how long after publishing the question is asked
		period int32
		want   []float64 // Sum per period from cwT0, over 30 minutes
	}{
		{"1-second data is read at 10 seconds within 3 hours", 2 * time.Hour, 10, []float64{1, 2, 3}},
		{"1-second data is gone at 10 seconds after 3 hours", 4 * time.Hour, 10, nil},
		{"1-second data is read at a minute after 3 hours", 4 * time.Hour, 60, []float64{6}},
		{"1-minute data is gone at a minute after 15 days", 16 * 24 * time.Hour, 60, nil},
		{"1-minute data is read at 5 minutes after 15 days", 16 * 24 * time.Hour, 300, []float64{6}},
		{"5-minute data is gone at 5 minutes after 63 days", 64 * 24 * time.Hour, 300, nil},
		{"5-minute data is read at an hour after 63 days", 64 * 24 * time.Hour, 3600, []float64{6}},
		{"Hourly data is gone after 455 days", 456 * 24 * time.Hour, 3600, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, client, clk := newTestCloudWatch(t)
			clk.Set(cwT0.Add(time.Minute))
			var data []types.MetricDatum
			for k := range 3 {
				data = append(data, types.MetricDatum{MetricName: aws.String("Attempts"), Timestamp: aws.Time(cwT0.Add(time.Duration(k) * 10 * time.Second)),
					Value: aws.Float64(float64(k + 1)), StorageResolution: aws.Int32(1)})
			}
			if _, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data}); err != nil {
				t.Fatal(err)
			}
			clk.Set(cwT0.Add(tc.later))
			res := cwGetRange(t, client, cwT0, cwT0.Add(time.Hour), cwStatQuery("m", "Attempts", nil, tc.period, "Sum"))
			if !slices.Equal(res.Values, tc.want) {
				t.Errorf("Sum at %ds = %v, want %v", tc.period, res.Values, tc.want)
			}
		})
	}
}

// CloudWatch rounds StartTime down: to the minute under 15 days ago, to 5
// minutes from 15 to 63 days, to the hour past 63 days, and to the period
// for periods of 5, 10, 20 and 30 seconds. Periods start there.
func TestCloudWatchRoundsStartTimesAsDocumented(t *testing.T) {
	cases := []struct {
		name      string
		later     time.Duration
		start     time.Time
		period    int32
		wantFirst time.Time
	}{
		{"A recent start is rounded down to the minute", time.Hour, cwT0.Add(32*time.Minute + 34*time.Second), 60, cwT0.Add(32 * time.Minute)},
		{"A start 20 days ago is rounded down to 5 minutes", 20 * 24 * time.Hour, cwT0.Add(32*time.Minute + 34*time.Second), 300, cwT0.Add(30 * time.Minute)},
		{"A start 70 days ago is rounded down to the hour", 70 * 24 * time.Hour, cwT0.Add(32*time.Minute + 34*time.Second), 3600, cwT0},
		{"A 10-second period starts on a 10-second division of the minute", time.Hour, cwT0.Add(32*time.Minute + 34*time.Second), 10, cwT0.Add(32*time.Minute + 30*time.Second)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, client, clk := newTestCloudWatch(t)
			var data []types.MetricDatum
			for k := range 60 * 6 {
				data = append(data, types.MetricDatum{MetricName: aws.String("Attempts"), Timestamp: aws.Time(cwT0.Add(time.Duration(k) * 10 * time.Second)),
					Value: aws.Float64(1), StorageResolution: aws.Int32(1)})
			}
			for len(data) > 0 {
				n := min(len(data), 1000)
				if _, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data[:n]}); err != nil {
					t.Fatal(err)
				}
				data = data[n:]
			}
			clk.Set(cwT0.Add(tc.later))
			res := cwGetRange(t, client, tc.start, cwT0.Add(time.Hour), cwStatQuery("m", "Attempts", nil, tc.period, "Sum"))
			if len(res.Timestamps) == 0 || !res.Timestamps[0].Equal(tc.wantFirst) {
				t.Fatalf("first period at %v, want %s", res.Timestamps, tc.wantFirst)
			}
			if want := float64(tc.period) / 10; res.Values[0] != want {
				t.Errorf("first period sums %v, want %v: the whole period from the rounded start", res.Values[0], want)
			}
		})
	}
}
