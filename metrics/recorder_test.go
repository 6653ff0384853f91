package metrics

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func newTestRecorder(t *testing.T, steps map[string]bool) *Recorder {
	t.Helper()
	r, err := NewRecorder(RecorderConfig{Region: "eu-west-1", Period: time.Minute, StepMetrics: steps})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecorderCountsAttemptsSuccessesAndFailureClasses(t *testing.T) {
	r := newTestRecorder(t, nil)
	r.Observe(canary.Result{Canary: "api", Attempt: 1, Scheduled: t0, OK: true, Duration: 20 * time.Millisecond})
	r.Observe(canary.Result{Canary: "api", Attempt: 1, Scheduled: t0.Add(10 * time.Second), Failure: canary.FailTimeout})
	r.Observe(canary.Result{Canary: "api", Attempt: 2, Scheduled: t0.Add(10 * time.Second), OK: true, Duration: 30 * time.Millisecond})
	r.Observe(canary.Result{Canary: "api", Attempt: 1, Scheduled: t0.Add(20 * time.Second), Failure: canary.FailDNS})
	r.Overlapped("api", t0.Add(30*time.Second))
	// The next period.
	r.Observe(canary.Result{Canary: "api", Attempt: 1, Scheduled: t0.Add(time.Minute), OK: true, Duration: time.Millisecond})

	aggs := r.Flush(t0.Add(time.Minute))
	if len(aggs) != 1 {
		t.Fatalf("got %d aggregates for the closed period, want 1", len(aggs))
	}
	a := aggs[0]
	if a.Series != (Series{Canary: "api", Region: "eu-west-1"}) || !a.Start.Equal(t0) || a.Period != time.Minute {
		t.Errorf("series %v start %s period %s", a.Series, a.Start, a.Period)
	}
	if a.Attempts != 4 || a.Successes != 2 || a.Overlaps != 1 {
		t.Errorf("attempts %d successes %d overlaps %d, want 4, 2, 1 (a retry is its own attempt)", a.Attempts, a.Successes, a.Overlaps)
	}
	if a.Failures[canary.FailTimeout] != 1 || a.Failures[canary.FailDNS] != 1 {
		t.Errorf("failures %v", a.Failures)
	}
	if n := a.LatencyDistribution().Total(); n != 2 {
		t.Errorf("latency holds %d values, want only the 2 successes", n)
	}
	if got := r.Flush(t0.Add(time.Minute)); len(got) != 0 {
		t.Errorf("a flushed period came out again: %d", len(got))
	}
	rest := r.FlushAll()
	if len(rest) != 1 || rest[0].Attempts != 1 || !rest[0].Start.Equal(t0.Add(time.Minute)) {
		t.Fatalf("FlushAll should return the open period: %+v", rest)
	}
}

func TestRecorderKeepsStepSeriesOnlyWhenAsked(t *testing.T) {
	r := newTestRecorder(t, map[string]bool{"journey": true})
	steps := []canary.StepResult{{Name: "login", OK: true, Duration: 5 * time.Millisecond}, {Name: "cart", Failure: canary.FailHTTPStatus}}
	r.Observe(canary.Result{Canary: "journey", Scheduled: t0, Failure: canary.FailHTTPStatus, Steps: steps})
	r.Observe(canary.Result{Canary: "plain", Scheduled: t0, OK: true, Duration: time.Millisecond, Steps: steps[:1]})
	got := map[Series]*Aggregate{}
	for _, a := range r.FlushAll() {
		got[a.Series] = a
	}
	if len(got) != 4 {
		t.Fatalf("got %d series, want journey, journey/login, journey/cart and plain", len(got))
	}
	login := got[Series{Canary: "journey", Region: "eu-west-1", Step: "login"}]
	cart := got[Series{Canary: "journey", Region: "eu-west-1", Step: "cart"}]
	if login == nil || login.Successes != 1 || login.LatencyDistribution().Total() != 1 {
		t.Errorf("login step series: %+v", login)
	}
	if cart == nil || cart.Successes != 0 || cart.Failures[canary.FailHTTPStatus] != 1 {
		t.Errorf("cart step series: %+v", cart)
	}
}

// A late result for a period already flushed comes out as a second
// aggregate for the same period, so nothing is lost.
func TestRecorderLateResultIsNotLost(t *testing.T) {
	r := newTestRecorder(t, nil)
	r.Observe(canary.Result{Canary: "api", Scheduled: t0.Add(50 * time.Second), OK: true, Duration: time.Millisecond})
	first := r.Flush(t0.Add(time.Minute))
	r.Observe(canary.Result{Canary: "api", Scheduled: t0.Add(55 * time.Second), OK: true, Duration: time.Millisecond})
	late := r.Flush(t0.Add(2 * time.Minute))
	if len(first) != 1 || len(late) != 1 || !late[0].Start.Equal(t0) {
		t.Fatalf("first %d, late %d aggregates", len(first), len(late))
	}
	if err := first[0].Merge(late[0]); err != nil {
		t.Fatal(err)
	}
	if n := first[0].LatencyDistribution().Total(); first[0].Attempts != 2 || n != 2 {
		t.Errorf("merged attempts %d latency count %d, want 2 and 2", first[0].Attempts, n)
	}
}

// The histogram's percentiles stay within its precision of the exact
// percentiles of the recorded values, up to p99.99.
func TestRecorderPercentilesAreExactToPrecision(t *testing.T) {
	r := newTestRecorder(t, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	var values []float64
	for i := 0; i < 200000; i++ {
		// Log-normal around 20 ms with a long tail.
		us := math.Exp(math.Log(20000) + 0.6*rng.NormFloat64())
		d := time.Duration(us) * time.Microsecond
		values = append(values, float64(d.Microseconds()))
		r.Observe(canary.Result{Canary: "api", Scheduled: t0, OK: true, Duration: d})
	}
	sort.Float64s(values)
	a := r.FlushAll()[0]
	for _, q := range []float64{50, 99, 99.9, 99.99} {
		// Nearest rank; q/100*n is not a whole number in floating point,
		// so round it rather than take its ceiling.
		exact := values[int(math.Round(q/100*float64(len(values))))-1]
		got := a.LatencyMs(q) * 1000
		if rel := math.Abs(got-exact) / exact; rel > 0.001 {
			t.Errorf("p%g = %.0f µs, exact %.0f µs: off by %.3f%%, more than 3 significant figures allow", q, got, exact, rel*100)
		}
	}
}

func TestRecorderClampsLatencyOutsideTheRange(t *testing.T) {
	r := newTestRecorder(t, nil)
	r.Observe(canary.Result{Canary: "api", Scheduled: t0, OK: true, Duration: 20 * time.Minute})
	r.Observe(canary.Result{Canary: "api", Scheduled: t0, OK: true, Duration: 0})
	a := r.FlushAll()[0]
	if n := a.LatencyDistribution().Total(); n != 2 {
		t.Fatalf("a value outside the range was dropped: count %d", n)
	}
	if r.OutOfRange() != 1 {
		t.Errorf("OutOfRange = %d, want 1", r.OutOfRange())
	}
}

func TestAggregateJSONShowsPercentilesInMilliseconds(t *testing.T) {
	r := newTestRecorder(t, nil)
	for i := 1; i <= 100; i++ {
		r.Observe(canary.Result{Canary: "api", Scheduled: t0, OK: true, Duration: time.Duration(i) * time.Millisecond})
	}
	b, err := json.Marshal(r.FlushAll()[0])
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Canary    string  `json:"canary"`
		Region    string  `json:"region"`
		PeriodS   float64 `json:"period_s"`
		Attempts  int64   `json:"attempts"`
		Successes int64   `json:"successes"`
		Latency   map[string]float64
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(b, &raw)
	json.Unmarshal(b, &got)
	json.Unmarshal(raw["latency_ms"], &got.Latency)
	if got.Canary != "api" || got.Region != "eu-west-1" || got.PeriodS != 60 || got.Attempts != 100 || got.Successes != 100 {
		t.Errorf("json %s", b)
	}
	want := map[string]float64{"count": 100, "p50": 50, "p99": 99, "p99.9": 100, "p99.99": 100, "max": 100}
	for k, v := range want {
		if math.Abs(got.Latency[k]-v) > v*0.001+0.001 {
			t.Errorf("latency_ms.%s = %g, want %g", k, got.Latency[k], v)
		}
	}
}

func TestNewRecorderRejectsMissingParts(t *testing.T) {
	if _, err := NewRecorder(RecorderConfig{Period: time.Minute}); err == nil {
		t.Error("no region: want an error")
	}
	if _, err := NewRecorder(RecorderConfig{Region: "x"}); err == nil {
		t.Error("no period: want an error")
	}
	if _, err := NewRecorder(RecorderConfig{Region: "x", Period: time.Minute, Precision: 9}); err == nil {
		t.Error("precision 9: want an error")
	}
}

// A few latencies are kept as values and bucketed at flush; the buckets
// must be the ones an HDR histogram of the same values has, at every
// precision and across the whole range.
func TestSamplesBucketLikeTheHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for precision := 1; precision <= 5; precision++ {
		for trial := 0; trial < 50; trial++ {
			var vals []int64
			h := NewLatencyHistogram(precision)
			for i := 0; i < 1+rng.IntN(sampleLimit); i++ {
				// Log-uniform over 1 µs to 10 min.
				v := int64(math.Exp(rng.Float64() * math.Log(float64(HighestLatencyUs))))
				v = min(max(v, LowestLatencyUs), HighestLatencyUs)
				vals = append(vals, v)
				_ = h.RecordValue(v)
			}
			got, want := distributionOfSamples(vals, precision), DistributionOf(h)
			if len(got) != len(want) {
				t.Fatalf("precision %d: %d buckets, the histogram has %d", precision, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("precision %d: bucket %d is %+v, the histogram's is %+v", precision, i, got[i], want[i])
				}
			}
		}
	}
}

// Past sampleLimit values an aggregate holds a real histogram; both paths
// give the same percentiles.
func TestRecorderSwitchesToAHistogramWithoutChangingTheResult(t *testing.T) {
	few, many := newTestRecorder(t, nil), newTestRecorder(t, nil)
	h := NewLatencyHistogram(DefaultPrecision)
	for i := 0; i < 3*sampleLimit; i++ {
		d := time.Duration(1000+i*37) * time.Microsecond
		many.Observe(canary.Result{Canary: "api", Scheduled: t0, OK: true, Duration: d})
		if i < sampleLimit {
			few.Observe(canary.Result{Canary: "api", Scheduled: t0, OK: true, Duration: d})
			_ = h.RecordValue(d.Microseconds())
		}
	}
	a, b := few.FlushAll()[0], many.FlushAll()[0]
	if a.Latency != nil || b.Latency == nil {
		t.Fatalf("with %d values the aggregate should carry buckets, with %d a histogram", sampleLimit, 3*sampleLimit)
	}
	for _, q := range []float64{50, 99, 99.9} {
		if got, want := a.LatencyMs(q), float64(h.ValueAtQuantile(q))/1000; got != want {
			t.Errorf("p%g from buckets %g ms, from a histogram %g ms", q, got, want)
		}
	}
	if b.Latency.TotalCount() != 3*sampleLimit {
		t.Errorf("the histogram holds %d values, want %d", b.Latency.TotalCount(), 3*sampleLimit)
	}
}
