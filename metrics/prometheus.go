package metrics

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nines-dev/nines/canary"
)

// DefaultPrometheusBuckets are the classic histogram's upper bounds in
// seconds. The HDR histogram behind them is exact; these are only how
// Prometheus sees it.
var DefaultPrometheusBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Prometheus is a sink that keeps running totals of every series and
// serves them, with the agent's own health, in the Prometheus text format.
// Its histogram buckets count exactly from the HDR distribution: a run is
// in le="0.1" when its bucket's value is at or under 100 ms. It is safe for
// concurrent use.
type Prometheus struct {
	buckets []float64
	health  *Health

	mu         sync.Mutex
	series     map[Series]*promSeries
	collectors []Collector
}

// Collector writes metric families that another phase owns, such as the
// SLO states (slo.Gauges), after the agent's own. It writes whole families
// in the text format, its label values escaped with Labels.
type Collector interface {
	WriteMetrics(w io.Writer) error
}

// Register adds c to what /metrics writes.
func (p *Prometheus) Register(c Collector) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.collectors = append(p.collectors, c)
}

type promSeries struct {
	attempts, successes, overlaps int64
	failures                      map[canary.FailureClass]int64
	latency                       Distribution
}

// NewPrometheus returns a Prometheus sink; health may be nil, buckets nil
// for DefaultPrometheusBuckets.
func NewPrometheus(health *Health, buckets []float64) *Prometheus {
	if len(buckets) == 0 {
		buckets = DefaultPrometheusBuckets
	}
	return &Prometheus{buckets: buckets, health: health, series: map[Series]*promSeries{}}
}

// Publish adds the batch's aggregates to the totals.
func (p *Prometheus) Publish(_ context.Context, b Batch) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range b.Aggregates {
		s := p.series[a.Series]
		if s == nil {
			s = &promSeries{failures: map[canary.FailureClass]int64{}}
			p.series[a.Series] = s
		}
		s.attempts += a.Attempts
		s.successes += a.Successes
		s.overlaps += a.Overlaps
		for k, v := range a.Failures {
			s.failures[k] += v
		}
		s.latency = s.latency.Merge(a.LatencyDistribution())
	}
	return nil
}

func (p *Prometheus) Close(context.Context) error { return nil }

// ServeHTTP writes the exposition.
func (p *Prometheus) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = p.Write(w)
}

// Write writes every metric in the Prometheus text format.
func (p *Prometheus) Write(out io.Writer) error {
	w := bufio.NewWriter(out)
	p.mu.Lock()
	keys := make([]Series, 0, len(p.series))
	for k := range p.series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	runs := keys[:0:0]
	steps := keys[:0:0]
	for _, k := range keys {
		if k.Step == "" {
			runs = append(runs, k)
		} else {
			steps = append(steps, k)
		}
	}
	counter := func(name, help string, value func(*promSeries) int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
		for _, k := range runs {
			fmt.Fprintf(w, "%s{%s} %d\n", name, labels("canary", k.Canary, "region", k.Region), value(p.series[k]))
		}
	}
	counter("nines_canary_attempts_total", "Canary runs started, timeouts and errors included.", func(s *promSeries) int64 { return s.attempts })
	counter("nines_canary_successes_total", "Canary runs whose every step passed.", func(s *promSeries) int64 { return s.successes })
	counter("nines_canary_runs_overlapped_total", "Runs not started because the previous run of the canary was still going.", func(s *promSeries) int64 { return s.overlaps })
	fmt.Fprintf(w, "# HELP nines_canary_failures_total Failed canary runs by failure class.\n# TYPE nines_canary_failures_total counter\n")
	for _, k := range runs {
		s := p.series[k]
		classes := make([]string, 0, len(s.failures))
		for c := range s.failures {
			classes = append(classes, string(c))
		}
		sort.Strings(classes)
		for _, c := range classes {
			fmt.Fprintf(w, "nines_canary_failures_total{%s} %d\n", labels("canary", k.Canary, "region", k.Region, "class", c), s.failures[canary.FailureClass(c)])
		}
	}
	p.histogram(w, "nines_canary_latency_seconds", "Duration of successful canary runs.", runs)
	if len(steps) > 0 {
		p.histogram(w, "nines_canary_step_latency_seconds", "Duration of successful steps, for canaries with step_metrics.", steps)
	}
	collectors := p.collectors
	p.mu.Unlock()
	writeHealth(w, p.health.Snapshot())
	for _, c := range collectors {
		if err := c.WriteMetrics(w); err != nil {
			return err
		}
	}
	return w.Flush()
}

