package sns_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/alerting/sns"
	"github.com/nines-dev/nines/internal/goawstest"
)

// received is what reaches the topic's two SQS subscribers for one
// notification: the raw message and the envelope around it.
type received struct {
	// subject is what the notifier says the subject is.
	subject  string
	raw      goawstest.Message
	envelope goawstest.Envelope
}

// publishToGoaws sends n through a notifier pointed at goaws, an
// independent SNS, and reads back what each subscriber got.
func publishToGoaws(t *testing.T, n alerting.Notification) received {
	t.Helper()
	g := goawstest.Acquire(t)
	nt, err := sns.New(sns.Config{
		Client:   g.SNSClient(func(o *awssns.Options) { o.RetryMaxAttempts = 1 }),
		TopicARN: goawstest.TopicARN,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nt.Notify(context.Background(), alerting.Delivery{Notification: n}); err != nil {
		t.Fatalf("goaws refused the publish: %v", err)
	}
	raw, wrapped := g.Received(t, goawstest.RawQueue), g.Received(t, goawstest.EnvelopeQueue)
	if len(raw) != 1 || len(wrapped) != 1 {
		t.Fatalf("the raw subscriber got %d messages and the enveloped one %d, want one each", len(raw), len(wrapped))
	}
	var env goawstest.Envelope
	if err := json.Unmarshal([]byte(wrapped[0].Body), &env); err != nil {
		t.Fatalf("the enveloped subscriber got no SNS envelope: %v: %s", err, wrapped[0].Body)
	}
	return received{raw: raw[0], envelope: env, subject: nt.Subject(n)}
}

// alarmBody is the part of the body every CloudWatch alarm integration
// reads, and nines' dedupe key.
type alarmBody struct {
	AlarmName     string `json:"AlarmName"`
	NewStateValue string `json:"NewStateValue"`
	Nines         struct {
		DedupeKey string `json:"dedupe_key"`
		Truncated bool   `json:"truncated"`
	} `json:"nines"`
}

func TestWhatASubscriberReceivesFromAnIndependentSNS(t *testing.T) {
	cases := []struct {
		name   string
		kind   alerting.Kind
		prefix string
		state  string
	}{
		{"A page reaches both subscribers as an ALARM", alerting.KindFire, "ALARM: ", "ALARM"},
		{"A resolve reaches both subscribers as OK", alerting.KindResolve, "OK: ", "OK"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := notifiertest.Sample(tc.kind)
			got := publishToGoaws(t, n)

			// Raw delivery: the body as published, and the attributes
			// that subscription filters route on.
			var body alarmBody
			if err := json.Unmarshal([]byte(got.raw.Body), &body); err != nil {
				t.Fatalf("the raw body is not JSON: %v: %s", err, got.raw.Body)
			}
			if body.NewStateValue != tc.state || body.Nines.DedupeKey != n.DedupeKey {
				t.Errorf("raw body says %s with dedupe key %q, want %s with %q", body.NewStateValue, body.Nines.DedupeKey, tc.state, n.DedupeKey)
			}
			for k, want := range map[string]string{"severity": "page", "slo": "checkout", "kind": string(tc.kind)} {
				if got.raw.Attributes[k] != want {
					t.Errorf("raw attribute %s = %q, want %q", k, got.raw.Attributes[k], want)
				}
			}

			// Without raw delivery: SNS's envelope, whose Subject is what
			// the PagerDuty integration reads first and whose Message is
			// the very body the raw subscriber got.
			e := got.envelope
			if e.Type != "Notification" || e.TopicArn != goawstest.TopicARN || e.MessageID == "" || e.Signature == "" {
				t.Errorf("envelope type %q topic %q id %q signed %t: not an SNS notification", e.Type, e.TopicArn, e.MessageID, e.Signature != "")
			}
			if !strings.HasPrefix(e.Subject, tc.prefix) || e.Subject != got.subject {
				t.Errorf("subject %q, want %q starting %q", e.Subject, got.subject, tc.prefix)
			}
			if e.Message != got.raw.Body {
				t.Errorf("the envelope's message differs from the raw body:\n%s\n%s", e.Message, got.raw.Body)
			}
			if a := e.MessageAttributes["severity"]; a.Type != "String" || a.Value != "page" {
				t.Errorf("envelope attribute severity = %+v, want String page", a)
			}
		})
	}
}

// goaws accepts any subject and any size, so what arrives within SNS's
// limits is nines' own doing.
func TestNinesKeepsSNSLimitsThatAnIndependentSNSDoesNotCheck(t *testing.T) {
	n := notifiertest.Sample(alerting.KindFire)
	n.Key.Subject = strings.Repeat("checkout-é-", 20)
	n.DedupeKey = n.Key.String()
	n.Details.Reason = strings.Repeat("a very long reason ", 20000) // about 380 KB
	got := publishToGoaws(t, n)
	if c := utf8.RuneCountInString(got.envelope.Subject); c >= sns.MaxSubject || !strings.HasPrefix(got.envelope.Subject, "ALARM: ") {
		t.Errorf("subject %q: %d characters, want an ALARM under %d", got.envelope.Subject, c, sns.MaxSubject)
	}
	if len(got.raw.Body) > sns.MaxMessage {
		t.Errorf("the subscriber got %d bytes, over %d", len(got.raw.Body), sns.MaxMessage)
	}
	var body alarmBody
	if err := json.Unmarshal([]byte(got.raw.Body), &body); err != nil {
		t.Fatal(err)
	}
	if !body.Nines.Truncated || body.NewStateValue != "ALARM" || body.Nines.DedupeKey != n.DedupeKey {
		t.Errorf("a cut message says truncated %t, state %s, dedupe key %q", body.Nines.Truncated, body.NewStateValue, body.Nines.DedupeKey)
	}
}
