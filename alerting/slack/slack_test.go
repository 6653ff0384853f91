package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/alerting/slack"
	"github.com/nines-dev/nines/alerting/slack/slackfake"
)

func botNotifier(t *testing.T, f *slackfake.Server) *slack.Notifier {
	t.Helper()
	n, err := slack.New(slack.Config{Token: slackfake.Token, Channel: "C0ALERTS", APIURL: f.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func shown(f *slackfake.Server) []string {
	var out []string
	for _, m := range f.Messages() {
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	return out
}

func TestConformance(t *testing.T) {
	t.Run("bot token", func(t *testing.T) {
		notifiertest.Run(t, func(t *testing.T) *notifiertest.Harness {
			f := slackfake.New(t)
			return &notifiertest.Harness{
				Notifier: botNotifier(t, f),
				Fail:     func(n, status int) { f.Fail(n, status, 0) },
				Accepted: func() int { return len(f.Posts()) },
				Unreachable: func() {
					f.Stop()
				},
				Shown:   func() []string { return shown(f) },
				Secrets: []string{slackfake.Token},
			}
		})
	})
	t.Run("webhook", func(t *testing.T) {
		notifiertest.Run(t, func(t *testing.T) *notifiertest.Harness {
			f := slackfake.New(t)
			n, err := slack.New(slack.Config{WebhookURL: f.WebhookURL()})
			if err != nil {
				t.Fatal(err)
			}
			return &notifiertest.Harness{
				Notifier:    n,
				Fail:        func(k, status int) { f.Fail(k, status, 0) },
				Accepted:    func() int { return len(f.Posts()) },
				Unreachable: f.Stop,
				Shown:       func() []string { return shown(f) },
				Secrets:     []string{f.WebhookURL(), "nines-webhook-secret-0000"},
			}
		})
	})
}

func TestMessageHasColourBudgetBurnTableAndLinks(t *testing.T) {
	f := slackfake.New(t)
	n := botNotifier(t, f)
	if _, err := n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(alerting.KindFire)}); err != nil {
		t.Fatal(err)
	}
	posts := f.Posts()
	if len(posts) != 1 || len(posts[0].Attachments) != 1 {
		t.Fatalf("posts %+v, want one with one attachment", posts)
	}
	a := posts[0].Attachments[0]
	if a.Color != slack.ColourPage {
		t.Errorf("colour %q, want the page colour %q", a.Color, slack.ColourPage)
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a.Blocks); err != nil {
		t.Fatal(err)
	}
	blocks := buf.String()
	for _, want := range []string{"Budget remaining", "97.9% (burning)", "Burn rates", "100x", "https://example.com/rb/checkout|runbook", "https://example.com/d/checkout|dashboard", "nines/checkout/page", "page_fast: 1h/5m above 14.4x"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("the blocks do not show %q:\n%s", want, blocks)
		}
	}
}

func TestUpdatesThreadOnTheFirstMessageAndEditIt(t *testing.T) {
	f := slackfake.New(t)
	n := botNotifier(t, f)
	ctx := context.Background()
	fire := notifiertest.Sample(alerting.KindFire)
	ts, err := n.Notify(ctx, alerting.Delivery{Notification: fire})
	if err != nil || ts == "" {
		t.Fatalf("fire: ts %q, %v", ts, err)
	}
	remind := fire
	remind.Kind, remind.ID = alerting.KindRemind, fire.Incident+"#2"
	resolve := fire
	resolve.Kind, resolve.ID = alerting.KindResolve, fire.Incident+"#3"
	for _, no := range []alerting.Notification{remind, resolve} {
		if _, err := n.Notify(ctx, alerting.Delivery{Notification: no, Thread: ts}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, m := range f.Messages() {
		got = append(got, m.Method+" ts="+m.TS+" thread="+m.ThreadTS+" colour="+m.Attachments[0].Color+" broadcast="+map[bool]string{true: "yes", false: "no"}[m.Broadcast])
	}
	want := []string{
		"chat.postMessage ts=" + ts + " thread= colour=" + slack.ColourPage + " broadcast=no",
		"chat.update ts=" + ts + " thread= colour=" + slack.ColourPage + " broadcast=no",
		"chat.postMessage ts=1700000000.100002 thread=" + ts + " colour=" + slack.ColourPage + " broadcast=no",
		"chat.update ts=" + ts + " thread= colour=" + slack.ColourResolved + " broadcast=no",
		"chat.postMessage ts=1700000000.100003 thread=" + ts + " colour=" + slack.ColourResolved + " broadcast=yes",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWebhookCannotThread(t *testing.T) {
	f := slackfake.New(t)
	n, err := slack.New(slack.Config{WebhookURL: f.WebhookURL()})
	if err != nil {
		t.Fatal(err)
	}
	if n.Threads() {
		t.Error("a webhook notifier claims it can thread")
	}
	resolve := notifiertest.Sample(alerting.KindResolve)
	if _, err := n.Notify(context.Background(), alerting.Delivery{Notification: resolve, Thread: "1700000000.100001"}); err != nil {
		t.Fatal(err)
	}
	posts := f.Posts()
	if len(posts) != 1 || posts[0].ThreadTS != "" || posts[0].Attachments[0].Color != slack.ColourResolved {
		t.Errorf("posts %+v, want one unthreaded green message", posts)
	}
}

func TestRateLimitCarriesRetryAfter(t *testing.T) {
	f := slackfake.New(t)
	n := botNotifier(t, f)
	f.Fail(1, http.StatusTooManyRequests, 30*time.Second)
	_, err := n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(alerting.KindFire)})
	c := alerting.Classify(err)
	if !c.Retryable || c.RetryAfter != 30*time.Second || c.Reason != "rate_limited" {
		t.Errorf("a 429 with Retry-After: 30 is classified %+v", c)
	}
}

func TestABadTokenIsNotRetried(t *testing.T) {
	f := slackfake.New(t)
	n, err := slack.New(slack.Config{Token: "xoxb-wrong-token-1234", Channel: "C0ALERTS", APIURL: f.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(alerting.KindFire)})
	if c := alerting.Classify(err); c.Retryable || err == nil {
		t.Errorf("invalid_auth is classified %+v (%v), want not retryable", c, err)
	}
	if strings.Contains(err.Error(), "xoxb-wrong-token-1234") {
		t.Errorf("the error shows the token: %v", err)
	}
}

func TestConfigNeedsTokenAndChannelOrWebhook(t *testing.T) {
	cases := []struct {
		name string
		cfg  slack.Config
	}{
		{"Neither token nor webhook is refused", slack.Config{}},
		{"Both token and webhook are refused", slack.Config{Token: "x", Channel: "C", WebhookURL: "https://hooks.example.com/x"}},
		{"A token without a channel is refused", slack.Config{Token: "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := slack.New(tc.cfg); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

func TestTheLastFailureAndItsArtifactsArriveInTheMessage(t *testing.T) {
	long := notifiertest.SampleFailure()
	long.Error = strings.Repeat("step \"login\": <status> 503 & more ", 500)
	for i := range 20 {
		long.Artifacts = append(long.Artifacts, fmt.Sprintf("/var/lib/nines/artifacts/checkout/%02d/%s.png", i, strings.Repeat("x", 400)))
	}
	cases := []struct {
		name    string
		failure alerting.Failure
		want    string
	}{
		{"A failure shows its class, error and artifacts", notifiertest.SampleFailure(),
			"*Last failure:* http_status — step \"login\": status 503 · artifacts: `" + notifiertest.ArtifactPath + "`, `s3://nines-artifacts/checkout/20250302T115950Z/login.html` · 2025-03-02 11:59:50 UTC"},
		{"A long failure is cut to fit a section and still shows the first artifact", long, "`" + notifiertest.ArtifactPath + "`"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := slackfake.New(t)
			n := botNotifier(t, f)
			no := notifiertest.Sample(alerting.KindFire)
			no.Details.LastFailure = &tc.failure
			if _, err := n.Notify(context.Background(), alerting.Delivery{Notification: no}); err != nil {
				t.Fatal(err)
			}
			posts := f.Posts()
			if len(posts) != 1 {
				t.Fatalf("%d posts, want 1", len(posts))
			}
			var found string
			for _, b := range posts[0].Attachments[0].Blocks.BlockSet {
				s, ok := b.(*slackapi.SectionBlock)
				if ok && s.Text != nil && strings.HasPrefix(s.Text.Text, "*Last failure:*") {
					found = s.Text.Text
				}
			}
			if found == "" {
				t.Fatalf("no Last failure section in the message")
			}
			if !strings.Contains(found, tc.want) {
				t.Errorf("the Last failure section does not show %q:\n%s", tc.want, found)
			}
			if n := utf8.RuneCountInString(found); n > 3000 {
				t.Errorf("the section has %d characters, over Slack's 3000", n)
			}
		})
	}
}
