package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// Evaluator is what the service asks for decisions; *slo.Evaluator is one.
type Evaluator interface {
	Evaluate(ctx context.Context, slos []slo.SLO) ([]slo.Decision, error)
}

// Watch is a dead-man's switch: it fires a no_data alert when a canary's
// Attempts, an agent's AgentHeartbeat, the total events of an SLO's
// ratio SLI, or any datapoint of a period SLI's metric have not arrived
// for Periods periods.
type Watch struct {
	// Exactly one of Canary, Agent and SLO is set. An SLO's watch counts
	// the total events of SLI: a ratio SLI's total metric, or a period
	// SLI's slices with a datapoint of its metric (then Period is the
	// slice).
	Canary string
	Agent  string
	SLO    string
	SLI    slo.SLI
	// Period is the metric period; Periods how many of them may pass
	// without data.
	Period  time.Duration
	Periods int
}

// Subject is the name the watch's alert goes by: canary/NAME, agent/NAME,
// or an SLO's own name, so that its no_data alert sits beside its page and
// ticket and takes its links.
func (w Watch) Subject() string {
	switch {
	case w.Agent != "":
		return "agent/" + w.Agent
	case w.SLO != "":
		return w.SLO
	}
	return "canary/" + w.Canary
}

// what names the data the watch waits for, for its alert's reason.
func (w Watch) what() string {
	switch {
	case w.Agent != "":
		return "AgentHeartbeat"
	case w.SLO != "" && w.SLI.Total != nil:
		return w.SLI.Total.String()
	case w.SLO != "" && w.SLI.Metric != nil:
		return w.SLI.Metric.String()
	}
	return "Attempts"
}

func (w Watch) validate() error {
	set := 0
	for _, name := range []string{w.Canary, w.Agent, w.SLO} {
		if name != "" {
			set++
		}
	}
	switch {
	case set != 1:
		return fmt.Errorf("watch %s needs exactly one of canary, agent and SLO", w.Subject())
	case w.SLO != "" && !(w.SLI.Kind == slo.SLIRatio && w.SLI.Total != nil) && !(periodic(w.SLI) && w.SLI.Metric != nil):
		return fmt.Errorf("watch %s: an SLO's watch counts the total of a ratio SLI or the slices of a threshold or raw_ratio SLI", w.Subject())
	case w.Period <= 0 || w.Periods < 1:
		return fmt.Errorf("watch %s needs a period and at least one period", w.Subject())
	}
	return nil
}

// periodic says whether sli judges periods (threshold, raw_ratio): its
// events are the slices with a datapoint.
func periodic(sli slo.SLI) bool {
	return sli.Kind == slo.SLIThreshold || sli.Kind == slo.SLIRawRatio
}

// Span is how far back the watch looks.
func (w Watch) Span() time.Duration { return time.Duration(w.Periods) * w.Period }

// DataSource tells how much data arrived for each watch.
type DataSource interface {
	// Arrived returns, for each watch in order, the events counted in
	// [now - watch.Span(), now): Attempts for a canary, AgentHeartbeat
	// for an agent, the ratio SLI's total events or the period SLI's
	// slices with data for an SLO.
	Arrived(ctx context.Context, watches []Watch, now time.Time) ([]float64, error)
}

// CountsDataSource answers canary and SLO watches from an slo.Source (a
// canary's total events are its Attempts) and agent watches from
// Heartbeats.
type CountsDataSource struct {
	Source slo.Source
	// Heartbeats counts agents' AgentHeartbeat; nil makes agent watches an
	// error.
	Heartbeats slo.HeartbeatSource
}

