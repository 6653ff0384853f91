package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
)

// A reload re-reads the config of a running agent, on SIGHUP or POST
// /-/reload (server.reload: true). It is all or nothing: a config that
// does not load, or that changes what only a restart can change, is
// refused with its errors in the log, and the old one keeps running.
// Otherwise the scheduler swaps its canaries by name (canary.Scheduler.
// Replace keeps the schedule of every canary whose interval is the same),
// what the recorder holds of removed canaries is published at once, and
// the evaluator starts again on the new SLOs when they or the alerting
// changed. Alert state and silences live in the alert store, which the
// new evaluator reads, so a firing alert stays firing and pages no twice.

// reloadRequest asks the agent's loop to reload; the outcome goes to done
// (buffered) when it is not nil.
type reloadRequest struct {
	done chan error
}

// reloadRefused is a reload's refusal: every reason, each naming its key.
type reloadRefused struct {
	file    string
	reasons []string
}

func (r *reloadRefused) Error() string {
	return fmt.Sprintf("reload of %s refused: %d problem(s); the running config is kept", r.file, len(r.reasons))
}

// reloadGauges are the outcome of the latest reload on /metrics. The load
// at start counts as a successful one, as Prometheus counts its own.
type reloadGauges struct {
	mu          sync.Mutex
	ok          bool
	lastSuccess time.Time
}

func (g *reloadGauges) set(ok bool, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ok = ok
	if ok {
		g.lastSuccess = at
	}
}

// WriteMetrics implements metrics.Collector.
func (g *reloadGauges) WriteMetrics(out io.Writer) error {
	g.mu.Lock()
	ok, at := g.ok, g.lastSuccess
	g.mu.Unlock()
	w := bufio.NewWriter(out)
	v := "0"
	if ok {
		v = "1"
	}
	w.WriteString("# HELP nines_config_last_reload_successful Whether the latest config reload (SIGHUP, POST /-/reload) succeeded; the load at start counts as one.\n")
	w.WriteString("# TYPE nines_config_last_reload_successful gauge\n")
	w.WriteString("nines_config_last_reload_successful " + v + "\n")
	w.WriteString("# HELP nines_config_last_reload_success_timestamp_seconds When the config was last loaded successfully, in Unix seconds.\n")
	w.WriteString("# TYPE nines_config_last_reload_success_timestamp_seconds gauge\n")
	w.WriteString("nines_config_last_reload_success_timestamp_seconds " + strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', -1, 64) + "\n")
	return w.Flush()
}

// requestReload hands a reload to the agent's loop and waits for its
// outcome; errAgentStopped once the loop has ended.
func (a *agent) requestReload(ctx context.Context) error {
	req := reloadRequest{done: make(chan error, 1)}
	select {
	case a.reloads <- req:
	case <-a.stopped:
		return errAgentStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errAgentStopped = errors.New("the agent is stopping")

// reloadHandler is POST /-/reload: 200 once the new config runs, 400 with
// the reasons when it was refused, 403 while server.reload is off.
func (a *agent) reloadHandler(w http.ResponseWriter, r *http.Request) {
	if !a.httpReload {
		writeJSON(w, http.StatusForbidden, map[string]any{"status": "off",
			"error": "POST /-/reload is off: set server.reload: true in the config (then restart), or send the agent SIGHUP"})
		return
	}
	err := a.requestReload(r.Context())
	var refused *reloadRefused
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded"})
	case errors.As(err, &refused):
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "refused", "errors": refused.reasons})
	default:
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "failed", "error": err.Error()})
	}
}

