package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

// sloInvalidCases are the slos: fixtures. They join the table of
// config_test.go, so the golden test there checks them and its "every
// fixture is listed" check covers them.
var sloInvalidCases = []struct {
	name string
	file string
}{
	{"An SLI of an unknown kind is rejected", "slo-unknown-kind"},
	{"A latency SLI without a threshold is rejected", "slo-latency-no-threshold"},
	{"An objective of 100 leaves no budget", "slo-objective-100"},
	{"An objective of 1 is ambiguous", "slo-objective-ambiguous"},
	{"An SLO without an objective is rejected", "slo-objective-missing"},
	{"An SLI of a canary that is not configured is rejected", "slo-unknown-canary"},
	{"Two SLOs with one name are rejected", "slo-duplicate-name"},
	{"A rolling window under an hour is rejected", "slo-window-short"},
	{"A calendar window of a year is rejected", "slo-window-calendar-year"},
	{"An unknown time zone is rejected", "slo-window-time-zone"},
	{"A window that is neither a length nor week or month is rejected", "slo-window-word"},
	{"A region with a space is rejected", "slo-region"},
	{"A ratio SLI with both good and bad is rejected", "slo-ratio-good-and-bad"},
	{"A ratio metric without a statistic is rejected", "slo-ratio-no-statistic"},
	{"A ratio SLI that names a canary is rejected", "slo-ratio-with-canary"},
	{"A ratio SLI with only the local store to read is rejected", "slo-ratio-local-store"},
	{"An unknown budgeting method is rejected", "slo-budgeting-unknown"},
	{"Slice settings on occurrence budgeting are rejected", "slo-slice-on-occurrences"},
	{"A new policy tier without its windows is rejected", "slo-policy-new-tier"},
	{"A tier whose short window is longer than its long one is rejected", "slo-policy-short-over-long"},
	{"A tier of an unknown severity is rejected", "slo-policy-severity"},
	{"A composition of an SLO that does not exist is rejected", "slo-compose-missing-part"},
	{"Compositions that contain each other are rejected", "slo-compose-cycle"},
	{"A composition of an unknown mode is rejected", "slo-compose-mode"},
	{"A composition of one SLO is rejected", "slo-compose-one-part"},
	{"A composition with its own objective is rejected", "slo-compose-with-objective"},
	{"An SLO with neither sli nor compose is rejected", "slo-no-sli"},
	{"An unknown key in an SLO suggests the closest key", "slo-unknown-key"},
	{"An openslo pattern that matches no file is rejected", "slo-openslo-no-match"},
	{"A ratio SLI whose metrics are in two regions is rejected", "slo-ratio-regions"},
	{"Every fault of an SLO is reported, each at its own field", "slo-every-fault"},
}

func init() {
	invalidCases = append(invalidCases, sloInvalidCases...)
}

// withSLOs is a config with one canary, checkout, and the given slos:
// entries (indented as list items under slos:).
func withSLOs(entries string) string {
	return "canaries:\n  - name: checkout\n    steps:\n      - http: {url: \"https://shop.example.com/\"}\nslos:\n" + entries
}

