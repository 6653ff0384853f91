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
func openSLOConfig(t *testing.T, patterns ...string) (*Config, error) {
	t.Helper()
	src := "canaries:\n  - name: checkout\n    steps:\n      - http: {url: \"https://shop.example.com/\"}\n" +
		"cloudwatch: {region: eu-west-1}\nopenslo:\n"
	for _, p := range patterns {
		src += "  - " + p + "\n"
	}
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
				Bad: &slo.Metric{Region: "eu-west-1", Namespace: "AWS/ApplicationELB", Name: "HTTPCode_ELB_5XX_Count", Dimensions: lb, Statistic: "Sum"},
				// The total takes the region the bad metric gives.
				Total: &slo.Metric{Region: "eu-west-1", Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: lb, Statistic: "Sum"}},
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
	{"A calendar window in hours is refused", "calendar-hours"},
	{"A calendar startTime without its time of day is refused", "calendar-start-format"},
	{"A calendar window in an unknown zone is rejected", "calendar-zone"},
	{"RatioTimeslices without a timeSliceWindow is refused", "ratio-timeslices"},
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
	{"A threshold on a CloudWatch metric budgeted in Occurrences is refused: it counts periods", "threshold-occurrences"},
	{"A threshold on a canary's Attempts, a count, is refused", "threshold-nines-count"},
	{"A period-based threshold needs one of OpenSLO's four ops, and a value", "threshold-cloudwatch-op"},
	{"An SLO of a canary that is not configured is rejected", "unknown-canary"},
	{"A YAML syntax error in an OpenSLO file names its line", "yaml-syntax"},
	{"A latency objective with op lt is refused with the reason", "threshold-lt"},
	{"A compositeWeight other than 1 on objectives that share the SLO's indicator is refused with the reason", "composite-weight"},
	{"A composite SLO's indicators are on every objective and not on the SLO as well", "composite-indicators"},
	{"SLOs on sources nines does not read name the source type", "foreign-used"},
	{"A ratio whose metrics are in two regions is rejected", "region-mismatch"},
	{"A window without isRolling or calendar is rejected", "rolling-required"},
	{"A timeSliceWindow in seconds is rejected", "slice-window"},
	{"Raw ratios that cannot be read are refused with the reason", "raw-ratio"},
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

