package sns_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/alerting/sns"
	"github.com/nines-dev/nines/internal/awsfake"
)

// newNotifier points a notifier at a fresh fake, with the SDK's own
// retries off: the pipeline retries.
func newNotifier(t *testing.T) (*sns.Notifier, *awsfake.SNS) {
	t.Helper()
	f := awsfake.NewSNST(t, awsfake.SNSConfig{Region: "eu-west-1", Topics: []string{"pages"}})
	n, err := sns.New(sns.Config{
		Client:   f.Client(func(o *awssns.Options) { o.RetryMaxAttempts = 1 }),
		TopicARN: f.TopicARN("pages"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, f
}

func TestConformance(t *testing.T) {
	notifiertest.Run(t, func(t *testing.T) *notifiertest.Harness {
		n, f := newNotifier(t)
		return &notifiertest.Harness{
			Notifier:    n,
			Fail:        func(k, status int) { f.FailStatus("Publish", k, status) },
			Accepted:    func() int { return len(f.Messages()) },
			Unreachable: f.Close,
			Shown: func() []string {
				var out []string
				for _, m := range f.Messages() {
					out = append(out, m.Subject, m.Body)
				}
				return out
			},
			// The fake's static credentials stand in for real ones.
			Secrets: []string{"nines-fake-secret"},
		}
	})
}

func TestMessageReadsAsACloudWatchAlarm(t *testing.T) {
	cases := []struct {
		name            string
		kind            alerting.Kind
		subject         string
		state, oldState string
	}{
		{"A fire is ALARM from OK", alerting.KindFire, "ALARM: checkout: page (page_fast), budget 97.9%", "ALARM", "OK"},
		{"A reminder is ALARM from ALARM", alerting.KindRemind, "ALARM: checkout: page (page_fast) still firing, budget 97.9%", "ALARM", "ALARM"},
		{"A resolve is OK from ALARM", alerting.KindResolve, "OK: checkout: page (page_fast) resolved", "OK", "ALARM"},
		{"A test is a marked ALARM", alerting.KindTest, "ALARM: [TEST] checkout: page (page_fast), budget 97.9%", "ALARM", "OK"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, f := newNotifier(t)
			if _, err := n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(tc.kind)}); err != nil {
				t.Fatal(err)
			}
			msgs := f.Messages()
			if len(msgs) != 1 {
				t.Fatalf("the fake got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Subject != tc.subject {
				t.Errorf("subject %q, want %q", m.Subject, tc.subject)
			}
			// What PagerDuty's and Opsgenie's integrations parse.
			var payload events.CloudWatchAlarmSNSPayload
			if err := json.Unmarshal([]byte(m.Body), &payload); err != nil {
				t.Fatalf("the body is not a CloudWatch alarm notification: %v", err)
			}
			if payload.AlarmName != "nines/checkout/page" || payload.NewStateValue != tc.state || payload.OldStateValue != tc.oldState {
				t.Errorf("alarm %q %s from %s, want nines/checkout/page %s from %s", payload.AlarmName, payload.NewStateValue, payload.OldStateValue, tc.state, tc.oldState)
			}
			if payload.Region != "eu-west-1" || payload.AWSAccountID != "123456789012" || payload.StateChangeTime == "" || payload.NewStateReason == "" {
				t.Errorf("region %q account %q time %q reason %q: all must be set", payload.Region, payload.AWSAccountID, payload.StateChangeTime, payload.NewStateReason)
			}
			if payload.Trigger.Threshold != 14.4 || payload.Trigger.Period != 3600 {
				t.Errorf("trigger threshold %g period %d, want 14.4 and 3600", payload.Trigger.Threshold, payload.Trigger.Period)
			}
			var body struct {
				Nines struct {
					DedupeKey string `json:"dedupe_key"`
					SLO       string `json:"slo"`
					Severity  string `json:"severity"`
					Test      bool   `json:"test"`
					Details   struct {
						Tier            string   `json:"tier"`
						BudgetRemaining *float64 `json:"budget_remaining"`
						BudgetState     string   `json:"budget_state"`
						BurnRates       []struct {
							Window string  `json:"window"`
							Rate   float64 `json:"rate"`
						} `json:"burn_rates"`
					} `json:"details"`
					Links []alerting.Link `json:"links"`
				} `json:"nines"`
			}
			if err := json.Unmarshal([]byte(m.Body), &body); err != nil {
				t.Fatal(err)
			}
			nb := body.Nines
			if nb.DedupeKey != "nines/checkout/page" || nb.SLO != "checkout" || nb.Severity != "page" || nb.Details.Tier != "page_fast" ||
				nb.Details.BudgetRemaining == nil || nb.Details.BudgetState != "burning" || len(nb.Details.BurnRates) != 2 || len(nb.Links) != 2 || nb.Test != (tc.kind == alerting.KindTest) {
				t.Errorf("nines details incomplete: %+v", nb)
			}
			if m.Attributes["severity"].StringValue != "page" || m.Attributes["slo"].StringValue != "checkout" {
				t.Errorf("attributes %+v, want severity=page and slo=checkout for subscription filters", m.Attributes)
			}
		})
	}
}

func TestSubjectStaysUnder100PrintableCharacters(t *testing.T) {
	n := notifiertest.Sample(alerting.KindFire)
	n.Key.Subject = strings.Repeat("checkout-é-", 20)
	s := sns.Subject(n)
	if utf8.RuneCountInString(s) >= sns.MaxSubject {
		t.Errorf("subject has %d characters, want under %d", utf8.RuneCountInString(s), sns.MaxSubject)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r > '~' }) {
		t.Errorf("subject %q has characters SNS refuses", s)
	}
	if !strings.HasPrefix(s, "ALARM: ") {
		t.Errorf("subject %q does not start with ALARM: ", s)
	}
}

