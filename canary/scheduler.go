package canary

import (
	"container/heap"
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// RunFunc runs one attempt of a canary. *Runner.Run is one.
type RunFunc func(ctx context.Context, c *Canary, attempt int, scheduled time.Time) Result

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	Canaries []*Canary
	// Run runs one attempt; required.
	Run RunFunc
	// Observer receives results and overlaps; required.
	Observer Observer
	Clock    clock.Clock
	// MaxConcurrent bounds the runs in flight (default 64).
	MaxConcurrent int
	// Jitter spreads each canary's starts over this fraction of its
	// interval, by a hash of its name, so that they do not all start at once.
	Jitter float64
	// Paused, when set, is asked before each start: a start it pauses (a
	// maintenance window with pause_canaries) is skipped, with no result.
	Paused func(canary string, scheduled time.Time) bool
	Logger *slog.Logger
}

// Scheduler starts every canary on its schedule. Start times are fixed by
// the clock: canary c starts at offset(c) + k*every, counted from the Unix
// epoch, so a slow run never pushes the next one later (no drift) and agents
// in different regions probe at the same instants.
type Scheduler struct {
	cfg SchedulerConfig
	sem chan struct{}

	mu       sync.Mutex
	inFlight map[string]bool
	// running is set while Run runs; replacements then go to Run's loop,
	// which alone owns the schedule.
	running  bool
	replaces chan replaceRequest
	stopped  chan struct{}
}

// replaceRequest is a new set of canaries for Run's loop; done is closed
// once the set is in the schedule.
type replaceRequest struct {
	canaries []*Canary
	done     chan struct{}
}

// NewScheduler checks cfg and returns a Scheduler.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Run == nil {
		return nil, errors.New("scheduler: Run is required")
	}
	if cfg.Observer == nil {
		return nil, errors.New("scheduler: Observer is required")
	}
	if err := checkCanaries(cfg.Canaries); err != nil {
		return nil, err
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	return &Scheduler{
		cfg:      cfg,
		sem:      make(chan struct{}, cfg.MaxConcurrent),
		inFlight: map[string]bool{},
		replaces: make(chan replaceRequest),
		stopped:  make(chan struct{}),
	}, nil
}