func TestSLOForms(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	alb := func(name string) *slo.Metric {
		return &slo.Metric{Namespace: "AWS/ApplicationELB", Name: name, Dimensions: map[string]string{"LoadBalancer": "app/shop/1"}, Statistic: "Sum"}
	}
	tests := []struct {
		name  string
		entry string
		want  slo.SLO
	}{
		{
			"An availability SLO in percent with the default window",
			"  - name: a\n    sli: {kind: availability, canary: checkout}\n    objective: 99.95\n",
			slo.SLO{Name: "a", SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}, Objective: 0.9995, Window: slo.RollingWindow(30 * 24 * time.Hour), Probes: slo.Probes{Every: time.Minute, PerRound: 1}},
		},
		{
			"An objective as a ratio, a percent string and regions",
			"  - name: a\n    sli: {kind: availability, canary: checkout, regions: [eu-west-1, us-east-1]}\n    objective: \"99.9%\"\n    window: 28d\n",
			slo.SLO{Name: "a", SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout", Regions: []string{"eu-west-1", "us-east-1"}}, Objective: 0.999, Window: slo.RollingWindow(28 * 24 * time.Hour), Probes: slo.Probes{Every: time.Minute, PerRound: 2}},
		},
		{
			"A latency SLO over a Berlin calendar month in good minutes",
			"  - name: l\n    sli: {kind: latency, canary: checkout, threshold: 300ms}\n    objective: 0.99\n    window: {calendar: month, time_zone: Europe/Berlin}\n    budgeting: {method: timeslices, slice: 5m, slice_threshold: 95}\n",
			slo.SLO{Name: "l", SLI: slo.SLI{Kind: slo.SLILatency, Canary: "checkout", Threshold: 300 * time.Millisecond}, Objective: 0.99,
				Window: slo.CalendarWindow(slo.Month, berlin), Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: 5 * time.Minute, SliceThreshold: 0.95}, Probes: slo.Probes{Every: time.Minute, PerRound: 1}},
		},
		{
			"A calendar week by its word, and timeslices by theirs",
			"  - name: w\n    sli: {kind: availability, canary: checkout}\n    objective: 99\n    window: week\n    budgeting: timeslices\n",
			slo.SLO{Name: "w", SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}, Objective: 0.99,
				Window: slo.CalendarWindow(slo.Week, time.UTC), Budgeting: slo.Budgeting{Method: slo.Timeslices}, Probes: slo.Probes{Every: time.Minute, PerRound: 1}},
		},
		{
			"An ALB's 5xx over its requests",
			"  - name: alb\n    sli:\n      kind: ratio\n      bad: {namespace: AWS/ApplicationELB, metric: HTTPCode_ELB_5XX_Count, dimensions: {LoadBalancer: app/shop/1}, statistic: Sum}\n      total: {namespace: AWS/ApplicationELB, metric: RequestCount, dimensions: {LoadBalancer: app/shop/1}, statistic: Sum}\n    objective: 99.9\n    window: {rolling: 7d}\n" +
				"cloudwatch: {region: eu-west-1}\n", // what reads it
			slo.SLO{Name: "alb", SLI: slo.SLI{Kind: slo.SLIRatio, Bad: alb("HTTPCode_ELB_5XX_Count"), Total: alb("RequestCount")}, Objective: 0.999, Window: slo.RollingWindow(7 * 24 * time.Hour)},
		},
		{
			"A policy that turns a tier off, changes two, adds one and sets the event guards",
			"  - name: p\n    sli: {kind: availability, canary: checkout}\n    objective: 99.9\n    policy:\n      min_events: 0\n      min_bad_events: 3\n      tiers:\n        page_fast: {disabled: true}\n        page_slow: {for: 10m}\n        ticket: {burn_rate: 2}\n        weekly: {severity: ticket, long_window: 7d, short_window: 12h, burn_rate: 0.5}\n",
			slo.SLO{Name: "p", SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}, Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour),
				Probes: slo.Probes{Every: time.Minute, PerRound: 1},
				Policy: &slo.Policy{MinEvents: 0, MinBadEvents: 3, Tiers: []slo.TierSpec{
					{Name: "page_fast", Disabled: true},
					{Name: "page_slow", For: 10 * time.Minute},
					{Name: "ticket", BurnRate: 2},
					{Name: "weekly", Severity: slo.Ticket, LongWindow: 7 * 24 * time.Hour, ShortWindow: 12 * time.Hour, BurnRate: 0.5},
				}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseValid(t, withSLOs(tc.entry), Options{})
			if len(cfg.SLOs) != 1 {
				t.Fatalf("got %d SLOs, want 1", len(cfg.SLOs))
			}
			got := cfg.SLOs[0]
			if got.Window.Location != nil && tc.want.Window.Location != nil && got.Window.Location.String() == tc.want.Window.Location.String() {
				got.Window.Location = tc.want.Window.Location
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if got.Policy != nil && !reflect.DeepEqual(*got.Policy, *tc.want.Policy) {
				t.Errorf("policy got %+v, want %+v", *got.Policy, *tc.want.Policy)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("the SLO does not pass its own Validate: %v", err)
			}
		})
	}
}

