// Package slack is the ALARM phase's Slack notifier. With a bot token it
// posts a Block Kit message when an alert fires, posts its reminders,
// escalation and resolve as replies in that message's thread, and edits the
// first message to show the alert's current state. With an incoming
// webhook, which can neither thread nor edit, every notification is a new
// message. The token and the webhook URL never appear in an error.
package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/nines-dev/nines/alerting"
)

// Colours of the attachment bar, by what the message says.
const (
	ColourPage     = "#d40e0d"
	ColourTicket   = "#f2a600"
	ColourNoData   = "#7c4dff"
	ColourResolved = "#2eb886"
	ColourTest     = "#439fe0"
)

// Config configures a Notifier: a bot Token and a Channel, or a
// WebhookURL.
type Config struct {
	Token      string
	Channel    string
	WebhookURL string
	// APIURL replaces Slack's API base URL, for tests ("http://host/").
	APIURL string
	// HTTPClient is used for every call; http.DefaultClient by default.
	HTTPClient *http.Client
}

// Notifier posts notifications to Slack.
type Notifier struct {
	cfg Config
	api *slackapi.Client
}

// New returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	switch {
	case cfg.Token != "" && cfg.WebhookURL != "":
		return nil, errors.New("slack: give a token or a webhook URL, not both")
	case cfg.Token == "" && cfg.WebhookURL == "":
		return nil, errors.New("slack: a bot token (with a channel) or a webhook URL is required")
	case cfg.Token != "" && cfg.Channel == "":
		return nil, errors.New("slack: a bot token needs a channel to post to")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	n := &Notifier{cfg: cfg}
	if cfg.Token != "" {
		// No retries inside slack-go: the pipeline's retry stage owns
		// them, and honours Retry-After.
		opts := []slackapi.Option{slackapi.OptionHTTPClient(cfg.HTTPClient)}
		if cfg.APIURL != "" {
			opts = append(opts, slackapi.OptionAPIURL(cfg.APIURL))
		}
		n.api = slackapi.New(cfg.Token, opts...)
	}
	return n, nil
}

// Threads reports whether this notifier threads and edits: only with a bot
// token.
func (n *Notifier) Threads() bool { return n.api != nil }

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, d alerting.Delivery) (string, error) {
	ts, err := n.notify(ctx, d)
	return ts, alerting.Classified(err, n.cfg.Token, n.cfg.WebhookURL)
}

func (n *Notifier) notify(ctx context.Context, d alerting.Delivery) (string, error) {
	no := d.Notification
	att := Attachment(no)
	if n.api == nil {
		return "", slackapi.PostWebhookCustomHTTPContext(ctx, n.cfg.WebhookURL, n.cfg.HTTPClient,
			&slackapi.WebhookMessage{Text: fallback(no), Attachments: []slackapi.Attachment{att}})
	}
	if d.Thread == "" || no.Kind == alerting.KindFire || no.Kind == alerting.KindTest {
		_, ts, err := n.api.PostMessageContext(ctx, n.cfg.Channel,
			slackapi.MsgOptionText(fallback(no), false), slackapi.MsgOptionAttachments(att))
		return ts, err
	}
	// The parent first: the edit is idempotent, so when the reply fails
	// and is retried, only the edit is repeated, never the reply. A parent
	// that is gone (deleted by hand) does not stop the reply.
	parent := Attachment(parentView(no))
	_, _, _, err := n.api.UpdateMessageContext(ctx, n.cfg.Channel, d.Thread,
		slackapi.MsgOptionText(fallback(parentView(no)), false), slackapi.MsgOptionAttachments(parent))
	if err != nil && alerting.Classify(err).Retryable {
		return "", err
	}
	opts := []slackapi.MsgOption{
		slackapi.MsgOptionText(fallback(no), false), slackapi.MsgOptionAttachments(att), slackapi.MsgOptionTS(d.Thread),
	}
	if no.Kind == alerting.KindResolve || no.Kind == alerting.KindEscalate {
		opts = append(opts, slackapi.MsgOptionBroadcast())
	}
	_, ts, err := n.api.PostMessageContext(ctx, n.cfg.Channel, opts...)
	return ts, err
}

// parentView is how the first message reads after a later notification:
// the alert's current state with the latest figures.
func parentView(no alerting.Notification) alerting.Notification {
	if no.Kind == alerting.KindRemind {
		no.Kind = alerting.KindFire
	}
	return no
}

// Colour is the attachment bar's colour for the notification.
func Colour(no alerting.Notification) string {
	switch {
	case no.Kind == alerting.KindTest:
		return ColourTest
	case no.Kind == alerting.KindResolve:
		return ColourResolved
	case no.Key.Severity == alerting.Page:
		return ColourPage
	case no.Key.Severity == alerting.NoData || no.Key.Severity == alerting.SLOError:
		return ColourNoData
	}
	return ColourTicket
}

