package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/demotarget"
	"github.com/nines-dev/nines/metrics"
)

func init() {
	register("run", "run the agent: canaries on schedule, metrics each period, until SIGTERM", runRun)
}

func runRun(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "run", "run -c FILE [--log-format auto|text|json] [--log-level info]")
	path := configFlag(fs)
	logFormat := fs.String("log-format", "auto", "log format: auto (text on a terminal, else JSON), text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	logger, err := newLogger(e.stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	cfg, err := e.loadConfig(*path, config.Options{})
	if err != nil {
		return err
	}
	a, err := newAgent(cfg, agentDeps{env: e, logger: logger})
	if err != nil {
		return err
	}
	return a.run(ctx)
}

// agentDeps are the parts of an agent a caller may replace.
type agentDeps struct {
	env    *env
	logger *slog.Logger
	clock  clock.Clock
}

// agent is the wired-up sidecar: scheduler, recorder, flusher and sink.
type agent struct {
	cfg     *config.Config
	deps    agentDeps
	rec     *metrics.Recorder
	sched   *canary.Scheduler
	flusher *metrics.Flusher
	demo    *demotarget.Server
	counter *countingObserver
	// browsers is the shared browser of browser canaries, or nil.
	browsers *canary.BrowserPool
}

func newAgent(cfg *config.Config, deps agentDeps) (*agent, error) {
	slogger := deps.logger
	if slogger == nil {
		slogger = slog.New(slog.DiscardHandler)
	}
	deps.clock = clock.OrReal(deps.clock)

	stepMetrics := map[string]bool{}
	for _, c := range cfg.Canaries {
		stepMetrics[c.Name] = c.StepMetrics
	}
	rec, err := metrics.NewRecorder(metrics.RecorderConfig{
		Region: cfg.Agent.Region, Period: cfg.Agent.Period, Precision: cfg.Agent.LatencyPrecision,
		StepMetrics: stepMetrics, Clock: deps.clock,
	})
	if err != nil {
		return nil, err
	}
	browsers, err := newBrowserPool(cfg, cfg.Canaries, slogger) // nil without browser canaries
	if err != nil {
		return nil, err
	}
	runner, err := canary.NewRunner(canary.RunnerConfig{LookupEnv: deps.env.lookupEnv, Logger: slogger, Clock: deps.clock,
		Resources: browserResources(browsers)})
	if err != nil {
		return nil, err
	}
	counter := &countingObserver{next: rec}
	sched, err := canary.NewScheduler(canary.SchedulerConfig{
		Canaries: cfg.Canaries, Run: runner.Run, Observer: counter, Clock: deps.clock,
		MaxConcurrent: cfg.Agent.MaxConcurrent, Jitter: cfg.Agent.Jitter, Logger: slogger,
	})
	if err != nil {
		return nil, err
	}
	flusher, err := metrics.NewFlusher(metrics.FlusherConfig{
		Recorder: rec, Sink: metrics.NewJSONLines(deps.env.stdout), Clock: deps.clock, Logger: slogger,
		Grace: time.Second,
	})
	if err != nil {
		return nil, err
	}
	return &agent{cfg: cfg, deps: deps, rec: rec, sched: sched, flusher: flusher, counter: counter, browsers: browsers}, nil
}

func (a *agent) run(ctx context.Context) error {
	log := a.deps.logger
	if a.browsers != nil {
		defer a.browsers.Close() // after the scheduler's runs in flight end
	}
	if a.cfg.DemoListen != "" {
		demo, err := demotarget.Start(a.cfg.DemoListen)
		if err != nil {
			return fmt.Errorf("demo target: %w (is another nines already running?)", err)
		}
		defer demo.Close()
		log.Info("demo target listening", "url", demo.URL())
	}
	log.Info("agent starting", "canaries", len(a.cfg.Canaries), "region", a.cfg.Agent.Region,
		"period", a.cfg.Agent.Period.String(), "config", a.cfg.File)

	flushCtx, stopFlush := context.WithCancel(context.Background())
	flushDone := make(chan struct{})
	go func() {
		defer close(flushDone)
		a.flusher.Run(flushCtx)
	}()
	err := a.sched.Run(ctx) // returns once ctx is done and runs in flight finished
	stopFlush()
	<-flushDone
	finalCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ferr := a.flusher.Final(finalCtx); ferr != nil && err == nil {
		err = ferr
	}
	runs, failed, overlapped := a.counter.totals()
	log.Info("agent stopped", "runs", runs, "failed", failed, "overlapped", overlapped)
	return err
}

// countingObserver counts runs for the shutdown summary and passes
// everything on to the recorder.
type countingObserver struct {
	next canary.Observer

	mu                       sync.Mutex
	runs, failed, overlapped int64
}

func (c *countingObserver) Observe(r canary.Result) {
	c.mu.Lock()
	c.runs++
	if !r.OK {
		c.failed++
	}
	c.mu.Unlock()
	c.next.Observe(r)
}

func (c *countingObserver) Overlapped(name string, at time.Time) {
	c.mu.Lock()
	c.overlapped++
	c.mu.Unlock()
	c.next.Overlapped(name, at)
}

func (c *countingObserver) totals() (runs, failed, overlapped int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs, c.failed, c.overlapped
}
