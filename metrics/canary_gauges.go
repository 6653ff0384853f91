package metrics

import (
	"bufio"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/internal/clock"
)

// CanaryGauges shows on /metrics how each canary's latest run went, and how
// long each certificate its TLS steps met has left. It is a canary.Observer
// beside the Recorder, and a Collector of the Prometheus sink. The counters
// and the latency histogram tell the totals; these tell the moment, for an
// alert rule such as "the last run failed" or "a certificate expires within
// 14 days". Safe for concurrent use.
type CanaryGauges struct {
	region string
	clock  clock.Clock

	mu   sync.Mutex
	last map[string]canary.Result
	// certs keeps, per canary and step, the expiry from the latest run
	// whose step completed a TLS handshake: a run that fails before the
	// handshake does not make the certificate vanish.
	certs map[string]map[string]time.Time
}

// NewCanaryGauges shows the runs of an agent in region; clk (the real
// clock when nil) measures the time a certificate has left at each scrape.
func NewCanaryGauges(region string, clk clock.Clock) *CanaryGauges {
	return &CanaryGauges{region: region, clock: clock.OrReal(clk), last: map[string]canary.Result{}, certs: map[string]map[string]time.Time{}}
}

// Observe implements canary.Observer; an older result than the one kept
// (a late retry) does not replace it.
func (g *CanaryGauges) Observe(r canary.Result) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if prev, ok := g.last[r.Canary]; !ok || !r.Start.Before(prev.Start) {
		g.last[r.Canary] = r
	}
	for _, s := range r.Steps {
		if s.Cert == nil || s.Cert.Expires.IsZero() {
			continue
		}
		if g.certs[r.Canary] == nil {
			g.certs[r.Canary] = map[string]time.Time{}
		}
		g.certs[r.Canary][s.Name] = s.Cert.Expires
	}
}

// Overlapped implements canary.Observer.
func (g *CanaryGauges) Overlapped(string, time.Time) {}

// WriteMetrics writes per canary nines_canary_last_run_success,
// nines_canary_last_run_duration_seconds and
// nines_canary_last_run_timestamp_seconds, and per canary and TLS step
// nines_canary_cert_expiry_seconds: the seconds left until the earliest
// certificate the server sent expires, negative once it has. Labels are
// canary, region and step names from the config, so the series are bounded
// by it: 3 per canary and 1 per TLS step.
func (g *CanaryGauges) WriteMetrics(out io.Writer) error {
	now := g.clock.Now()
	g.mu.Lock()
	names := make([]string, 0, len(g.last))
	for n := range g.last {
		names = append(names, n)
	}
	sort.Strings(names)
	last := make([]canary.Result, len(names))
	for i, n := range names {
		last[i] = g.last[n]
	}
	type cert struct {
		canary, step string
		left         float64
	}
	var certs []cert
	for c, steps := range g.certs {
		for s, at := range steps {
			certs = append(certs, cert{c, s, at.Sub(now).Seconds()})
		}
	}
	g.mu.Unlock()
	if len(last) == 0 {
		return nil
	}
	sort.Slice(certs, func(i, j int) bool {
		if certs[i].canary != certs[j].canary {
			return certs[i].canary < certs[j].canary
		}
		return certs[i].step < certs[j].step
	})
	w := bufio.NewWriter(out)
	family := func(name, help string) {
		w.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n")
	}
	sample := func(name, labels string, v float64) {
		w.WriteString(name + "{" + labels + "} " + strconv.FormatFloat(v, 'f', -1, 64) + "\n")
	}
	family("nines_canary_last_run_success", "Whether the canary's latest run passed every step (1) or not (0).")
	for _, r := range last {
		v := 0.0
		if r.OK {
			v = 1
		}
		sample("nines_canary_last_run_success", labels("canary", r.Canary, "region", g.region), v)
	}
	family("nines_canary_last_run_duration_seconds", "How long the canary's latest run took, failed or not.")
	for _, r := range last {
		sample("nines_canary_last_run_duration_seconds", labels("canary", r.Canary, "region", g.region), r.Duration.Seconds())
	}
	family("nines_canary_last_run_timestamp_seconds", "When the canary's latest run began.")
	for _, r := range last {
		sample("nines_canary_last_run_timestamp_seconds", labels("canary", r.Canary, "region", g.region), float64(r.Start.Unix()))
	}
	if len(certs) > 0 {
		family("nines_canary_cert_expiry_seconds", "Seconds until the earliest certificate the server sent to the step expires, as of this scrape; negative once expired. From the latest run that completed the step's TLS handshake.")
		for _, c := range certs {
			sample("nines_canary_cert_expiry_seconds", labels("canary", c.canary, "region", g.region, "step", c.step), c.left)
		}
	}
	return w.Flush()
}
