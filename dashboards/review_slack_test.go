package dashboards

import (
	"context"
	"strings"
	"testing"

	"github.com/nines-dev/nines/alerting/slack/slackfake"
)

func TestReviewSummaryPostsToSlack(t *testing.T) {
	rv, err := BuildReview(context.Background(), reviewFixture(t, "checkout-availability"))
	if err != nil {
		t.Fatal(err)
	}
	fake := slackfake.New(t)
	if err := rv.PostSlack(context.Background(), SlackTarget{Token: slackfake.Token, Channel: "#ops-review", APIURL: fake.APIURL()}); err != nil {
		t.Fatal(err)
	}
	posts := fake.Posts()
	if len(posts) != 1 || posts[0].Channel != "#ops-review" || !strings.Contains(posts[0].Text, "2026-W47") {
		t.Fatalf("posts %+v", posts)
	}
	if err := rv.PostSlack(context.Background(), SlackTarget{WebhookURL: fake.WebhookURL()}); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Messages()); n != 2 {
		t.Errorf("the webhook post did not arrive: %d messages", n)
	}
	blocks := rv.SlackSummary()
	if len(blocks) != 4 {
		t.Errorf("want a headline, the SLO lines, the certificates to renew and the wheel: %d blocks", len(blocks))
	}
}

func TestReviewSlackErrorsNeverShowTheSecrets(t *testing.T) {
	rv, _ := BuildReview(context.Background(), reviewFixture(t, "checkout-availability"))
	fake := slackfake.New(t)
	fake.SetDown(500, 0)
	for _, target := range []SlackTarget{
		{Token: slackfake.Token, Channel: "#x", APIURL: fake.APIURL()},
		{WebhookURL: fake.WebhookURL()},
		{WebhookURL: "http://127.0.0.1:1/services/T0/B0/very-secret-webhook-part"},
	} {
		err := rv.PostSlack(context.Background(), target)
		if err == nil {
			t.Fatal("want an error from a Slack that is down")
		}
		for _, secret := range []string{slackfake.Token, "nines-webhook-secret-0000", "very-secret-webhook-part"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks a secret: %v", err)
			}
		}
	}
	if err := rv.PostSlack(context.Background(), SlackTarget{}); err == nil || !strings.Contains(err.Error(), "alerting.receivers") {
		t.Errorf("no target: %v", err)
	}
}
