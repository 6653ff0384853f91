package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// CloudWatchMaxAge is how old a period may be and still be replayed to
// CloudWatch, which refuses timestamps over two weeks old. The minute of
// margin keeps a datum from aging past the limit on its way.
const CloudWatchMaxAge = 14*24*time.Hour - time.Minute

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	// Name labels the sink in metrics and logs ("cloudwatch").
	Name string
	Sink Sink
	// Spool keeps what cannot be published. Without one, such data is
	// dropped, counted and logged.
	Spool *Spool
	// Attempts is how many times Deliver tries before it spools (4 when 0).
	Attempts int
	// Backoff spaces Deliver's retries (0.5s doubling to 8s when zero).
	Backoff Backoff
	// MaxAge, when set, drops spooled periods older than it at replay
	// (counted as expired): CloudWatchMaxAge for CloudWatch.
	MaxAge time.Duration
	// ReplayPoints bounds the points one replay publish reads from the
	// spool (5000 when 0): a few PutMetricData calls' worth.
	ReplayPoints int
	// Sleep waits between retries; on Clock when nil.
	Sleep  Sleeper
	Clock  clock.Clock
	Logger *slog.Logger
	Health *Health
}

// Publisher sends batches to one sink, reliably. Deliver retries what
// Classify calls transient, with exponential backoff and jitter, and puts
// what still fails in the spool; Replay sends the spool back out, oldest
// first, once the sink takes data again. While the spool holds anything,
// new batches queue behind it, so the sink sees periods in order. It is the
// synchronous core: the Pipeline runs it apart from the canaries, and a
// Lambda handler calls it directly before it returns.
type Publisher struct {
	cfg PublisherConfig
	mu  sync.Mutex // one delivery or replay at a time keeps the order
}

