package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

func init() {
	register("cost", "estimate the monthly CloudWatch bill of a config, beside CloudWatch Synthetics", runCost)
}

// sloWindowsPerEvaluation is what one evaluation of an SLO reads: the
// default policy's five distinct windows (5m, 30m, 1h, 6h, 3d) and the SLO
// window for the budget.
const sloWindowsPerEvaluation = 6

func runCost(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "cost", "cost -c FILE [--regions N] [--eval-every 1m] [--format text|json]")
	path := configFlag(fs)
	regions := fs.Int("regions", 0, "how many agent regions run this config (default: deploy.agent_regions, else dashboards.regions, else 1)")
	evalEvery := fs.Duration("eval-every", 0, "how often the evaluator evaluates each SLO (default: alerting.evaluation_interval, else 1m)")
	format := fs.String("format", "text", "output: text or json")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, "text", "json"); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["regions"] && *regions < 1 {
		return usageError("--regions %d: at least 1", *regions)
	}
	if set["eval-every"] && *evalEvery < time.Second {
		return usageError("--eval-every %s: at least 1s", *evalEvery)
	}
	cfg, err := e.loadConfig(*path, config.Options{SkipEnvCheck: true})
	if err != nil {
		return err
	}
	if !set["eval-every"] {
		*evalEvery = time.Minute
		if cfg.Alerting != nil && cfg.Alerting.Interval > 0 {
			*evalEvery = cfg.Alerting.Interval
		}
	}
	from := "--regions"
	if !set["regions"] {
		*regions, from = costRegions(cfg)
	}
	in := costInput(cfg, *regions, *evalEvery)
	rep, err := metrics.EstimateCost(in)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(costJSONOf(cfg, in, rep, from))
	}
	printCost(e.stdout, cfg, in, rep, from)
	return nil
}

// costJSON is the estimate as scripts read it: snake_case keys, durations
// in seconds and dollar amounts rounded to a hundredth of a cent.
type costJSON struct {
	Config               string           `json:"config"`
	AgentRegions         int              `json:"agent_regions"`
	AgentRegionsFrom     string           `json:"agent_regions_from"`
	PeriodSeconds        float64          `json:"period_seconds"`
	SLOs                 int              `json:"slos"`
	Prices               costPricesJSON   `json:"prices_usd"`
	CustomMetrics        int              `json:"custom_metrics"`
	MetricsUSD           float64          `json:"custom_metrics_usd"`
	PutRequests          float64          `json:"put_requests"`
	PutRequestsUSD       float64          `json:"put_requests_usd"`
	PutRequestsPerPeriod int              `json:"put_requests_per_period"`
	GetMetrics           float64          `json:"get_metrics"`
	GetMetricsUSD        float64          `json:"get_metrics_usd"`
	TotalUSD             float64          `json:"total_usd"`
	SyntheticsRuns       float64          `json:"synthetics_runs"`
	SyntheticsUSD        float64          `json:"synthetics_usd"`
	Canaries             []costCanaryJSON `json:"canaries"`
}

type costPricesJSON struct {
	MetricMonth        float64 `json:"metric_month"`
	PutRequestsPer1000 float64 `json:"put_requests_per_1000"`
	GetMetricsPer1000  float64 `json:"get_metrics_per_1000"`
	SyntheticsRun      float64 `json:"synthetics_run"`
}

type costCanaryJSON struct {
	Name                   string  `json:"name"`
	EverySeconds           float64 `json:"every_seconds"`
	Metrics                int     `json:"metrics"`
	NinesUSD               float64 `json:"nines_usd"`
	SyntheticsEverySeconds float64 `json:"synthetics_every_seconds"`
	SyntheticsRuns         float64 `json:"synthetics_runs"`
	SyntheticsUSD          float64 `json:"synthetics_usd"`
}

