package metrics

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/nines-dev/nines/internal/awsfake"
)

func metric(name string, dims ...string) awsfake.Metric {
	m := awsfake.Metric{Namespace: DefaultNamespace, MetricName: name, Dimensions: map[string]string{}}
	for i := 0; i+1 < len(dims); i += 2 {
		m.Dimensions[dims[i]] = dims[i+1]
	}
	return m
}

func TestCloudWatchSinkPublishesTheSchema(t *testing.T) {
	f := newFakeCloudWatch(t, nil)
	// 400 distinct latencies: 400 non-zero buckets, so three latency datums.
	var lat []int64
	for i := range 400 {
		lat = append(lat, int64(10_000+i*1000))
	}
	run := aggregateOf(t, Series{Canary: "checkout", Region: "eu-west-1"}, t0, lat, 3)
	step := aggregateOf(t, Series{Canary: "checkout", Region: "eu-west-1", Step: "login"}, t0, []int64{5000, 5000, 7000}, 0)
	hb := Heartbeat{Agent: "agent-1", Region: "eu-west-1", Start: t0, Period: time.Minute}
	if err := f.sink.Publish(context.Background(), Batch{Aggregates: []*Aggregate{run, step}, Heartbeats: []Heartbeat{hb}}); err != nil {
		t.Fatal(err)
	}
	if n := f.cw.Calls("PutMetricData"); n != 1 {
		t.Errorf("PutMetricData calls = %d, want 1", n)
	}
	byName := map[string][]awsfake.MetricDatum{}
	for _, d := range f.cw.Datums() {
		byName[d.MetricName] = append(byName[d.MetricName], d)
		if !d.Timestamp.Equal(t0) {
			t.Errorf("%s timestamp %s, want the period start %s", d.MetricName, d.Timestamp, t0)
		}
		if d.StorageResolution != 60 || d.Namespace != DefaultNamespace {
			t.Errorf("%s: resolution %d namespace %q", d.MetricName, d.StorageResolution, d.Namespace)
		}
	}
	tests := []struct {
		name   string
		metric string
		datums int
		unit   string
		dims   map[string]string
	}{
		{"Attempts is one Count datum with Canary and Region", MetricAttempts, 1, "Count", map[string]string{"Canary": "checkout", "Region": "eu-west-1"}},
		{"Successes is one Count datum with Canary and Region", MetricSuccesses, 1, "Count", map[string]string{"Canary": "checkout", "Region": "eu-west-1"}},
		{"Latency of 400 buckets is split 150, 150, 100", MetricLatency, 3, "Milliseconds", map[string]string{"Canary": "checkout", "Region": "eu-west-1"}},
		{"StepLatency carries the Step dimension", MetricStepLatency, 1, "Milliseconds", map[string]string{"Canary": "checkout", "Region": "eu-west-1", "Step": "login"}},
		{"AgentHeartbeat carries Agent and Region", MetricHeartbeat, 1, "Count", map[string]string{"Agent": "agent-1", "Region": "eu-west-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := byName[tc.metric]
			if len(ds) != tc.datums {
				t.Fatalf("%d datums, want %d", len(ds), tc.datums)
			}
			for _, d := range ds {
				if d.Unit != tc.unit {
					t.Errorf("unit %q, want %q", d.Unit, tc.unit)
				}
				if fmt.Sprint(d.Dimensions) != fmt.Sprint(tc.dims) {
					t.Errorf("dimensions %v, want %v", d.Dimensions, tc.dims)
				}
				if len(d.Values) > 150 {
					t.Errorf("%d values in one datum", len(d.Values))
				}
			}
		})
	}
	if v := *byName[MetricAttempts][0].Value; v != 403 {
		t.Errorf("Attempts = %v, want 403", v)
	}
	if v := *byName[MetricSuccesses][0].Value; v != 400 {
		t.Errorf("Successes = %v, want 400", v)
	}
	sizes := []int{len(byName[MetricLatency][0].Values), len(byName[MetricLatency][1].Values), len(byName[MetricLatency][2].Values)}
	if fmt.Sprint(sizes) != "[150 150 100]" {
		t.Errorf("latency datums hold %v values, want [150 150 100]", sizes)
	}
	// Every bucket goes out at its own value: nothing coarser than the
	// histogram.
	want := DistributionOf(run.Latency)
	var got []float64
	for _, d := range byName[MetricLatency] {
		got = append(got, d.Values...)
	}
	for i, b := range want {
		if got[i] != float64(b.High)/1000 {
			t.Fatalf("value %d = %v ms, want the bucket's %v ms", i, got[i], float64(b.High)/1000)
		}
	}
}

