package alerting_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/canary"
)

func TestFailureOfTakesTheClassTheErrorAndEveryStepsArtifacts(t *testing.T) {
	r := canary.Result{
		Canary: "checkout", Start: t0, OK: false, Failure: canary.FailHTTPStatus, Error: `step "login": status 503`,
		Steps: []canary.StepResult{
			{Name: "home", OK: true},
			{Name: "login", Failure: canary.FailHTTPStatus, Error: "status 503", Artifacts: []string{"/a/login.png", "/a/login.html"}},
		},
	}
	f := alerting.FailureOf(r)
	want := alerting.Failure{Canary: "checkout", At: t0, Class: "http_status", Error: `step "login": status 503`,
		Artifacts: []string{"/a/login.png", "/a/login.html"}}
	if !f.At.Equal(want.At) || f.Canary != want.Canary || f.Class != want.Class || f.Error != want.Error ||
		strings.Join(f.Artifacts, ",") != strings.Join(want.Artifacts, ",") {
		t.Errorf("FailureOf = %+v, want %+v", f, want)
	}
	if got, want := f.Summary(), `http_status — step "login": status 503 · artifacts: /a/login.png, /a/login.html`; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

// A browser step's error names its artifacts' directory; the alert lists
// the files once, not the directory again.
func TestFailureOfListsABrowserStepsArtifactsOnce(t *testing.T) {
	r := canary.Result{
		Canary: "shop", Start: t0, Failure: canary.FailAssertion,
		Error: `step "checkout": text "Thank you" not found (artifacts: /var/lib/nines/artifacts/shop/20250302T115950Z/)`,
		Steps: []canary.StepResult{{Name: "checkout", Failure: canary.FailAssertion,
			Artifacts: []string{"/var/lib/nines/artifacts/shop/20250302T115950Z/checkout.png", "/var/lib/nines/artifacts/shop/20250302T115950Z/checkout.html"}}},
	}
	got := alerting.FailureOf(r).Summary()
	want := `assertion — step "checkout": text "Thank you" not found · artifacts: /var/lib/nines/artifacts/shop/20250302T115950Z/checkout.png, /var/lib/nines/artifacts/shop/20250302T115950Z/checkout.html`
	if got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	// Without artifacts to list, the error stays as the runner wrote it.
	r.Steps[0].Artifacts = nil
	if f := alerting.FailureOf(r); f.Error != r.Error {
		t.Errorf("Error = %q, want it unchanged when no artifacts are listed", f.Error)
	}
}

func TestTheLogLineShowsTheLastFailure(t *testing.T) {
	var buf bytes.Buffer
	n := notifiertest.Sample(alerting.KindFire)
	f := notifiertest.SampleFailure()
	f.Error = "step \"login\": status 503\nbody: down" // a line break must not split the log line
	n.Details.LastFailure = &f
	if _, err := alerting.NewLogNotifier(&buf).Notify(context.Background(), alerting.Delivery{Notification: n}); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	if strings.Count(line, "\n") != 1 {
		t.Errorf("the notification took %d lines, want 1: %q", strings.Count(line, "\n"), line)
	}
	want := `; last failure 2025-03-02T11:59:50Z: http_status — step "login": status 503 body: down · artifacts: ` + notifiertest.ArtifactPath
	if !strings.Contains(line, want) {
		t.Errorf("the log line does not show %q:\n%s", want, line)
	}
}

// The service asks its RecentFailure hook for the SLO's canary and puts
// the answer in the notification that reaches the receivers, unless the
// failure is older than the tier's long window.
func TestTheRecentFailureHookReachesTheNotification(t *testing.T) {
	// The page fires at t0+2m on page_fast, whose long window is 1h.
	firedAt := t0.Add(2 * time.Minute)
	cases := []struct {
		name      string
		hook      alerting.RecentFailureFunc
		wantShown bool
	}{
		{"A failure of the SLO's canary within the tier's window is shown", func(c string) (alerting.Failure, bool) {
			f := notifiertest.SampleFailure()
			f.Canary, f.At = c, firedAt.Add(-10*time.Second)
			return f, c == "checkout"
		}, true},
		{"A failure older than the tier's long window is not shown", func(c string) (alerting.Failure, bool) {
			f := notifiertest.SampleFailure()
			f.At = firedAt.Add(-61 * time.Minute)
			return f, true
		}, false},
		{"A canary without a failure shows none", func(string) (alerting.Failure, bool) { return alerting.Failure{}, false }, false},
		{"A service without the hook shows none", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, alerting.NewMemoryStore())
			w.recentFailure = tc.hook
			if err := w.src.Add(checkoutSLI, minuteTrace("fail", "fail", "fail")); err != nil {
				t.Fatal(err)
			}
			pr := w.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, time.Minute)
			w.clk.Set(firedAt)
			pr.tick(t)
			msgs, posts := w.sns.Messages(), w.slack.Posts()
			if len(msgs) != 1 || len(posts) != 1 {
				t.Fatalf("sns %d, slack %d, want one page each", len(msgs), len(posts))
			}
			var body struct {
				Nines struct {
					Details struct {
						Tier        string            `json:"tier"`
						LastFailure *alerting.Failure `json:"last_failure"`
					} `json:"details"`
				} `json:"nines"`
			}
			if err := json.Unmarshal([]byte(msgs[0].Body), &body); err != nil {
				t.Fatal(err)
			}
			if body.Nines.Details.Tier != "page_fast" {
				t.Fatalf("tier %q, want page_fast (this test's windows assume it)", body.Nines.Details.Tier)
			}
			lf := body.Nines.Details.LastFailure
			if (lf != nil) != tc.wantShown {
				t.Fatalf("SNS last_failure %+v, want shown=%v", lf, tc.wantShown)
			}
			if lf != nil && (lf.Canary != "checkout" || len(lf.Artifacts) == 0 || lf.Artifacts[0] != notifiertest.ArtifactPath) {
				t.Errorf("SNS last_failure %+v, want checkout's with %s", lf, notifiertest.ArtifactPath)
			}
			blocks, err := json.Marshal(posts[0].Attachments[0].Blocks)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(blocks), notifiertest.ArtifactPath); got != tc.wantShown {
				t.Errorf("the Slack message shows the artifact: %v, want %v", got, tc.wantShown)
			}
		})
	}
}
