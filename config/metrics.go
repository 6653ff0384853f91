package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/metrics"
)

// This file is the AGGREGATE phase's part of the config: where aggregates
// go (sink:, cloudwatch:, store:, spool:), the agent's HTTP server
// (server:) and the prices `nines cost` uses (cost:).

// Metrics is where the agent's aggregates go and how.
type Metrics struct {
	// Sink is SinkLocal, SinkCloudWatch or SinkEMF.
	Sink string
	// CloudWatch is the cloudwatch: section, nil without one. The SLO
	// engine's CloudWatch source reads its region, endpoint and namespace
	// too.
	CloudWatch *metrics.CloudWatchConfig
	// Store is the local store: the default sink, and the SLO source when
	// there is no cloudwatch: section.
	Store metrics.StoreConfig
	// Spool keeps what the CloudWatch sink cannot publish yet.
	Spool metrics.SpoolConfig
	// Listen is where `nines run` serves /metrics and /healthz; "" is off.
	Listen string
	// Reload turns POST /-/reload on, on the Listen server (server.reload);
	// SIGHUP reloads with or without it.
	Reload bool
	// ListenDefault says Listen is the default, not the user's choice, so
	// a busy port is a warning rather than an error.
	ListenDefault bool
	// UIHosts are the names, besides loopback and the listen host, the
	// web UI answers to (a name, or name:port), e.g. behind a proxy.
	UIHosts []string
	// Prices are what `nines cost` charges.
	Prices metrics.Prices
}

// The sinks.
const (
	SinkLocal      = "local"
	SinkCloudWatch = "cloudwatch"
	SinkEMF        = "emf"
)

// Defaults of the metrics sections, applied in metrics().
const (
	DefaultStorePath  = "nines.db"
	DefaultSpoolDir   = "nines-spool"
	DefaultListen     = "127.0.0.1:9642"
	minSpoolBytes     = 1 << 20
	minStoreRetention = 24 * time.Hour
)

type cloudwatchYAML struct {
	Region            string `yaml:"region"`
	Namespace         string `yaml:"namespace"`
	Endpoint          string `yaml:"endpoint"`
	StorageResolution *int   `yaml:"storage_resolution"`
	RegionRollup      bool   `yaml:"region_rollup"`
}

type storeYAML struct {
	Path      string    `yaml:"path"`
	Retention *Duration `yaml:"retention"`
}

type spoolYAML struct {
	Dir      string    `yaml:"dir"`
	MaxBytes *byteSize `yaml:"max_bytes"`
}

type serverYAML struct {
	Listen  *string  `yaml:"listen"`
	UIHosts []string `yaml:"ui_hosts"`
	Reload  bool     `yaml:"reload"`
}

type costYAML struct {
	MetricMonth        *float64 `yaml:"metric_month"`
	PutRequestsPer1000 *float64 `yaml:"put_requests_per_1000"`
	GetMetricsPer1000  *float64 `yaml:"get_metrics_per_1000"`
	SyntheticsRun      *float64 `yaml:"synthetics_run"`
}

// byteSize accepts 1048576, "64MiB", "512KiB", "1GiB", "10MB".
type byteSize struct {
	Bytes int64
}

var byteSizeRe = regexp.MustCompile(`^([0-9]+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$`)

func (b *byteSize) decodeNode(d *decoder, n *yaml.Node, path string) {
	if !d.scalar(n, path, "a size like 64MiB") {
		return
	}
	m := byteSizeRe.FindStringSubmatch(strings.TrimSpace(n.Value))
	if m == nil {
		d.errorf(n, path, "%q is not a size: write it like 64MiB, 512KiB or 1GiB", n.Value)
		return
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		d.errorf(n, path, "%q is too large", n.Value)
		return
	}
	mult := map[string]int64{"": 1, "B": 1, "KB": 1000, "KiB": 1 << 10, "MB": 1000 * 1000, "MiB": 1 << 20, "GB": 1000 * 1000 * 1000, "GiB": 1 << 30}[m[2]]
	if v > (1<<62)/mult {
		d.errorf(n, path, "%q is too large", n.Value)
		return
	}
	b.Bytes = v * mult
}

var cloudwatchRegionRe = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// cloudwatchNamespaceRe is CloudWatch's rule for namespaces.
var cloudwatchNamespaceRe = regexp.MustCompile(`^[A-Za-z0-9.\-_/#:]{1,255}$`)

