// Package teams is the ALARM phase's Microsoft Teams notifier: it posts
// each notification as an Adaptive Card to a Teams workflow webhook (the
// "When a Teams webhook request is received" trigger), which posts it to
// its channel. A workflow can neither thread nor edit, so each notification
// is a card of its own. The webhook URL carries its signature and never
// appears in an error.
package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/nines-dev/nines/alerting"
)

// Config configures a Notifier.
type Config struct {
	// URL is the workflow's webhook URL; required, and a secret.
	URL string
	// HTTPClient is used for every call; http.DefaultClient by default.
	HTTPClient *http.Client
}

// Notifier posts notifications to one workflow.
type Notifier struct {
	cfg     Config
	secrets []string
}

// New returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	u, err := url.Parse(cfg.URL)
	if cfg.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("teams: the workflow's webhook URL (https://...) is required")
	}
	secrets := []string{cfg.URL}
	// The query holds the signature (sig=...), each part of it a secret.
	for _, vs := range u.Query() {
		secrets = append(secrets, vs...)
	}
	return &Notifier{cfg: cfg, secrets: secrets}, nil
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, d alerting.Delivery) (string, error) {
	body, err := json.Marshal(Message(d.Notification))
	if err != nil {
		return "", alerting.Classified(err, n.secrets...)
	}
	_, err = alerting.PostJSON(ctx, n.cfg.HTTPClient, n.cfg.URL, body, nil)
	return "", alerting.Classified(err, n.secrets...)
}

// Envelope is the message a workflow webhook takes: one attachment, the
// card.
type Envelope struct {
	Type        string       `json:"type"`
	Attachments []Attachment `json:"attachments"`
}

// Attachment carries a card.
type Attachment struct {
	ContentType string  `json:"contentType"`
	ContentURL  *string `json:"contentUrl"`
	Content     Card    `json:"content"`
}

// Card is an Adaptive Card.
type Card struct {
	Schema  string    `json:"$schema"`
	Type    string    `json:"type"`
	Version string    `json:"version"`
	Body    []Element `json:"body"`
	Actions []Action  `json:"actions,omitempty"`
}

// Element is a TextBlock or a FactSet.
type Element struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	Size     string `json:"size,omitempty"`
	Weight   string `json:"weight,omitempty"`
	Color    string `json:"color,omitempty"`
	Wrap     bool   `json:"wrap,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
	Facts    []Fact `json:"facts,omitempty"`
}

// Fact is one line of a FactSet.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Action opens a link.
type Action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Colour is the title's colour: attention for a page, warning for the
// rest while firing, good when resolved, accent for a test.
func Colour(no alerting.Notification) string {
	switch {
	case no.Kind == alerting.KindTest:
		return "accent"
	case no.Kind == alerting.KindResolve:
		return "good"
	case no.Key.Severity == alerting.Page:
		return "attention"
	}
	return "warning"
}

// Message is the envelope of a notification's card: the title, the
// figures as facts, the reason, the last failure, the burn rates and the
// key, with the links as buttons.
func Message(no alerting.Notification) Envelope {
	state := "Firing"
	if no.Kind == alerting.KindResolve {
		state = "Resolved"
	}
	facts := []Fact{{"State", state}, {"Severity", string(no.Key.Severity)}}
	if no.HasBudget() {
		facts = append(facts, Fact{"Budget remaining", no.Details.BudgetWithState()})
		if no.Details.Objective > 0 {
			facts = append(facts, Fact{"Objective", fmt.Sprintf("%g%%", no.Details.Objective*100)})
		}
	}
	if d := no.Details; d.Tier != "" {
		facts = append(facts, Fact{"Tier", fmt.Sprintf("%s: %s/%s above %s", d.Tier, d.LongWindow, d.ShortWindow, alerting.FormatRate(d.Threshold))})
	}
	facts = append(facts, Fact{"Since", no.FiredAt.UTC().Format("2006-01-02 15:04 UTC")})
	body := []Element{
		{Type: "TextBlock", Text: no.Title(), Size: "Large", Weight: "Bolder", Color: Colour(no), Wrap: true},
		{Type: "FactSet", Facts: facts},
	}
	if no.Details.Reason != "" {
		body = append(body, Element{Type: "TextBlock", Text: no.Details.Reason, Wrap: true})
	}
	if f := no.Details.LastFailure; f != nil {
		text := "Last failure: " + f.Class
		if f.Region != "" {
			text += " in " + f.Region
		}
		if f.Error != "" {
			text += " — " + f.Error
		}
		if len(f.Artifacts) > 0 {
			text += " · artifacts: " + strings.Join(f.Artifacts, ", ")
		}
		body = append(body, Element{Type: "TextBlock", Text: text, Wrap: true})
	}
	if len(no.Details.BurnRates) > 0 {
		var rates []Fact
		for _, r := range no.Details.BurnRates {
			v := alerting.FormatRate(r.Rate)
			if r.NoData {
				v = "no data"
			}
			rates = append(rates, Fact{"Burn " + r.Window, fmt.Sprintf("%s (%.0f events)", v, r.Events)})
		}
		body = append(body, Element{Type: "FactSet", Facts: rates})
	}
	body = append(body, Element{Type: "TextBlock", Text: "key " + no.DedupeKey, Size: "Small", IsSubtle: true, Wrap: true})
	card := Card{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4", Body: body}
	for _, l := range no.Links {
		card.Actions = append(card.Actions, Action{Type: "Action.OpenUrl", Title: l.Name, URL: l.URL})
	}
	return Envelope{Type: "message", Attachments: []Attachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
}
