package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/dashboards"
)

func init() {
	register("dashboards", "render or apply the CloudWatch dashboards (render|apply)", runDashboards, "render", "apply")
}

func runDashboards(ctx context.Context, e *env, args []string) error {
	const usage = "Usage: nines dashboards render -c FILE [--out DIR] [--region R] [--profile P]\n" +
		"       nines dashboards apply -c FILE [--region R] [--profile P] [--endpoint URL]"
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		if len(args) == 0 {
			return usageError("dashboards: give render or apply, e.g. nines dashboards render -c nines.yaml")
		}
		fmt.Fprintln(e.stdout, usage)
		return nil
	}
	sub := args[0]
	var fs *flag.FlagSet
	out, endpoint := new(string), new(string)
	switch sub {
	case "render":
		fs = newFlagSet(e, "dashboards render", "dashboards render -c FILE [--out DIR] [--region R] [--profile P]")
		out = fs.String("out", "", "write one DIR/NAME.json per dashboard instead of printing them")
	case "apply":
		fs = newFlagSet(e, "dashboards apply", "dashboards apply -c FILE [--region R] [--profile P] [--endpoint URL]")
		endpoint = fs.String("endpoint", "", "the CloudWatch endpoint (default: cloudwatch.endpoint, else AWS_ENDPOINT_URL_CLOUDWATCH)")
	default:
		return usageError("dashboards: %q: give render or apply, e.g. nines dashboards render -c nines.yaml", sub)
	}
	path := configFlag(fs)
	aws := addAWSFlags(fs, "the monitoring region the dashboards read (default: cloudwatch.region, else deploy.monitoring_region")
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
	cwc := dashboards.CloudWatchConfig{Prefix: cfg.Dashboards.Prefix, Services: cfg.Dashboards.Services,
		Regions: cfg.Dashboards.Regions, Alarms: cfg.Dashboards.Alarms, Now: time.Now()}
	if len(cwc.Regions) == 0 {
		cwc.Regions = cfg.AgentRegions()
	}
	regions := []string{*aws.region}
	if cw := cfg.Metrics.CloudWatch; cw != nil {
		cwc.Namespace = cw.Namespace
		regions = append(regions, cw.Region)
		if *endpoint == "" {
			*endpoint = cw.Endpoint
		}
	}
	if cfg.Deploy != nil {
		regions = append(regions, cfg.Deploy.MonitoringRegion)
	}
	awsCfg, err := loadAWS(ctx, *aws.profile, regions...)
	if errors.Is(err, errNoRegion) {
		return usageError("dashboards: no monitoring region: %s", noRegionHint)
	}
	if err != nil {
		return fmt.Errorf("dashboards %s: %w", sub, err)
	}
	cwc.Region = awsCfg.Region
	if len(cwc.Regions) == 0 {
		// One agent's config: its own region is every region there is.
		cwc.Regions = []string{cfg.Agent.Region}
	}
	ds, err := dashboards.RenderCloudWatch(cwc, cfg.SLOs)
	if err != nil {
		return err
	}
	if sub == "apply" {
		client := newCloudWatchReader(awsCfg, *endpoint)
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