// Arrived implements DataSource. Watches are asked on whole minutes, which
// every source can answer (CloudWatch requires it): the span ends at the
// last whole minute and is rounded up to whole minutes, so a switch may
// fire up to two minutes later than its periods alone say.
func (c CountsDataSource) Arrived(ctx context.Context, watches []Watch, now time.Time) ([]float64, error) {
	out := make([]float64, len(watches))
	to := now.Truncate(time.Minute)
	var queries []slo.Query
	var idx []int
	agents := map[time.Duration][]int{} // agent watches by span
	var spans []time.Duration
	for i, w := range watches {
		span := w.Span()
		if span%time.Minute != 0 {
			span = span.Truncate(time.Minute) + time.Minute
		}
		if w.Agent == "" {
			q := slo.Query{SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: w.Canary}, From: to.Add(-span), To: to, Step: span}
			if w.SLO != "" {
				q.SLI = w.SLI
			}
			if periodic(w.SLI) {
				// One span-long period would hold one datapoint at most:
				// count the slices instead, as the SLO's budget does.
				q.Slices = &slo.SliceSpec{Length: w.Period}
			}
			queries = append(queries, q)
			idx = append(idx, i)
			continue
		}
		if c.Heartbeats == nil {
			return nil, fmt.Errorf("watch %s: no source of agent heartbeats is configured", w.Subject())
		}
		if _, ok := agents[span]; !ok {
			spans = append(spans, span)
		}
		agents[span] = append(agents[span], i)
	}
	for _, span := range spans {
		names := make([]string, len(agents[span]))
		for k, i := range agents[span] {
			names[k] = watches[i].Agent
		}
		n, err := c.Heartbeats.AgentHeartbeats(ctx, names, to.Add(-span), to)
		if err != nil {
			return nil, fmt.Errorf("agent watches: %w", err)
		}
		if len(n) != len(names) {
			return nil, fmt.Errorf("agent watches: the source answered %d of %d agents", len(n), len(names))
		}
		for k, i := range agents[span] {
			out[i] = n[k]
		}
	}
	if len(queries) > 0 {
		series, err := c.Source.Counts(ctx, queries)
		if err != nil {
			return nil, err
		}
		if len(series) != len(queries) {
			return nil, fmt.Errorf("the source answered %d of %d watch queries", len(series), len(queries))
		}
		for j, s := range series {
			_, total := s.Sum()
			out[idx[j]] = total
		}
	}
	return out, nil
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	// Evaluator, Machine, Pipeline and Store are required.
	Evaluator Evaluator
	SLOs      []slo.SLO
	Machine   *Machine
	Pipeline  *Pipeline
	Store     Store
	// Watches and Data are the dead-man's switches; Data is required when
	// there are watches.
	Watches []Watch
	Data    DataSource
	// Failures are the canary failure rules (failures.go). Source counts
	// their runs and Regions lists where to look; both are required when
	// there are rules.
	Failures []FailureRule
	Source   slo.Source
	Regions  RegionSource
	// Maintenance holds the switches and failure rules of the canaries
	// (and ratio SLOs) its windows cover (maintenance.go).
	Maintenance []slo.Maintenance
	// Interval is how often Run evaluates (default one minute).
	Interval time.Duration
	// Heartbeat is called after every evaluation that succeeds, so an
	// outside alarm can watch the watcher.
	Heartbeat func(ctx context.Context, at time.Time) error
	// RecentFailure, when set, gives an SLO's notifications the most
	// recent failed run of its canary (Details.LastFailure).
	RecentFailure RecentFailureFunc
	Clock         clock.Clock
	Logger        *slog.Logger

	// OnDecisions, when set, hears each round's decisions as soon as they
	// are made, before the machine steps (the agent's /metrics shows them).
	OnDecisions func([]slo.Decision)
}

// Service is the evaluation loop: every interval it evaluates the SLOs and
// the watches, steps the state machine, saves the alerts with their outbox,
// and hands the notifications to the pipeline.
type Service struct {
	cfg ServiceConfig
	clk clock.Clock
	log *slog.Logger

	// canaries maps an SLO's name, or a failure rule's subject, to its
	// canary, for RecentFailure.
	canaries map[string]string
	// inhibitors maps a canary to the pages of the SLOs over it: while
	// one fires, the canary's failure rule is inhibited, so one outage
	// does not page twice.
	inhibitors map[string][]Key

	mu     sync.Mutex
	loaded bool
	alerts map[Key]Alert
}

