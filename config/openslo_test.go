package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

// openSLOConfig is a nines config, as if in testdata/openslo, with one
// canary (checkout) that imports the OpenSLO files matching pattern, and
// CloudWatch to read their ratio SLIs from.
func openSLOConfig(t *testing.T, pattern string) (*Config, error) {
	t.Helper()
	src := "canaries:\n  - name: checkout\n    steps:\n      - http: {url: \"https://shop.example.com/\"}\n" +
		"cloudwatch: {region: eu-west-1}\nopenslo:\n  - " + pattern + "\n"
	return Parse(filepath.Join("testdata", "openslo", "nines.yaml"), []byte(src), Options{LookupEnv: lookupTestEnv})
}

func TestOpenSLOImport(t *testing.T) {
	cfg, err := openSLOConfig(t, "valid-*.yaml")
	if err != nil {
		t.Fatalf("import:\n%v", err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	lb := map[string]string{"LoadBalancer": "app/shop/50dc6c495c0c9188"}
	want := []slo.SLO{
		{
			Name:      "checkout-availability",
			SLI:       slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout", Regions: []string{"eu-west-1", "us-east-1"}},
			Objective: 0.999,
			Window:    slo.RollingWindow(28 * 24 * time.Hour),
			Budgeting: slo.Budgeting{Method: slo.Occurrences},
			Probes:    slo.Probes{Every: time.Minute, PerRound: 2},
		},
		{
			Name:      "checkout-fast-1",
			SLI:       slo.SLI{Kind: slo.SLILatency, Canary: "checkout", Threshold: 300 * time.Millisecond},
			Objective: 0.99,
			Window:    slo.CalendarWindow(slo.Month, berlin),
			Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: time.Minute, SliceThreshold: 0.95},
			Probes:    slo.Probes{Every: time.Minute, PerRound: 1},
		},
		{
			Name:      "checkout-fast-2",
			SLI:       slo.SLI{Kind: slo.SLILatency, Canary: "checkout", Threshold: time.Second},
			Objective: 0.999,
			Window:    slo.CalendarWindow(slo.Month, berlin),
			Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: 5 * time.Minute, SliceThreshold: 0.99},
			Probes:    slo.Probes{Every: time.Minute, PerRound: 1},
		},
		{
			Name: "shop-alb",
			SLI: slo.SLI{Kind: slo.SLIRatio,
				Bad:   &slo.Metric{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_ELB_5XX_Count", Dimensions: lb, Statistic: "Sum"},
				Total: &slo.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: lb, Statistic: "Sum"}},
			Objective: 0.995,
			Window:    slo.CalendarWindow(slo.Week, time.UTC),
			Budgeting: slo.Budgeting{Method: slo.Occurrences},
		},
	}
	if len(cfg.SLOs) != len(want) {
		t.Fatalf("imported %d SLOs, want %d: %+v", len(cfg.SLOs), len(want), cfg.SLOs)
	}
	for i := range want {
		got := cfg.SLOs[i]
		if got.Window.Location != nil && want[i].Window.Location != nil && got.Window.Location.String() == want[i].Window.Location.String() {
			got.Window.Location = want[i].Window.Location
		}
		// The percent target goes through a division; compare it with a
		// tolerance and the rest exactly.
		if d := got.Objective - want[i].Objective; d > 1e-12 || d < -1e-12 {
			t.Errorf("SLO %d objective = %v, want %v", i, got.Objective, want[i].Objective)
		}
		got.Objective = want[i].Objective
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("SLO %d:\ngot  %+v\nwant %+v", i, got, want[i])
		}
		if err := got.Validate(); err != nil {
			t.Errorf("SLO %s does not pass its own Validate: %v", got.Name, err)
		}
	}
}

