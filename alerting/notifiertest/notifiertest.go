// Package notifiertest holds the conformance checks that every notifier of
// the ALARM phase must pass, run through a real Pipeline: it delivers, it
// retries 5xx, it does not retry 4xx, a resolve waits for its fire, and it
// never lets a token or a webhook URL into a log line or an error.
package notifiertest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// Harness is one notifier wired to a fake receiver.
type Harness struct {
	Notifier alerting.Notifier
	// Fail makes the receiver answer the next n calls with status, in its
	// own error format.
	Fail func(n, status int)
	// Accepted counts the messages the receiver accepted.
	Accepted func() int
	// Unreachable, when set, makes the receiver unreachable for the rest
	// of the test, so a network error's text can be checked too.
	Unreachable func()
	// Shown returns what the receiver shows people (message bodies), to
	// check for secrets; optional.
	Shown func() []string
	// Secrets must appear in no log line, error or shown message.
	Secrets []string
}

// Start is the time Sample notifications are stamped with.
var Start = time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)

// Sample returns a realistic page notification of the given kind.
func Sample(kind alerting.Kind) alerting.Notification {
	remaining := 0.979
	key := alerting.Key{Subject: "checkout", Severity: alerting.Page}
	fired := Start
	inc := key.String() + "@" + fired.Format(time.RFC3339)
	return alerting.Notification{
		ID: inc + "#1", DedupeKey: key.String(), Incident: inc, Kind: kind, Key: key,
		At: Start.Add(time.Minute), FiredAt: fired,
		Details: alerting.Details{
			Tier: "page_fast", Threshold: 14.4, LongWindow: "1h", ShortWindow: "5m",
			Reason:    "page_fast: burn 100x over 1h and 100x over 5m, both above 14.4x",
			Objective: 0.999, SLI: "availability of checkout in all regions", BudgetRemaining: &remaining,
			BudgetState: slo.BudgetBurning,
			BurnRates:   []alerting.BurnRate{{Window: "5m", Rate: 100, Events: 30}, {Window: "1h", Rate: 100, Events: 360}},
		},
		Links: []alerting.Link{{Name: "dashboard", URL: "https://example.com/d/checkout"}, {Name: "runbook", URL: "https://example.com/rb/checkout"}},
	}
}

// ArtifactPath is the screenshot SampleFailure's browser step kept.
const ArtifactPath = "/var/lib/nines/artifacts/checkout/20250302T115950Z/login.png"

// SampleFailure returns a realistic last failure of a browser canary: a
// redacted error and the artifacts its failed step kept.
func SampleFailure() alerting.Failure {
	return alerting.Failure{
		Canary: "checkout", At: Start.Add(-10 * time.Second), Class: "http_status",
		Error:     `step "login": status 503`,
		Artifacts: []string{ArtifactPath, "s3://nines-artifacts/checkout/20250302T115950Z/login.html"},
	}
}

// send runs one notification through a one-receiver pipeline that retries
// without waiting, and returns its result and the log.
func send(t *testing.T, h *Harness, n alerting.Notification) (alerting.Result, string) {
	t.Helper()
	rs, logs := sendAll(t, h, n)
	return rs[0], logs
}