// NewService checks cfg and returns a Service. It also becomes the
// pipeline's OnResult listener, so a delivery leaves the outbox when done.
func NewService(cfg ServiceConfig) (*Service, error) {
	switch {
	case cfg.Evaluator == nil:
		return nil, errors.New("alerting: the service needs an evaluator")
	case cfg.Machine == nil:
		return nil, errors.New("alerting: the service needs a state machine")
	case cfg.Pipeline == nil:
		return nil, errors.New("alerting: the service needs a pipeline")
	case cfg.Store == nil:
		return nil, errors.New("alerting: the service needs a store")
	case len(cfg.Watches) > 0 && cfg.Data == nil:
		return nil, errors.New("alerting: dead-man's switches need a data source")
	case len(cfg.Failures) > 0 && (cfg.Source == nil || cfg.Regions == nil):
		return nil, errors.New("alerting: failure rules need a source and a region source")
	}
	for _, r := range cfg.Failures {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("alerting: %w", err)
		}
	}
	for _, w := range cfg.Watches {
		if err := w.validate(); err != nil {
			return nil, fmt.Errorf("alerting: %w", err)
		}
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, clk: clock.OrReal(cfg.Clock), log: cfg.Logger, canaries: map[string]string{}, inhibitors: map[string][]Key{}}
	for _, o := range cfg.SLOs {
		s.canaries[o.Name] = o.SLI.Canary
		if o.SLI.Canary != "" {
			s.inhibitors[o.SLI.Canary] = append(s.inhibitors[o.SLI.Canary], Key{Subject: o.Name, Severity: Page})
		}
	}
	for _, r := range cfg.Failures {
		s.canaries[r.Subject()] = r.Canary
	}
	cfg.Pipeline.listen(s.delivered)
	return s, nil
}

// Start loads the alerts and sends what their outbox still holds: what
// the last process saved but did not get to deliver.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	err := s.loadLocked(ctx)
	var ds []Delivery
	if err == nil {
		for _, a := range s.alerts {
			ds = append(ds, s.outbox(a)...)
		}
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if len(ds) > 0 {
		s.log.Info("sending notifications left over from the last run", "deliveries", len(ds))
		s.cfg.Pipeline.Deliver(ds)
	}
	return nil
}

func (s *Service) loadLocked(ctx context.Context) error {
	as, err := s.cfg.Store.Load(ctx)
	if err != nil {
		return err
	}
	s.alerts = make(map[Key]Alert, len(as))
	for _, a := range as {
		s.alerts[a.Key] = a
	}
	s.loaded = true
	return nil
}

// outbox turns an alert's pending notifications into deliveries.
func (s *Service) outbox(a Alert) []Delivery {
	var ds []Delivery
	for _, p := range a.Pending {
		for _, r := range p.Receivers {
			d := Delivery{Notification: p.Notification, Receiver: r, Queued: p.Queued}
			if p.Notification.Incident == a.Incident() {
				d.Thread = a.Threads[r]
			}
			ds = append(ds, d)
		}
	}
	return ds
}

// Run evaluates every interval, aligned to the clock, until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	for {
		now := s.clk.Now()
		next := now.Truncate(s.cfg.Interval).Add(s.cfg.Interval)
		t := s.clk.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("evaluation failed", "error", err.Error())
		}
	}
}

// Once is one Lambda invocation: start, evaluate, and wait for the
// deliveries until ctx's deadline. What is not delivered by then stays in
// the outbox for the next invocation.
func (s *Service) Once(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	err := s.Tick(ctx)
	if werr := s.cfg.Pipeline.Wait(ctx); werr != nil && err == nil {
		err = fmt.Errorf("alerting: deliveries still pending at the deadline: %w", werr)
	}
	return err
}