// reload re-reads the config and applies it, or refuses it whole. It runs
// on the agent's loop, one at a time.
func (a *agent) reload(ctx context.Context) error {
	log := a.deps.logger
	if a.deps.reload == nil {
		return errors.New("this agent cannot reload its config")
	}
	next, err := a.deps.reload()
	var reference map[string]*canary.Canary
	if err == nil {
		reference, err = a.referenceOf(next)
	}
	if err == nil {
		err = a.reloadable(next)
	}
	if err != nil {
		var refused *reloadRefused
		if !errors.As(err, &refused) {
			refused = &reloadRefused{file: a.cfg.File, reasons: []string{err.Error()}}
		}
		log.Error("config reload refused; the running config is kept", "config", a.cfg.File, "errors", refused.reasons)
		a.reloadGauges.set(false, a.deps.clock.Now())
		return refused
	}
	old := a.cfg
	added, changed, removed := a.diffCanaries(next.Canaries)
	// A canary that did not change goes on as the very one that runs, with
	// what it keeps between runs (an HTTP step's TLS settings, say).
	running := make(map[string]*canary.Canary, len(old.Canaries))
	for _, c := range old.Canaries {
		running[c.Name] = c
	}
	unchanged := make(map[string]bool, len(next.Canaries))
	for _, c := range next.Canaries {
		unchanged[c.Name] = true
	}
	for _, n := range append(added, changed...) {
		delete(unchanged, n)
	}
	merged := *next
	merged.Canaries = make([]*canary.Canary, len(next.Canaries))
	for i, c := range next.Canaries {
		merged.Canaries[i] = c
		if unchanged[c.Name] {
			merged.Canaries[i] = running[c.Name]
		}
	}
	next = &merged
	if err := a.sched.Replace(next.Canaries); err != nil {
		// Replace refuses a bad set whole, or fails once the scheduler
		// stopped: either way nothing changed.
		log.Error("config reload refused; the running config is kept", "config", a.cfg.File, "errors", []string{err.Error()})
		a.reloadGauges.set(false, a.deps.clock.Now())
		return &reloadRefused{file: a.cfg.File, reasons: []string{err.Error()}}
	}
	steps := map[string]bool{}
	for _, c := range next.Canaries {
		steps[c.Name] = c.StepMetrics
	}
	a.rec.SetStepMetrics(steps)
	a.reference = reference
	flushed := 0
	if len(removed) > 0 {
		flushed = a.flusher.Forget(ctx, removed)
	}
	a.cfg = next
	restarted := false
	if evaluatorChanged(old, next) {
		if err := a.evaluator.stop(true); err != nil {
			log.Error("the evaluator had stopped before the reload; it starts again on the new config", "err", err)
		}
		a.evaluator = a.startEvaluator(ctx)
		restarted = true
	}
	a.reloadGauges.set(true, a.deps.clock.Now())
	log.Info("config reloaded", "config", next.File, "canaries", len(next.Canaries), "added", len(added),
		"changed", len(changed), "removed", len(removed), "removed_aggregates_published", flushed,
		"slos", len(next.SLOs), "evaluator_restarted", restarted)
	return nil
}

// reloadable refuses a config that changes what only a restart changes:
// the agent's identity and period, where aggregates go, the server, the
// demo target and the browser. Each reason names its key.
func (a *agent) reloadable(next *config.Config) error {
	old := a.cfg
	var reasons []string
	fixed := func(key string, was, is any) {
		if !reflect.DeepEqual(was, is) {
			reasons = append(reasons, fmt.Sprintf("%s: %s changed; it takes a restart of nines (the running value is kept)", next.File, key))
		}
	}
	fixed("agent.name", old.Agent.Name, next.Agent.Name)
	fixed("agent.region", old.Agent.Region, next.Agent.Region)
	fixed("agent.period", old.Agent.Period, next.Agent.Period)
	fixed("agent.max_concurrent", old.Agent.MaxConcurrent, next.Agent.MaxConcurrent)
	fixed("agent.jitter", old.Agent.Jitter, next.Agent.Jitter)
	fixed("agent.latency_precision", old.Agent.LatencyPrecision, next.Agent.LatencyPrecision)
	fixed("sink", old.Metrics.Sink, next.Metrics.Sink)
	fixed("cloudwatch", old.Metrics.CloudWatch, next.Metrics.CloudWatch)
	fixed("store", old.Metrics.Store, next.Metrics.Store)
	fixed("spool", old.Metrics.Spool, next.Metrics.Spool)
	fixed("server.listen", old.Metrics.Listen, next.Metrics.Listen)
	fixed("server.ui_hosts", old.Metrics.UIHosts, next.Metrics.UIHosts)
	fixed("server.reload", old.Metrics.Reload, next.Metrics.Reload)
	fixed("demo.listen", old.DemoListen, next.DemoListen)
	fixed("browser", old.Browser, next.Browser)
	if a.browsers == nil {
		for _, c := range next.Canaries {
			if hasBrowserStep(c) {
				reasons = append(reasons, fmt.Sprintf("%s: canary %s: the first browser canary takes a restart of nines, which starts the browser", next.File, c.Name))
				break
			}
		}
	}
	if len(reasons) > 0 {
		return &reloadRefused{file: next.File, reasons: reasons}
	}
	return nil
}

func hasBrowserStep(c *canary.Canary) bool {
	for _, s := range c.Steps {
		if s.Spec.Kind() == "browser" {
			return true
		}
	}
	return false
}

