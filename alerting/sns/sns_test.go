package sns_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

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
		{"A fire is ALARM from OK", alerting.KindFire, `ALARM: "nines/checkout/page" in EU (Ireland)`, "ALARM", "OK"},
		{"A reminder is ALARM from ALARM", alerting.KindRemind, `ALARM: "nines/checkout/page" in EU (Ireland)`, "ALARM", "ALARM"},
		{"A resolve is OK from ALARM", alerting.KindResolve, `OK: "nines/checkout/page" in EU (Ireland)`, "OK", "ALARM"},
		// The subject is CloudWatch's and names only the alarm; the
		// description and the nines object say it is a test.
		{"A test is an ALARM", alerting.KindTest, `ALARM: "nines/checkout/page" in EU (Ireland)`, "ALARM", "OK"},
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
			if payload.Region != "EU (Ireland)" || payload.AWSAccountID != "123456789012" || payload.StateChangeTime == "" || payload.NewStateReason == "" {
				t.Errorf("region %q account %q time %q reason %q: all must be set", payload.Region, payload.AWSAccountID, payload.StateChangeTime, payload.NewStateReason)
			}
			if tc.kind == alerting.KindTest && !strings.HasPrefix(payload.AlarmDescription, "[TEST] ") {
				t.Errorf("a test's description %q does not start [TEST]", payload.AlarmDescription)
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

// A long alarm name is cut inside the quotes, so the subject keeps
// CloudWatch's form, its state and its region, under SNS's 100 characters:
// the cut subjects below are 99.
func TestSubjectStaysUnder100PrintableCharacters(t *testing.T) {
	cases := []struct {
		name, region, subject string
		kind                  alerting.Kind
		want                  string
	}{
		{"A short name is whole", "us-east-1", "checkout", alerting.KindFire,
			`ALARM: "nines/checkout/page" in US East (N. Virginia)`},
		{"A long name is cut to fit the longest region name", "ap-southeast-6", strings.Repeat("checkout-", 20), alerting.KindFire,
			`ALARM: "nines/checkout-checkout-checkout-checkout-checkout-checko..." in Asia Pacific (New Zealand)`},
		{"A long name is cut in an OK too", "eu-west-1", strings.Repeat("checkout-", 20), alerting.KindResolve,
			`OK: "nines/checkout-checkout-checkout-checkout-checkout-checkout-checkout-check..." in EU (Ireland)`},
		{"Characters SNS refuses become ?", "eu-west-1", "caf\u00e9\nbar", alerting.KindFire,
			`ALARM: "nines/caf??bar/page" in EU (Ireland)`},
		{"A region not in the table keeps its code", "us-gov-west-1", "checkout", alerting.KindFire,
			`ALARM: "nines/checkout/page" in us-gov-west-1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nt, err := sns.New(sns.Config{Client: noClient{}, TopicARN: "arn:aws:sns:" + tc.region + ":123456789012:pages"})
			if err != nil {
				t.Fatal(err)
			}
			n := notifiertest.Sample(tc.kind)
			n.Key.Subject = tc.subject
			n.DedupeKey = n.Key.String()
			s := nt.Subject(n)
			if s != tc.want {
				t.Errorf("subject\n %q\nwant\n %q", s, tc.want)
			}
			if len(s) >= sns.MaxSubject {
				t.Errorf("subject has %d characters, want under %d", len(s), sns.MaxSubject)
			}
			if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r > '~' }) {
				t.Errorf("subject %q has characters SNS refuses", s)
			}
		})
	}
}

// noClient stands in where only the subject or body is built.
type noClient struct{}

func (noClient) Publish(context.Context, *awssns.PublishInput, ...func(*awssns.Options)) (*awssns.PublishOutput, error) {
	return nil, errors.New("not reached")
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
