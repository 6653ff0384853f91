package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/dashboards"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

func init() {
	register("review", "write the weekly operational review (HTML, Markdown or JSON)", runReview)
}

func runReview(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "review", "review -c FILE [--week 2026-W47] [--out DIR] [--format html|md|json] [--seed N] [--source local|cloudwatch] [--store FILE] [--region R] [--profile P] [--state-table T] [--slack]")
	path := configFlag(fs)
	week := fs.String("week", "", "ISO week to review, e.g. 2026-W47 (default: the last complete week when it has data, else this week so far, marked partial)")
	out := fs.String("out", "", "write the report to DIR/review-WEEK.EXT instead of stdout")
	format := fs.String("format", "html", "html (one self-contained file), md (for a wiki) or json (for scripts)")
	seed := fs.Uint64("seed", 0, "seed for the wheel's pick (default: derived from the week)")
	storeFile := fs.String("store", "", "the local store to read (default: store.path from the config)")
	source := fs.String("source", "", "local (the store file) or cloudwatch (the metrics agents published, and the alert history in DynamoDB); default: local when the store file exists, else cloudwatch when the config publishes there")
	aws := addAWSFlags(fs, "cloudwatch: the monitoring region (default: cloudwatch.region, else deploy.monitoring_region")
	stateTable := fs.String("state-table", "", "cloudwatch: the DynamoDB table with the alert history, the stack's StateTableName output (default: alerting.state.dynamodb_table)")
	tz := fs.String("tz", "UTC", "time zone the week is counted in")
	postSlack := fs.Bool("slack", false, "also post a summary to the first Slack receiver under alerting.receivers")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, "html", "md", "json"); err != nil {
		return err
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return usageError("--tz %q: not a time zone name such as Europe/Berlin", *tz)
	}
	cfg, err := e.loadConfig(*path, config.Options{SkipEnvCheck: !*postSlack})
	if err != nil {
		return err
	}
	if len(cfg.SLOs) == 0 {
		return fmt.Errorf("review: %s has no SLOs; add slos: (see examples/slo.yaml)", *path)
	}
	var canaries []string
	for _, c := range cfg.Canaries {
		canaries = append(canaries, c.Name)
	}
	rc := dashboards.ReviewConfig{SLOs: cfg.SLOs, Compositions: cfg.Compositions, Canaries: canaries,
		Week: *week, Location: loc, Seed: *seed, Now: time.Now()}
	var closeSources func()
	switch from := reviewSourceOf(cfg, *source, *storeFile); from {
	case "local":
		closeSources, err = localReviewSources(ctx, cfg, or(*storeFile, cfg.Metrics.Store.Path), &rc)
	case "cloudwatch":
		closeSources, err = cloudWatchReviewSources(ctx, cfg, awsFlagValues{*aws.region, *aws.profile}, or(*stateTable, alertSettings(cfg).DynamoDBTable), &rc)
	default:
		return usageError("--source %q: use local or cloudwatch", from)
	}
	if err != nil {
		return err
	}
	defer closeSources()
	began := time.Now()
	rv, err := dashboards.BuildReview(ctx, rc)
	if err != nil {
		return err
	}
	w := e.stdout
	var target string
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		ext := map[string]string{"html": "html", "md": "md", "json": "json"}[*format]
		target = filepath.Join(*out, fmt.Sprintf("review-%s.%s", rv.Week, ext))
		f, err := os.Create(target)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	switch *format {
	case "html":
		err = rv.WriteHTML(w)
	case "md":
		err = rv.WriteMarkdown(w)
	default:
		err = rv.WriteJSON(w)
	}
	if err != nil {
		return err
	}
	if target != "" {
		fmt.Fprintf(e.stderr, "review of %s: %d SLOs, %d alerts, written to %s in %s\n", rv.Week, len(rv.SLOs), len(rv.Alerts),
			target, time.Since(began).Round(time.Millisecond))
	}
	if *postSlack {
		t, err := reviewSlackTarget(cfg)
		if err != nil {
			return err
		}
		if err := rv.PostSlack(ctx, t); err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "review summary posted to Slack")
	}
	return nil
}

func reviewSlackTarget(cfg *config.Config) (dashboards.SlackTarget, error) {
	if cfg.Alerting != nil {
		for _, r := range cfg.Alerting.Receivers {
			if s := r.Slack; s != nil {
				return dashboards.SlackTarget{Token: s.Token, Channel: s.Channel, WebhookURL: s.WebhookURL, APIURL: s.APIURL}, nil
			}
		}
	}
	return dashboards.SlackTarget{}, fmt.Errorf("review: --slack needs a slack receiver under alerting.receivers")
}

