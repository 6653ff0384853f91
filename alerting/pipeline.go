package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// Notifier sends one delivery to one receiver. It builds the request and
// classifies the response (with Classified); retries, dedupe, inhibition
// and fan-out are the pipeline's.
type Notifier interface {
	// Notify sends d. d.Thread is the receipt of the incident's first
	// message at this receiver, or empty. It returns this message's
	// receipt (Slack's ts), or empty when the receiver has none.
	Notify(ctx context.Context, d Delivery) (receipt string, err error)
}

// Delivery is one notification bound for one receiver.
type Delivery struct {
	Notification
	Receiver string
	// Thread is the receipt of the incident's first message at this
	// receiver, when known.
	Thread string
	// Queued is when the notification entered the outbox.
	Queued time.Time
}

// Receiver is a named notifier.
type Receiver struct {
	Name     string
	Notifier Notifier
}

// Result is what became of one delivery.
type Result struct {
	Delivery
	Delivered bool
	Receipt   string
	Attempts  int
	// Err is the last error, scrubbed; nil when delivered.
	Err   error
	Class Class
	At    time.Time
	// Stopped is set when the pipeline closed before the delivery was
	// done: it is neither delivered nor given up, and stays in the outbox.
	Stopped bool
}

// Backoff is the retry stage's schedule: Initial, then times Multiplier
// up to Max, each wait spread by up to Jitter of itself.
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
}

// Defaults of the pipeline.
const (
	DefaultSendTimeout = 10 * time.Second
	DefaultMaxAge      = time.Hour
	// DefaultMaxInFlight is how many sends to one receiver may be open at
	// once: a receiver that hangs holds no more, and the deliveries beyond
	// wait for one of them to end, at most a send timeout.
	DefaultMaxInFlight = 4
)

// DefaultBackoff retries after 1s, 2s, 4s ... up to a minute, so a
// receiver back from an outage gets its backlog within a minute.
var DefaultBackoff = Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 2, Jitter: 0.2}

// PipelineConfig configures a Pipeline.
type PipelineConfig struct {
	// Receivers are required, with unique names.
	Receivers []Receiver
	// Routes sends each severity to receivers by name; a severity with no
	// route goes to every receiver. Nil routes everything everywhere.
	Routes map[Severity][]string
	// Clock drives timeouts and backoff; the wall clock by default.
	Clock clock.Clock
	// Sleep waits d or until ctx ends; by default a timer of Clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Random returns a number in [0, 1) for jitter.
	Random  func() float64
	Backoff Backoff
	// Timeout bounds each send; MaxAge bounds how long a delivery is
	// retried, counted from when it was queued.
	Timeout time.Duration
	MaxAge  time.Duration
	// MaxInFlight bounds the sends open at once to one receiver;
	// DefaultMaxInFlight by default.
	MaxInFlight int
	Logger      *slog.Logger
	// OnResult hears what became of each delivery, from the delivery's
	// own goroutine: calls for different deliveries may overlap.
	OnResult func(Result)
}

