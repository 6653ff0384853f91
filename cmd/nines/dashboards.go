package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/dashboards"
	"github.com/nines-dev/nines/metrics"
)

func init() {
	register("dashboards", "render or apply the CloudWatch dashboards (render|apply)", runDashboards)
}

func runDashboards(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "render" && args[0] != "apply" && args[0] != "--help" && args[0] != "-h") {
		return usageError("dashboards: give render or apply, e.g. nines dashboards render -c nines.yaml")
	}
	if args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(e.stdout, "Usage: nines dashboards render -c FILE [--out DIR]\n       nines dashboards apply -c FILE [--region R] [--endpoint URL]")
		return nil
	}
	sub := args[0]
	fs := newFlagSet(e, "dashboards "+sub, "dashboards "+sub+" -c FILE [--out DIR] [--region R] [--endpoint URL]")
	path := configFlag(fs)
	out := fs.String("out", "", "render: write one DIR/NAME.json per dashboard instead of printing them")
	region := fs.String("region", "", "the monitoring region the dashboards read (default: cloudwatch.region)")
	endpoint := fs.String("endpoint", "", "apply: the CloudWatch endpoint (default: cloudwatch.endpoint or AWS_ENDPOINT_URL_CLOUDWATCH)")
	if err := parseFlags(e, fs, args[1:]); err != nil {
		return err
	}
	cfg, err := e.loadConfig(*path, config.Options{SkipEnvCheck: true})
	if err != nil {
		return err
	}
	if len(cfg.SLOs) == 0 {
		return fmt.Errorf("dashboards: %s has no SLOs; add slos: (see examples/slo.yaml)", *path)
	}
	cwc := dashboards.CloudWatchConfig{Region: *region, Prefix: cfg.Dashboards.Prefix, Services: cfg.Dashboards.Services,
		Regions: cfg.Dashboards.Regions, Alarms: cfg.Dashboards.Alarms}
	if len(cwc.Regions) == 0 {
		cwc.Regions = agentRegions(cfg)
	}
	if cw := cfg.Metrics.CloudWatch; cw != nil {
		cwc.Namespace = cw.Namespace
		if cwc.Region == "" {
			cwc.Region = cw.Region
		}
		if *endpoint == "" {
			*endpoint = cw.Endpoint
		}
	}
	if cwc.Region == "" {
		return usageError("dashboards: no monitoring region: set cloudwatch.region in the config or pass --region")
	}
	if len(cwc.Regions) == 0 {
		// One agent's config: its own region is every region there is.
		cwc.Regions = []string{cfg.Agent.Region}
	}
	ds, err := dashboards.RenderCloudWatch(cwc, cfg.SLOs)
	if err != nil {
		return err
	}
	if sub == "apply" {
		client, err := metrics.NewCloudWatchClient(ctx, cwc.Region, *endpoint)
		if err != nil {
			return fmt.Errorf("dashboards apply: %w", err)
		}
		if err := dashboards.Apply(ctx, client, ds); err != nil {
			return fmt.Errorf("dashboards apply: %w", err)
		}
		for _, d := range ds {
			fmt.Fprintf(e.stdout, "applied %s in %s\n", d.Name, cwc.Region)
		}
		return nil
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		for _, d := range ds {
			p := filepath.Join(*out, d.Name+".json")
			if err := os.WriteFile(p, append(d.Body, '\n'), 0o644); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, p)
		}
		return nil
	}
	all := map[string]json.RawMessage{}
	for _, d := range ds {
		all[d.Name] = d.Body
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(all)
}