func costJSONOf(cfg *config.Config, in metrics.CostInput, rep metrics.CostReport, regionsFrom string) costJSON {
	usd := func(v float64) float64 { return math.Round(v*1e4) / 1e4 }
	out := costJSON{
		Config: cfg.File, AgentRegions: in.Regions, AgentRegionsFrom: regionsFrom,
		PeriodSeconds: in.Period.Seconds(), SLOs: len(in.SLOs),
		Prices: costPricesJSON{MetricMonth: rep.Prices.MetricMonth, PutRequestsPer1000: rep.Prices.PutRequestsPer1000,
			GetMetricsPer1000: rep.Prices.GetMetricsPer1000, SyntheticsRun: rep.Prices.SyntheticsRun},
		CustomMetrics: rep.CustomMetrics, MetricsUSD: usd(rep.MetricsCost),
		PutRequests: rep.PutRequests, PutRequestsUSD: usd(rep.PutRequestsCost), PutRequestsPerPeriod: rep.PutRequestsPerPeriod,
		GetMetrics: rep.GetMetrics, GetMetricsUSD: usd(rep.GetMetricsCost), TotalUSD: usd(rep.Total),
		SyntheticsRuns: rep.SyntheticsRuns, SyntheticsUSD: usd(rep.SyntheticsCost),
		Canaries: make([]costCanaryJSON, len(rep.Canaries)),
	}
	for i, c := range rep.Canaries {
		out.Canaries[i] = costCanaryJSON{Name: c.Name, EverySeconds: in.Canaries[i].Every.Seconds(), Metrics: c.Metrics,
			NinesUSD: usd(c.Nines), SyntheticsEverySeconds: c.SyntheticsEvery.Seconds(),
			SyntheticsRuns: c.SyntheticsRuns, SyntheticsUSD: usd(c.Synthetics)}
	}
	return out
}

// costRegions is how many agent regions run the config, and which part of
// the config says so: the regions agentRegions names, else one.
func costRegions(cfg *config.Config) (int, string) {
	switch {
	case cfg.Deploy != nil && len(cfg.Deploy.AgentRegions) > 0:
		return len(cfg.Deploy.AgentRegions), "deploy.agent_regions"
	case len(cfg.Dashboards.Regions) > 0:
		return len(cfg.Dashboards.Regions), "dashboards.regions"
	}
	return 1, "agent.region"
}

// costInput is the config as the bill sees it.
func costInput(cfg *config.Config, regions int, evalEvery time.Duration) metrics.CostInput {
	in := metrics.CostInput{Regions: regions, Period: cfg.Agent.Period, Prices: cfg.Metrics.Prices, StorageResolution: 60}
	if cw := cfg.Metrics.CloudWatch; cw != nil {
		in.StorageResolution = cw.StorageResolution
	}
	for _, c := range cfg.Canaries {
		cc := metrics.CostCanary{Name: c.Name, Every: c.Every, StepMetrics: c.StepMetrics}
		for _, st := range c.Steps {
			cc.Steps = append(cc.Steps, st.Name)
		}
		in.Canaries = append(in.Canaries, cc)
	}
	for _, s := range cfg.SLOs {
		r := regions
		switch {
		case s.SLI.Kind == slo.SLIRatio || s.SLI.Kind == slo.SLIThreshold || s.SLI.Kind == slo.SLIRawRatio:
			r = 1 // one pair of metrics (or one statistic), wherever they come from
		case len(s.SLI.Regions) > 0:
			r = len(s.SLI.Regions)
		}
		in.SLOs = append(in.SLOs, metrics.CostSLO{Name: s.Name, Regions: r, Windows: sloWindowsPerEvaluation, EvalEvery: evalEvery})
	}
	// The dead-man's switches and the canary failure rules run with the
	// evaluator, which runs when there are SLOs or failure rules.
	if settings := alertSettings(cfg); evaluates(cfg) && settings.NoDataPeriods > 0 {
		agents := len(settings.Agents)
		if agents == 0 && cfg.Deploy != nil {
			agents = len(cfg.Deploy.AgentRegions) // the Lambda evaluator's default
		}
		// A canary switch whose span is a window of an SLO over that
		// canary in every region is answered from the SLO's own reads.
		span := time.Duration(settings.NoDataPeriods) * cfg.Agent.Period
		covered := map[string]bool{}
		for _, s := range cfg.SLOs {
			if s.SLI.Canary == "" || len(s.SLI.Regions) > 0 || (s.SLI.Kind != slo.SLIAvailability && s.SLI.Kind != slo.SLILatency) {
				continue
			}
			for _, w := range s.BurnWindows(time.Now()) {
				covered[s.SLI.Canary] = covered[s.SLI.Canary] || w == span
			}
		}
		// An agent's switch reads its AgentHeartbeat in each region, a
		// canary's its availability there: Attempts and Successes.
		watched := agents
		for _, c := range cfg.Canaries {
			if !covered[c.Name] {
				watched += 2
			}
		}
		in.WatchSeries = watched * max(regions, 1)
		// A ratio SLO's switch reads its good (or bad) and total metrics,
		// a threshold or raw_ratio SLO's its one statistic, unless its span
		// is one of the SLO's windows (for slices longer than a minute, the
		// SLO's reads are a slice behind most rounds, and do not answer it).
		for _, s := range cfg.SLOs {
			w, ok := sloWatch(s, cfg.Agent.Period, settings.NoDataPeriods)
			if !ok {
				continue
			}
			own := false
			if s.SLI.Kind == slo.SLIRatio || w.Period == time.Minute {
				for _, win := range s.BurnWindows(time.Now()) {
					own = own || win == w.Span()
				}
			}
			switch {
			case own:
			case s.SLI.Kind == slo.SLIRatio:
				in.WatchSeries += 2
			default:
				in.WatchSeries++
			}
		}
	}
	// A failure rule reads its canary's Attempts and Successes in each
	// region, every evaluation.
	in.WatchSeries += 2 * len(cfg.FailureRules) * max(regions, 1)
	if in.WatchSeries > 0 {
		in.WatchEvery = evalEvery
	}
	return in
}

