package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// LogNotifier writes one line per notification: the receiver of the
// embedded default, where no AWS and no Slack are configured. The line is
// FormatLine's text, or with JSON a JSON object with "type":"alert", so it
// can share a stream of JSON lines (`nines run`'s stdout) with other types.
type LogNotifier struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

// NewLogNotifier writes text lines to w.
func NewLogNotifier(w io.Writer) *LogNotifier { return &LogNotifier{w: w} }

// NewJSONLogNotifier writes JSON lines to w.
func NewJSONLogNotifier(w io.Writer) *LogNotifier { return &LogNotifier{w: w, json: true} }

// logLine is the JSON form of a notification; keep the names.
type logLine struct {
	Type      string   `json:"type"`
	At        string   `json:"at"`
	Kind      Kind     `json:"kind"`
	Subject   string   `json:"subject"`
	Severity  Severity `json:"severity"`
	Tier      string   `json:"tier,omitempty"`
	DedupeKey string   `json:"dedupe_key"`
	Text      string   `json:"text"`
}

// Notify implements Notifier.
func (l *LogNotifier) Notify(ctx context.Context, d Delivery) (string, error) {
	n := d.Notification
	line := FormatLine(n)
	if l.json {
		b, err := json.Marshal(logLine{Type: "alert", At: n.At.UTC().Format(time.RFC3339), Kind: n.Kind, Subject: n.Key.Subject,
			Severity: n.Key.Severity, Tier: n.Details.Tier, DedupeKey: n.DedupeKey, Text: line})
		if err != nil {
			return "", Classified(err)
		}
		line = string(b)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := io.WriteString(l.w, line+"\n")
	return "", Classified(err)
}

// FormatLine is a notification in one line:
//
//	2025-03-02T12:10:00Z ALARM checkout page (page_fast) budget 97.9% (burning) burn 1h=100x 5m=100x: page_fast: burn 100x ...; last failure 2025-03-02T12:09:50Z: http_status — step "login": status 503 · artifacts: ... [runbook=https://...] key=nines/checkout/page
func FormatLine(n Notification) string {
	var b strings.Builder
	b.WriteString(n.At.UTC().Format("2006-01-02T15:04:05Z"))
	word := "ALARM"
	switch n.Kind {
	case KindResolve:
		word = "OK"
	case KindTest:
		word = "TEST"
	}
	fmt.Fprintf(&b, " %s %s %s", word, n.Key.Subject, n.Key.Severity)
	if n.Details.Tier != "" {
		fmt.Fprintf(&b, " (%s)", n.Details.Tier)
	}
	if n.Kind != KindFire && n.Kind != KindResolve {
		fmt.Fprintf(&b, " [%s]", n.Kind)
	}
	if n.HasBudget() && n.Kind != KindTest {
		fmt.Fprintf(&b, " budget %s", n.Details.BudgetWithState())
	}
	var burns []string
	for _, r := range n.Details.BurnRates {
		if !r.NoData {
			burns = append(burns, r.Window+"="+FormatRate(r.Rate))
		}
	}
	if len(burns) > 0 {
		b.WriteString(" burn " + strings.Join(burns, " "))
	}
	if n.Details.Reason != "" {
		b.WriteString(": " + n.Details.Reason)
	}
	if f := n.Details.LastFailure; f != nil {
		b.WriteString("; last failure " + f.At.UTC().Format("2006-01-02T15:04:05Z") + ": " + f.Summary())
	}
	links := append([]Link(nil), n.Links...)
	sort.Slice(links, func(i, j int) bool { return links[i].Name < links[j].Name })
	for _, l := range links {
		fmt.Fprintf(&b, " %s=%s", l.Name, l.URL)
	}
	b.WriteString(" key=" + n.DedupeKey)
	return b.String()
}