// Tick is one evaluation.
func (s *Service) Tick(ctx context.Context) error {
	now := s.clk.Now()
	decisions, err := s.cfg.Evaluator.Evaluate(ctx, s.cfg.SLOs)
	if err != nil {
		return err
	}
	if s.cfg.OnDecisions != nil {
		s.cfg.OnDecisions(decisions)
	}
	// A switch or failure rule whose data cannot be read holds its alert
	// as it is, and the SLOs are judged all the same: one failed read never
	// silences the rest of the round, above all not an SLO's error alert,
	// which is how on-call hears that the source is down.
	watches, err := s.checkWatches(ctx, now, decisions)
	if err != nil {
		s.log.Error("dead-man's switches not checked this round; their alerts hold", "error", err.Error())
		watches = s.holdWatches()
	}
	failures, err := s.checkFailures(ctx, now)
	if err != nil {
		s.log.Error("canary failure rules not checked this round; their alerts hold", "error", err.Error())
		failures = s.holdFailures()
	}
	ds, err := s.step(ctx, Input{Decisions: decisions, Watches: s.holdInMaintenance(now, append(watches, failures...))}, now)
	if err != nil {
		return err
	}
	s.cfg.Pipeline.Deliver(ds)
	if s.cfg.Heartbeat != nil {
		if err := s.cfg.Heartbeat(ctx, now); err != nil {
			return fmt.Errorf("alerting: publishing the evaluator heartbeat: %w", err)
		}
	}
	return nil
}

// holdWatches is every switch's verdict when none could be checked: each
// alert stays as it is.
func (s *Service) holdWatches() []WatchResult {
	out := make([]WatchResult, len(s.cfg.Watches))
	for i, w := range s.cfg.Watches {
		out[i] = WatchResult{Subject: w.Subject(), Severity: NoData, Hold: true, Reason: "not checked: its data could not be read"}
	}
	return out
}

// holdFailures is every failure rule's verdict when none could be checked.
func (s *Service) holdFailures() []WatchResult {
	out := make([]WatchResult, len(s.cfg.Failures))
	for i, r := range s.cfg.Failures {
		out[i] = WatchResult{Subject: r.Subject(), Severity: r.Severity, Hold: true, Reason: "not checked: its runs could not be read"}
	}
	return out
}

func (s *Service) checkWatches(ctx context.Context, now time.Time, decisions []slo.Decision) ([]WatchResult, error) {
	if len(s.cfg.Watches) == 0 {
		return nil, nil
	}
	counts, err := s.arrived(ctx, now, decisions)
	if err != nil {
		return nil, fmt.Errorf("alerting: checking for data: %w", err)
	}
	// A switch fires when data stops arriving, not when it never began: a
	// fresh agent, or a canary just added, has nothing in its first span.
	// So a silent watch counts only if data arrived in the span before, or
	// its alert already fires (then it keeps firing until data returns).
	var quiet []Watch
	var quietAt []int
	s.mu.Lock()
	if !s.loaded {
		if err := s.loadLocked(ctx); err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("alerting: loading alert state: %w", err)
		}
	}
	for i, w := range s.cfg.Watches {
		if counts[i] > 0 {
			continue
		}
		if a, ok := s.alerts[Key{Subject: w.Subject(), Severity: NoData}]; ok && a.Status == Firing {
			continue
		}
		quiet, quietAt = append(quiet, w), append(quietAt, i)
	}
	s.mu.Unlock()
	everArrived := make([]bool, len(s.cfg.Watches))
	for i := range everArrived {
		everArrived[i] = true
	}
	if len(quiet) > 0 {
		before, err := s.cfg.Data.Arrived(ctx, quiet, now.Add(-quiet[0].Span()))
		if err != nil {
			return nil, fmt.Errorf("alerting: checking for earlier data: %w", err)
		}
		for k, i := range quietAt {
			if quiet[k].Span() != quiet[0].Span() {
				// Spans differ only with mixed periods; ask again for this one.
				b, err := s.cfg.Data.Arrived(ctx, quiet[k:k+1], now.Add(-quiet[k].Span()))
				if err != nil {
					return nil, fmt.Errorf("alerting: checking for earlier data: %w", err)
				}
				before[k] = b[0]
			}
			everArrived[i] = before[k] > 0
		}
	}
	out := make([]WatchResult, len(s.cfg.Watches))
	for i, w := range s.cfg.Watches {
		what := w.what()
		out[i] = WatchResult{Subject: w.Subject(), Silent: counts[i] <= 0 && everArrived[i]}
		if counts[i] <= 0 && !everArrived[i] {
			out[i].Reason = fmt.Sprintf("no %s for %s yet; the switch arms once data has arrived", what, w.Subject())
			continue
		}
		if out[i].Silent {
			out[i].Reason = fmt.Sprintf("no %s for %s in the last %d periods (%s)", what, w.Subject(), w.Periods, slo.FormatDuration(w.Span()))
		} else {
			out[i].Reason = fmt.Sprintf("%s arrive again for %s", what, w.Subject())
		}
	}
	return out, nil
}