func TestOpenSLOAndNinesSLOsShareOneNamespace(t *testing.T) {
	src := "canaries:\n  - name: checkout\n    steps:\n      - http: {url: \"https://shop.example.com/\"}\n" +
		"slos:\n  - name: shop-alb\n    sli: {kind: availability, canary: checkout}\n    objective: 99.9\n" +
		"  - name: both\n    compose: {mode: serial, of: [shop-alb, checkout-availability]}\n" +
		"openslo: [valid-checkout.yaml]\n"
	_, err := Parse(filepath.Join("testdata", "openslo", "nines.yaml"), []byte(src), Options{LookupEnv: lookupTestEnv})
	want := `testdata/openslo/valid-checkout.yaml:80: metadata.name: "shop-alb" is already the name of slos[0] in testdata/openslo/nines.yaml:6; SLO names must be unique`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

var openSLOInvalidCases = []struct {
	name string
	file string
}{
	{"A document of another OpenSLO version is rejected", "api-version"},
	{"A kind OpenSLO does not define is rejected", "unknown-kind"},
	{"An unknown key in an SLO spec suggests the closest key", "unknown-key"},
	{"A name with capitals is rejected", "bad-name"},
	{"An SLO without an indicator is rejected", "no-indicator"},
	{"An indicatorRef to an SLI that no file defines is rejected", "missing-ref"},
	{"An SLO with two time windows is rejected", "two-windows"},
	{"A rolling window in months is rejected", "rolling-unit"},
	{"A window duration that is not OpenSLO shorthand is rejected", "duration-syntax"},
	{"A calendar quarter is rejected", "calendar-quarter"},
	{"A calendar week that starts on a Wednesday is rejected", "calendar-start"},
	{"A calendar window in an unknown zone is rejected", "calendar-zone"},
	{"RatioTimeslices budgeting is rejected", "ratio-timeslices"},
	{"Timeslices without a slice target are rejected", "timeslices-no-target"},
	{"An objective with target and targetPercent is rejected", "target-and-percent"},
	{"A targetPercent of 100 is rejected", "target-percent-100"},
	{"A target of 99.9 is rejected as not a ratio", "target-ratio-as-percent"},
	{"A ratio SLI with an op and value is rejected", "ratio-with-threshold"},
	{"A metric source of an unsupported type is rejected", "source-type"},
	{"A Nines source with an unknown metric is rejected", "nines-metric"},
	{"A Nines availability of Attempts over Successes is rejected", "nines-pair"},
	{"A CloudWatch source without a statistic is rejected", "cloudwatch-no-stat"},
	{"A latency objective with op gte is rejected", "threshold-op"},
	{"A threshold on a CloudWatch metric is rejected", "threshold-not-latency"},
	{"An SLO of a canary that is not configured is rejected", "unknown-canary"},
	{"A YAML syntax error in an OpenSLO file names its line", "yaml-syntax"},
}

// TestOpenSLOInvalid imports each testdata/openslo/invalid-*.yaml and
// compares every error with the golden next to it. The errors name the
// OpenSLO file and its lines, not the config that imports it.
func TestOpenSLOInvalid(t *testing.T) {
	listed := map[string]bool{}
	for _, tc := range openSLOInvalidCases {
		listed[tc.file] = true
		t.Run(tc.name, func(t *testing.T) {
			file := "invalid-" + tc.file + ".yaml"
			golden := filepath.Join("testdata", "openslo", "invalid-"+tc.file+".golden")
			cfg, err := openSLOConfig(t, file)
			if err == nil {
				t.Fatalf("importing %s gave %d SLOs and no error", file, len(cfg.SLOs))
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want config.Errors: %v", err, err)
			}
			for _, e := range errs {
				if e.File != filepath.Join("testdata", "openslo", file) {
					t.Errorf("error %q names file %q, want the OpenSLO file", e, e.File)
				}
			}
			checkGolden(t, golden, err.Error()+"\n", "TestOpenSLOInvalid")
		})
	}
	t.Run("Every fixture in testdata/openslo is in the table", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join("testdata", "openslo", "invalid-*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "invalid-"), ".yaml"); !listed[name] {
				t.Errorf("%s has no entry in openSLOInvalidCases", f)
			}
		}
	})
}