// Pipeline takes notifications through its stages: route, inhibit,
// dedupe, then fan-out to each receiver, where the retry stage runs for
// each delivery on its own. A delivery that fails or hangs delays neither
// another receiver nor another incident at its own receiver; only the
// later deliveries of its own incident there wait for it, so that they
// arrive in order.
type Pipeline struct {
	cfg     PipelineConfig
	clk     clock.Clock
	workers map[string]*worker
	order   []string

	mu      sync.Mutex
	seen    map[string]time.Time // dedupe: ID + receiver -> when queued
	pending int
	idle    chan struct{} // closed while pending == 0
	stats   Stats
	closed  bool // no delivery starts once set
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Stats counts what the pipeline did, for metrics and tests.
type Stats struct {
	Routed, Inhibited, Deduplicated, Delivered, Failed, Retries int
}

// NewPipeline checks cfg and returns a Pipeline. Close stops its
// deliveries.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	if len(cfg.Receivers) == 0 {
		return nil, errors.New("alerting: a pipeline needs at least one receiver")
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	if cfg.Sleep == nil {
		cfg.Sleep = clockSleep(cfg.Clock)
	}
	if cfg.Random == nil {
		cfg.Random = rand.Float64
	}
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Backoff.Initial <= 0 || cfg.Backoff.Max < cfg.Backoff.Initial || cfg.Backoff.Multiplier < 1 {
		return nil, errors.New("alerting: backoff needs Initial > 0, Max >= Initial and Multiplier >= 1")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSendTimeout
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxInFlight < 0 {
		return nil, errors.New("alerting: MaxInFlight cannot be negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{cfg: cfg, clk: cfg.Clock, workers: map[string]*worker{}, seen: map[string]time.Time{}, idle: make(chan struct{})}
	close(p.idle)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	for _, r := range cfg.Receivers {
		if r.Name == "" || r.Notifier == nil {
			return nil, errors.New("alerting: a receiver needs a name and a notifier")
		}
		if _, dup := p.workers[r.Name]; dup {
			return nil, fmt.Errorf("alerting: receiver %q is listed twice", r.Name)
		}
		p.workers[r.Name] = &worker{p: p, r: r, slots: make(chan struct{}, cfg.MaxInFlight),
			lanes: map[string][]Delivery{}, threads: map[string]string{}}
		p.order = append(p.order, r.Name)
	}
	for sev, names := range cfg.Routes {
		for _, n := range names {
			if _, ok := p.workers[n]; !ok {
				return nil, fmt.Errorf("alerting: route %s names receiver %q, which does not exist", sev, n)
			}
		}
	}
	return p, nil
}

// listen chains fn after the pipeline's OnResult.
func (p *Pipeline) listen(fn func(Result)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.cfg.OnResult
	p.cfg.OnResult = func(r Result) {
		fn(r)
		if prev != nil {
			prev(r)
		}
	}
}

// Receivers lists the receivers' names in configured order.
func (p *Pipeline) Receivers() []string { return append([]string(nil), p.order...) }

// Plan runs the route and inhibit stages: the deliveries that n should
// become. It changes nothing, so the caller can save them in its outbox
// before Deliver sends them.
func (p *Pipeline) Plan(ns []Notification, queued time.Time) []Delivery {
	return p.inhibit(p.route(ns, queued))
}

// Send plans and delivers ns.
func (p *Pipeline) Send(ns []Notification) {
	p.Deliver(p.Plan(ns, p.clk.Now()))
}

// route is the first stage: each notification to the receivers its
// severity routes to.
func (p *Pipeline) route(ns []Notification, queued time.Time) []Delivery {
	var out []Delivery
	for _, n := range ns {
		names, ok := p.cfg.Routes[n.Key.Severity]
		if !ok {
			names = p.order
		}
		for _, r := range names {
			out = append(out, Delivery{Notification: n, Receiver: r, Queued: queued})
		}
	}
	p.mu.Lock()
	p.stats.Routed += len(out)
	p.mu.Unlock()
	return out
}

// inhibit drops what the state machine marked inhibited: a ticket's news
// while the page of the same SLO fires.
func (p *Pipeline) inhibit(ds []Delivery) []Delivery {
	out := ds[:0:0]
	dropped := 0
	for _, d := range ds {
		if d.Inhibited {
			dropped++
			p.cfg.Logger.Debug("notification inhibited", "id", d.ID, "receiver", d.Receiver)
			continue
		}
		out = append(out, d)
	}
	p.mu.Lock()
	p.stats.Inhibited += dropped
	p.mu.Unlock()
	return out
}

// Deliver runs the dedupe stage and fans the deliveries out to their
// receivers, each to its incident's lane. It never blocks on a receiver.
func (p *Pipeline) Deliver(ds []Delivery) {
	byReceiver := map[string][]Delivery{}
	p.mu.Lock()
	now := p.clk.Now()
	for k, at := range p.seen {
		// Forget what is too old to be retried or resent.
		if now.Sub(at) > 2*p.cfg.MaxAge {
			delete(p.seen, k)
		}
	}
	for _, d := range ds {
		if _, ok := p.workers[d.Receiver]; !ok {
			p.cfg.Logger.Warn("delivery for an unknown receiver dropped", "id", d.ID, "receiver", d.Receiver)
			p.stats.Failed++
			continue
		}
		key := d.ID + "\x00" + d.Receiver
		if _, dup := p.seen[key]; dup {
			p.stats.Deduplicated++
			continue
		}
		p.seen[key] = now
		if p.pending == 0 {
			p.idle = make(chan struct{})
		}
		p.pending++
		byReceiver[d.Receiver] = append(byReceiver[d.Receiver], d)
	}
	p.mu.Unlock()
	names := make([]string, 0, len(byReceiver))
	for n := range byReceiver {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p.workers[n].enqueue(byReceiver[n])
	}
}

// Wait blocks until every delivery handed to Deliver is done (delivered or
// given up) or ctx ends.
func (p *Pipeline) Wait(ctx context.Context) error {
	p.mu.Lock()
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the counters so far.
func (p *Pipeline) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops every delivery and waits for their goroutines. Deliveries
// not done yet come back as Stopped and stay in the caller's outbox for
// the next start.
func (p *Pipeline) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
}

func (p *Pipeline) done(r Result) {
	p.mu.Lock()
	switch {
	case r.Delivered:
		p.stats.Delivered++
	case r.Stopped:
		delete(p.seen, r.ID+"\x00"+r.Receiver)
	default:
		p.stats.Failed++
		// A delivery given up may be queued again (after a restart or
		// by hand); dedupe must let it through.
		delete(p.seen, r.ID+"\x00"+r.Receiver)
	}
	if r.Attempts > 1 {
		p.stats.Retries += r.Attempts - 1
	}
	onResult := p.cfg.OnResult
	p.mu.Unlock()
	if onResult != nil {
		onResult(r)
	}
	p.mu.Lock()
	p.pending--
	if p.pending == 0 {
		close(p.idle)
	}
	p.mu.Unlock()
}

// worker is one receiver's share of the retry stage. Each incident with
// deliveries to do here has a lane: the deliveries in the order queued,
// of which only the first is under way, on a goroutine of its own.
// Deliveries of other incidents never wait on it, except for a free slot
// to send in.
type worker struct {
	p     *Pipeline
	r     Receiver
	slots chan struct{} // one token per send open, up to MaxInFlight

	mu      sync.Mutex
	lanes   map[string][]Delivery // incident -> its deliveries not done
	threads map[string]string     // incident -> receipt of its first message
}

// lane is the incident that orders d; a delivery without one is on its own.
func lane(d Delivery) string {
	if d.Incident == "" {
		return "#" + d.ID
	}
	return d.Incident
}

func (w *worker) enqueue(ds []Delivery) {
	p := w.p
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.wg.Add(len(ds))
	}
	p.mu.Unlock()
	if closed {
		for _, d := range ds {
			p.done(Result{Delivery: d, Stopped: true, At: p.clk.Now()})
		}
		return
	}
	var start []Delivery
	w.mu.Lock()
	for _, d := range ds {
		k := lane(d)
		w.lanes[k] = append(w.lanes[k], d)
		if len(w.lanes[k]) == 1 {
			start = append(start, d)
			continue
		}
		p.cfg.Logger.Debug("notification waits for the earlier ones of its incident", "receiver", d.Receiver, "id", d.ID,
			"incident", d.Incident, "ahead", len(w.lanes[k])-1)
	}
	w.mu.Unlock()
	for _, d := range start {
		go w.run(d)
	}
}

// run delivers d, then each delivery queued behind it in its lane, until
// the lane is empty.
func (w *worker) run(d Delivery) {
	for {
		if w.p.ctx.Err() != nil {
			w.p.done(Result{Delivery: d, Stopped: true, At: w.p.clk.Now()})
		} else {
			w.p.done(w.retry(w.p.ctx, d))
		}
		after, ok := w.next(lane(d))
		w.p.wg.Done()
		if !ok {
			return
		}
		d = after
	}
}

// next drops the lane's first delivery, which is done, and returns the
// one after it.
func (w *worker) next(k string) (Delivery, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rest := w.lanes[k][1:]
	if len(rest) == 0 {
		delete(w.lanes, k)
		return Delivery{}, false
	}
	w.lanes[k] = rest
	return rest[0], true
}

// retry is the retry stage: it sends d until it is delivered, the error is
// not retryable, or d is older than MaxAge. A 429's Retry-After is waited
// out in full. It waits between tries without holding a slot.
func (w *worker) retry(ctx context.Context, d Delivery) Result {
	cfg := &w.p.cfg
	if d.Thread == "" {
		w.mu.Lock()
		d.Thread = w.threads[d.Incident]
		w.mu.Unlock()
	}
	res := Result{Delivery: d}
	wait := cfg.Backoff.Initial
	for {
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			res.Stopped, res.At = true, w.p.clk.Now()
			return res
		}
		res.Attempts++
		receipt, err := w.send(ctx, d)
		<-w.slots
		res.At = w.p.clk.Now()
		if err == nil {
			res.Delivered, res.Receipt, res.Err, res.Class = true, receipt, nil, Class{}
			if receipt != "" && (d.Kind == KindFire || d.Kind == KindEscalate || d.Kind == KindTest) {
				w.mu.Lock()
				if _, ok := w.threads[d.Incident]; !ok {
					w.threads[d.Incident] = receipt
				}
				w.mu.Unlock()
			}
			cfg.Logger.Info("notification sent", "receiver", d.Receiver, "id", d.ID, "kind", string(d.Kind), "attempts", res.Attempts)
			return res
		}
		res.Class = Classify(err)
		var safe *Error
		if !errors.As(err, &safe) {
			// A notifier that forgot to scrub gets its error reduced to
			// the class, never its text.
			err = &Error{Class: res.Class, msg: "send failed: " + res.Class.Reason}
		}
		res.Err = err
		if ctx.Err() != nil {
			res.Stopped = true
			return res
		}
		delay := wait
		if cfg.Backoff.Jitter > 0 {
			delay += time.Duration(float64(wait) * cfg.Backoff.Jitter * (cfg.Random()*2 - 1))
		}
		if res.Class.RetryAfter > delay {
			delay = res.Class.RetryAfter
		}
		if !res.Class.Retryable || res.At.Add(delay).Sub(d.Queued) > cfg.MaxAge {
			cfg.Logger.Error("notification not delivered", "receiver", d.Receiver, "id", d.ID, "kind", string(d.Kind),
				"reason", res.Class.Reason, "attempts", res.Attempts, "error", res.Err.Error())
			return res
		}
		cfg.Logger.Warn("notification send failed, retrying", "receiver", d.Receiver, "id", d.ID,
			"reason", res.Class.Reason, "attempt", res.Attempts, "retry_in", delay.String(), "error", res.Err.Error())
		if cfg.Sleep(ctx, delay) != nil {
			res.Stopped = true
			return res
		}
		wait = min(time.Duration(float64(wait)*cfg.Backoff.Multiplier), cfg.Backoff.Max)
	}
}

// send makes one attempt under the per-send timeout, timed by the
// pipeline's clock so that tests of hung receivers run in simulated time.
func (w *worker) send(ctx context.Context, d Delivery) (string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := w.p.clk.NewTimer(w.p.cfg.Timeout)
	defer t.Stop()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-t.C():
			cancel(ErrTimeout)
		case <-stop:
		}
	}()
	receipt, err := w.r.Notifier.Notify(ctx, d)
	if err != nil && errors.Is(context.Cause(ctx), ErrTimeout) {
		return "", &Error{Class: Classify(ErrTimeout), msg: "no answer within " + w.p.cfg.Timeout.String()}
	}
	return receipt, err
}

// clockSleep sleeps on c's timers.
func clockSleep(c clock.Clock) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		t := c.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