// arrived counts each watch's data. A canary's Attempts over a span are
// already in this round's decisions when an SLO over that canary, in every
// region, has a window of that span ending now: its total events; so are a
// ratio SLO's total events over each of its windows, and a period SLO's
// slices with data. Those watches are
// answered from there, which over CloudWatch saves billed series each
// round; the rest ask Data.
func (s *Service) arrived(ctx context.Context, now time.Time, decisions []slo.Decision) ([]float64, error) {
	type key struct {
		canary, slo string
		span        time.Duration
	}
	known := map[key]float64{}
	for _, d := range decisions {
		if !d.At.Equal(now.Truncate(time.Minute)) {
			continue
		}
		var k key
		switch {
		case d.SLI.Kind == slo.SLIRatio || periodic(d.SLI):
			k.slo = d.SLO
		case d.SLI.Canary != "" && len(d.SLI.Regions) == 0 && (d.SLI.Kind == slo.SLIAvailability || d.SLI.Kind == slo.SLILatency):
			k.canary = d.SLI.Canary
		default:
			continue
		}
		for _, b := range d.Burns {
			k.span = b.Window
			known[k] = b.Total
		}
	}
	counts := make([]float64, len(s.cfg.Watches))
	var ask []Watch
	var askAt []int
	for i, w := range s.cfg.Watches {
		k := key{canary: w.Canary, span: w.Span()}
		if w.SLO != "" {
			k = key{slo: w.SLO, span: w.Span()}
		}
		if total, ok := known[k]; ok && w.Agent == "" {
			counts[i] = total
			continue
		}
		ask, askAt = append(ask, w), append(askAt, i)
	}
	if len(ask) == 0 {
		return counts, nil
	}
	got, err := s.cfg.Data.Arrived(ctx, ask, now)
	if err != nil {
		return nil, err
	}
	if len(got) != len(ask) {
		return nil, fmt.Errorf("the data source answered %d of %d watches", len(got), len(ask))
	}
	for k, i := range askAt {
		counts[i] = got[k]
	}
	return counts, nil
}

