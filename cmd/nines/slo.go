package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

func init() {
	register("slo", "SLO error budgets: status, backtest, export", runSLO, "status", "backtest", "export")
}

func runSLO(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stdout, "Usage: nines slo <status|backtest|export> [flags]")
		fmt.Fprintln(e.stdout)
		fmt.Fprintln(e.stdout, "  status     show each SLO's budget, burn rates and state")
		fmt.Fprintln(e.stdout, "  backtest   replay a recorded trace and list the alerts the policy would raise")
		fmt.Fprintln(e.stdout, "  export     write the config's SLOs as OpenSLO v1")
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	switch args[0] {
	case "backtest":
		return runSLOBacktest(ctx, e, args[1:])
	case "status":
		return runSLOStatus(ctx, e, args[1:])
	case "export":
		return runSLOExport(e, args[1:])
	}
	return usageError("slo: unknown subcommand %q; use status, backtest or export", args[0])
}

// runSLOExport writes the config's SLOs, from slos: or OpenSLO files, as
// OpenSLO v1 documents that import back to the same SLOs.
func runSLOExport(e *env, args []string) error {
	fs := newFlagSet(e, "slo export", "slo export -c FILE [--format openslo|yaml]")
	path := configFlag(fs)
	format := fs.String("format", "openslo", "output format: openslo (OpenSLO v1) or yaml (nines' own slos: section)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, "openslo", "yaml"); err != nil {
		return err
	}
	// Receivers are exported by name and kind only: their secrets need
	// not be set to export.
	cfg, err := e.loadConfig(*path, config.Options{SkipEnvCheck: true})
	if err != nil {
		return err
	}
	if len(cfg.SLOs) == 0 {
		return fmt.Errorf("slo export: %s has no SLOs; add slos: or openslo: (see examples/slo.yaml)", *path)
	}
	var out []byte
	if *format == "yaml" {
		out, err = config.ExportYAML(cfg.SLOs, cfg.Compositions)
	} else {
		var leftOut []string
		out, leftOut, err = config.ExportOpenSLO(cfg.SLOs, cfg.Compositions, cfg.Alerting, time.Now())
		for _, c := range leftOut {
			fmt.Fprintf(e.stderr, "slo export: composition %q is left out: OpenSLO v1 has no SLO made of other SLOs but a weighted composite of objectives that share a window, budgeting and alert policies\n", c)
		}
	}
	if err != nil {
		return fmt.Errorf("slo export: %w", err)
	}
	_, err = e.stdout.Write(out)
	return err
}

