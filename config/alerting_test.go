package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
)

// The alerting: section's fixtures join the golden table in config_test.go.
var _ = func() int {
	invalidCases = append(invalidCases, []struct {
		name string
		file string
	}{
		{"An alerting section without receivers is rejected", "alerting-no-receivers"},
		{"A receiver with two kinds is rejected", "alerting-receiver-two-kinds"},
		{"A receiver with no kind is rejected", "alerting-receiver-no-kind"},
		{"Two receivers with one name are rejected", "alerting-duplicate-receiver"},
		{"An SNS topic that is not an ARN is rejected", "alerting-topic-arn"},
		{"A Slack receiver with a token and a webhook is rejected", "alerting-slack-both"},
		{"A Slack receiver with neither token nor webhook is rejected", "alerting-slack-neither"},
		{"A Slack bot token without a channel is rejected", "alerting-slack-no-channel"},
		{"A Slack token written in the file is rejected without echoing it", "alerting-slack-literal-token"},
		{"A Slack token from an unset variable is rejected", "alerting-env-unset"},
		{"A channel next to a webhook is rejected", "alerting-webhook-channel"},
		{"A route to an unknown receiver is rejected", "alerting-route-unknown-receiver"},
		{"A route for an unknown severity is rejected", "alerting-route-severity"},
		{"A link that is not a URL is rejected", "alerting-link"},
		{"Links for an SLO that does not exist are rejected", "alerting-slo-links-unknown"},
		{"An evaluation interval under 10s is rejected", "alerting-interval"},
		{"Reminders more often than evaluations are rejected", "alerting-remind"},
		{"Negative no-data periods are rejected", "alerting-no-data-periods"},
		{"A state section without a table is rejected", "alerting-state-no-table"},
		{"An unknown key in alerting suggests the closest key", "alerting-unknown-key"},
		{"An agent name with spaces is rejected", "alerting-agent-name"},
		{"A canary failure rule of severity no_data is rejected", "alerting-canary-failures-severity"},
		{"A canary failure rule that is neither a mapping nor off is rejected", "alerting-canary-failures-word"},
		{"A PagerDuty routing key written in the file is rejected without echoing it", "alerting-pagerduty-literal-key"},
		{"A PagerDuty receiver without a routing key is rejected", "alerting-pagerduty-no-key"},
		{"A Teams workflow URL written in the file is rejected without echoing it", "alerting-teams-literal-url"},
		{"A Teams receiver without a URL is rejected", "alerting-teams-no-url"},
		{"A webhook without a URL is rejected", "alerting-webhook-no-url"},
		{"A webhook URL that is not http is rejected", "alerting-webhook-bad-url"},
		{"A webhook signing secret written in the file is rejected without echoing it", "alerting-webhook-literal-secret"},
		{"A webhook header value written in the file is rejected without echoing it", "alerting-webhook-literal-header"},
		{"A webhook header that would forge the signature is rejected", "alerting-webhook-reserved-header"},
		{"A receiver that is both PagerDuty and Teams is rejected", "alerting-receiver-pagerduty-and-teams"},
		{"Budget warnings for an SLO that does not exist are rejected", "alerting-budget-warnings-unknown-slo"},
		{"A budget warning of 100% or more is rejected", "alerting-budget-warnings-range"},
		{"A budget warning listed twice is rejected", "alerting-budget-warnings-twice"},
		{"An empty list of budget warnings is rejected", "alerting-budget-warnings-empty"},
		{"A canary's failure rule of zero runs in zero regions is rejected", "canary-failures-zero"},
		{"An unknown key in a canary's failure rule suggests the closest key", "canary-failures-unknown-key"},
		{"A canary's failure rule of an unknown severity is rejected", "canary-failures-severity"},
	}...)
	return 0
}()

