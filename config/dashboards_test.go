package config

import (
	"reflect"
	"testing"
)

var dashboardsInvalidCases = []struct {
	name string
	file string
}{
	{"A dashboard service that lists an unknown SLO is rejected", "dashboards-unknown-slo"},
	{"An SLO on two dashboards is rejected", "dashboards-two-services"},
	{"An alarm given by name instead of ARN is rejected", "dashboards-alarm-name"},
}

func init() {
	invalidCases = append(invalidCases, dashboardsInvalidCases...)
}

func TestDashboardsSectionMapsOntoItsType(t *testing.T) {
	cfg, err := Parse("nines.yaml", []byte(`
canaries:
  - name: checkout
    steps:
      - http: {url: "https://shop.example.com/"}
slos:
  - name: checkout
    sli: {kind: availability, canary: checkout}
    objective: 99.9
dashboards:
  services: {shop: [checkout]}
  regions: [eu-west-1, us-east-1]
  alarms: ["arn:aws:cloudwatch:eu-central-1:123456789012:alarm:nines-evaluator-heartbeat"]
`), Options{LookupEnv: lookupTestEnv})
	if err != nil {
		t.Fatal(err)
	}
	want := Dashboards{Prefix: "nines", Services: map[string][]string{"shop": {"checkout"}},
		Regions: []string{"eu-west-1", "us-east-1"}, Alarms: []string{"arn:aws:cloudwatch:eu-central-1:123456789012:alarm:nines-evaluator-heartbeat"}}
	if !reflect.DeepEqual(cfg.Dashboards, want) {
		t.Errorf("got %+v\nwant %+v", cfg.Dashboards, want)
	}
}