func runSLOBacktest(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "slo backtest", "slo backtest (-c FILE --slo NAME | --objective 0.999 [--window 30d] [--policy FILE]) --input trace.csv [--format text|json]")
	path := configFlag(fs)
	for _, name := range []string{"c", "config"} {
		fs.Lookup(name).Usage = "with --slo: the nines config `file` that holds the SLO (without it, give --objective)"
	}
	sloName := fs.String("slo", "", "with -c: replay this SLO as configured: its objective, window, budgeting, policy (tiers, for:, min_bad_events) and its canary's cadence")
	objective := fs.String("objective", "", "without -c: the objective, as a ratio (0.999) or percent (99.9)")
	window := fs.String("window", "30d", "without -c: the budget window: a rolling length (30d, 28d) or week or month")
	tz := fs.String("tz", "UTC", "without -c: time zone of a calendar window")
	input := fs.String("input", "", "the trace: CSV with a header timestamp,good,total; - reads stdin")
	policyFile := fs.String("policy", "", "without -c: a YAML policy file; the default is the SRE workbook table, scaled to the window")
	format := fs.String("format", "text", "output format: text or json")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, "text", "json"); err != nil {
		return err
	}
	if *input == "" {
		return usageError("slo backtest: --input is required")
	}
	var cfg slo.BacktestConfig
	var name string
	if *path != "" || *sloName != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, f := range []string{"objective", "window", "tz", "policy"} {
			if set[f] {
				return usageError("slo backtest: --%s comes from the config with -c and --slo; remove it, or drop -c to give the SLO by flags", f)
			}
		}
		if *sloName == "" {
			return usageError("slo backtest: -c needs --slo NAME, the SLO to replay")
		}
		c, err := e.loadConfig(*path, config.Options{SkipEnvCheck: true})
		if err != nil {
			return err
		}
		var found *slo.SLO
		var names []string
		for i := range c.SLOs {
			names = append(names, c.SLOs[i].Name)
			if c.SLOs[i].Name == *sloName {
				found = &c.SLOs[i]
			}
		}
		if found == nil {
			for _, comp := range c.Compositions {
				if comp.Name == *sloName {
					return usageError("slo backtest: %q is a composition; replay one of its parts: %s", *sloName, strings.Join(comp.Parts, ", "))
				}
			}
			return usageError("slo backtest: %s has no SLO %q; it has: %s", *path, *sloName, strings.Join(names, ", "))
		}
		cfg = slo.BacktestConfig{Objective: found.Objective, Window: found.Window, Budgeting: found.Budgeting, Policy: found.Policy, Probes: found.Probes}
		name = found.Name
		for _, w := range c.SLOWarnings {
			if strings.Contains(w.Path, "slos[") || strings.Contains(w.File, "openslo") {
				fmt.Fprintln(e.stderr, "nines: warning:", w.Error())
			}
		}
	} else {
		if *objective == "" {
			return usageError("slo backtest: give -c FILE --slo NAME, or --objective")
		}
		obj, err := slo.ParseObjective(*objective)
		if err != nil {
			return usageError("slo backtest: --objective: %v", err)
		}
		win, err := parseWindowFlag(*window, *tz)
		if err != nil {
			return usageError("slo backtest: --window: %v", err)
		}
		cfg = slo.BacktestConfig{Objective: obj, Window: win}
		if *policyFile != "" {
			data, err := os.ReadFile(*policyFile)
			if err != nil {
				return fmt.Errorf("slo backtest: %w", err)
			}
			p, err := slo.ParsePolicy(*policyFile, data)
			if err != nil {
				return fmt.Errorf("slo backtest: %w", err)
			}
			cfg.Policy = &p
		}
	}
	var in io.Reader = e.stdin
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			return fmt.Errorf("slo backtest: %w", err)
		}
		defer f.Close()
		in = f
	}
	var err error
	if cfg.Trace, err = slo.ReadTraceCSV(in); err != nil {
		return fmt.Errorf("slo backtest: %s: %w", *input, err)
	}
	if name == "" {
		s := slo.SLO{Name: "backtest", SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "backtest"}, Objective: cfg.Objective, Window: cfg.Window, Policy: cfg.Policy}
		for _, w := range s.Warnings(cfg.Trace.Start) {
			fmt.Fprintln(e.stderr, "nines: warning:", w)
		}
	}
	res, err := slo.Backtest(ctx, cfg)
	if err != nil {
		return fmt.Errorf("slo backtest: %w", err)
	}
	if *format == "json" {
		return writeBacktestJSON(e.stdout, name, cfg, res)
	}
	if err := writeBacktestHeader(e.stdout, name, cfg); err != nil {
		return err
	}
	return writeBacktestText(e.stdout, res)
}

// backtestRule says in a line what is replayed: the SLO and the
// low-traffic rule its cadence gives.
func backtestRule(name string, cfg slo.BacktestConfig) string {
	p := slo.DefaultPolicy()
	if cfg.Policy != nil {
		p = *cfg.Policy
	}
	who := "the trace"
	if name != "" {
		who = name
	}
	s := fmt.Sprintf("%s: %s over %s; a tier needs %s bad events in its long window", who, slo.Percent(cfg.Objective), cfg.Window, strconv.FormatFloat(p.MinBad(), 'g', -1, 64))
	if cfg.Probes.Every > 0 {
		s += fmt.Sprintf("; one run every %s in %d region(s), so short windows hold a run", slo.FormatDuration(cfg.Probes.Every), max(cfg.Probes.PerRound, 1))
	} else {
		s += "; the cadence is read from the trace's counts, as for a ratio SLI"
	}
	return s
}

func writeBacktestHeader(w io.Writer, name string, cfg slo.BacktestConfig) error {
	_, err := fmt.Fprintln(w, backtestRule(name, cfg))
	return err
}