func (p *Prometheus) histogram(w io.Writer, name, help string, keys []Series) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	for _, k := range keys {
		s := p.series[k]
		base := []string{"canary", k.Canary, "region", k.Region}
		if k.Step != "" {
			base = append(base, "step", k.Step)
		}
		for _, le := range p.buckets {
			n := s.latency.AtOrUnder(int64(math.Round(le * 1e6)))
			fmt.Fprintf(w, "%s_bucket{%s} %d\n", name, labels(append(base, "le", formatFloat(le))...), n)
		}
		total := s.latency.Total()
		fmt.Fprintf(w, "%s_bucket{%s} %d\n", name, labels(append(base, "le", "+Inf")...), total)
		var sum float64
		for _, b := range s.latency {
			sum += float64(b.High) / 1e6 * float64(b.Count)
		}
		fmt.Fprintf(w, "%s_sum{%s} %s\n", name, labels(base...), formatFloat(sum))
		fmt.Fprintf(w, "%s_count{%s} %d\n", name, labels(base...), total)
	}
}

func writeHealth(w io.Writer, h HealthSnapshot) {
	fmt.Fprintf(w, "# HELP nines_sink_errors_total Failed publish attempts by sink and reason.\n# TYPE nines_sink_errors_total counter\n")
	for _, e := range h.SinkErrors {
		fmt.Fprintf(w, "nines_sink_errors_total{%s} %d\n", labels("sink", e.Sink, "reason", e.Reason), e.Count)
	}
	fmt.Fprintf(w, "# HELP nines_dropped_points_total Aggregates and heartbeats lost, by reason. Never silent: each drop is also logged.\n# TYPE nines_dropped_points_total counter\n")
	for _, r := range []string{DropSpoolFull, DropExpired, DropRejected, DropCorrupt, DropNoSpool} {
		fmt.Fprintf(w, "nines_dropped_points_total{%s} %d\n", labels("reason", r), h.Dropped[r])
	}
	fmt.Fprintf(w, "# HELP nines_published_points_total Aggregates and heartbeats a sink accepted.\n# TYPE nines_published_points_total counter\n")
	for _, s := range sortedKeys(h.Published) {
		fmt.Fprintf(w, "nines_published_points_total{%s} %d\n", labels("sink", s), h.Published[s])
	}
	fmt.Fprintf(w, "# HELP nines_last_publish_timestamp_seconds When a sink last accepted data.\n# TYPE nines_last_publish_timestamp_seconds gauge\n")
	for _, s := range sortedKeys(h.Published) {
		if t, ok := h.LastSuccess[s]; ok {
			fmt.Fprintf(w, "nines_last_publish_timestamp_seconds{%s} %d\n", labels("sink", s), t.Unix())
		}
	}
	fmt.Fprintf(w, "# HELP nines_spool_batches Batches waiting in the on-disk spool.\n# TYPE nines_spool_batches gauge\nnines_spool_batches %d\n", h.SpoolFiles)
	fmt.Fprintf(w, "# HELP nines_spool_points Aggregates and heartbeats waiting in the on-disk spool.\n# TYPE nines_spool_points gauge\nnines_spool_points %d\n", h.SpoolPoints)
	fmt.Fprintf(w, "# HELP nines_spool_bytes Size of the on-disk spool.\n# TYPE nines_spool_bytes gauge\nnines_spool_bytes %d\n", h.SpoolBytes)
	if !h.LastDropped.IsZero() {
		fmt.Fprintf(w, "# HELP nines_last_dropped_timestamp_seconds When points were last dropped.\n# TYPE nines_last_dropped_timestamp_seconds gauge\nnines_last_dropped_timestamp_seconds %d\n", h.LastDropped.Unix())
	}
	fmt.Fprintf(w, "# HELP nines_live 1 while the agent's scheduler runs: what /healthz answers.\n# TYPE nines_live gauge\nnines_live %d\n", boolGauge(h.Live))
	fmt.Fprintf(w, "# HELP nines_ready 1 while the agent's data gets where it goes: what /readyz answers.\n# TYPE nines_ready gauge\nnines_ready %d\n", boolGauge(h.Readiness.Ready))
	fmt.Fprintf(w, "# HELP nines_not_ready 1 for each reason the agent is not ready.\n# TYPE nines_not_ready gauge\n")
	for _, r := range []string{NotReadySinkFailing, NotReadySpoolBacklog, NotReadyPointsDropped} {
		on := false
		for _, nr := range h.Readiness.Reasons {
			on = on || nr.Reason == r
		}
		fmt.Fprintf(w, "nines_not_ready{%s} %d\n", labels("reason", r), boolGauge(on))
	}
}

func boolGauge(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Labels formats name/value pairs for the text format, escaping the
// values (backslash, double quote, line feed) as the format wants:
// canary="we\"ird",region="eu-west-1".
func Labels(kv ...string) string { return labels(kv...) }

// labels formats name/value pairs, escaping values as the format wants.
func labels(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(kv[i+1]))
		b.WriteByte('"')
	}
	return b.String()
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