// step runs the machine, saves the alerts it changed with their new
// notifications in the outbox, and returns the deliveries to make.
func (s *Service) step(ctx context.Context, in Input, now time.Time) ([]Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		if err := s.loadLocked(ctx); err != nil {
			return nil, err
		}
	}
	st := s.cfg.Machine.Step(s.alerts, in, now)
	s.silence(ctx, &st, now)
	s.addFailures(st.Notifications, now)
	byKey := map[Key][]Notification{}
	for _, n := range st.Notifications {
		byKey[n.Key] = append(byKey[n.Key], n)
	}
	var out []Delivery
	for _, k := range st.Changed {
		a := st.Alerts[k]
		a.Pending = append([]Pending(nil), a.Pending...)
		if a.Status == Firing && a.FiredAt.Equal(now) {
			a.Threads = nil // a new incident
		}
		for _, n := range byKey[k] {
			ds := s.cfg.Pipeline.Plan([]Notification{n}, now)
			if len(ds) == 0 {
				continue
			}
			p := Pending{Notification: n, Queued: now}
			for _, d := range ds {
				p.Receivers = append(p.Receivers, d.Receiver)
			}
			a.Pending = append(a.Pending, p)
		}
		err := s.cfg.Store.Save(ctx, &a)
		if errors.Is(err, ErrIncidentNotRecorded) {
			s.log.Error("the alert history lacks an incident; alerting goes on", "alert", k.String(), "error", err.Error())
			err = nil
		}
		if err != nil {
			// Another evaluator saved first: it owns this step. Reload so
			// the next step starts from what it wrote.
			rerr := s.loadLocked(ctx)
			if errors.Is(err, ErrConflict) && rerr == nil {
				s.log.Warn("alert saved by another evaluator; this step is left to it", "alert", k.String())
				return nil, nil
			}
			return nil, errors.Join(err, rerr)
		}
		s.alerts[k] = a
		for _, p := range a.Pending {
			if p.Queued.Equal(now) {
				out = append(out, s.outbox(Alert{Key: a.Key, FiredAt: a.FiredAt, Threads: a.Threads, Pending: []Pending{p}})...)
			}
		}
	}
	return out, nil
}

// silence applies the silences to a step: a notification of an alert a
// silence covers is dropped, and its alert remembers it (Alert.Silenced);
// an alert still firing whose silence has ended is sent then, once, as the
// notification it held back. A resolve goes out, silence or not, if its
// incident was announced; if the fire itself was held back, so is the
// resolve. Silences that cannot be read hold nothing back: a missed page
// costs more than a page sent during maintenance.
func (s *Service) silence(ctx context.Context, st *Step, now time.Time) {
	store, ok := s.cfg.Store.(SilenceStore)
	if !ok {
		return
	}
	all, err := store.Silences(ctx)
	if err != nil {
		s.log.Error("silences not read this round; none holds", "error", err.Error())
		return
	}
	var active []Silence
	for _, sl := range all {
		if sl.Active(now) {
			active = append(active, sl)
		}
	}
	silencedBy := func(k Key) string {
		for _, sl := range active {
			if sl.matches(k, s.canaries) {
				return sl.ID
			}
		}
		return ""
	}
	changed := map[Key]bool{}
	for _, k := range st.Changed {
		changed[k] = true
	}
	change := func(k Key, a Alert) {
		st.Alerts[k] = a
		if !changed[k] {
			changed[k] = true
			st.Changed = append(st.Changed, k)
		}
	}
	kept := st.Notifications[:0:0]
	sent := map[Key]bool{}
	for _, n := range st.Notifications {
		a := st.Alerts[n.Key]
		switch {
		case n.Inhibited:
		case n.Kind == KindResolve:
			held := a.Silenced == KindFire || a.Silenced == KindEscalate
			if a.Silenced != "" {
				a.Silenced = ""
				change(n.Key, a)
			}
			if held {
				s.log.Info("resolve held back: its fire was silenced", "alert", n.Key.String(), "id", n.ID)
				continue
			}
		default:
			if id := silencedBy(n.Key); id != "" {
				if a.Silenced == "" || a.Silenced == KindRemind {
					a.Silenced = n.Kind
				}
				a.SilencedBy = id
				change(n.Key, a)
				s.log.Info("notification silenced", "alert", n.Key.String(), "id", n.ID, "kind", string(n.Kind), "silence", id)
				continue
			}
			sent[n.Key] = true
			if a.Silenced != "" {
				a.Silenced = ""
				change(n.Key, a)
			}
		}
		kept = append(kept, n)
	}
	// Alerts whose silence ended while they fire.
	var due []Key
	for k, a := range st.Alerts {
		if a.Status == Firing && a.Silenced != "" && !sent[k] && silencedBy(k) == "" {
			due = append(due, k)
		}
	}
	sortKeys(due)
	for _, k := range due {
		a := st.Alerts[k]
		a.Seq++
		kept = append(kept, Notification{
			ID: a.Incident() + "#" + itoa(a.Seq), DedupeKey: k.String(), Incident: a.Incident(),
			Kind: a.Silenced, Key: k, At: now, FiredAt: a.FiredAt, Details: a.Last,
			Links: s.cfg.Machine.cfg.Links.For(k.Subject),
		})
		s.log.Info("silence over, alert still firing: sending it now", "alert", k.String(), "kind", string(a.Silenced))
		a.Silenced, a.LastSent = "", now
		change(k, a)
	}
	st.Notifications = kept
}