// sendAll is send for several notifications, delivered together; it
// returns their results in the order they came. The pipeline's sleeps
// move its clock, so they must belong to one incident: one delivery at a
// time waits.
func sendAll(t *testing.T, h *Harness, ns ...alerting.Notification) ([]alerting.Result, string) {
	t.Helper()
	log := NewLog()
	results := make(chan alerting.Result, len(ns))
	clk := clock.NewFake(Start)
	p, err := alerting.NewPipeline(alerting.PipelineConfig{
		Receivers: []alerting.Receiver{{Name: "under-test", Notifier: h.Notifier}},
		Clock:     clk,
		// Backoff passes in simulated time, so a receiver that never
		// recovers is given up at MaxAge without real waiting.
		Sleep: func(ctx context.Context, d time.Duration) error {
			clk.Advance(d)
			return ctx.Err()
		},
		Random:   func() float64 { return 0.5 },
		Logger:   log.Logger,
		OnResult: func(r alerting.Result) { results <- r },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Send(ns)
	var rs []alerting.Result
	for range ns {
		rs = append(rs, <-results)
	}
	return rs, log.String()
}

// Run runs the conformance checks; newHarness makes a fresh receiver for
// each.
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	t.Run("A notification is delivered once", func(t *testing.T) {
		h := newHarness(t)
		r, _ := send(t, h, Sample(alerting.KindFire))
		if !r.Delivered || r.Attempts != 1 {
			t.Fatalf("delivered=%v after %d attempts (%v), want delivered at once", r.Delivered, r.Attempts, r.Err)
		}
		if got := h.Accepted(); got != 1 {
			t.Errorf("the receiver accepted %d messages, want 1", got)
		}
	})
	t.Run("A 5xx is retried and the message then arrives exactly once", func(t *testing.T) {
		h := newHarness(t)
		h.Fail(2, 503)
		r, _ := send(t, h, Sample(alerting.KindFire))
		if !r.Delivered || r.Attempts != 3 {
			t.Fatalf("delivered=%v after %d attempts (%v), want delivered at the 3rd", r.Delivered, r.Attempts, r.Err)
		}
		if got := h.Accepted(); got != 1 {
			t.Errorf("the receiver accepted %d messages, want 1", got)
		}
	})
	t.Run("A 4xx is not retried", func(t *testing.T) {
		h := newHarness(t)
		h.Fail(1, 400)
		r, _ := send(t, h, Sample(alerting.KindFire))
		if r.Delivered || r.Attempts != 1 {
			t.Fatalf("delivered=%v after %d attempts, want given up after 1", r.Delivered, r.Attempts)
		}
		if r.Class.Retryable {
			t.Errorf("a 400 was classified retryable: %+v", r.Class)
		}
		if got := h.Accepted(); got != 0 {
			t.Errorf("the receiver accepted %d messages, want 0", got)
		}
	})
	t.Run("No secret leaks into a log line, an error or a message", func(t *testing.T) {
		if len(h0(newHarness, t).Secrets) == 0 {
			t.Skip("this notifier holds no secret")
		}
		faults := []struct {
			name  string
			apply func(h *Harness)
		}{
			{"success", func(*Harness) {}},
			{"500", func(h *Harness) { h.Fail(1, 500) }},
			{"400", func(h *Harness) { h.Fail(1, 400) }},
			{"401", func(h *Harness) { h.Fail(1, 401) }},
			{"unreachable", func(h *Harness) {
				if h.Unreachable != nil {
					h.Unreachable()
				}
			}},
		}
		for _, f := range faults {
			h := newHarness(t)
			f.apply(h)
			r, logs := send(t, h, Sample(alerting.KindFire))
			texts := []string{logs}
			if r.Err != nil {
				texts = append(texts, r.Err.Error())
			}
			if h.Shown != nil {
				texts = append(texts, h.Shown()...)
			}
			NoSecrets(t, f.name, h.Secrets, texts...)
		}
	})
	t.Run("A resolve waits while its fire is retried, and no secret leaks meanwhile", func(t *testing.T) {
		h := newHarness(t)
		h.Fail(2, 503)
		fire, resolve := Sample(alerting.KindFire), Sample(alerting.KindResolve)
		resolve.ID = resolve.Incident + "#2"
		rs, logs := sendAll(t, h, fire, resolve)
		if f, r := rs[0], rs[1]; f.ID != fire.ID || !f.Delivered || f.Attempts != 3 || r.ID != resolve.ID || !r.Delivered || r.Attempts != 1 {
			t.Fatalf("results %+v, want the fire delivered at the 3rd attempt, then the resolve at its 1st", rs)
		}
		if got := h.Accepted(); got != 2 {
			t.Errorf("the receiver accepted %d messages, want 2", got)
		}
		if !strings.Contains(logs, "waits for the earlier ones of its incident") {
			t.Errorf("the log does not say that the resolve waited:\n%s", logs)
		}
		texts := []string{logs}
		if h.Shown != nil {
			texts = append(texts, h.Shown()...)
		}
		NoSecrets(t, "fire and resolve", h.Secrets, texts...)
	})
}

// NoSecrets reports each of secrets that appears in one of texts; what
// names the texts.
func NoSecrets(t testing.TB, what string, secrets []string, texts ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, text := range texts {
			if strings.Contains(text, s) {
				t.Errorf("%s: a secret appears in %q", what, text)
			}
		}
	}
}

// Log is a logger that keeps every line, at every level, for a test to
// read; it is safe for concurrent use.
type Log struct {
	*slog.Logger
	buf *lockedBuffer
}

// NewLog returns an empty Log.
func NewLog() *Log {
	buf := &lockedBuffer{}
	return &Log{Logger: slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf: buf}
}

// String returns what was logged so far.
func (l *Log) String() string { return l.buf.String() }

// h0 makes a harness just to read its secrets.
func h0(newHarness func(t *testing.T) *Harness, t *testing.T) *Harness { return newHarness(t) }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
