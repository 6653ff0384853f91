package alerting_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/alerting/slack"
	"github.com/nines-dev/nines/alerting/slack/slackfake"
	alertsns "github.com/nines-dev/nines/alerting/sns"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
)

// rig is a pipeline to a Slack fake and an SNS fake on a fake clock. The
// retry stage's sleeps are reported on sleeps once their timer is armed,
// so a test advances simulated time exactly when a receiver waits.
type rig struct {
	clk     *clock.Fake
	slack   *slackfake.Server
	sns     *awsfake.SNS
	p       *alerting.Pipeline
	results chan alerting.Result
	sleeps  chan time.Duration
}

func newRig(t *testing.T, routes map[alerting.Severity][]string) *rig {
	t.Helper()
	r := &rig{clk: clock.NewFake(t0), results: make(chan alerting.Result, 16), sleeps: make(chan time.Duration, 16)}
	r.slack = slackfake.New(t)
	r.sns = awsfake.NewSNST(t, awsfake.SNSConfig{Topics: []string{"pages"}})
	sl, err := slack.New(slack.Config{Token: slackfake.Token, Channel: "C0ALERTS", APIURL: r.slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := alertsns.New(alertsns.Config{Client: r.sns.Client(func(o *awssns.Options) { o.RetryMaxAttempts = 1 }), TopicARN: r.sns.TopicARN("pages")})
	if err != nil {
		t.Fatal(err)
	}
	r.p, err = alerting.NewPipeline(alerting.PipelineConfig{
		Receivers: []alerting.Receiver{{Name: "slack", Notifier: sl}, {Name: "sns", Notifier: sn}},
		Routes:    routes,
		Clock:     r.clk,
		Sleep: func(ctx context.Context, d time.Duration) error {
			tm := r.clk.NewTimer(d)
			defer tm.Stop()
			r.sleeps <- d
			select {
			case <-tm.C():
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		Random:   func() float64 { return 0.5 },
		OnResult: func(res alerting.Result) { r.results <- res },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.p.Close)
	return r
}

// result waits for the next result, advancing the clock over every retry
// wait on the way; before each advance, beforeAdvance may end an outage.
func (r *rig) result(t *testing.T, beforeAdvance func(now time.Time)) alerting.Result {
	t.Helper()
	for {
		select {
		case res := <-r.results:
			return res
		case d := <-r.sleeps:
			if beforeAdvance != nil {
				beforeAdvance(r.clk.Now().Add(d))
			}
			r.clk.Advance(d)
		case <-time.After(30 * time.Second):
			t.Fatal("no result and no retry wait within 30s of real time: the pipeline is stuck")
		}
	}
}

func TestOneReceiverDownNeverDelaysTheOther(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		retryAfter time.Duration
	}{
		{"Slack answers 500 for 10 minutes", http.StatusInternalServerError, 0},
		{"Slack answers 429 with Retry-After 60s for 10 minutes", http.StatusTooManyRequests, 60 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.slack.SetDown(tc.status, tc.retryAfter)
			outageEnds := t0.Add(10 * time.Minute)
			r.p.Send([]alerting.Notification{notifiertest.Sample(alerting.KindFire)})

			// Simulated time stands still until SNS has answered: SNS
			// needs no time to pass, whatever Slack does.
			got := map[string]alerting.Result{}
			first := <-r.results
			got[first.Receiver] = first
			var waits []time.Duration
			for len(got) < 2 {
				res := r.result(t, func(wakeAt time.Time) {
					waits = append(waits, wakeAt.Sub(r.clk.Now()))
					if !wakeAt.Before(outageEnds) {
						r.slack.SetUp()
					}
				})
				got[res.Receiver] = res
			}
			if s := got["sns"]; !s.Delivered || !s.At.Equal(t0) || s.Attempts != 1 {
				t.Errorf("sns: delivered=%v at %s after %d attempts, want delivered at once at %s", s.Delivered, s.At, s.Attempts, t0)
			}
			s := got["slack"]
			if !s.Delivered {
				t.Fatalf("slack: not delivered: %v", s.Err)
			}
			if s.At.Before(outageEnds) || s.At.After(outageEnds.Add(alerting.DefaultBackoff.Max+tc.retryAfter)) {
				t.Errorf("slack delivered at %s, want within one backoff step of the outage's end at %s", s.At, outageEnds)
			}
			for _, w := range waits {
				if w < tc.retryAfter {
					t.Errorf("waited %s between tries, less than Retry-After %s", w, tc.retryAfter)
				}
			}
			if n := len(r.slack.Posts()); n != 1 {
				t.Errorf("slack shows %d posts, want exactly 1", n)
			}
			if n := len(r.sns.Messages()); n != 1 {
				t.Errorf("sns got %d messages, want exactly 1", n)
			}
		})
	}
}

func TestThrottledSNSIsRetriedAndDeliveredOnce(t *testing.T) {
	r := newRig(t, nil)
	r.sns.Throttle("Publish", 3)
	r.p.Send([]alerting.Notification{notifiertest.Sample(alerting.KindFire)})
	got := map[string]alerting.Result{}
	first := <-r.results // Slack, before any simulated time passes
	got[first.Receiver] = first
	for len(got) < 2 {
		res := r.result(t, nil)
		got[res.Receiver] = res
	}
	if s := got["sns"]; !s.Delivered || s.Attempts != 4 {
		t.Errorf("sns: delivered=%v after %d attempts, want delivered at the 4th", s.Delivered, s.Attempts)
	}
	if s := got["slack"]; !s.Delivered || !s.At.Equal(t0) {
		t.Errorf("slack: delivered=%v at %s, want at once", s.Delivered, s.At)
	}
	if n := len(r.sns.Messages()); n != 1 {
		t.Errorf("sns got %d messages, want exactly 1", n)
	}
}

func TestAHungReceiverTimesOutAndTheOtherIsOnTime(t *testing.T) {
	r := newRig(t, nil)
	hung := make(chan struct{}, 1)
	r.slack.OnHang = func() { hung <- struct{}{} }
	r.slack.Hang(1)
	r.p.Send([]alerting.Notification{notifiertest.Sample(alerting.KindFire)})

	if s := <-r.results; s.Receiver != "sns" || !s.Delivered || !s.At.Equal(t0) {
		t.Fatalf("first result %s delivered=%v at %s, want sns delivered at once", s.Receiver, s.Delivered, s.At)
	}
	<-hung
	// The hung call's timeout timer is armed once the call has started.
	r.clk.WaitTimers(1, nil)
	r.clk.Advance(alerting.DefaultSendTimeout)
	s := r.result(t, nil)
	if !s.Delivered || s.Attempts != 2 {
		t.Fatalf("slack: delivered=%v after %d attempts (%v), want delivered at the 2nd", s.Delivered, s.Attempts, s.Err)
	}
	if n := len(r.slack.Posts()); n != 1 {
		t.Errorf("slack shows %d posts, want exactly 1", n)
	}
}

func TestDedupeSendsANotificationOncePerReceiver(t *testing.T) {
	r := newRig(t, nil)
	n := notifiertest.Sample(alerting.KindFire)
	r.p.Send([]alerting.Notification{n, n})
	r.p.Send([]alerting.Notification{n})
	for range 2 {
		if res := r.result(t, nil); !res.Delivered {
			t.Fatalf("%s: not delivered: %v", res.Receiver, res.Err)
		}
	}
	if err := r.p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := r.p.Stats(); st.Deduplicated != 4 || st.Delivered != 2 {
		t.Errorf("stats %+v, want 4 duplicates dropped and 2 deliveries", st)
	}
	if len(r.slack.Posts()) != 1 || len(r.sns.Messages()) != 1 {
		t.Errorf("slack %d posts, sns %d messages, want 1 each", len(r.slack.Posts()), len(r.sns.Messages()))
	}
}

func TestRoutesAndInhibition(t *testing.T) {
	r := newRig(t, map[alerting.Severity][]string{alerting.Page: {"sns", "slack"}, alerting.Ticket: {"slack"}})
	ticket := notifiertest.Sample(alerting.KindFire)
	ticket.Key.Severity, ticket.ID = alerting.Ticket, "ticket#1"
	inhibited := ticket
	inhibited.ID, inhibited.Inhibited = "ticket#2", true
	ds := r.p.Plan([]alerting.Notification{notifiertest.Sample(alerting.KindFire), ticket, inhibited}, t0)
	var got []string
	for _, d := range ds {
		got = append(got, string(d.Key.Severity)+"->"+d.Receiver)
	}
	want := "page->sns page->slack ticket->slack"
	if g := joinSpace(got); g != want {
		t.Errorf("deliveries %q, want %q", g, want)
	}
	if st := r.p.Stats(); st.Inhibited != 1 {
		t.Errorf("stats %+v, want 1 inhibited", st)
	}
}

func joinSpace(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
