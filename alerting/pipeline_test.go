package alerting_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
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

// sim drives a pipeline's simulated time. The clock moves only when the
// first undone delivery of every incident at every receiver waits on it
// (sleeping before a retry, or hung until its send timeout), and then only
// to the earliest of those waits. A delivery that waits on anything else,
// such as another incident's retries, halts the simulation, and the stuck
// guard reports it. Deliveries are never half way through a send when the
// clock moves, so no send times out that was not meant to.
type sim struct {
	clk     *clock.Fake
	results chan alerting.Result
	waits   chan time.Time // when each wait on the clock ends, once armed
}

func newSim(clk *clock.Fake) *sim {
	return &sim{clk: clk, results: make(chan alerting.Result, 64), waits: make(chan time.Time, 64)}
}

// sleep is the pipeline's Sleep.
func (s *sim) sleep(ctx context.Context, d time.Duration) error {
	tm := s.clk.NewTimer(d)
	defer tm.Stop()
	s.waits <- s.clk.Now().Add(d)
	select {
	case <-tm.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// config is a pipeline's config on the simulated clock, without jitter.
func (s *sim) config(receivers ...alerting.Receiver) alerting.PipelineConfig {
	return alerting.PipelineConfig{
		Receivers: receivers, Clock: s.clk, Sleep: s.sleep,
		Random:   func() float64 { return 0.5 },
		OnResult: func(r alerting.Result) { s.results <- r },
	}
}

// collect returns a result for each of want (a receiver and an incident
// each, in the order delivered), in the order they came. Before the clock
// moves to t, beforeAdvance(t) may change what the receivers answer.
func (s *sim) collect(t *testing.T, want []alerting.Delivery, beforeAdvance func(t time.Time)) []alerting.Result {
	t.Helper()
	type lane struct{ receiver, incident string }
	left := map[lane]int{}
	for _, d := range want {
		left[lane{d.Receiver, d.Incident}]++
	}
	var got []alerting.Result
	var waiting []time.Time
	for len(got) < len(want) {
		if len(waiting) > 0 && len(waiting) == len(left) {
			at := slices.MinFunc(waiting, time.Time.Compare)
			if beforeAdvance != nil {
				beforeAdvance(at)
			}
			s.clk.Set(at)
			waiting = slices.DeleteFunc(waiting, func(w time.Time) bool { return !w.After(at) })
			continue
		}
		select {
		case r := <-s.results:
			k := lane{r.Receiver, r.Incident}
			if left[k] == 0 {
				t.Fatalf("an unexpected result for %s at %s: %+v", r.ID, r.Receiver, r)
			}
			if left[k]--; left[k] == 0 {
				delete(left, k)
			}
			got = append(got, r)
		case at := <-s.waits:
			waiting = append(waiting, at)
		case <-time.After(30 * time.Second):
			t.Fatalf("stuck at %s with %d results of %d: %d incidents have a delivery out, %d of them wait on the clock; the others wait on another delivery",
				s.clk.Now(), len(got), len(want), len(left), len(waiting))
		}
	}
	return got
}

// wait waits for k deliveries to wait on the clock.
func (s *sim) wait(t *testing.T, k int) {
	t.Helper()
	for range k {
		select {
		case <-s.waits:
		case <-time.After(30 * time.Second):
			t.Fatalf("stuck at %s: fewer than %d deliveries wait on the clock", s.clk.Now(), k)
		}
	}
}

// scripted is a receiver whose answers a test sets per notification ID.
type scripted struct {
	clk     *clock.Fake
	timeout time.Duration
	// hung hears when a send starts to hang, and when its timeout ends it.
	hung func(until time.Time)

	mu        sync.Mutex
	downUntil map[string]time.Time // answers 500 until then
	refuse    map[string]bool      // answers 400
	hang      map[string]int       // the next n sends hang until cancelled
	calls     []call
	open, max int // sends open now and at most
}

type call struct {
	ID, Thread string
	At         time.Time
	Delivered  bool
}

func newScripted(s *sim) *scripted {
	return &scripted{clk: s.clk, timeout: alerting.DefaultSendTimeout, hung: func(at time.Time) { s.waits <- at },
		downUntil: map[string]time.Time{}, refuse: map[string]bool{}, hang: map[string]int{}}
}

func (n *scripted) Notify(ctx context.Context, d alerting.Delivery) (string, error) {
	n.mu.Lock()
	c := call{ID: d.ID, Thread: d.Thread, At: n.clk.Now()}
	n.open++
	n.max = max(n.max, n.open)
	hang := n.hang[d.ID] > 0
	if hang {
		n.hang[d.ID]--
	}
	var err error
	switch {
	case n.refuse[d.ID]:
		err = &alerting.StatusError{Code: http.StatusBadRequest}
	case c.At.Before(n.downUntil[d.ID]):
		err = &alerting.StatusError{Code: http.StatusInternalServerError}
	}
	n.mu.Unlock()
	if hang {
		n.hung(c.At.Add(n.timeout))
		<-ctx.Done()
		err = ctx.Err()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.open--
	c.Delivered = err == nil
	n.calls = append(n.calls, c)
	if err != nil {
		return "", alerting.Classified(err)
	}
	return "receipt of " + d.ID, nil
}

// mostOpen is the most sends that were open at once.
func (n *scripted) mostOpen() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.max
}

func (n *scripted) log() []call {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]call(nil), n.calls...)
}