// referenceOf loads the config a second time, for a copy of its canaries
// that never runs: a step kind keeps things between runs (an HTTP step's
// TLS settings), so a canary that ran no longer compares equal to its own
// definition read again, but its untouched twin does. Two reads that
// differ mean the file changed in between; the reload is refused.
func (a *agent) referenceOf(next *config.Config) (map[string]*canary.Canary, error) {
	twin, err := a.deps.reload()
	if err != nil {
		return nil, err
	}
	if !reflect.DeepEqual(twin.Canaries, next.Canaries) {
		return nil, fmt.Errorf("%s changed while it was read; reload again", next.File)
	}
	return canariesByName(twin.Canaries), nil
}

func canariesByName(cs []*canary.Canary) map[string]*canary.Canary {
	out := make(map[string]*canary.Canary, len(cs))
	for _, c := range cs {
		out[c.Name] = c
	}
	return out
}

// diffCanaries names the canaries a reload adds, changes and removes,
// against the untouched twins of the running ones. Without twins (the
// file changed between the agent's start and its first reading for
// them), every canary that stays counts as changed, which costs only
// what its step kind kept between runs.
func (a *agent) diffCanaries(next []*canary.Canary) (added, changed, removed []string) {
	was := make(map[string]bool, len(a.cfg.Canaries))
	for _, c := range a.cfg.Canaries {
		was[c.Name] = true
	}
	for _, c := range next {
		ref, known := a.reference[c.Name]
		switch {
		case !was[c.Name]:
			added = append(added, c.Name)
		case !known || !reflect.DeepEqual(ref, c):
			changed = append(changed, c.Name)
		}
		delete(was, c.Name)
	}
	for _, c := range a.cfg.Canaries {
		if was[c.Name] {
			removed = append(removed, c.Name)
		}
	}
	return added, changed, removed
}

// evaluatorChanged reports whether the evaluator must start again on the
// new config: its SLOs, failure rules or alerting changed, or the
// canaries its dead-man's switches watch.
func evaluatorChanged(old, next *config.Config) bool {
	type watched struct {
		name  string
		every time.Duration
	}
	watches := func(cs []*canary.Canary) []watched {
		out := make([]watched, len(cs))
		for i, c := range cs {
			out[i] = watched{c.Name, c.Every}
		}
		return out
	}
	return !reflect.DeepEqual(old.SLOs, next.SLOs) || !reflect.DeepEqual(old.Compositions, next.Compositions) ||
		!reflect.DeepEqual(old.FailureRules, next.FailureRules) || !reflect.DeepEqual(old.Alerting, next.Alerting) ||
		!reflect.DeepEqual(watches(old.Canaries), watches(next.Canaries))
}

// evaluatorLoop is the evaluator's goroutine, which a reload stops and
// starts again on the new config.
type evaluatorLoop struct {
	cancel context.CancelFunc
	done   chan error
	// drain, set by stop, gives deliveries in flight time to finish
	// before the pipeline closes.
	drain atomic.Bool
}

// reloadDrain bounds how long a reload waits for the old evaluator's
// deliveries in flight. What is not delivered by then stays in the alert
// store's outbox, and the new evaluator sends it.
const reloadDrain = 10 * time.Second

// startEvaluator starts the evaluator of a.cfg's SLOs and failure rules,
// when it has any and a source to read.
func (a *agent) startEvaluator(ctx context.Context) *evaluatorLoop {
	ectx, cancel := context.WithCancel(ctx)
	l := &evaluatorLoop{cancel: cancel, done: make(chan error, 1)}
	cfg := a.cfg
	switch src, err := a.sloSource(ctx); {
	case err != nil:
		l.done <- err
	case src == nil:
		if evaluates(cfg) {
			a.deps.logger.Warn("canary failure rules are not evaluated here: they need the local store (the default sink) or a cloudwatch: section")
		}
		l.done <- nil
	default:
		deps := a.evaluatorDeps(src)
		deps.Drain = func() time.Duration {
			if l.drain.Load() {
				return reloadDrain
			}
			return 0
		}
		go func() { l.done <- runEvaluator(ectx, cfg, deps) }()
	}
	return l
}

// stop ends the evaluator and returns why it had ended, if it ended on
// its own; with drain, deliveries in flight get reloadDrain to finish.
func (l *evaluatorLoop) stop(drain bool) error {
	l.drain.Store(drain)
	l.cancel()
	err := <-l.done
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// reloadLoadError is a config that did not load, as a refusal with every
// problem of it, each naming its file and line.
func reloadLoadError(path string, err error) error {
	var errs config.Errors
	if !errors.As(err, &errs) {
		return &reloadRefused{file: path, reasons: []string{err.Error()}}
	}
	r := &reloadRefused{file: path}
	for _, e := range errs {
		r.reasons = append(r.reasons, e.Error())
	}
	return r
}