func TestAlertingSection(t *testing.T) {
	const head = "canaries:\n  - name: checkout\n    steps:\n      - http: { url: \"https://shop.example.com/health\" }\n"
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"SLACK_TOKEN": "xoxb-test", "HOOK": "https://hooks.example.com/services/T/B/X",
			"PD_KEY": "R0123", "TEAMS_URL": "https://x.logic.azure.com/workflows/1?sig=abc", "HOOK_SECRET": "sign-me", "HOOK_AUTH": "Bearer t"}[name]
		return v, ok
	}
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, s *alerting.Settings)
	}{
		{"Without an alerting section there are no settings", head, func(t *testing.T, s *alerting.Settings) {
			if s != nil {
				t.Errorf("settings %+v, want nil", s)
			}
		}},
		{"Defaults fill what is left out", head + "alerting:\n  receivers:\n    - log: {}\n", func(t *testing.T, s *alerting.Settings) {
			if s.Interval != alerting.DefaultInterval || s.NoDataPeriods != alerting.DefaultNoDataPeriods || s.Remind != 0 || s.Routes != nil {
				t.Errorf("settings %+v", s)
			}
			if len(s.Receivers) != 1 || s.Receivers[0].Name != "log" || !s.Receivers[0].Log {
				t.Errorf("receivers %+v, want one named log", s.Receivers)
			}
		}},
		{"Receivers, routes, links and state map across", head + `alerting:
  evaluation_interval: 30s
  remind_every: 4h
  resolve_after: 5m
  no_data_periods: 3
  agents: [eu-west-1]
  state: { dynamodb_table: nines-alerts, endpoint: "http://127.0.0.1:8000" }
  links: { dashboard: "https://grafana.example.com/d/slo", runbook: "https://wiki.example.com/slo" }
  receivers:
    - name: pager
      sns: { topic_arn: "arn:aws:sns:eu-west-1:123456789012:pages" }
    - name: chat
      slack: { token: "${env:SLACK_TOKEN}", channel: C0ALERTS }
    - name: hook
      slack: { webhook_url: "${env:HOOK}" }
  routes:
    page: [pager, chat]
    ticket: [chat]
`, func(t *testing.T, s *alerting.Settings) {
			if s.Interval != 30*time.Second || s.Remind != 4*time.Hour || s.ResolveAfter != 5*time.Minute || s.NoDataPeriods != 3 {
				t.Errorf("timing %+v", s)
			}
			if s.DynamoDBTable != "nines-alerts" || s.Endpoint != "http://127.0.0.1:8000" || len(s.Agents) != 1 {
				t.Errorf("state %+v", s)
			}
			if len(s.Links.Global) != 2 || s.Links.Global[0].Name != "dashboard" {
				t.Errorf("links %+v", s.Links)
			}
			if len(s.Receivers) != 3 || s.Receivers[0].SNS.Region != "eu-west-1" || s.Receivers[1].Slack.Token != "xoxb-test" ||
				s.Receivers[2].Slack.WebhookURL != "https://hooks.example.com/services/T/B/X" {
				t.Errorf("receivers %+v", s.Receivers)
			}
			if len(s.Routes[alerting.Page]) != 2 || len(s.Routes[alerting.Ticket]) != 1 {
				t.Errorf("routes %+v", s.Routes)
			}
		}},
		{"Webhook, PagerDuty and Teams receivers map across with their secrets from the environment", head + `alerting:
  receivers:
    - webhook:
        url: "https://hooks.example.com/nines"
        secret: "${env:HOOK_SECRET}"
        headers: { Authorization: "${env:HOOK_AUTH}" }
    - pagerduty: { routing_key: "${env:PD_KEY}", url: "https://events.eu.pagerduty.com/v2/enqueue" }
    - teams: { url: "${env:TEAMS_URL}" }
`, func(t *testing.T, s *alerting.Settings) {
			want := []alerting.ReceiverSettings{
				{Name: "webhook", Webhook: &alerting.WebhookSettings{URL: "https://hooks.example.com/nines", Secret: "sign-me", Headers: map[string]string{"Authorization": "Bearer t"}}},
				{Name: "pagerduty", PagerDuty: &alerting.PagerDutySettings{RoutingKey: "R0123", URL: "https://events.eu.pagerduty.com/v2/enqueue"}},
				{Name: "teams", Teams: &alerting.TeamsSettings{URL: "https://x.logic.azure.com/workflows/1?sig=abc"}},
			}
			if !reflect.DeepEqual(s.Receivers, want) {
				t.Errorf("receivers %+v, want %+v", s.Receivers, want)
			}
		}},
		{"Budget warnings map to ratios, highest first, with a route of their own", head +
			"slos:\n  - { name: checkout, sli: { kind: availability, canary: checkout }, objective: 99.9 }\n" + `alerting:
  budget_warnings: { checkout: [0, 50, 25] }
  receivers: [{ name: chat, log: {} }, { name: pager, log: {} }]
  routes: { warning: [chat] }
`, func(t *testing.T, s *alerting.Settings) {
			if got := s.BudgetWarnings["checkout"]; !reflect.DeepEqual(got, []float64{0.5, 0.25, 0}) {
				t.Errorf("thresholds %v, want [0.5 0.25 0]", got)
			}
			if got := s.Routes[alerting.Warning]; !reflect.DeepEqual(got, []string{"chat"}) {
				t.Errorf("warning route %v", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("test.yaml", []byte(tc.src), Options{LookupEnv: env})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg.Alerting)
		})
	}
}

