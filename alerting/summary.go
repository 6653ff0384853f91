package alerting

import "time"

// Summary is a notification as a machine reads it: the SNS message's
// "nines" object, and the body of a webhook. One definition keeps the two
// the same document.
type Summary struct {
	DedupeKey string    `json:"dedupe_key"`
	Incident  string    `json:"incident"`
	ID        string    `json:"id"`
	Kind      Kind      `json:"kind"`
	Subject   string    `json:"slo"`
	Severity  Severity  `json:"severity"`
	FiredAt   time.Time `json:"fired_at"`
	Test      bool      `json:"test,omitempty"`
	Details   Details   `json:"details"`
	Links     []Link    `json:"links,omitempty"`
}

// SummaryOf is no's Summary.
func SummaryOf(no Notification) Summary {
	return Summary{
		DedupeKey: no.DedupeKey, Incident: no.Incident, ID: no.ID, Kind: no.Kind, Subject: no.Key.Subject,
		Severity: no.Key.Severity, FiredAt: no.FiredAt.UTC(), Test: no.Kind == KindTest,
		Details: no.Details, Links: no.Links,
	}
}
