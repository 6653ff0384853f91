package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	alertsns "github.com/nines-dev/nines/alerting/sns"
	"github.com/nines-dev/nines/alerting/webhook"
)

const (
	urlToken   = "hook-token-7f3a91c2"
	signSecret = "nines-signing-secret-5b2e"
	authValue  = "Bearer nines-header-secret-19d4"
)

func notifier(t *testing.T, r *notifiertest.HTTPReceiver, now time.Time) *webhook.Notifier {
	t.Helper()
	n, err := webhook.New(webhook.Config{
		URL: r.URL + "/hooks/" + urlToken, Secret: signSecret,
		Headers: map[string]string{"Authorization": authValue},
		Now:     func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConformance(t *testing.T) {
	notifiertest.Run(t, func(t *testing.T) *notifiertest.Harness {
		r := notifiertest.NewHTTPReceiver(t)
		return &notifiertest.Harness{
			Notifier: notifier(t, r, notifiertest.Start),
			Fail:     r.Fail,
			Accepted: r.Count,
			Unreachable: func() {
				r.Close()
			},
			Shown:   r.Bodies,
			Secrets: []string{r.URL + "/hooks/" + urlToken, urlToken, signSecret, authValue, "nines-header-secret-19d4"},
		}
	})
}

// The golden body is written by hand from the payload documented in
// docs/alerting.md (Receivers: webhook), for notifiertest.Sample's fire.
func TestTheBodyIsTheDocumentedPayload(t *testing.T) {
	r := notifiertest.NewHTTPReceiver(t)
	n := notifier(t, r, notifiertest.Start)
	if _, err := n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(alerting.KindFire)}); err != nil {
		t.Fatal(err)
	}
	reqs := r.Accepted()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	want, err := os.ReadFile("testdata/fire.json")
	if err != nil {
		t.Fatal(err)
	}
	var got, exp any
	if err := json.Unmarshal(reqs[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &exp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("body:\n%s\nwant testdata/fire.json:\n%s", reqs[0].Body, want)
	}
	if ct := reqs[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if a := reqs[0].Header.Get("Authorization"); a != authValue {
		t.Errorf("the custom header arrived as %q", a)
	}
}

// The signature is checked the way docs/alerting.md tells a receiver to:
// HMAC-SHA256 of "TIMESTAMP.BODY". The expected digest of a fixed input
// was computed independently with
//
//	printf '1740916800.{}' | openssl dgst -sha256 -hmac nines-signing-secret-5b2e
func TestTheSignatureIsHMACSHA256OfTimestampAndBody(t *testing.T) {
	const opensslDigest = "sha256=2982fc7bb68215b62ba596258f590d51f589bb258f493f97eaf7559fdb174969"
	if got := webhook.Sign(signSecret, "1740916800", []byte("{}")); got != opensslDigest {
		t.Errorf("Sign = %s, want openssl's %s", got, opensslDigest)
	}
	r := notifiertest.NewHTTPReceiver(t)
	n := notifier(t, r, notifiertest.Start)
	if _, err := n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(alerting.KindResolve)}); err != nil {
		t.Fatal(err)
	}
	req := r.Accepted()[0]
	if ts := req.Header.Get(webhook.TimestampHeader); ts != "1740916800" {
		t.Errorf("timestamp %q, want 2025-03-02T12:00:00Z as Unix seconds, 1740916800", ts)
	}
	if got, want := req.Header.Get(webhook.SignatureHeader), webhook.Sign(signSecret, "1740916800", req.Body); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
}

func TestWithoutASecretNothingIsSigned(t *testing.T) {
	r := notifiertest.NewHTTPReceiver(t)
	n, err := webhook.New(webhook.Config{URL: r.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(alerting.KindFire)}); err != nil {
		t.Fatal(err)
	}
	if h := r.Accepted()[0].Header; h.Get(webhook.SignatureHeader) != "" || h.Get(webhook.TimestampHeader) != "" {
		t.Errorf("an unsigned webhook sent %v", h)
	}
}

// The payload has exactly the fields of the SNS message's nines object,
// and its version.
func TestThePayloadHasTheFieldsOfTheSNSNinesObject(t *testing.T) {
	s, err := alertsns.New(alertsns.Config{Client: noPublish{}, TopicARN: "arn:aws:sns:eu-west-1:123456789012:pages"})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []alerting.Kind{alerting.KindFire, alerting.KindTest} {
		no := notifiertest.Sample(kind)
		msg, err := s.Message(no)
		if err != nil {
			t.Fatal(err)
		}
		var snsBody struct {
			Nines map[string]json.RawMessage `json:"nines"`
		}
		if err := json.Unmarshal(msg, &snsBody); err != nil {
			t.Fatal(err)
		}
		body, err := webhook.Body(no)
		if err != nil {
			t.Fatal(err)
		}
		var hook map[string]json.RawMessage
		if err := json.Unmarshal(body, &hook); err != nil {
			t.Fatal(err)
		}
		if string(hook["version"]) != "1" {
			t.Errorf("version %s, want 1", hook["version"])
		}
		delete(hook, "version")
		if a, b := keys(hook), keys(snsBody.Nines); a != b {
			t.Errorf("%s: webhook fields %s, SNS nines fields %s", kind, a, b)
		}
		for k, v := range snsBody.Nines {
			if string(hook[k]) != string(v) {
				t.Errorf("%s: field %s is %s in the webhook and %s in SNS", kind, k, hook[k], v)
			}
		}
	}
}

func TestConfigIsChecked(t *testing.T) {
	cases := []struct {
		name string
		cfg  webhook.Config
		want string
	}{
		{"A missing URL is refused", webhook.Config{}, "URL"},
		{"A URL that is not http is refused", webhook.Config{URL: "ftp://example.com/x"}, "URL"},
		{"A header that would forge the signature is refused", webhook.Config{URL: "https://example.com/x", Headers: map[string]string{"x-nines-signature": "v"}}, "nines' own"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webhook.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error about %s", err, tc.want)
			}
		})
	}
}

func TestA429CarriesRetryAfter(t *testing.T) {
	r := notifiertest.NewHTTPReceiver(t)
	n := notifier(t, r, notifiertest.Start)
	r.Fail(1, http.StatusTooManyRequests)
	_, err := n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(alerting.KindFire)})
	if c := alerting.Classify(err); !c.Retryable || c.RetryAfter != time.Second || c.Reason != "rate_limited" {
		t.Errorf("a 429 with Retry-After: 1 is classified %+v", c)
	}
}

func keys(m map[string]json.RawMessage) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

type noPublish struct{}

func (noPublish) Publish(context.Context, *awssns.PublishInput, ...func(*awssns.Options)) (*awssns.PublishOutput, error) {
	return nil, errors.New("not called: only Message is")
}