// metrics maps sink:, cloudwatch:, store:, spool:, server: and cost:.
func (m *mapper) metrics(f *fileYAML, agent Agent, out *Metrics) {
	*out = Metrics{Sink: f.Sink, Prices: metrics.DefaultPrices}
	if out.Sink == "" {
		out.Sink = SinkLocal
		if f.CloudWatch != nil {
			out.Sink = SinkCloudWatch
		}
	}
	switch out.Sink {
	case SinkLocal, SinkEMF:
	case SinkCloudWatch:
		if f.CloudWatch == nil {
			m.d.errorAt("sink", "cloudwatch needs a cloudwatch: section with the monitoring region, e.g. cloudwatch: {region: us-east-1}")
		}
	default:
		m.d.errorAt("sink", "%q: use local (the embedded store), cloudwatch or emf (Lambda)", out.Sink)
	}

	if cy := f.CloudWatch; cy != nil {
		cw := &metrics.CloudWatchConfig{Region: cy.Region, Namespace: cy.Namespace, Endpoint: cy.Endpoint, RegionRollup: cy.RegionRollup}
		if cw.Namespace == "" {
			cw.Namespace = metrics.DefaultNamespace
		}
		cw.StorageResolution = 60
		if agent.Period < time.Minute {
			cw.StorageResolution = 1
		}
		if cy.StorageResolution != nil {
			cw.StorageResolution = *cy.StorageResolution
		}
		// Without cloudwatch.region, the SDK's chain (AWS_REGION,
		// AWS_DEFAULT_REGION, the profile) names the monitoring region;
		// the commands fail at start, with the fix, when nothing does.
		if cw.Region != "" && !cloudwatchRegionRe.MatchString(cw.Region) {
			m.d.errorAt("cloudwatch.region", "%q is not an AWS region name, e.g. us-east-1", cw.Region)
		}
		switch {
		case !cloudwatchNamespaceRe.MatchString(cw.Namespace):
			m.d.errorAt("cloudwatch.namespace", "%q: use 1 to 255 letters, digits and . - _ / # :", cw.Namespace)
		case strings.HasPrefix(cw.Namespace, "AWS/"):
			m.d.errorAt("cloudwatch.namespace", "%q: namespaces starting with AWS/ are reserved for AWS services", cw.Namespace)
		}
		if cw.Endpoint != "" {
			if u, err := url.Parse(cw.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				m.d.errorAt("cloudwatch.endpoint", "%q: give a URL like https://monitoring.us-east-1.amazonaws.com", cw.Endpoint)
			}
		}
		if cw.StorageResolution != 1 && cw.StorageResolution != 60 {
			m.d.errorAt("cloudwatch.storage_resolution", "%d: use 1 (high resolution, for periods under a minute) or 60", cw.StorageResolution)
		}
		out.CloudWatch = cw
	}

	// The store and the spool sit beside the config; $NINES_STORE is the
	// shell's, so it stays relative to the working directory.
	out.Store = metrics.StoreConfig{Path: m.fromConfigDir(DefaultStorePath), Retention: metrics.DefaultRetention, Precision: agent.LatencyPrecision}
	if p, ok := m.opts.LookupEnv("NINES_STORE"); ok && p != "" {
		out.Store.Path = p
	}
	if sy := f.Store; sy != nil {
		if sy.Path != "" {
			out.Store.Path = m.fromConfigDir(sy.Path)
		}
		if sy.Retention != nil {
			out.Store.Retention = time.Duration(*sy.Retention)
			if out.Store.Retention < minStoreRetention {
				m.d.errorAt("store.retention", "%s: keep at least 1d; an SLO window needs the days it covers (30d is common)", out.Store.Retention)
			}
		}
	}

	out.Spool = metrics.SpoolConfig{Dir: m.fromConfigDir(DefaultSpoolDir), MaxBytes: metrics.DefaultSpoolBytes}
	if sy := f.Spool; sy != nil {
		if sy.Dir != "" {
			out.Spool.Dir = m.fromConfigDir(sy.Dir)
		}
		if sy.MaxBytes != nil {
			out.Spool.MaxBytes = sy.MaxBytes.Bytes
			if out.Spool.MaxBytes < minSpoolBytes {
				m.d.errorAt("spool.max_bytes", "%d bytes: give the spool at least 1MiB", out.Spool.MaxBytes)
			}
		}
	}

	out.Listen, out.ListenDefault = DefaultListen, true
	if f.Server != nil && f.Server.Listen != nil {
		out.Listen, out.ListenDefault = *f.Server.Listen, false
		if out.Listen == "off" {
			out.Listen = ""
		} else if _, port, err := net.SplitHostPort(out.Listen); err != nil || port == "" {
			m.d.errorAt("server.listen", "%q: want host:port, e.g. 127.0.0.1:9642 (or 0.0.0.0:9642 for a scraper elsewhere), or off", out.Listen)
		}
	}
	if f.Server != nil && f.Server.Reload {
		out.Reload = true
		if out.Listen == "" {
			m.d.errorAt("server.reload", "true needs the server: set server.listen to an address, or drop server.reload and send SIGHUP to reload")
		}
	}
	if f.Server != nil {
		for i, h := range f.Server.UIHosts {
			if h == "" || strings.ContainsAny(h, "/?#@ ") {
				m.d.errorAt(fmt.Sprintf("server.ui_hosts[%d]", i), "%q: want a host name or host:port the UI is reached by, e.g. nines.internal:9642", h)
				continue
			}
			out.UIHosts = append(out.UIHosts, h)
		}
	}

	if cy := f.Cost; cy != nil {
		for _, p := range []struct {
			key string
			v   *float64
			out *float64
		}{
			{"metric_month", cy.MetricMonth, &out.Prices.MetricMonth},
			{"put_requests_per_1000", cy.PutRequestsPer1000, &out.Prices.PutRequestsPer1000},
			{"get_metrics_per_1000", cy.GetMetricsPer1000, &out.Prices.GetMetricsPer1000},
			{"synthetics_run", cy.SyntheticsRun, &out.Prices.SyntheticsRun},
		} {
			if p.v == nil {
				continue
			}
			if *p.v < 0 {
				m.d.errorAt("cost."+p.key, "%s: a price must not be negative", fmt.Sprint(*p.v))
				continue
			}
			*p.out = *p.v
		}
	}
}