// NewPublisher returns a Publisher.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if cfg.Sink == nil {
		return nil, errors.New("publisher: Sink is required")
	}
	if cfg.Name == "" {
		cfg.Name = "sink"
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 4
	}
	if cfg.Backoff.Base <= 0 {
		cfg.Backoff = Backoff{Base: 500 * time.Millisecond, Max: 8 * time.Second, Rand: cfg.Backoff.Rand}
	}
	if cfg.ReplayPoints <= 0 {
		cfg.ReplayPoints = 5000
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	if cfg.Sleep == nil {
		cfg.Sleep = ClockSleeper(cfg.Clock)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Publisher{cfg: cfg}, nil
}

// Pending returns how many points wait in the spool.
func (p *Publisher) Pending() int {
	if p.cfg.Spool == nil {
		return 0
	}
	_, points, _ := p.cfg.Spool.Depth()
	return points
}

// Sink returns the sink the publisher sends to.
func (p *Publisher) Sink() Sink { return p.cfg.Sink }

// Deliver publishes b. Transient failures are retried; what still fails is
// spooled, or dropped (counted, logged) when there is no spool or the sink
// rejects it outright. If the spool already holds data, b goes in behind it
// and the spool is replayed. The error says what went wrong, but the data
// is taken care of either way: nil means it was all published.
func (p *Publisher) Deliver(ctx context.Context, b Batch) error {
	if b.Empty() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Pending() > 0 {
		if err := p.cfg.Spool.Append(b); err != nil {
			p.drop(b, DropNoSpool, err)
			return err
		}
		_, err := p.replayLocked(ctx)
		return err
	}
	rest, err := p.send(ctx, b, p.cfg.Attempts)
	if err == nil {
		return nil
	}
	p.keep(rest, err)
	return err
}

// send publishes b, trying up to attempts times while the failures are
// transient. It returns what was not published.
func (p *Publisher) send(ctx context.Context, b Batch, attempts int) (Batch, error) {
	rest := b
	if p.cfg.MaxAge > 0 {
		// The sink would refuse the whole request for one stale period.
		var expired int
		rest, expired = b.since(p.cfg.Clock.Now().Add(-p.cfg.MaxAge))
		if expired > 0 {
			p.cfg.Health.Dropped(DropExpired, expired)
			p.cfg.Logger.Error("dropped periods older than the sink accepts", "sink", p.cfg.Name,
				"points", expired, "max_age", p.cfg.MaxAge.String())
		}
		if rest.Empty() {
			return Batch{}, nil
		}
	}
	var dropErr error
	for try := 0; ; try++ {
		err := p.cfg.Sink.Publish(ctx, rest)
		if err == nil {
			p.cfg.Health.Published(p.cfg.Name, rest.Points(), p.cfg.Clock.Now())
			return Batch{}, dropErr
		}
		left := unsent(rest, err)
		p.cfg.Health.Published(p.cfg.Name, rest.Points()-left.Points(), p.cfg.Clock.Now())
		rest = left
		c := Classify(err)
		p.cfg.Health.SinkError(p.cfg.Name, c.Reason)
		if c.Verdict == Drop {
			// Only what the refused call carried goes; the rest is sent on.
			var pe *PartialError
			untried := Batch{}
			if errors.As(err, &pe) {
				untried = pe.Untried
			}
			p.drop(Batch{Aggregates: rest.Aggregates[:len(rest.Aggregates)-len(untried.Aggregates)],
				Heartbeats: rest.Heartbeats[:len(rest.Heartbeats)-len(untried.Heartbeats)]}, DropRejected, err)
			dropErr = err
			if untried.Empty() {
				return Batch{}, err
			}
			rest = untried
			try--
			continue
		}
		if c.Verdict == RetryLater || try+1 >= attempts || ctx.Err() != nil {
			return rest, err
		}
		delay := p.cfg.Backoff.Delay(try)
		p.cfg.Logger.Debug("publish failed; retrying", "sink", p.cfg.Name, "reason", c.Reason, "in", delay.String(), "err", err)
		if p.cfg.Sleep(ctx, delay) != nil {
			return rest, err
		}
	}
}

// keep spools what could not be sent, or drops it when there is no spool.
func (p *Publisher) keep(rest Batch, err error) {
	if rest.Empty() {
		return
	}
	reason := Classify(err).Reason
	if p.cfg.Spool == nil {
		p.drop(rest, DropNoSpool, err)
		return
	}
	if serr := p.cfg.Spool.Append(rest); serr != nil {
		p.drop(rest, DropNoSpool, fmt.Errorf("%w; and spooling failed: %v", err, serr))
		return
	}
	p.cfg.Logger.Warn("publish failed; spooled for later", "sink", p.cfg.Name, "reason", reason, "points", rest.Points(), "err", err)
}

func (p *Publisher) drop(b Batch, reason string, err error) {
	p.cfg.Health.Dropped(reason, b.Points())
	p.cfg.Logger.Error("publish failed; points dropped", "sink", p.cfg.Name, "drop_reason", reason, "points", b.Points(), "err", err)
}

// Replay publishes the spool, oldest first, until it is empty or the sink
// fails, and returns how many points went out. Periods older than MaxAge
// are dropped as expired; nothing younger is skipped.
func (p *Publisher) Replay(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.replayLocked(ctx)
}

func (p *Publisher) replayLocked(ctx context.Context) (int, error) {
	if p.cfg.Spool == nil {
		return 0, nil
	}
	sent := 0
	for {
		c := p.cfg.Spool.peek(p.cfg.ReplayPoints)
		if c.Empty() {
			if sent > 0 {
				p.cfg.Logger.Info("spool replayed", "sink", p.cfg.Name, "points", sent)
			}
			return sent, nil
		}
		n, err := p.replayChunk(ctx, c)
		sent += n
		if err != nil {
			return sent, err
		}
	}
}

// requestSplitter is a Sink that sends a batch in several requests. The
// replay sends the spool one request at a time and settles each in the
// spool as soon as the sink accepted it, so a kill re-sends at most the
// request in flight.
type requestSplitter interface {
	// SplitRequests cuts b into the parts Publish sends in one request
	// each, in the order it sends them: b's aggregates, then its
	// heartbeats, each part taking up where the one before ended.
	SplitRequests(b Batch) []Batch
}

// replayChunk sends one chunk of the spool request by request, settling
// each request's points before the next goes, and returns how many points
// the sink took. Periods too old for the sink are dropped, counted as they
// are settled.
func (p *Publisher) replayChunk(ctx context.Context, c spoolChunk) (int, error) {
	var cutoff time.Time
	if p.cfg.MaxAge > 0 {
		cutoff = p.cfg.Clock.Now().Add(-p.cfg.MaxAge)
	}
	live, at := c.since(cutoff)
	// settled is how much of c, in its order, is settled; through settles
	// up to the first done points of live, and the expired ones among them.
	settled := 0
	through := func(done int) error {
		n := c.Points()
		if done < live.Points() {
			n = 0
			if done > 0 {
				n = at[done-1] + 1
			}
		}
		if n <= settled {
			return nil
		}
		if expired := (n - settled) - countBelow(at, n) + countBelow(at, settled); expired > 0 {
			p.cfg.Health.Dropped(DropExpired, expired)
			p.cfg.Logger.Error("spool: dropped periods older than the sink accepts", "sink", p.cfg.Name,
				"points", expired, "max_age", p.cfg.MaxAge.String())
		}
		if err := p.cfg.Spool.settle(c, n); err != nil {
			return err
		}
		settled = n
		return nil
	}
	parts := []Batch{live}
	if s, ok := p.cfg.Sink.(requestSplitter); ok && !live.Empty() {
		parts = s.SplitRequests(live)
	}
	// done counts the points of live sent or refused, a prefix of it.
	done := 0
	var refused error
	for _, part := range parts {
		if part.Empty() {
			continue
		}
		rest, err := p.send(ctx, part, 1)
		done += part.Points() - rest.Points()
		if serr := through(done); serr != nil {
			// The Pipeline only counts a failed replay; this is where
			// the reason is known.
			p.cfg.Logger.Error("spool: could not record what was sent; it will be sent again", "sink", p.cfg.Name, "err", serr)
			return done, serr
		}
		if !rest.Empty() {
			return done, err
		}
		if err != nil && refused == nil {
			refused = err // dropped and counted by send; the rest goes on
		}
	}
	if err := through(live.Points()); err != nil {
		return done, err
	}
	return done, refused
}

// since returns the part of c whose periods start at or after cutoff, in
// c's order, and where each of its points is in c.
func (c spoolChunk) since(cutoff time.Time) (Batch, []int) {
	var out Batch
	var at []int
	for i, a := range c.Aggregates {
		if !a.Start.Before(cutoff) {
			out.Aggregates = append(out.Aggregates, a)
			at = append(at, i)
		}
	}
	for i, h := range c.Heartbeats {
		if !h.Start.Before(cutoff) {
			out.Heartbeats = append(out.Heartbeats, h)
			at = append(at, len(c.Aggregates)+i)
		}
	}
	return out, at
}

// countBelow counts the values of the ascending at under n.
func countBelow(at []int, n int) int { return sort.SearchInts(at, n) }

// Close closes the sink.
func (p *Publisher) Close(ctx context.Context) error { return p.cfg.Sink.Close(ctx) }

// PipelineConfig configures a Pipeline.
type PipelineConfig struct {
	Publisher *Publisher
	// Queue is how many batches may wait for the publisher (16 when 0).
	// Past that, batches go straight to the spool.
	Queue int
	// ReplayBackoff spaces replays while the sink stays down (1s doubling
	// to 5m when zero).
	ReplayBackoff Backoff
	Clock         clock.Clock
	// Stepped, when set, is called after each delivery or replay with the
	// points left in the spool; tests wait on it instead of sleeping.
	Stepped func(pending int)
}

// Pipeline runs a Publisher on its own goroutine, so a slow or failing sink
// never holds up the flusher, let alone a probe. Publish only queues.
type Pipeline struct {
	cfg   PipelineConfig
	queue chan Batch
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	start sync.Once
	ran   bool
	// runCtx is what an in-flight delivery runs under: canceled only when
	// Close runs out of time, so a shutdown lets it finish.
	runCtx    context.Context
	runCancel context.CancelFunc
}

// NewPipeline returns a Pipeline; Start starts it.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	if cfg.Publisher == nil {
		return nil, errors.New("pipeline: Publisher is required")
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 16
	}
	if cfg.ReplayBackoff.Base <= 0 {
		cfg.ReplayBackoff = Backoff{Base: time.Second, Max: 5 * time.Minute, Rand: cfg.ReplayBackoff.Rand}
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	ctx, cancel := context.WithCancel(context.Background())
	return &Pipeline{cfg: cfg, queue: make(chan Batch, cfg.Queue), stop: make(chan struct{}), done: make(chan struct{}),
		runCtx: ctx, runCancel: cancel}, nil
}