// The shapes of valid OpenSLO v1 that the spec and its reference SDK accept.
// Each case imports its files and expects these SLOs, by name and with the
// fields the case is about, and these warnings, exactly.
func TestOpenSLOSpecShapes(t *testing.T) {
	avail := slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}
	everyMinute := slo.Probes{Every: time.Minute, PerRound: 1}
	cases := []struct {
		name     string
		patterns []string
		want     []slo.SLO
		warnings []string
	}{
		{"A file whose top level is a list of objects is read object by object", []string{"spec-list.yaml"},
			[]slo.SLO{{Name: "list-checkout", SLI: avail, Objective: 0.99, Window: slo.RollingWindow(30 * 24 * time.Hour),
				Budgeting: slo.Budgeting{Method: slo.Occurrences}, Probes: everyMinute}}, nil},
		{"Empty and comment-only documents are skipped", []string{"spec-empty-documents.yaml"},
			[]slo.SLO{{Name: "empty-docs-checkout", SLI: avail, Objective: 0.995, Window: slo.RollingWindow(7 * 24 * time.Hour),
				Budgeting: slo.Budgeting{Method: slo.Occurrences}, Probes: everyMinute}}, nil},
		{"isRolling left out next to calendar is false", []string{"spec-calendar-default.yaml"},
			[]slo.SLO{{Name: "calendar-default", SLI: avail, Objective: 0.999, Window: slo.CalendarWindow(slo.Month, time.UTC),
				Budgeting: slo.Budgeting{Method: slo.Occurrences}, Probes: everyMinute}}, nil},
		// timeSliceWindow: 5 is 5 minutes; 1w is 7 x 24 x 60 = 10080 minutes.
		{"timeSliceWindow is a bare number of minutes or shorthand up to weeks; compositeWeight 1 is accepted", []string{"spec-slice-window.yaml"},
			[]slo.SLO{
				{Name: "slices-1", SLI: slo.SLI{Kind: slo.SLILatency, Canary: "checkout", Threshold: 500 * time.Millisecond}, Objective: 0.99,
					Window: slo.RollingWindow(28 * 24 * time.Hour), Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: 5 * time.Minute, SliceThreshold: 0.9}, Probes: everyMinute},
				{Name: "slices-2", SLI: slo.SLI{Kind: slo.SLILatency, Canary: "checkout", Threshold: 2 * time.Second}, Objective: 0.9,
					Window: slo.RollingWindow(28 * 24 * time.Hour), Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: 10080 * time.Minute, SliceThreshold: 0.99}, Probes: everyMinute},
			}, nil},
		{"indicatorRef finds an SLI in a file another openslo: entry names", []string{"split/slos/*.yaml", "split/slis/*.yaml"},
			[]slo.SLO{{Name: "split-checkout", SLI: avail, Objective: 0.995, Window: slo.RollingWindow(14 * 24 * time.Hour),
				Budgeting: slo.Budgeting{Method: slo.Occurrences}, Probes: everyMinute}}, nil},
		{"A CloudWatch metric keeps its region", []string{"spec-region.yaml"},
			[]slo.SLO{{Name: "edge-errors", SLI: slo.SLI{Kind: slo.SLIRatio,
				Bad:   &slo.Metric{Region: "us-east-1", Namespace: "AWS/CloudFront", Name: "5xxErrorRate", Dimensions: map[string]string{"DistributionId": "E2EXAMPLE"}, Statistic: "Sum"},
				Total: &slo.Metric{Region: "us-east-1", Namespace: "AWS/CloudFront", Name: "Requests", Dimensions: map[string]string{"DistributionId": "E2EXAMPLE"}, Statistic: "Sum"}},
				Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour), Budgeting: slo.Budgeting{Method: slo.Occurrences}}}, nil},
		// One statistic per period: five minutes are good when their p99 is under
		// 0.3 s; five minutes are good when the fewest healthy hosts
		// were at least 2. The budget counts periods (slices).
		{"A thresholdMetric on any CloudWatch metric counts good periods", []string{"spec-threshold-cloudwatch.yaml"},
			[]slo.SLO{
				{Name: "alb-p99", SLI: slo.SLI{Kind: slo.SLIThreshold, Op: "lt", Bound: 0.3,
					Metric: &slo.Metric{Namespace: "AWS/ApplicationELB", Name: "TargetResponseTime", Dimensions: map[string]string{"LoadBalancer": "app/shop/50dc6c495c0c9188"}, Statistic: "p99"}},
					Objective: 0.99, Window: slo.RollingWindow(28 * 24 * time.Hour), Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: 5 * time.Minute, SliceThreshold: 1}},
				{Name: "alb-hosts", SLI: slo.SLI{Kind: slo.SLIThreshold, Op: "gte", Bound: 2,
					Metric: &slo.Metric{Region: "us-east-1", Namespace: "AWS/ApplicationELB", Name: "HealthyHostCount", Dimensions: map[string]string{"TargetGroup": "targetgroup/shop/73e2d6bc24d8a067"}, Statistic: "Minimum"}},
					Objective: 0.999, Window: slo.CalendarWindow(slo.Week, time.UTC), Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: 5 * time.Minute, SliceThreshold: 1}},
			}, nil},
		// Each slice counts as its good share; a timeSliceTarget is
		// warned of, since an averaged slice has none.
		{"RatioTimeslices averages the slices' ratios", []string{"spec-ratio-timeslices.yaml"},
			[]slo.SLO{
				{Name: "averaged-checkout-1", SLI: avail, Objective: 0.99, Window: slo.RollingWindow(28 * 24 * time.Hour),
					Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: 5 * time.Minute, RatioSlices: true}, Probes: everyMinute},
				{Name: "averaged-checkout-2", SLI: avail, Objective: 0.999, Window: slo.RollingWindow(28 * 24 * time.Hour),
					Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: time.Minute, RatioSlices: true}, Probes: everyMinute},
			},
			[]string{`testdata/openslo/spec-ratio-timeslices.yaml:30: spec.objectives[1].timeSliceTarget: RatioTimeslices averages the slices' ratios, so a slice has no target; this one is not read`}},
		// A success ratio is the period's good share; a failure ratio
		// is 1 minus it.
		{"A raw ratio counts each period by the ratio its metric holds", []string{"spec-raw-ratio.yaml"},
			[]slo.SLO{
				{Name: "raw-success", SLI: slo.SLI{Kind: slo.SLIRawRatio, Raw: "success",
					Metric: &slo.Metric{Namespace: "Shop/Health", Name: "SuccessRatio", Dimensions: map[string]string{"Service": "shop"}, Statistic: "Average"}},
					Objective: 0.995, Window: slo.RollingWindow(28 * 24 * time.Hour), Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: 5 * time.Minute, RatioSlices: true}},
				{Name: "raw-failure", SLI: slo.SLI{Kind: slo.SLIRawRatio, Raw: "failure",
					Metric: &slo.Metric{Region: "us-east-1", Namespace: "Shop/Health", Name: "FailureRatio", Statistic: "Average"}},
					Objective: 0.99, Window: slo.CalendarWindow(slo.Month, time.UTC), Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: 5 * time.Minute, SliceThreshold: 0.95}},
			}, nil},
		{"Objects for other sources that no SLO uses are skipped with a warning", []string{"spec-foreign-unused.yaml"},
			[]slo.SLO{{Name: "foreign-neighbour", SLI: avail, Objective: 0.99, Window: slo.RollingWindow(28 * 24 * time.Hour),
				Budgeting: slo.Budgeting{Method: slo.Occurrences}, Probes: everyMinute}},
			[]string{
				`testdata/openslo/spec-foreign-unused.yaml:7: metadata.name: DataSource "prometheus-main" is of type "Prometheus", which nines does not read; no imported SLO uses it, so it is skipped`,
				`testdata/openslo/spec-foreign-unused.yaml:17: metadata.name: SLI "api-ok" reads a source of type "Prometheus", which nines does not read; no imported SLO uses it, so it is skipped`,
				`testdata/openslo/spec-foreign-unused.yaml:35: metadata.name: SLI "api-latency" reads a source of type "Datadog", which nines does not read; no imported SLO uses it, so it is skipped`,
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := openSLOConfig(t, tc.patterns...)
			if err != nil {
				t.Fatalf("import:\n%v", err)
			}
			if len(cfg.SLOs) != len(tc.want) {
				t.Fatalf("imported %d SLOs, want %d: %+v", len(cfg.SLOs), len(tc.want), cfg.SLOs)
			}
			for i, want := range tc.want {
				got := cfg.SLOs[i]
				if got.Window.Location != nil && want.Window.Location != nil && got.Window.Location.String() == want.Window.Location.String() {
					got.Window.Location = want.Window.Location
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("SLO %d:\ngot  %+v\nwant %+v", i, got, want)
				}
			}
			// The warnings about skipped objects; an SLO's own warnings
			// (a tier a 1w slice cannot fire) belong to slo's tests.
			var warnings []string
			for _, w := range cfg.Warnings {
				if w.Path == "metadata.name" || strings.HasSuffix(w.Path, ".timeSliceTarget") {
					warnings = append(warnings, w.Error())
				}
			}
			if !reflect.DeepEqual(warnings, tc.warnings) {
				t.Errorf("warnings:\ngot  %q\nwant %q", warnings, tc.warnings)
			}
			for _, w := range warnings {
				if strings.Contains(w, "prom-secret") {
					t.Errorf("a warning repeats a DataSource's connection details: %s", w)
				}
			}
		})
	}
}

