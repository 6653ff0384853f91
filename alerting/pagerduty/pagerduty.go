// Package pagerduty is the ALARM phase's PagerDuty notifier, for teams that
// do not page through SNS: it sends Events API v2 events straight to a
// service's integration. A fire, an escalation, a reminder or a test
// triggers; a resolve resolves by the same dedup key, the incident's, so a
// later incident of the same alert opens a new PagerDuty incident. The
// routing key never appears in an error.
package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/nines-dev/nines/alerting"
)

// DefaultURL is the Events API v2 endpoint; the EU service region's is
// https://events.eu.pagerduty.com/v2/enqueue.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// maxSummary is the Events API's limit on payload.summary, in characters.
const maxSummary = 1024

// Event is an Events API v2 event.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Payload     *Payload `json:"payload,omitempty"`
	Client      string   `json:"client,omitempty"`
	Links       []Link   `json:"links,omitempty"`
}

// Payload is a trigger's payload.
type Payload struct {
	Summary       string           `json:"summary"`
	Source        string           `json:"source"`
	Severity      string           `json:"severity"`
	Timestamp     string           `json:"timestamp"`
	Component     string           `json:"component,omitempty"`
	Group         string           `json:"group,omitempty"`
	Class         string           `json:"class,omitempty"`
	CustomDetails alerting.Details `json:"custom_details"`
}

// Link is a link shown on the incident.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// Config configures a Notifier.
type Config struct {
	// RoutingKey is the integration key of an Events API v2 integration;
	// required, and a secret.
	RoutingKey string
	// URL is the Events API endpoint; DefaultURL by default.
	URL string
	// HTTPClient is used for every call; http.DefaultClient by default.
	HTTPClient *http.Client
}

// Notifier sends events to one PagerDuty service.
type Notifier struct{ cfg Config }

// New returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	if cfg.RoutingKey == "" {
		return nil, errors.New("pagerduty: a routing key (an Events API v2 integration key) is required")
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	return &Notifier{cfg: cfg}, nil
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, d alerting.Delivery) (string, error) {
	body, err := json.Marshal(n.Event(d.Notification))
	if err != nil {
		return "", alerting.Classified(err, n.cfg.RoutingKey)
	}
	_, err = alerting.PostJSON(ctx, n.cfg.HTTPClient, n.cfg.URL, body, nil)
	return "", alerting.Classified(err, n.cfg.RoutingKey)
}

// Event is the event a notification becomes.
func (n *Notifier) Event(no alerting.Notification) Event {
	key := no.Incident
	if key == "" {
		key = no.DedupeKey
	}
	ev := Event{RoutingKey: n.cfg.RoutingKey, DedupKey: key, EventAction: "trigger", Client: "nines"}
	if no.Kind == alerting.KindResolve {
		ev.EventAction = "resolve"
		return ev
	}
	class := no.Details.Tier
	if class == "" {
		class = string(no.Key.Severity)
	}
	ev.Payload = &Payload{
		Summary: cut(no.Title()+": "+no.Details.Reason, maxSummary), Source: no.Key.Subject,
		Severity: Severity(no.Key.Severity), Timestamp: no.At.UTC().Format("2006-01-02T15:04:05.000Z"),
		Component: no.Details.SLI, Group: "nines", Class: class, CustomDetails: no.Details,
	}
	for _, l := range no.Links {
		ev.Links = append(ev.Links, Link{Href: l.URL, Text: l.Name})
	}
	return ev
}

// Severity maps nines' severities onto the Events API's: a page is
// critical, a ticket and a budget warning are warnings, no data and an SLO
// that cannot be evaluated are errors.
func Severity(s alerting.Severity) string {
	switch s {
	case alerting.Page:
		return "critical"
	case alerting.NoData, alerting.SLOError:
		return "error"
	}
	return "warning"
}

func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