func printCost(w io.Writer, cfg *config.Config, in metrics.CostInput, rep metrics.CostReport, regionsFrom string) {
	p := rep.Prices
	fmt.Fprintf(w, "nines cost: %s: %d canaries in %d agent region(s) (%s), period %s, %d SLOs\n",
		cfg.File, len(in.Canaries), in.Regions, regionsFrom, in.Period, len(in.SLOs))
	fmt.Fprintf(w, "Prices used (USD; change them under cost: in the config): custom metric-month $%.4g, 1,000 PutMetricData requests $%.4g,\n"+
		"1,000 metrics requested by GetMetricData $%.4g, one CloudWatch Synthetics run $%.4g (its Lambda and S3 charges not included).\n\n",
		p.MetricMonth, p.PutRequestsPer1000, p.GetMetricsPer1000, p.SyntheticsRun)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "CloudWatch, per month (730 h)\t\t\n")
	fmt.Fprintf(tw, "custom metrics\t%d\t$%.2f\t\n", rep.CustomMetrics, rep.MetricsCost)
	fmt.Fprintf(tw, "PutMetricData requests (%d per period and region)\t%.0f\t$%.2f\t\n", rep.PutRequestsPerPeriod, rep.PutRequests, rep.PutRequestsCost)
	fmt.Fprintf(tw, "metrics requested by GetMetricData (%s)\t%.0f\t$%.2f\t\n", evalEveryOf(in), rep.GetMetrics, rep.GetMetricsCost)
	fmt.Fprintf(tw, "total\t\t$%.2f\t\n", rep.Total)
	fmt.Fprintf(tw, "the same checks as Synthetics canaries\t%.0f runs\t$%.2f\t\n", rep.SyntheticsRuns, rep.SyntheticsCost)
	_ = tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "per canary-month\tevery\tmetrics\tnines\tSynthetics every\tSynthetics\t\n")
	var faster []string
	for i, c := range rep.Canaries {
		fmt.Fprintf(tw, "%s\t%s\t%d\t$%.2f\t%s\t$%.2f\t\n", c.Name, in.Canaries[i].Every, c.Metrics, c.Nines, c.SyntheticsEvery, c.Synthetics)
		if in.Canaries[i].Every < c.SyntheticsEvery {
			faster = append(faster, fmt.Sprintf("%s every %s", c.Name, in.Canaries[i].Every))
		}
	}
	_ = tw.Flush()
	if len(faster) > 0 {
		fmt.Fprintf(w, "\nSynthetics runs a canary at most once a minute, so it is priced at that rate;\n"+
			"it cannot check as often as this config does (%s).\n", strings.Join(faster, ", "))
	}
}

func evalEveryOf(in metrics.CostInput) string {
	var parts []string
	if len(in.SLOs) > 0 {
		parts = append(parts, "SLOs evaluated every "+in.SLOs[0].EvalEvery.String())
	}
	if in.WatchSeries > 0 {
		s := fmt.Sprintf("%d series of dead-man's switches and failure rules", in.WatchSeries)
		if len(in.SLOs) == 0 {
			s += " every " + in.WatchEvery.String()
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no SLOs"
	}
	return strings.Join(parts, ", and ")
}