func TestAHugeReasonIsCutToFitSNS(t *testing.T) {
	nt, f := newNotifier(t)
	n := notifiertest.Sample(alerting.KindFire)
	n.Details.Reason = strings.Repeat("a very long reason ", 20000) // about 380 KB
	if _, err := nt.Notify(context.Background(), alerting.Delivery{Notification: n}); err != nil {
		t.Fatalf("the fake refused the message: %v", err)
	}
	m := f.Messages()[0]
	if len(m.Body) > sns.MaxMessage {
		t.Errorf("body is %d bytes, over %d", len(m.Body), sns.MaxMessage)
	}
	if !strings.Contains(m.Body, `"truncated":true`) {
		t.Errorf("a cut message does not say it was truncated")
	}
}

func TestThrottlingIsRetryable(t *testing.T) {
	n, f := newNotifier(t)
	f.Throttle("Publish", 1)
	_, err := n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(alerting.KindFire)})
	c := alerting.Classify(err)
	if !c.Retryable || c.Reason != "throttled" {
		t.Errorf("a throttled Publish is classified %+v, want retryable, throttled", c)
	}
}

func TestTheLastFailureAndItsArtifactsArriveInTheNinesObject(t *testing.T) {
	huge := strings.Repeat("a very long reason ", 20000) // about 380 KB
	cases := []struct {
		name      string
		reason    string
		errorText string
		truncated bool
	}{
		{"A failure arrives whole in a message that fits", "page_fast: burn 100x", `step "login": status 503`, false},
		{"A huge failure is cut, and its artifacts still arrive", huge, huge, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nt, f := newNotifier(t)
			n := notifiertest.Sample(alerting.KindFire)
			failure := notifiertest.SampleFailure()
			failure.Error = tc.errorText
			n.Details.Reason, n.Details.LastFailure = tc.reason, &failure
			if _, err := nt.Notify(context.Background(), alerting.Delivery{Notification: n}); err != nil {
				t.Fatalf("the fake refused the message: %v", err)
			}
			m := f.Messages()[0]
			if len(m.Body) > sns.MaxMessage {
				t.Errorf("body is %d bytes, over %d", len(m.Body), sns.MaxMessage)
			}
			var body struct {
				Nines struct {
					Truncated bool `json:"truncated"`
					Details   struct {
						LastFailure *alerting.Failure `json:"last_failure"`
					} `json:"details"`
				} `json:"nines"`
			}
			if err := json.Unmarshal([]byte(m.Body), &body); err != nil {
				t.Fatal(err)
			}
			lf := body.Nines.Details.LastFailure
			if lf == nil {
				t.Fatalf("no last_failure in the nines details: %.500s", m.Body)
			}
			if lf.Class != "http_status" || len(lf.Artifacts) != 2 || lf.Artifacts[0] != notifiertest.ArtifactPath {
				t.Errorf("last_failure %+v, want http_status with the artifact %s first", lf, notifiertest.ArtifactPath)
			}
			if body.Nines.Truncated != tc.truncated {
				t.Errorf("truncated=%v, want %v", body.Nines.Truncated, tc.truncated)
			}
			if !tc.truncated && lf.Error != tc.errorText {
				t.Errorf("error %q, want %q", lf.Error, tc.errorText)
			}
		})
	}
}