// addFailures gives each SLO or failure rule notification its canary's
// most recent failed run. It runs before the notifications are saved to the outbox, so a
// replay after a restart shows the same failure as the first attempt.
func (s *Service) addFailures(ns []Notification, now time.Time) {
	if s.cfg.RecentFailure == nil {
		return
	}
	for i := range ns {
		n := &ns[i]
		if n.Key.Severity == NoData {
			continue
		}
		name := s.canaries[n.Key.Subject]
		if name == "" {
			continue // a ratio SLI, or an SLO or rule no longer in the config
		}
		f, ok := s.cfg.RecentFailure(name)
		if !ok || !n.Details.relevant(f.At, now) {
			continue
		}
		f = f.bounded()
		n.Details.LastFailure = &f
	}
}

// delivered takes a finished delivery out of its alert's outbox and keeps
// the receipt that later messages of the incident thread on.
func (s *Service) delivered(r Result) {
	if r.Stopped || r.Kind == KindTest {
		return
	}
	if !r.Delivered {
		s.log.Error("notification lost", "receiver", r.Receiver, "id", r.ID, "reason", r.Class.Reason)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[r.Key]
	if !ok {
		return
	}
	a.Pending = removeReceiver(a.Pending, r.ID, r.Receiver)
	if r.Delivered && r.Receipt != "" && r.Incident == a.Incident() && a.Threads[r.Receiver] == "" &&
		(r.Kind == KindFire || r.Kind == KindEscalate) {
		th := make(map[string]string, len(a.Threads)+1)
		for k, v := range a.Threads {
			th[k] = v
		}
		th[r.Receiver] = r.Receipt
		a.Threads = th
	}
	ctx := context.Background()
	err := s.cfg.Store.Save(ctx, &a)
	if errors.Is(err, ErrIncidentNotRecorded) {
		s.log.Error("the alert history lacks an incident; alerting goes on", "alert", r.Key.String(), "error", err.Error())
		err = nil
	}
	if err != nil {
		s.log.Error("saving a delivery's outcome failed; it may be sent again after a restart",
			"alert", r.Key.String(), "id", r.ID, "error", err.Error())
		if lerr := s.loadLocked(ctx); lerr != nil {
			s.log.Error("reloading alerts failed", "error", lerr.Error())
		}
		return
	}
	s.alerts[r.Key] = a
}

func removeReceiver(ps []Pending, id, receiver string) []Pending {
	out := make([]Pending, 0, len(ps))
	for _, p := range ps {
		if p.Notification.ID == id {
			rs := make([]string, 0, len(p.Receivers))
			for _, x := range p.Receivers {
				if x != receiver {
					rs = append(rs, x)
				}
			}
			p.Receivers = rs
		}
		if len(p.Receivers) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// Alerts returns a copy of the alerts as the service holds them.
func (s *Service) Alerts() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Alert, 0, len(s.alerts))
	for _, a := range s.alerts {
		out = append(out, a)
	}
	sortAlerts(out)
	return out
}