func TestSLOCompositionsNest(t *testing.T) {
	cfg := parseValid(t, withSLOs(`  - name: api
    sli: {kind: availability, canary: checkout, regions: [eu-west-1]}
    objective: 99.9
  - name: api-us
    sli: {kind: availability, canary: checkout, regions: [us-east-1]}
    objective: 99.9
  - name: api-anywhere
    compose: {mode: redundant, of: [api, api-us]}
  - name: fast
    sli: {kind: latency, canary: checkout, threshold: 500ms}
    objective: 99
  - name: shop
    compose: {mode: serial, of: [api-anywhere, fast]}
`), Options{})
	want := []slo.Composition{
		{Name: "api-anywhere", Mode: slo.Redundant, Parts: []string{"api", "api-us"}},
		{Name: "shop", Mode: slo.Serial, Parts: []string{"api-anywhere", "fast"}},
	}
	if !reflect.DeepEqual(cfg.Compositions, want) {
		t.Errorf("compositions = %+v, want %+v", cfg.Compositions, want)
	}
	if len(cfg.SLOs) != 3 {
		t.Errorf("got %d SLOs, want 3", len(cfg.SLOs))
	}
}

func TestSLOWarnings(t *testing.T) {
	tests := []struct {
		name  string
		entry string
		want  []string
	}{
		{
			"A 90% objective warns that the 1h page can never fire",
			"  - name: loose\n    sli: {kind: availability, canary: checkout}\n    objective: 90\n",
			[]string{"valid.yaml:8: slos[0].objective: the page 1h/5m tier can never fire: a burn rate above 14.4 needs an error ratio above 1.44, more than 100% errors"},
		},
		{
			"A 90% objective without the fast page warns of nothing",
			"  - name: loose\n    sli: {kind: availability, canary: checkout}\n    objective: 90\n    policy: {tiers: {page_fast: {disabled: true}}}\n",
			nil,
		},
		{
			"A 99.9% objective warns of nothing",
			"  - name: tight\n    sli: {kind: availability, canary: checkout}\n    objective: 99.9\n",
			nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseValid(t, withSLOs(tc.entry), Options{})
			var got []string
			for _, w := range cfg.SLOWarnings {
				got = append(got, w.Error())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// A ratio SLI names CloudWatch metrics: the config must have an evaluator
// that reads CloudWatch, the sidecar's (cloudwatch: without sink: local)
// or the Lambda one (deploy:).
func TestARatioSLINeedsAnEvaluatorThatReadsCloudWatch(t *testing.T) {
	const ratio = "  - name: alb\n    sli:\n      kind: ratio\n      good: {namespace: AWS/ApplicationELB, metric: HTTPCode_Target_2XX_Count, statistic: Sum}\n      total: {namespace: AWS/ApplicationELB, metric: RequestCount, statistic: Sum}\n    objective: 99.9\n"
	const deploy = "deploy: {monitoring_region: us-east-1, agent_regions: [eu-west-1], code_bucket_prefix: nines-code}\n"
	tests := []struct {
		name, extra string
		err         string // "" when valid
	}{
		{"With a cloudwatch: section it is read from CloudWatch", "cloudwatch: {region: eu-west-1}\n", ""},
		{"With sink: emf and a cloudwatch: section it is read from CloudWatch", "sink: emf\ncloudwatch: {region: eu-west-1}\n", ""},
		{"With deploy: the Lambda evaluator reads it", deploy, ""},
		{"With sink: local and deploy: the Lambda evaluator reads it", "sink: local\ncloudwatch: {region: eu-west-1}\n" + deploy, ""},
		{"With sink: local the sidecar would read the local store", "sink: local\ncloudwatch: {region: eu-west-1}\n",
			"valid.yaml:7: slos[0].sli: a ratio SLI reads CloudWatch metrics, but sink: local makes the evaluator read the local store, which holds canary metrics only: remove sink: local so that the evaluator reads CloudWatch, or add deploy: for the Lambda evaluator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := withSLOs(ratio) + tc.extra
			if tc.err == "" {
				if cfg := parseValid(t, src, Options{}); len(cfg.SLOs) != 1 {
					t.Errorf("got %d SLOs, want the ratio one", len(cfg.SLOs))
				}
				return
			}
			_, err := Parse("valid.yaml", []byte(src), Options{})
			if err == nil || err.Error() != tc.err {
				t.Errorf("error:\n%v\nwant:\n%s", err, tc.err)
			}
		})
	}
}
