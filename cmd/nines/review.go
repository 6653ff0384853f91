package main

import (
	"context"
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
	fs := newFlagSet(e, "review", "review -c FILE [--week 2026-W47] [--out DIR] [--format html|md|json] [--seed N] [--store FILE] [--slack]")
	path := configFlag(fs)
	week := fs.String("week", "", "ISO week to review, e.g. 2026-W47 (default: the last complete week)")
	out := fs.String("out", "", "write the report to DIR/review-WEEK.EXT instead of stdout")
	format := fs.String("format", "html", "html (one self-contained file), md (for a wiki) or json (for scripts)")
	seed := fs.Uint64("seed", 0, "seed for the wheel's pick (default: derived from the week)")
	storeFile := fs.String("store", "", "the local store to read (default: store.path from the config)")
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
	file := or(*storeFile, cfg.Metrics.Store.Path)
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("review: no local store at %s: run nines run to record one, or pass --store FILE", file)
	}
	sc := cfg.Metrics.Store
	sc.Path = file
	store, err := metrics.OpenStore(ctx, sc)
	if err != nil {
		return fmt.Errorf("review: %w", err)
	}
	defer store.Close(ctx)
	src, err := slo.NewLocalSource(store)
	if err != nil {
		return err
	}
	alerts, err := alerting.OpenSQLite(ctx, file)
	if err != nil {
		return fmt.Errorf("review: %w", err)
	}
	defer alerts.Close()
	var canaries []string
	for _, c := range cfg.Canaries {
		canaries = append(canaries, c.Name)
	}
	began := time.Now()
	rv, err := dashboards.BuildReview(ctx, dashboards.ReviewConfig{
		SLOs: cfg.SLOs, Compositions: cfg.Compositions, Canaries: canaries, Source: src,
		Latency: dashboards.StoreSources{Store: store}, Failures: dashboards.StoreSources{Store: store},
		Alerts: dashboards.IncidentSource{Store: alerts}, Week: *week, Location: loc, Seed: *seed, Now: time.Now(),
	})
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