// openSLOAlertConfig imports OpenSLO files into a config whose alerting:
// section has the receivers oncall (pages) and tickets (tickets).
func openSLOAlertConfig(t *testing.T, pattern string) (*Config, error) {
	t.Helper()
	src := "canaries:\n  - name: checkout\n    steps:\n      - http: {url: \"https://shop.example.com/\"}\n" +
		"alerting:\n  receivers:\n    - {name: oncall, log: {}}\n    - {name: tickets, log: {}}\n" +
		"  routes:\n    page: [oncall]\n    ticket: [tickets]\n" +
		"openslo: [" + pattern + "]\n"
	return Parse(filepath.Join("testdata", "openslo", "nines.yaml"), []byte(src), Options{LookupEnv: lookupTestEnv})
}

// An SLO's AlertPolicies are its tiers, and only they: the workbook's
// defaults are off. fast-burn: long 1h, short 1h/12 = 5m, burn 14.4, held
// 2m; slow-burn: long 3d, short 4h from its annotation (3d/12 would be 6h),
// burn 1. The low-traffic rule's 3 bad events come from the SLO's
// annotation.
func TestOpenSLOAlertPolicies(t *testing.T) {
	cfg, err := openSLOAlertConfig(t, "alert/checkout.yaml")
	if err != nil {
		t.Fatalf("import:\n%v", err)
	}
	if len(cfg.SLOs) != 1 {
		t.Fatalf("imported %d SLOs, want 1", len(cfg.SLOs))
	}
	want := &slo.Policy{MinBadEvents: 3, Tiers: []slo.TierSpec{
		{Name: "page_fast", Disabled: true},
		{Name: "page_slow", Disabled: true},
		{Name: "ticket", Disabled: true},
		{Name: "fast-burn", Severity: slo.Page, LongWindow: time.Hour, ShortWindow: 5 * time.Minute, BurnRate: 14.4, For: 2 * time.Minute},
		{Name: "slow-burn", Severity: slo.Ticket, LongWindow: 72 * time.Hour, ShortWindow: 4 * time.Hour, BurnRate: 1},
	}}
	if got := cfg.SLOs[0].Policy; !reflect.DeepEqual(got, want) {
		t.Errorf("policy:\ngot  %+v\nwant %+v", got, want)
	}
	// What the inline policy asks and nines does otherwise is warned of.
	var warnings []string
	for _, w := range cfg.Warnings {
		warnings = append(warnings, w.Error())
	}
	wantWarnings := []string{
		`testdata/openslo/alert/checkout.yaml:70: spec.alertPolicies[1].spec.alertWhenResolved: false: nines sends a resolve after every fire, to the receivers that got it`,
		`testdata/openslo/alert/checkout.yaml:71: spec.alertPolicies[1].spec.alertWhenNoData: true: nines reports an SLO without data through its dead-man's switch (alerting.no_data_periods), not through this tier`,
	}
	if !reflect.DeepEqual(warnings, wantWarnings) {
		t.Errorf("warnings:\ngot  %q\nwant %q", warnings, wantWarnings)
	}
}

var openSLOAlertInvalidCases = []struct {
	name string
	file string
}{
	{"A dangling alertPolicyRef is an error", "dangling"},
	{"A condition with op lte is refused with the reason", "op-lte"},
	{"A condition with op gte is refused with the reason", "op-gte"},
	{"A severity that is not page or ticket is refused", "severity"},
	{"A target whose receiver does not get the severity is refused", "route"},
	{"A target that names no receiver is refused", "target"},
	{"An AlertPolicy with two conditions is refused", "two-conditions"},
}

func TestOpenSLOAlertInvalid(t *testing.T) {
	for _, tc := range openSLOAlertInvalidCases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join("alert", "invalid-"+tc.file+".yaml")
			cfg, err := openSLOAlertConfig(t, file)
			if err == nil {
				t.Fatalf("importing %s gave %d SLOs and no error", file, len(cfg.SLOs))
			}
			checkGolden(t, filepath.Join("testdata", "openslo", "alert", "invalid-"+tc.file+".golden"), err.Error()+"\n", "TestOpenSLOAlertInvalid")
		})
	}
}