func checkCanaries(cs []*Canary) error {
	seen := make(map[string]bool, len(cs))
	for _, c := range cs {
		if c.Every <= 0 {
			return errors.New("scheduler: canary " + c.Name + " has no interval")
		}
		if seen[c.Name] {
			return errors.New("scheduler: two canaries are named " + c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// Replace swaps the set of canaries the scheduler runs, by name. A canary
// whose interval is the same keeps its place in the schedule, whether or
// not the rest of it changed: its next start is the one it had, so a
// replace neither skips nor repeats a run of it. A canary whose interval
// changed moves to its new grid from its next start on; one added starts
// on its grid from now; one removed starts no more, and its runs in
// flight finish and are observed as usual. A bad set is refused whole and
// the old one keeps running. Replace returns once the new set is in the
// schedule, and an error once Run has returned.
func (s *Scheduler) Replace(canaries []*Canary) error {
	if err := checkCanaries(canaries); err != nil {
		return err
	}
	canaries = append([]*Canary(nil), canaries...)
	s.mu.Lock()
	if !s.running {
		select {
		case <-s.stopped:
			s.mu.Unlock()
			return errors.New("scheduler: stopped")
		default:
		}
		s.cfg.Canaries = canaries
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	req := replaceRequest{canaries: canaries, done: make(chan struct{})}
	select {
	case s.replaces <- req:
		<-req.done
		return nil
	case <-s.stopped:
		return errors.New("scheduler: stopped")
	}
}

// Offset returns the canary's deterministic start offset within its
// interval: the same on every agent and every restart.
func Offset(name string, every time.Duration, jitter float64) time.Duration {
	if jitter <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	span := time.Duration(float64(every) * jitter)
	if span <= 0 {
		return 0
	}
	return time.Duration(h.Sum64() % uint64(span))
}

// NextStart returns the first start of a schedule at or after t.
func NextStart(t time.Time, every, offset time.Duration) time.Time {
	base := t.Add(-offset).Truncate(every).Add(offset)
	if base.Before(t) {
		base = base.Add(every)
	}
	return base
}

// Run starts canaries until ctx is done, then waits for the runs in flight
// to finish (each is bounded by its canary's timeout) and returns. Run
// runs once per Scheduler.
func (s *Scheduler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	s.mu.Lock()
	s.running = true
	canaries := s.cfg.Canaries
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		close(s.stopped)
		s.mu.Unlock()
	}()
	// Runs outlive ctx so that SIGTERM lets them finish; each still has its
	// own timeout.
	runCtx := context.WithoutCancel(ctx)

	now := s.cfg.Clock.Now()
	q := make(schedule, 0, len(canaries))
	for _, c := range canaries {
		q = append(q, &slot{c: c, next: NextStart(now, c.Every, s.offset(c))})
	}
	heap.Init(&q)

	for {
		var fire <-chan time.Time
		var timer clock.Timer
		if len(q) > 0 {
			timer = s.cfg.Clock.NewTimer(q[0].next.Sub(s.cfg.Clock.Now()))
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case req := <-s.replaces:
			if timer != nil {
				timer.Stop()
			}
			q = s.replace(q, req.canaries)
			close(req.done)
			continue
		case <-fire:
		}
		now := s.cfg.Clock.Now()
		for len(q) > 0 && !q[0].next.After(now) {
			sl := q[0]
			if s.cfg.Paused == nil || !s.cfg.Paused(sl.c.Name, sl.next) {
				s.dispatch(runCtx, &wg, sl.c, sl.next)
			}
			sl.next = sl.next.Add(sl.c.Every)
			if !sl.next.After(now) {
				// The process was paused for more than an interval (a
				// suspended container, say). Skip the missed slots rather
				// than firing them in a burst, and say so.
				missed := now.Sub(sl.next)/sl.c.Every + 1
				s.cfg.Logger.Warn("scheduler fell behind; skipping missed runs",
					"canary", sl.c.Name, "missed", int64(missed))
				sl.next = NextStart(now.Add(time.Nanosecond), sl.c.Every, s.offset(sl.c))
			}
			heap.Fix(&q, 0)
		}
	}
}

func (s *Scheduler) offset(c *Canary) time.Duration { return Offset(c.Name, c.Every, s.cfg.Jitter) }

// replace builds the schedule of a new set from the old one (see Replace).
func (s *Scheduler) replace(q schedule, canaries []*Canary) schedule {
	now := s.cfg.Clock.Now()
	old := make(map[string]*slot, len(q))
	for _, sl := range q {
		old[sl.c.Name] = sl
	}
	out := make(schedule, 0, len(canaries))
	for _, c := range canaries {
		sl, ok := old[c.Name]
		switch {
		case !ok:
			sl = &slot{c: c, next: NextStart(now, c.Every, s.offset(c))}
		case sl.c.Every != c.Every:
			// The start before sl.next has been dispatched; the new grid
			// begins strictly after it, and not in the past.
			from := sl.next.Add(-sl.c.Every).Add(time.Nanosecond)
			if from.Before(now) {
				from = now
			}
			sl = &slot{c: c, next: NextStart(from, c.Every, s.offset(c))}
		default:
			sl = &slot{c: c, next: sl.next}
		}
		out = append(out, sl)
	}
	heap.Init(&out)
	return out
}

func (s *Scheduler) dispatch(ctx context.Context, wg *sync.WaitGroup, c *Canary, scheduled time.Time) {
	s.mu.Lock()
	busy := s.inFlight[c.Name]
	if !busy {
		s.inFlight[c.Name] = true
	}
	s.mu.Unlock()
	if busy {
		s.cfg.Observer.Overlapped(c.Name, scheduled)
		s.cfg.Logger.Warn("run overlapped: the previous run is still going; this start was skipped",
			"canary", c.Name, "scheduled", scheduled)
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.sem <- struct{}{}
		// finish frees the canary's slot before its last result is
		// reported, so that whoever sees the result sees the canary idle.
		var once sync.Once
		finish := func() {
			once.Do(func() {
				<-s.sem
				s.mu.Lock()
				delete(s.inFlight, c.Name)
				s.mu.Unlock()
			})
		}
		defer finish()
		for attempt := 1; attempt <= 1+c.Retries; attempt++ {
			res := s.cfg.Run(ctx, c, attempt, scheduled)
			last := res.OK || attempt == 1+c.Retries
			if last {
				finish()
			}
			s.cfg.Observer.Observe(res)
			if last {
				return
			}
		}
	}()
}

// slot is one canary's place in the schedule.
type slot struct {
	c    *Canary
	next time.Time
}

// schedule is a min-heap of slots by next start.
type schedule []*slot

func (q schedule) Len() int { return len(q) }
func (q schedule) Less(i, j int) bool {
	if q[i].next.Equal(q[j].next) {
		return q[i].c.Name < q[j].c.Name
	}
	return q[i].next.Before(q[j].next)
}
func (q schedule) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *schedule) Push(x any)   { *q = append(*q, x.(*slot)) }
func (q *schedule) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