// reviewSourceOf picks where the review reads from: what --source says,
// else the local store when its file is there, else CloudWatch when the
// config publishes there (a cloudwatch: or deploy: section).
func reviewSourceOf(cfg *config.Config, flag, storeFile string) string {
	if flag != "" {
		return flag
	}
	if _, err := os.Stat(or(storeFile, cfg.Metrics.Store.Path)); err == nil {
		return "local"
	}
	if cfg.Metrics.CloudWatch != nil || cfg.Deploy != nil {
		return "cloudwatch"
	}
	return "local"
}

// localReviewSources reads everything from the local store's file: the
// embedded default.
func localReviewSources(ctx context.Context, cfg *config.Config, file string, rc *dashboards.ReviewConfig) (func(), error) {
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("review: no local store at %s: run nines run to record one, pass --store FILE, or read CloudWatch with --source cloudwatch", file)
	}
	sc := cfg.Metrics.Store
	sc.Path = file
	store, err := metrics.OpenStore(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	alerts, err := alerting.OpenSQLite(ctx, file)
	if err != nil {
		store.Close(ctx)
		return nil, fmt.Errorf("review: %w", err)
	}
	src, err := slo.NewLocalSource(store)
	if err != nil {
		store.Close(ctx)
		alerts.Close()
		return nil, err
	}
	rc.Source = src
	rc.Latency, rc.Failures = dashboards.StoreSources{Store: store}, dashboards.StoreSources{Store: store}
	rc.Certificates = dashboards.StoreSources{Store: store}
	if rc.Regions, err = (dashboards.StoreSources{Store: store}).Regions(ctx); err != nil {
		store.Close(ctx)
		alerts.Close()
		return nil, fmt.Errorf("review: %w", err)
	}
	rc.Alerts = dashboards.IncidentSource{Store: alerts}
	return func() { alerts.Close(); store.Close(ctx) }, nil
}

// cloudWatchReviewSources reads the SLOs' events and the latency
// distributions from CloudWatch, and the alert history from the state
// table the Lambda evaluator keeps. CloudWatch has no failure classes.
func cloudWatchReviewSources(ctx context.Context, cfg *config.Config, flags awsFlagValues, table string, rc *dashboards.ReviewConfig) (func(), error) {
	namespace, endpoint := "", ""
	regionsFrom := []string{flags.region}
	if cw := cfg.Metrics.CloudWatch; cw != nil {
		namespace, endpoint = cw.Namespace, cw.Endpoint
		regionsFrom = append(regionsFrom, cw.Region)
	}
	if cfg.Deploy != nil {
		regionsFrom = append(regionsFrom, cfg.Deploy.MonitoringRegion)
	}
	awsCfg, err := loadAWS(ctx, flags.profile, regionsFrom...)
	if errors.Is(err, errNoRegion) {
		return nil, usageError("review --source cloudwatch: no monitoring region: %s", noRegionHint)
	}
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	region := awsCfg.Region
	regions := cfg.AgentRegions()
	if len(regions) == 0 {
		return nil, fmt.Errorf("review: the agent regions to read are unknown: set deploy.agent_regions or dashboards.regions")
	}
	srcCfg := cloudWatchSourceConfig(awsCfg, endpoint)
	srcCfg.Namespace, srcCfg.Regions = namespace, regions
	src, err := slo.NewCloudWatchSource(srcCfg)
	if err != nil {
		return nil, err
	}
	rc.Source, rc.Regions = src, regions
	rc.Latency = &dashboards.CloudWatchLatency{Client: srcCfg.Client, Namespace: namespace, Regions: regions}
	rc.Unavailable = map[string]string{"failures": "CloudWatch holds no failure classes; each agent's log lines name them",
		"certificates": "CloudWatch holds no certificates; each agent's /metrics shows nines_canary_cert_expiry_seconds"}
	if table == "" {
		rc.Unavailable["alerts"] = "pass --state-table (the stack's StateTableName output) to read the alert history"
		return func() {}, nil
	}
	settings := *alertSettings(cfg)
	settings.DynamoDBTable = table
	settings.Region = or(settings.Region, region)
	settings.Profile = flags.profile
	st, closeStore, err := openAlertStore(ctx, &settings, "")
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	incidents, ok := st.(dashboards.IncidentStore)
	if !ok {
		closeStore()
		return nil, fmt.Errorf("review: the alert store keeps no incident history")
	}
	rc.Alerts = dashboards.IncidentSource{Store: incidents}
	return closeStore, nil
}
