package alerting

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/slo"
)

// Failure is the most recent failed run of an SLO's canary, carried in the
// alert so that whoever is paged sees what broke (the failure class, the
// error, and where a browser step kept its screenshot and HTML) without
// first opening the web UI.
type Failure struct {
	Canary string `json:"canary"`
	// At is when the failed run started.
	At    time.Time `json:"at"`
	Class string    `json:"class"`
	// Region is where the run failed, when the evaluator hears of runs
	// from agents in several regions (the Lambda deployment).
	Region string `json:"region,omitempty"`
	// Error is the run's error as the canary runner wrote it, with every
	// secret already redacted; nothing here adds to it.
	Error string `json:"error,omitempty"`
	// Artifacts are the paths or URLs of the files the failed steps kept.
	Artifacts []string `json:"artifacts,omitempty"`
}

// RecentFailureFunc returns the most recent failed run of a canary, if
// one is known. The sidecar answers it from the runs it keeps for the web
// UI; an evaluator that sees only metrics has none.
type RecentFailureFunc func(canary string) (Failure, bool)

// Bounds on what a Failure brings into an alert: it is saved with the
// alert's outbox (a DynamoDB item holds 400 KB) and shown in messages
// with limits of their own.
const (
	MaxFailureError     = 2048
	MaxFailureArtifacts = 10
	MaxArtifactLength   = 1024
)

// FailureOf takes what an alert shows from a failed run.
func FailureOf(r canary.Result) Failure {
	f := Failure{Canary: r.Canary, At: r.Start, Class: string(r.Failure), Error: r.Error}
	for _, s := range r.Steps {
		f.Artifacts = append(f.Artifacts, s.Artifacts...)
	}
	// A browser step's error ends by naming its artifacts' directory, for
	// the log and nines probe; the alert lists the files themselves.
	if i := strings.LastIndex(f.Error, " (artifacts: "); i >= 0 && len(f.Artifacts) > 0 && strings.HasSuffix(f.Error, ")") {
		f.Error = f.Error[:i]
	}
	return f
}

// Summary is the failure in one line:
//
//	http_status — step "login": status 503 · artifacts: /var/lib/nines/artifacts/login.png
func (f Failure) Summary() string {
	var b strings.Builder
	b.WriteString(f.Class)
	if f.Region != "" {
		b.WriteString(" in " + f.Region)
	}
	if f.Error != "" {
		b.WriteString(" — ")
		b.WriteString(oneLine(f.Error))
	}
	if len(f.Artifacts) > 0 {
		b.WriteString(" · artifacts: ")
		b.WriteString(strings.Join(f.Artifacts, ", "))
	}
	return b.String()
}

// bounded cuts the error and the artifact list to the bounds above.
func (f Failure) bounded() Failure {
	f.Error = truncate(f.Error, MaxFailureError)
	if len(f.Artifacts) > MaxFailureArtifacts {
		f.Artifacts = f.Artifacts[:MaxFailureArtifacts]
	}
	arts := make([]string, 0, len(f.Artifacts))
	for _, a := range f.Artifacts {
		arts = append(arts, truncate(a, MaxArtifactLength))
	}
	if len(arts) == 0 {
		arts = nil
	}
	f.Artifacts = arts
	return f
}

// relevant reports whether a failure at at belongs with a notification at
// now: a failure older than the fired tier's long window did not burn the
// budget that fired, so showing it would point the reader the wrong way.
func (d Details) relevant(at, now time.Time) bool {
	if at.After(now) {
		return false
	}
	if d.LongWindow == "" {
		return true
	}
	w, err := slo.ParseDuration(d.LongWindow)
	return err != nil || !at.Before(now.Add(-w))
}

// truncate cuts s to at most max bytes on a rune boundary, marking the
// cut with "...".
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("...")
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// oneLine keeps a log line one line long.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
