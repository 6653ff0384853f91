package metrics

import (
	"fmt"
	"time"
)

// Prices are the CloudWatch prices `nines cost` uses, in USD. The defaults
// are us-east-1's list prices (first tier of custom metrics); the config's
// cost: section overrides each one.
type Prices struct {
	// MetricMonth is one custom metric for a month (0.30).
	MetricMonth float64
	// PutRequestsPer1000 is 1,000 PutMetricData requests (0.01).
	PutRequestsPer1000 float64
	// GetMetricsPer1000 is 1,000 metrics requested by GetMetricData (0.01).
	GetMetricsPer1000 float64
	// SyntheticsRun is one CloudWatch Synthetics canary run (0.0012),
	// Lambda and S3 charges left out.
	SyntheticsRun float64
}

// DefaultPrices are us-east-1 list prices.
var DefaultPrices = Prices{MetricMonth: 0.30, PutRequestsPer1000: 0.01, GetMetricsPer1000: 0.01, SyntheticsRun: 0.0012}

// CostMonth is the month CloudWatch bills by: 730 hours.
const CostMonth = 730 * time.Hour

// CostCanary is what the cost of one canary depends on.
type CostCanary struct {
	Name        string
	Every       time.Duration
	Steps       []string
	StepMetrics bool
}

// CostSLO is what the cost of evaluating one SLO from CloudWatch depends on.
type CostSLO struct {
	Name string
	// Regions are the agent regions the SLI adds up.
	Regions int
	// Windows is how many windows one evaluation reads (6 for the default
	// policy: 5m, 30m, 1h, 6h, 3d and the SLO window).
	Windows int
	// EvalEvery is how often the evaluator runs (1m).
	EvalEvery time.Duration
}

// CostInput is a config as the bill sees it.
type CostInput struct {
	Canaries []CostCanary
	// Regions is how many agent regions run the canaries (1 when 0).
	Regions int
	// Period is the aggregation period.
	Period time.Duration
	// StorageResolution is 1 or 60.
	StorageResolution int
	SLOs              []CostSLO
	// WatchSeries is the series the dead-man's switches and the canary
	// failure rules read each evaluation: Attempts and Successes per
	// canary and region, AgentHeartbeat per watched agent and region, a
	// ratio SLO's metric pair. WatchEvery is how often (1m when 0).
	WatchSeries int
	WatchEvery  time.Duration
	Prices      Prices
}

// CanaryCost is one canary's month.
type CanaryCost struct {
	Name string
	// Metrics is its custom metrics over every region.
	Metrics int
	// Nines is its share of the CloudWatch bill: its metrics and its
	// datums' share of PutMetricData requests.
	Nines float64
	// SyntheticsEvery, SyntheticsRuns and Synthetics are how often the
	// same checks would run as CloudWatch Synthetics canaries, and what
	// that would run and cost: Synthetics runs a canary at most once a
	// minute (SyntheticsMinEvery), so a faster canary is priced at that.
	SyntheticsEvery time.Duration
	SyntheticsRuns  float64
	Synthetics      float64
}

// SyntheticsMinEvery is the shortest schedule a CloudWatch Synthetics
// canary can run on: rate(1 minute).
const SyntheticsMinEvery = time.Minute

// CostReport is a month's CloudWatch bill for a config.
type CostReport struct {
	Prices          Prices
	CustomMetrics   int
	MetricsCost     float64
	PutRequests     float64
	PutRequestsCost float64
	// PutRequestsPerPeriod is the PutMetricData calls of one period, in one
	// region.
	PutRequestsPerPeriod int
	GetMetrics           float64
	GetMetricsCost       float64
	Total                float64
	SyntheticsRuns       float64
	SyntheticsCost       float64
	Canaries             []CanaryCost
}