// countingTransport records each request's Content-Encoding.
type countingTransport struct {
	mu      sync.Mutex
	gzipped int
	plain   int
	next    http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if r.Header.Get("Content-Encoding") == "gzip" {
		c.gzipped++
	} else {
		c.plain++
	}
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func TestCloudWatchSinkBatchesWithinTheLimits(t *testing.T) {
	tr := &countingTransport{next: http.DefaultTransport}
	f := newFakeCloudWatch(t, nil)
	f.sink.client = f.cw.Client(func(o *cloudwatch.Options) { o.HTTPClient = &http.Client{Transport: tr}; o.Retryer = aws.NopRetryer{} })

	t.Run("300 canaries at 10s make one call per minute", func(t *testing.T) {
		var b Batch
		for i := range 300 {
			b.Aggregates = append(b.Aggregates, aggregateOf(t, Series{Canary: fmt.Sprintf("c%03d", i), Region: "us-east-1"}, t0,
				[]int64{20_000, 21_000, 22_000, 23_000, 24_000, 25_000}, 0))
		}
		b.Heartbeats = []Heartbeat{{Agent: "a", Region: "us-east-1", Start: t0, Period: time.Minute}}
		before := f.cw.Calls("PutMetricData")
		if err := f.sink.Publish(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if n := f.cw.Calls("PutMetricData") - before; n != 1 {
			t.Errorf("PutMetricData calls = %d, want 1 for 901 datums", n)
		}
	})

	t.Run("Wide distributions split by the 1 MB limit, every datum arrives, and bodies are gzipped", func(t *testing.T) {
		before := len(f.cw.Datums())
		var b Batch
		r := rand.New(rand.NewPCG(3, 4))
		var wantSamples int64
		for i := range 120 {
			var lat []int64
			for range 2000 {
				lat = append(lat, lognormalUs(r))
			}
			a := aggregateOf(t, Series{Canary: fmt.Sprintf("wide%03d", i), Region: "us-east-1"}, t0.Add(time.Minute), lat, 0)
			wantSamples += a.Successes
			b.Aggregates = append(b.Aggregates, a)
		}
		calls := f.cw.Calls("PutMetricData")
		if err := f.sink.Publish(context.Background(), b); err != nil {
			t.Fatalf("a request broke a limit: %v", err)
		}
		calls = f.cw.Calls("PutMetricData") - calls
		datums := f.cw.Datums()[before:]
		var samples float64
		for _, d := range datums {
			if d.MetricName == MetricLatency {
				for _, c := range d.Counts {
					samples += c
				}
			}
		}
		if int64(samples) != wantSamples {
			t.Errorf("CloudWatch holds %v latency samples, want %d", samples, wantSamples)
		}
		if calls < 2 || calls > len(datums)/100 {
			t.Errorf("%d calls for %d datums: expected a few full requests", calls, len(datums))
		}
		if f.sink.Requests(b) != calls {
			t.Errorf("Requests() = %d, but Publish made %d calls", f.sink.Requests(b), calls)
		}
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if tr.gzipped == 0 {
			t.Error("no request was gzipped; the SDK gzips bodies of 10 KB and up")
		}
	})
}

// TestCloudWatchPercentilesMatchTheMergedHistogram draws 1e6 log-normal
// latencies over 2 agents in each of 4 regions and 5 periods, publishes
// them, and checks that the percentiles CloudWatch (the fake) computes from
// what was published are the merged HDR histogram's, per region (agents
// merge in the same metric) and over every region (the region rollup).
func TestCloudWatchPercentilesMatchTheMergedHistogram(t *testing.T) {
	f := newFakeCloudWatch(t, func(c *CloudWatchConfig) { c.RegionRollup = true })
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"}
	// 1e6 samples split evenly, so every percentile's rank is a whole
	// number and nearest-rank (CloudWatch) and round-half-up (HDR) agree.
	const agents, periods, samples = 2, 5, 1_000_000
	r := rand.New(rand.NewPCG(42, 7))
	merged := NewLatencyHistogram(DefaultPrecision)
	perRegion := map[string]*Aggregate{}
	for _, region := range regions {
		perRegion[region] = &Aggregate{Latency: NewLatencyHistogram(DefaultPrecision)}
	}
	per := samples / (len(regions) * agents * periods)
	for p := range periods {
		var b Batch
		for ri, region := range regions {
			for range agents {
				var lat []int64
				for range per {
					// Regions differ: the farther, the slower.
					lat = append(lat, lognormalUs(r)*int64(ri+1))
				}
				a := aggregateOf(t, Series{Canary: "api", Region: region}, t0.Add(time.Duration(p)*time.Minute), lat, 0)
				merged.Merge(a.Latency)
				perRegion[region].Latency.Merge(a.Latency)
				b.Aggregates = append(b.Aggregates, a)
			}
		}
		if err := f.sink.Publish(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	from, to := t0, t0.Add(periods*time.Minute)
	check := func(t *testing.T, m awsfake.Metric, h *Aggregate) {
		t.Helper()
		for _, p := range []float64{50, 99, 99.9, 99.99} {
			got, ok, err := f.cw.Statistic(m, fmt.Sprintf("p%v", p), from, to)
			if err != nil || !ok {
				t.Fatalf("p%v: ok %v err %v", p, ok, err)
			}
			want := float64(h.Latency.ValueAtQuantile(p)) / 1000
			// Published values are the buckets' own, so the answer is the
			// histogram's to the microsecond: well within its precision.
			if tol := want * math.Pow(10, -DefaultPrecision); math.Abs(got-want) > tol {
				t.Errorf("p%v = %v ms from CloudWatch, %v ms from the merged histogram", p, got, want)
			}
		}
		count, _, _ := f.cw.Statistic(m, "SampleCount", from, to)
		if int64(count) != h.Latency.TotalCount() {
			t.Errorf("SampleCount %v, want %d", count, h.Latency.TotalCount())
		}
	}
	for _, region := range regions {
		t.Run("Two agents in "+region+" merge exactly", func(t *testing.T) {
			check(t, metric(MetricLatency, DimensionCanary, "api", DimensionRegion, region), perRegion[region])
		})
	}
	t.Run("Every region together, from the rollup, is the merged histogram", func(t *testing.T) {
		check(t, metric(MetricLatency, DimensionCanary, "api"), &Aggregate{Latency: merged})
	})
	t.Run("A latency SLI from PR(:threshold) is the histogram's count at or under it", func(t *testing.T) {
		var good, total float64
		for _, region := range regions {
			m := metric(MetricLatency, DimensionCanary, "api", DimensionRegion, region)
			pr, _, _ := f.cw.Statistic(m, "PR(:100)", from, to)
			n, _, _ := f.cw.Statistic(m, "SampleCount", from, to)
			good += n * pr / 100
			total += n
		}
		want := DistributionOf(merged).AtOrUnder(100_000)
		if math.Abs(good-float64(want)) > 1e-6*total {
			t.Errorf("good = %v from CloudWatch, %d from the histogram", good, want)
		}
	})
}

func TestNewCloudWatchClientHonoursEndpointSettings(t *testing.T) {
	clk := newFakeCloudWatch(t, nil).clock
	envFake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	keyFake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	// The default credential chain, fed from the environment only.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDNINESTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", envFake.URL())
	batch := Batch{Heartbeats: []Heartbeat{{Agent: "a", Region: "r", Start: t0, Period: time.Minute}}}

	t.Run("AWS_ENDPOINT_URL_CLOUDWATCH is used without endpoint:", func(t *testing.T) {
		sink, err := NewCloudWatch(context.Background(), CloudWatchConfig{Region: "us-east-1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.Publish(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		if envFake.Calls("PutMetricData") != 1 {
			t.Errorf("the environment's endpoint got %d calls, want 1", envFake.Calls("PutMetricData"))
		}
	})
	t.Run("endpoint: wins over the environment", func(t *testing.T) {
		sink, err := NewCloudWatch(context.Background(), CloudWatchConfig{Region: "us-east-1", Endpoint: keyFake.URL()})
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.Publish(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		if keyFake.Calls("PutMetricData") != 1 || envFake.Calls("PutMetricData") != 1 {
			t.Errorf("endpoint: got %d calls and the environment's %d; want 1 and still 1", keyFake.Calls("PutMetricData"), envFake.Calls("PutMetricData"))
		}
	})
	t.Run("Without a region the SDK's chain gives it: AWS_REGION", func(t *testing.T) {
		t.Setenv("AWS_REGION", "eu-west-1")
		sink, err := NewCloudWatch(context.Background(), CloudWatchConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.Publish(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Without any region the sink fails at once, naming the fix", func(t *testing.T) {
		t.Setenv("AWS_REGION", "")
		t.Setenv("AWS_DEFAULT_REGION", "")
		_, err := NewCloudWatch(context.Background(), CloudWatchConfig{})
		if err == nil || !strings.Contains(err.Error(), "set cloudwatch.region in the config to the monitoring region, or AWS_REGION") {
			t.Errorf("err = %v", err)
		}
	})
}
