package config

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/nines-dev/nines/metrics"
)

// The metrics sections' fixtures join the golden table in config_test.go.
var _ = func() int {
	invalidCases = append(invalidCases, []struct {
		name string
		file string
	}{
		{"An unknown sink is rejected", "sink"},
		{"sink: cloudwatch without a cloudwatch: section is rejected", "sink-cloudwatch-without-section"},
		{"A CloudWatch region in words is rejected", "cloudwatch-region"},
		{"A namespace under AWS/ is rejected", "cloudwatch-namespace"},
		{"An endpoint without a scheme is rejected", "cloudwatch-endpoint"},
		{"A storage resolution of 30 is rejected", "storage-resolution"},
		{"A store retention under a day is rejected", "store-retention"},
		{"A spool under 1MiB is rejected", "spool-max-bytes"},
		{"A spool size in words is rejected", "spool-max-bytes-unit"},
		{"A listen address without a host is rejected", "server-listen"},
		{"A UI host name that is a URL is rejected", "server-ui-hosts"},
		{"POST /-/reload without a server to take it is rejected", "server-reload-no-listen"},
		{"A negative price is rejected", "cost-negative"},
	}...)
	return 0
}()

func TestMetricsSections(t *testing.T) {
	const canaries = "canaries:\n  - name: api\n    steps:\n      - http: { url: \"https://api.example.com/\" }\n"
	tests := []struct {
		name  string
		src   string
		env   map[string]string
		check func(t *testing.T, m Metrics)
	}{
		{"Without AWS settings the sink is the local store with its defaults", canaries, nil, func(t *testing.T, m Metrics) {
			if m.Sink != SinkLocal || m.CloudWatch != nil || m.Store.Path != DefaultStorePath || m.Store.Retention != metrics.DefaultRetention {
				t.Errorf("got %+v", m)
			}
			if m.Listen != DefaultListen || !m.ListenDefault || m.Prices != metrics.DefaultPrices {
				t.Errorf("listen %q (default %v), prices %+v", m.Listen, m.ListenDefault, m.Prices)
			}
		}},
		{"NINES_STORE names the store file", canaries, map[string]string{"NINES_STORE": "/data/n.db"}, func(t *testing.T, m Metrics) {
			if m.Store.Path != "/data/n.db" {
				t.Errorf("store path %q", m.Store.Path)
			}
		}},
		{"A cloudwatch: section makes CloudWatch the sink, at 1s resolution for a 10s period",
			"agent: {period: 10s}\ncloudwatch: {region: us-east-1, endpoint: \"http://127.0.0.1:4566\"}\n" + canaries, nil, func(t *testing.T, m Metrics) {
				if m.Sink != SinkCloudWatch || m.CloudWatch.Region != "us-east-1" || m.CloudWatch.Namespace != "Nines" ||
					m.CloudWatch.StorageResolution != 1 || m.CloudWatch.Endpoint != "http://127.0.0.1:4566" {
					t.Errorf("got %+v", m.CloudWatch)
				}
			}},
		{"A cloudwatch: section without a region leaves it to the SDK's chain (AWS_REGION, the profile)",
			"cloudwatch: {namespace: Shop}\n" + canaries, nil, func(t *testing.T, m Metrics) {
				if m.Sink != SinkCloudWatch || m.CloudWatch.Region != "" || m.CloudWatch.Namespace != "Shop" {
					t.Errorf("got %+v", m.CloudWatch)
				}
			}},
		{"sink: emf keeps the cloudwatch: namespace", "sink: emf\ncloudwatch: {region: us-east-1, namespace: Shop, region_rollup: true}\n" + canaries, nil, func(t *testing.T, m Metrics) {
			if m.Sink != SinkEMF || m.CloudWatch.Namespace != "Shop" || !m.CloudWatch.RegionRollup || m.CloudWatch.StorageResolution != 60 {
				t.Errorf("got %+v / %+v", m, m.CloudWatch)
			}
		}},
		{"Sizes, durations, listen off and prices", "store: {path: x.db, retention: 30d}\nspool: {dir: sp, max_bytes: 2MiB}\nserver: {listen: \"off\"}\ncost: {metric_month: 0.1}\n" + canaries, nil, func(t *testing.T, m Metrics) {
			if m.Store.Retention != 30*24*time.Hour || m.Spool.MaxBytes != 2<<20 || m.Spool.Dir != "sp" || m.Listen != "" || m.ListenDefault || m.Prices.MetricMonth != 0.1 || m.Prices.SyntheticsRun != 0.0012 {
				t.Errorf("got %+v", m)
			}
		}},
		{"POST /-/reload is off by default", canaries, nil, func(t *testing.T, m Metrics) {
			if m.Reload {
				t.Errorf("Reload is on without server.reload")
			}
		}},
		{"server.reload: true turns POST /-/reload on", "server: {reload: true}\n" + canaries, nil, func(t *testing.T, m Metrics) {
			if !m.Reload || m.Listen != DefaultListen {
				t.Errorf("reload %v listen %q", m.Reload, m.Listen)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			cfg, err := Parse(filepath.Join("valid.yaml"), []byte(tc.src), Options{LookupEnv: lookup})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg.Metrics)
		})
	}
}