// EstimateCost prices a month of the config. PutMetricData requests are
// counted by the CloudWatch sink's own batching of a period in which every
// canary reports (an upper bound when a canary runs less often than once
// a period), with a latency distribution of one bucket per run.
func EstimateCost(in CostInput) (CostReport, error) {
	if in.Period <= 0 {
		return CostReport{}, fmt.Errorf("cost: period must be positive")
	}
	regions := max(in.Regions, 1)
	periods := float64(CostMonth / in.Period)
	rep := CostReport{Prices: in.Prices}
	sink := &CloudWatch{cfg: CloudWatchConfig{Namespace: DefaultNamespace, StorageResolution: max(in.StorageResolution, 1)}}

	// One period's batch in one region, to count datums and requests.
	start := time.Unix(0, 0).UTC()
	var b Batch
	datumsOf := make([]int, len(in.Canaries))
	for i, c := range in.Canaries {
		runs := max(int(in.Period/max(c.Every, time.Second)), 1)
		agg := syntheticAggregate(Series{Canary: c.Name, Region: "r"}, start, in.Period, runs)
		b.Aggregates = append(b.Aggregates, agg)
		datumsOf[i] = len(sink.AggregateDatums(agg))
		if c.StepMetrics {
			for _, st := range c.Steps {
				sa := syntheticAggregate(Series{Canary: c.Name, Region: "r", Step: st}, start, in.Period, runs)
				b.Aggregates = append(b.Aggregates, sa)
				datumsOf[i] += len(sink.AggregateDatums(sa))
			}
		}
	}
	b.Heartbeats = []Heartbeat{{Agent: "a", Region: "r", Start: start, Period: in.Period}}
	totalDatums := 1
	for _, n := range datumsOf {
		totalDatums += n
	}
	rep.PutRequestsPerPeriod = sink.Requests(b)
	rep.PutRequests = float64(rep.PutRequestsPerPeriod) * periods * float64(regions)
	rep.PutRequestsCost = rep.PutRequests / 1000 * in.Prices.PutRequestsPer1000

	for i, c := range in.Canaries {
		metrics := 3
		if c.StepMetrics {
			metrics += len(c.Steps)
		}
		metrics *= regions
		rep.CustomMetrics += metrics
		share := float64(datumsOf[i]) / float64(totalDatums)
		every := max(c.Every, SyntheticsMinEvery)
		cc := CanaryCost{Name: c.Name, Metrics: metrics,
			Nines:           float64(metrics)*in.Prices.MetricMonth + share*rep.PutRequestsCost,
			SyntheticsEvery: every,
			SyntheticsRuns:  float64(CostMonth/every) * float64(regions)}
		cc.Synthetics = cc.SyntheticsRuns * in.Prices.SyntheticsRun
		rep.SyntheticsRuns += cc.SyntheticsRuns
		rep.SyntheticsCost += cc.Synthetics
		rep.Canaries = append(rep.Canaries, cc)
	}
	rep.CustomMetrics += regions // AgentHeartbeat, one per agent
	rep.MetricsCost = float64(rep.CustomMetrics) * in.Prices.MetricMonth

	for _, s := range in.SLOs {
		every := s.EvalEvery
		if every <= 0 {
			every = time.Minute
		}
		windows := max(s.Windows, 1)
		// An SLI reads two metrics (good and total) per region per window.
		perEval := float64(2 * max(s.Regions, 1) * windows)
		rep.GetMetrics += perEval * float64(CostMonth/every)
	}
	if in.WatchSeries > 0 {
		every := in.WatchEvery
		if every <= 0 {
			every = time.Minute
		}
		rep.GetMetrics += float64(in.WatchSeries) * float64(CostMonth/every)
	}
	rep.GetMetricsCost = rep.GetMetrics / 1000 * in.Prices.GetMetricsPer1000
	rep.Total = rep.MetricsCost + rep.PutRequestsCost + rep.GetMetricsCost
	return rep, nil
}

// syntheticAggregate is a period of runs with distinct latencies, as the
// bill sees one.
func syntheticAggregate(s Series, start time.Time, period time.Duration, runs int) *Aggregate {
	h := NewLatencyHistogram(DefaultPrecision)
	for i := range runs {
		_ = h.RecordValue(int64(50_000 + 997*i))
	}
	return &Aggregate{Series: s, Start: start, Period: period, Attempts: int64(runs), Successes: int64(runs), Latency: h}
}