func parseWindowFlag(s, tz string) (slo.Window, error) {
	switch s {
	case "week", "month":
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return slo.Window{}, fmt.Errorf("--tz %q: unknown time zone", tz)
		}
		return slo.CalendarWindow(slo.CalendarUnit(s), loc), nil
	}
	d, err := slo.ParseDuration(s)
	if err != nil {
		return slo.Window{}, err
	}
	w := slo.RollingWindow(d)
	return w, w.Validate()
}

type backtestAlertJSON struct {
	Severity    string     `json:"severity"`
	Tier        string     `json:"tier"`
	LongWindow  string     `json:"long_window"`
	ShortWindow string     `json:"short_window"`
	BurnRate    float64    `json:"burn_rate"`
	FiredAt     time.Time  `json:"fired_at"`
	ResolvedAt  *time.Time `json:"resolved_at"`
}

type backtestJSON struct {
	SLO             *string             `json:"slo"`
	Rule            string              `json:"rule"`
	Alerts          []backtestAlertJSON `json:"alerts"`
	BudgetRemaining *float64            `json:"budget_remaining"`
	Evaluations     int                 `json:"evaluations"`
}

func writeBacktestJSON(w io.Writer, name string, cfg slo.BacktestConfig, res slo.BacktestResult) error {
	out := backtestJSON{Alerts: []backtestAlertJSON{}, Evaluations: res.Evaluations, Rule: backtestRule(name, cfg)}
	if name != "" {
		out.SLO = &name
	}
	for _, a := range res.Alerts {
		j := backtestAlertJSON{
			Severity:    string(a.Severity),
			Tier:        a.Tier,
			LongWindow:  slo.FormatDuration(a.LongWindow),
			ShortWindow: slo.FormatDuration(a.ShortWindow),
			BurnRate:    a.BurnRate,
			FiredAt:     a.FiredAt.UTC(),
		}
		if a.ResolvedAt != nil {
			t := a.ResolvedAt.UTC()
			j.ResolvedAt = &t
		}
		out.Alerts = append(out.Alerts, j)
	}
	if !res.Budget.NoData {
		r := res.Budget.Remaining
		out.BudgetRemaining = &r
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeBacktestText(w io.Writer, res slo.BacktestResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(res.Alerts) > 0 {
		fmt.Fprintln(tw, "SEVERITY\tTIER\tWINDOWS\tBURN\tFIRED\tRESOLVED\tLASTED")
	}
	for _, a := range res.Alerts {
		resolved, lasted := "still firing", "-"
		if a.ResolvedAt != nil {
			resolved = a.ResolvedAt.UTC().Format(time.RFC3339)
			lasted = slo.FormatDuration(a.ResolvedAt.Sub(a.FiredAt))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%sx\t%s\t%s\t%s\n", a.Severity, a.Tier,
			slo.FormatDuration(a.LongWindow), slo.FormatDuration(a.ShortWindow),
			strconv.FormatFloat(a.BurnRate, 'f', 2, 64), a.FiredAt.UTC().Format(time.RFC3339), resolved, lasted)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	budget := "no data"
	if !res.Budget.NoData {
		budget = slo.Percent(res.Budget.Remaining)
	}
	noun := "alerts"
	if len(res.Alerts) == 1 {
		noun = "alert"
	}
	_, err := fmt.Fprintf(w, "%d %s over %d evaluations; budget remaining at the end: %s\n", len(res.Alerts), noun, res.Evaluations, budget)
	return err
}

func runSLOStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "slo status", "slo status -c FILE [--format text|json] [--store FILE | --cloudwatch [--region R] [--profile P] [--endpoint URL] [--namespace NS]] [--regions R1,R2] [--at TIME]")
	path := configFlag(fs)
	format := fs.String("format", "text", "output format: text or json")
	storeFile := fs.String("store", "", "the local store to read (default: store.path in the config)")
	useCloudWatch := fs.Bool("cloudwatch", false, "read from CloudWatch GetMetricData (the default when the config has a cloudwatch: section)")
	aws := addAWSFlags(fs, "CloudWatch: the monitoring region the agents publish to (default: cloudwatch.region, else deploy.monitoring_region)")
	endpoint := fs.String("endpoint", "", "a CloudWatch endpoint URL (default: cloudwatch.endpoint, then AWS_ENDPOINT_URL_CLOUDWATCH)")
	namespace := fs.String("namespace", "", "the CloudWatch namespace of the canary metrics (default: cloudwatch.namespace, then "+slo.DefaultNamespace+")")
	regions := fs.String("regions", "", "comma-separated agent regions that an SLI without regions adds up (CloudWatch only)")
	at := fs.String("at", "", "evaluate as of this time, RFC 3339 (default: now)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, "text", "json"); err != nil {
		return err
	}
	clk := clock.Clock(clock.Real{})
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError("slo status: --at %q: use RFC 3339, such as 2025-03-02T12:00:00Z", *at)
		}
		clk = clock.NewFake(t)
	}
	// Status sends nothing, so it needs none of the receivers' secrets.
	cfg, err := e.loadConfig(*path, config.Options{SkipEnvCheck: true})
	if err != nil {
		return err
	}
	for _, w := range cfg.SLOWarnings {
		fmt.Fprintln(e.stderr, "nines: warning:", w.Error())
	}
	if len(cfg.SLOs) == 0 {
		return fmt.Errorf("slo status: %s has no SLOs; add slos: or openslo: (see examples/slo.yaml)", *path)
	}
	var src slo.Source
	if cw := cfg.Metrics.CloudWatch; cw != nil && *storeFile == "" {
		*useCloudWatch = true
		*aws.region, *endpoint, *namespace = or(*aws.region, cw.Region), or(*endpoint, cw.Endpoint), or(*namespace, cw.Namespace)
	}
	if *useCloudWatch {
		var monitoring string
		if cfg.Deploy != nil {
			monitoring = cfg.Deploy.MonitoringRegion
		}
		awsCfg, err := loadAWS(ctx, *aws.profile, *aws.region, monitoring)
		if errors.Is(err, errNoRegion) {
			return usageError("slo status: no monitoring region: %s", noRegionHint)
		}
		if err != nil {
			return fmt.Errorf("slo status: %w", err)
		}
		// An SLI without regions sums the regions agents publish from, as
		// the evaluator does: --regions, else the config's.
		rs := cfg.AgentRegions()
		if *regions != "" {
			rs = strings.Split(*regions, ",")
		}
		srcCfg := cloudWatchSourceConfig(awsCfg, *endpoint)
		srcCfg.Namespace, srcCfg.Regions, srcCfg.Clock = *namespace, rs, clk
		if src, err = slo.NewCloudWatchSource(srcCfg); err != nil {
			return err
		}
	} else {
		file := or(*storeFile, cfg.Metrics.Store.Path)
		// Opening creates a missing store; status only reads one.
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("slo status: no local store at %s: run nines run to record one, pass --store FILE, or --cloudwatch", file)
		}
		sc := cfg.Metrics.Store
		sc.Path, sc.Clock = file, clk
		store, err := metrics.OpenStore(ctx, sc)
		if err != nil {
			return fmt.Errorf("slo status: %w", err)
		}
		defer store.Close(ctx)
		if src, err = slo.NewLocalSource(store); err != nil {
			return err
		}
	}
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clk})
	if err != nil {
		return err
	}
	decisions, err := ev.Evaluate(ctx, cfg.SLOs)
	if err != nil {
		return fmt.Errorf("slo status: %w", err)
	}
	statuses := make([]slo.Status, len(decisions))
	for i, d := range decisions {
		statuses[i] = slo.NewStatus(d)
	}
	composed, err := slo.ComposeAll(cfg.Compositions, decisions)
	if err != nil {
		return fmt.Errorf("slo status: %w", err)
	}
	if *format == "json" {
		if composed == nil {
			composed = []slo.ComposedStatus{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			SLOs         []slo.Status         `json:"slos"`
			Compositions []slo.ComposedStatus `json:"compositions"`
		}{statuses, composed})
	}
	return slo.WriteStatusText(e.stdout, statuses, composed)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