func TestCanaryFailureRules(t *testing.T) {
	const canaries = `agent: { period: 30s }
canaries:
  - name: api
    every: 30s
    steps: [{ http: { url: "https://api.example.com/" } }]
  - name: checkout
    steps: [{ http: { url: "https://shop.example.com/" } }]
`
	const sloOverCheckout = "slos:\n  - { name: checkout, sli: { kind: availability, canary: checkout }, objective: 99.9 }\n"
	rule := func(canary string, every time.Duration, consecutive, regions int, sev alerting.Severity) alerting.FailureRule {
		return alerting.FailureRule{Canary: canary, Every: every, Period: 30 * time.Second, Consecutive: consecutive, Regions: regions, Severity: sev}
	}
	tests := []struct {
		name string
		src  string
		want []alerting.FailureRule
	}{
		{"Every canary has the default rule without an alerting section", canaries,
			[]alerting.FailureRule{rule("api", 30*time.Second, 3, 1, alerting.Page), rule("checkout", time.Minute, 3, 1, alerting.Page)}},
		{"A canary an SLO covers has no rule by default", canaries + sloOverCheckout,
			[]alerting.FailureRule{rule("api", 30*time.Second, 3, 1, alerting.Page)}},
		{"The global rule changes every canary's", canaries + "alerting:\n  canary_failures: { consecutive: 5, regions: 2, severity: ticket }\n  receivers: [{ log: {} }]\n",
			[]alerting.FailureRule{rule("api", 30*time.Second, 5, 2, alerting.Ticket), rule("checkout", time.Minute, 5, 2, alerting.Ticket)}},
		{"A canary's own keys take over the global ones, the rest it keeps",
			strings.Replace(canaries, "  - name: checkout\n", "  - name: checkout\n    failures: { regions: 3 }\n", 1) +
				"alerting:\n  canary_failures: { consecutive: 4 }\n  receivers: [{ log: {} }]\n",
			[]alerting.FailureRule{rule("api", 30*time.Second, 4, 1, alerting.Page), rule("checkout", time.Minute, 4, 3, alerting.Page)}},
		{"A canary's failures: off turns its rule off",
			strings.Replace(canaries, "  - name: api\n", "  - name: api\n    failures: off\n", 1),
			[]alerting.FailureRule{rule("checkout", time.Minute, 3, 1, alerting.Page)}},
		{"canary_failures: off turns them all off, but for a canary that asks for its own",
			strings.Replace(canaries, "  - name: checkout\n", "  - name: checkout\n    failures: { consecutive: 5 }\n", 1) +
				"alerting:\n  canary_failures: off\n  receivers: [{ log: {} }]\n",
			[]alerting.FailureRule{rule("checkout", time.Minute, 5, 1, alerting.Page)}},
		{"A canary an SLO covers has the rule when it asks for it",
			strings.Replace(canaries, "  - name: checkout\n", "  - name: checkout\n    failures: {}\n", 1) + sloOverCheckout,
			[]alerting.FailureRule{rule("api", 30*time.Second, 3, 1, alerting.Page), rule("checkout", time.Minute, 3, 1, alerting.Page)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("test.yaml", []byte(tc.src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.FailureRules, tc.want) {
				t.Errorf("rules\n%+v\nwant\n%+v", cfg.FailureRules, tc.want)
			}
			for _, r := range cfg.FailureRules {
				if err := r.Validate(); err != nil {
					t.Errorf("a rule does not pass its own Validate: %v", err)
				}
			}
		})
	}
}