// Publish queues b for the publisher. When the queue is full (the sink is
// that slow), it waits for room, which holds up the flusher but never a
// probe: the recorder keeps counting meanwhile. If ctx ends first, b is
// spooled.
func (p *Pipeline) Publish(ctx context.Context, b Batch) error {
	if b.Empty() {
		return nil
	}
	select {
	case p.queue <- b:
		return nil
	default:
	}
	pub := p.cfg.Publisher
	if pub.cfg.Spool == nil {
		pub.drop(b, DropNoSpool, errors.New("the publishing queue is full"))
		return errors.New("pipeline: queue full; batch dropped")
	}
	// The queue is ahead of the spool; spooling now would put b ahead of
	// the queued batches, so wait for room instead, unless shutting down.
	select {
	case p.queue <- b:
		return nil
	case <-ctx.Done():
		pub.mu.Lock()
		pub.keep(b, ctx.Err())
		pub.mu.Unlock()
		return nil
	}
}

// Start starts delivering queued batches, and replaying the spool with
// backoff while the sink is down, on a goroutine of its own until Close.
func (p *Pipeline) Start() {
	p.start.Do(func() {
		p.ran = true
		go p.run()
	})
}

func (p *Pipeline) run() {
	defer close(p.done)
	pub := p.cfg.Publisher
	ctx := p.runCtx
	failures := 0
	for {
		var timerC <-chan time.Time
		var timer clock.Timer
		if pub.Pending() > 0 {
			timer = p.cfg.Clock.NewTimer(p.cfg.ReplayBackoff.Delay(failures))
			timerC = timer.C()
		}
		select {
		case <-p.stop:
			if timer != nil {
				timer.Stop()
			}
			return
		case b := <-p.queue:
			if err := pub.Deliver(ctx, b); err != nil && pub.Pending() > 0 {
				failures++
			} else if err == nil {
				failures = 0
			}
		case <-timerC:
			if _, err := pub.Replay(ctx); err != nil {
				failures++
			} else {
				failures = 0
			}
		}
		if timer != nil {
			timer.Stop()
		}
		if p.cfg.Stepped != nil {
			p.cfg.Stepped(pub.Pending())
		}
	}
}

// Close stops Run and then, within ctx, delivers what is still queued:
// each batch is tried until ctx runs out and spooled after that, so a
// SIGTERM leaves nothing only in memory. Then it closes the sink.
func (p *Pipeline) Close(ctx context.Context) error {
	p.once.Do(func() { close(p.stop) })
	p.start.Do(func() {}) // a pipeline never started stays so
	defer p.runCancel()
	if p.ran {
		select {
		case <-p.done:
		case <-ctx.Done():
			p.runCancel() // the delivery in flight spools what it has
			<-p.done
		}
	}
	pub := p.cfg.Publisher
	for {
		select {
		case b := <-p.queue:
			if ctx.Err() != nil {
				pub.mu.Lock()
				pub.keep(b, ctx.Err())
				pub.mu.Unlock()
				continue
			}
			_ = pub.Deliver(ctx, b)
		default:
			return pub.Close(ctx)
		}
	}
}