// delivered counts the sends of id that were accepted.
func (n *scripted) delivered(id string) int {
	k := 0
	for _, c := range n.log() {
		if c.ID == id && c.Delivered {
			k++
		}
	}
	return k
}

// news returns a notification of its own incident for subject.
func news(subject string, kind alerting.Kind) alerting.Notification {
	n := notifiertest.Sample(kind)
	n.Key.Subject = subject
	n.DedupeKey = n.Key.String()
	n.Incident = n.DedupeKey + "@" + n.FiredAt.Format(time.RFC3339)
	n.ID = n.Incident + "#1"
	if kind != alerting.KindFire {
		n.ID = n.Incident + "#2"
	}
	return n
}

// deliveries binds ns to receiver, queued at t0.
func deliveries(receiver string, ns ...alerting.Notification) []alerting.Delivery {
	var ds []alerting.Delivery
	for _, n := range ns {
		ds = append(ds, alerting.Delivery{Notification: n, Receiver: receiver, Queued: t0})
	}
	return ds
}

func byID(rs []alerting.Result) map[string]alerting.Result {
	out := map[string]alerting.Result{}
	for _, r := range rs {
		out[r.ID] = r
	}
	return out
}

func TestAFailingDeliveryNeverDelaysTheOthersOnItsReceiver(t *testing.T) {
	s := newSim(clock.NewFake(t0))
	n := newScripted(s)
	p, err := alerting.NewPipeline(s.config(alerting.Receiver{Name: "chat", Notifier: n}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, b, c, d := news("checkout", alerting.KindFire), news("search", alerting.KindFire), news("login", alerting.KindFire), news("payments", alerting.KindFire)
	recovers := t0.Add(15 * time.Minute)
	n.downUntil[a.ID] = recovers
	ds := deliveries("chat", a, b, c, d)
	p.Deliver(ds)

	got := s.collect(t, ds, nil)
	for i, r := range got[:3] {
		if r.ID == a.ID || !r.Delivered || r.Attempts != 1 || !r.At.Equal(t0) {
			t.Errorf("result %d: %s delivered=%v after %d attempts at %s, want one of the others delivered at once at %s",
				i, r.ID, r.Delivered, r.Attempts, r.At, t0)
		}
	}
	ra := byID(got)[a.ID]
	if !ra.Delivered || ra.At.Before(recovers) || ra.At.After(recovers.Add(alerting.DefaultBackoff.Max)) {
		t.Errorf("%s: delivered=%v at %s (%v), want delivered within a backoff step of the recovery at %s", a.ID, ra.Delivered, ra.At, ra.Err, recovers)
	}
	for _, x := range []alerting.Notification{a, b, c, d} {
		if k := n.delivered(x.ID); k != 1 {
			t.Errorf("%s was accepted %d times, want exactly once", x.ID, k)
		}
	}
	if st := p.Stats(); st.Delivered != 4 || st.Failed != 0 || st.Retries != ra.Attempts-1 {
		t.Errorf("stats %+v, want 4 delivered, none failed, and %d retries (all of %s)", st, ra.Attempts-1, a.ID)
	}
}

func TestAHungSendNeverDelaysTheOthersOnItsReceiver(t *testing.T) {
	s := newSim(clock.NewFake(t0))
	n := newScripted(s)
	p, err := alerting.NewPipeline(s.config(alerting.Receiver{Name: "chat", Notifier: n}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, b := news("checkout", alerting.KindFire), news("search", alerting.KindFire)
	n.hang[a.ID] = 1
	ds := deliveries("chat", a, b)
	p.Deliver(ds)

	got := s.collect(t, ds, nil)
	if r := got[0]; r.ID != b.ID || !r.Delivered || !r.At.Equal(t0) {
		t.Errorf("first result %s delivered=%v at %s, want %s delivered at once at %s", r.ID, r.Delivered, r.At, b.ID, t0)
	}
	want := t0.Add(alerting.DefaultSendTimeout + alerting.DefaultBackoff.Initial)
	if r := got[1]; r.ID != a.ID || !r.Delivered || r.Attempts != 2 || !r.At.Equal(want) {
		t.Errorf("second result %s delivered=%v after %d attempts at %s (%v), want %s delivered at the 2nd try at %s",
			r.ID, r.Delivered, r.Attempts, r.At, r.Err, a.ID, want)
	}
}

func TestAHungReceiverHoldsAtMostMaxInFlightSendsOpen(t *testing.T) {
	s := newSim(clock.NewFake(t0))
	n := newScripted(s)
	cfg := s.config(alerting.Receiver{Name: "chat", Notifier: n})
	cfg.MaxInFlight = 2
	p, err := alerting.NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := news("checkout", alerting.KindFire), news("search", alerting.KindFire), news("login", alerting.KindFire)
	for _, x := range []alerting.Notification{a, b, c} {
		n.hang[x.ID] = 1
	}
	p.Deliver(deliveries("chat", a, b, c))
	// Two sends hang; the third waits for one of them to time out.
	s.wait(t, 2)
	s.clk.Advance(alerting.DefaultSendTimeout)
	// The two time out and wait to retry; the third's send hangs.
	s.wait(t, 3)
	p.Close()
	log := n.log()
	if len(log) != 3 {
		t.Fatalf("%d sends ended, want 3: %+v", len(log), log)
	}
	if last := log[2]; !last.At.Equal(t0.Add(alerting.DefaultSendTimeout)) {
		t.Errorf("the third send started at %s, want once a hung one timed out at %s", last.At, t0.Add(alerting.DefaultSendTimeout))
	}
	if most := n.mostOpen(); most != 2 {
		t.Errorf("%d sends were open at once, want at most 2", most)
	}
}

func TestTheDeliveriesOfOneIncidentGoInOrder(t *testing.T) {
	cases := []struct {
		name string
		// fail sets how the receiver treats the fire.
		fail      func(n *scripted, fire string)
		delivered bool
	}{
		{"the fire fails for 5 minutes: the resolve follows it into its thread", func(n *scripted, fire string) {
			n.downUntil[fire] = t0.Add(5 * time.Minute)
		}, true},
		{"the fire hangs until its timeout: the resolve waits for its retry", func(n *scripted, fire string) {
			n.hang[fire] = 1
		}, true},
		{"the fire is refused: the resolve goes once it is given up", func(n *scripted, fire string) {
			n.refuse[fire] = true
		}, false},
		{"the fire fails past MaxAge: the resolve goes once it is given up", func(n *scripted, fire string) {
			n.downUntil[fire] = t0.Add(time.Hour)
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(clock.NewFake(t0))
			n := newScripted(s)
			cfg := s.config(alerting.Receiver{Name: "chat", Notifier: n})
			cfg.MaxAge = 10 * time.Minute
			p, err := alerting.NewPipeline(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			fire, resolve, other := news("checkout", alerting.KindFire), news("checkout", alerting.KindResolve), news("search", alerting.KindFire)
			tc.fail(n, fire.ID)
			ds := deliveries("chat", fire, resolve, other)
			p.Deliver(ds)

			got := byID(s.collect(t, ds, nil))
			if r := got[other.ID]; !r.Delivered || r.Attempts != 1 || !r.At.Equal(t0) {
				t.Errorf("another incident's fire: delivered=%v after %d attempts at %s, want delivered at once", r.Delivered, r.Attempts, r.At)
			}
			if r := got[fire.ID]; r.Delivered != tc.delivered {
				t.Errorf("the fire: delivered=%v (%v), want %v", r.Delivered, r.Err, tc.delivered)
			}
			if r := got[resolve.ID]; !r.Delivered {
				t.Errorf("the resolve: not delivered (%v)", r.Err)
			}
			// Each call is logged as it ends: no call of the fire may end
			// after the resolve's first.
			log := n.log()
			first := slices.IndexFunc(log, func(c call) bool { return c.ID == resolve.ID })
			if first < 0 || slices.ContainsFunc(log[first:], func(c call) bool { return c.ID == fire.ID }) {
				t.Fatalf("the resolve was sent while the fire was not done: %+v", log)
			}
			wantThread := ""
			if tc.delivered {
				wantThread = "receipt of " + fire.ID
			}
			for _, c := range log {
				if c.ID == resolve.ID && c.Thread != wantThread {
					t.Errorf("the resolve was sent in thread %q, want %q", c.Thread, wantThread)
				}
			}
		})
	}
}