func fallback(no alerting.Notification) string {
	word := "ALARM"
	if no.Kind == alerting.KindResolve {
		word = "OK"
	}
	return word + ": " + no.Title()
}

// Attachment is the message: a colour bar around Block Kit blocks with the
// title, the figures, the burn-rate table and the links.
func Attachment(no alerting.Notification) slackapi.Attachment {
	return slackapi.Attachment{Color: Colour(no), Fallback: fallback(no), Blocks: slackapi.Blocks{BlockSet: Blocks(no)}}
}

// Blocks builds the Block Kit blocks of a notification.
func Blocks(no alerting.Notification) []slackapi.Block {
	mrkdwn := func(s string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
	}
	title := no.Title()
	if no.Kind == alerting.KindTest {
		title = "[TEST] nines test notification: no action needed"
	}
	blocks := []slackapi.Block{
		slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, cut(title, 150), false, false)),
	}
	state := "Firing"
	if no.Kind == alerting.KindResolve {
		state = "Resolved"
	}
	fields := []*slackapi.TextBlockObject{
		mrkdwn("*State*\n" + state),
		mrkdwn("*Severity*\n" + string(no.Key.Severity)),
	}
	if no.HasBudget() {
		fields = append(fields, mrkdwn("*Budget remaining*\n"+escape(no.Details.BudgetWithState())))
		if no.Details.Objective > 0 {
			fields = append(fields, mrkdwn("*Objective*\n"+escape(fmt.Sprintf("%g%%", no.Details.Objective*100))))
		}
	}
	if no.Details.Tier != "" {
		fields = append(fields, mrkdwn("*Tier*\n"+escape(fmt.Sprintf("%s: %s/%s above %s", no.Details.Tier,
			no.Details.LongWindow, no.Details.ShortWindow, alerting.FormatRate(no.Details.Threshold)))))
	}
	fields = append(fields, mrkdwn("*Since*\n"+no.FiredAt.UTC().Format("2006-01-02 15:04 UTC")))
	blocks = append(blocks, slackapi.NewSectionBlock(nil, fields, nil))
	if no.Details.Reason != "" {
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(cut(escape(no.Details.Reason), 2900)), nil, nil))
	}
	if f := no.Details.LastFailure; f != nil {
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(failureText(*f)), nil, nil))
	}
	if t := burnTable(no.Details.BurnRates); t != "" {
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn("*Burn rates*\n```"+t+"```"), nil, nil))
	}
	var ctx []slackapi.MixedElement
	for _, l := range no.Links {
		ctx = append(ctx, mrkdwn("<"+escape(l.URL)+"|"+escape(l.Name)+">"))
	}
	ctx = append(ctx, mrkdwn("key `"+escape(no.DedupeKey)+"`"))
	blocks = append(blocks, slackapi.NewContextBlock("", ctx...))
	return blocks
}

// A section's text may be 3000 characters; the last failure's line keeps
// well under it, cutting the error first and listing a few artifacts.
const (
	maxSectionText    = 2900
	maxFailureError   = 1200
	maxArtifactsShown = 5
	maxArtifactText   = 240
)

// failureText is the last failure in one line:
//
//	*Last failure:* http_status — step "login": status 503 · artifacts: `a.png`, `a.html` · 2025-03-02 12:03:10 UTC
func failureText(f alerting.Failure) string {
	var b strings.Builder
	b.WriteString("*Last failure:* " + escape(f.Class))
	if f.Region != "" {
		b.WriteString(" in " + escape(f.Region))
	}
	if f.Error != "" {
		b.WriteString(" — " + escape(cut(f.Error, maxFailureError)))
	}
	if len(f.Artifacts) > 0 {
		shown := f.Artifacts
		if len(shown) > maxArtifactsShown {
			shown = shown[:maxArtifactsShown]
		}
		parts := make([]string, len(shown))
		for i, a := range shown {
			parts[i] = "`" + escape(strings.ReplaceAll(cut(a, maxArtifactText), "`", "'")) + "`"
		}
		b.WriteString(" · artifacts: " + strings.Join(parts, ", "))
		if more := len(f.Artifacts) - len(shown); more > 0 {
			fmt.Fprintf(&b, " and %d more", more)
		}
	}
	if !f.At.IsZero() {
		b.WriteString(" · " + f.At.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	return cut(b.String(), maxSectionText)
}

// burnTable lines up window, burn rate and events in monospace.
func burnTable(rates []alerting.BurnRate) string {
	if len(rates) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %8s %10s\n", "window", "burn", "events")
	for _, r := range rates {
		burn := alerting.FormatRate(r.Rate)
		if r.NoData {
			burn = "no data"
		}
		fmt.Fprintf(&b, "%-7s %8s %10.0f\n", r.Window, burn, r.Events)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// escape makes text safe inside mrkdwn.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func cut(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}
