package dashboards

import (
	"context"
	"errors"
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/nines-dev/nines/slo"
)

// SlackTarget is where the review summary goes: a bot token and channel, or
// an incoming webhook. Both are secrets and never appear in an error.
type SlackTarget struct {
	Token      string
	Channel    string
	WebhookURL string
	// APIURL replaces Slack's API base URL, for a fake.
	APIURL string
}

// SlackSummary is the review in a few lines: the SLOs that missed, the
// budget left, the alerts and the wheel's pick.
func (rv *Review) SlackSummary() []slackapi.Block {
	var missed, lines []string
	for _, s := range rv.SLOs {
		state := "no data"
		if s.MetObjective != nil {
			state = "met"
			if !*s.MetObjective {
				state = "*missed*"
				missed = append(missed, s.Name)
			}
		}
		lines = append(lines, fmt.Sprintf("• %s: %s of %s (%s), %s of the budget left, %s",
			slackEscape(s.Name), optPct(s.Availability), slo.Percent(s.Objective), state, optPct(s.BudgetRemaining), observed(s.ObservedS, s.SpanS)))
		if s.ExcludedMinutes > 0 {
			lines[len(lines)-1] += fmt.Sprintf(", %s minutes excluded by maintenance", fmtFloat(s.ExcludedMinutes))
		}
	}
	fired := fmt.Sprintf("%d alerts fired", len(rv.Alerts))
	if rv.Unavailable["alerts"] != "" {
		fired = "alert history not available"
	}
	head := fmt.Sprintf("*Weekly operational review, %s*: %d SLOs, %d missed their objective, %s.",
		rv.title(), len(rv.SLOs), len(missed), fired)
	blocks := []slackapi.Block{
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, head, false, false), nil, nil),
	}
	// A section holds 3000 characters; keep well under it.
	body := strings.Join(lines, "\n")
	if len(body) > 2800 {
		body = body[:2800] + "\n…"
	}
	if body != "" {
		blocks = append(blocks, slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, body, false, false), nil, nil))
	}
	if c := rv.certsSlack(); c != nil {
		blocks = append(blocks, c)
	}
	if rv.Wheel != nil {
		blocks = append(blocks, slackapi.NewContextBlock("", slackapi.NewTextBlockObject(slackapi.MarkdownType,
			fmt.Sprintf("This week's deep dive: *%s* (seed %d)", slackEscape(rv.Wheel.SLO), rv.Wheel.Seed), false, false)))
	}
	return blocks
}

// slackEscape keeps a name from the config from becoming a mention or link.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// PostSlack posts the review summary.
func (rv *Review) PostSlack(ctx context.Context, t SlackTarget) error {
	blocks := rv.SlackSummary()
	text := fmt.Sprintf("Weekly operational review, %s", rv.Week)
	secrets := []string{t.Token, t.WebhookURL}
	switch {
	case t.WebhookURL != "":
		err := slackapi.PostWebhookContext(ctx, t.WebhookURL, &slackapi.WebhookMessage{Text: text, Blocks: &slackapi.Blocks{BlockSet: blocks}})
		return scrub(err, secrets)
	case t.Token != "" && t.Channel != "":
		var opts []slackapi.Option
		if t.APIURL != "" {
			opts = append(opts, slackapi.OptionAPIURL(t.APIURL))
		}
		_, _, err := slackapi.New(t.Token, opts...).PostMessageContext(ctx, t.Channel,
			slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...))
		return scrub(err, secrets)
	}
	return errors.New("review: --slack needs a Slack receiver with a token and channel, or a webhook_url, under alerting.receivers")
}

// scrub drops secrets from an error's text; the original error is not kept,
// since its chain may quote the URL.
func scrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[REDACTED]")
		}
	}
	return errors.New("posting the review to Slack: " + msg)
}
