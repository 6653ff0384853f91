package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"sync"
	"syscall"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/dashboards"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

func init() {
	register("run", "run the agent: canaries on schedule, metrics each period, until SIGTERM", runRun)
}

func runRun(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "run", "run -c FILE [--print json|none] [--log-format auto|text|json] [--log-level info] [--profile NAME]")
	path := configFlag(fs)
	profile := fs.String("profile", "", "the AWS shared config profile for CloudWatch, SNS, DynamoDB and S3 (default: AWS_PROFILE, then default); its region stands in for a cloudwatch: section without one")
	logFormat := fs.String("log-format", "auto", "log format on stderr: auto (text on a terminal, else JSON), text or json; stdout's aggregates and alerts are JSON lines, or text lines with text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	print := fs.String("print", "", "print each period's aggregates on stdout: json (the default, except with sink: emf, which owns stdout; text lines with --log-format text) or none")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *print != "" {
		if err := checkFormat(*print, "json", "none"); err != nil {
			return usageError("--print %q: use json or none", *print)
		}
	}
	logger, err := newLogger(e.stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	cfg, err := e.loadConfig(*path, config.Options{})
	if err != nil {
		return err
	}
	withProfile(cfg, *profile)
	ln, shop, err := runPorts(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer shop.Close()
	hangups := make(chan os.Signal, 1)
	signal.Notify(hangups, syscall.SIGHUP)
	defer signal.Stop(hangups)
	reload := func() (*config.Config, error) {
		host, _ := os.Hostname()
		next, err := config.Load(*path, config.Options{LookupEnv: e.lookupEnv, Hostname: host})
		if err != nil {
			return nil, reloadLoadError(*path, err)
		}
		withProfile(next, *profile)
		return next, nil
	}
	a, err := newAgent(ctx, cfg, agentDeps{env: e, logger: logger, print: *print, textOut: *logFormat == "text", listener: ln,
		reload: reload, hangups: hangups})
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return err
	}
	return a.run(ctx)
}

// withProfile points every AWS client of cfg at the --profile given.
func withProfile(cfg *config.Config, profile string) {
	if profile == "" {
		return
	}
	if cw := cfg.Metrics.CloudWatch; cw != nil {
		cw.Profile = profile
	}
	if cfg.Alerting != nil {
		cfg.Alerting.Profile = profile
	}
	cfg.Browser.Artifacts.S3.Profile = profile
}

// runPorts binds the agent's server port and starts the demo shop, before
// anything else starts.
func runPorts(ctx context.Context, cfg *config.Config, log *slog.Logger) (net.Listener, *demoShop, error) {
	var ln net.Listener
	if addr := cfg.Metrics.Listen; addr != "" {
		var err error
		ln, err = listen(addr, "server.listen", fmt.Sprintf("is another nines running? Set server.listen in %s to a free address, or off", cfg.File))
		if err != nil {
			return nil, nil, err
		}
	}
	if cfg.DemoListen == "" {
		return ln, nil, nil
	}
	shop, reused, err := openDemoShop(ctx, cfg.DemoListen)
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, nil, err
	}
	if reused {
		log.Warn("demo target already served by another nines; the canaries probe that one", "url", "http://"+cfg.DemoListen)
	} else {
		log.Info("demo target listening", "url", "http://"+cfg.DemoListen)
	}
	return ln, shop, nil
}

// agentDeps are the parts of an agent a caller may replace.
type agentDeps struct {
	env    *env
	logger *slog.Logger
	clock  clock.Clock
	// print is --print: "json", "none", or "" for the default.
	print string
	// textOut prints aggregates and alerts on stdout as text lines, not
	// JSON lines (--log-format text, and the demo's narration).
	textOut bool
	// onAlert hears every alert delivery (the demo's narrator).
	onAlert func(alerting.Result)
	// listener is the server's port (/metrics, /healthz, the web UI),
	// bound by the caller before any work starts; nil: no server.
	listener net.Listener
	// reload re-reads the config for a reload (reload.go); nil: the agent
	// does not reload.
	reload func() (*config.Config, error)
	// hangups are SIGHUPs, each a reload.
	hangups <-chan os.Signal
	// onRun, when set, hears every run's result after the recorder.
	onRun func(canary.Result)
}

// agent is the wired-up sidecar: scheduler, recorder, flusher, the
// publishing pipeline and its sinks, and the HTTP server.
type agent struct {
	cfg  *config.Config
	deps agentDeps
	// stdout is the one stream of aggregates, alerts and EMF; each
	// writer writes whole lines, which it keeps from interleaving.
	stdout  io.Writer
	rec     *metrics.Recorder
	sched   *canary.Scheduler
	flusher *metrics.Flusher
	counter *countingObserver
	// browsers is the shared browser of browser canaries, or nil.
	browsers *canary.BrowserPool
	// pipeline publishes to the configured sink apart from the canaries.
	pipeline *metrics.Pipeline
	prom     *metrics.Prometheus
	health   *metrics.Health
	// sloGauges are the evaluator's latest decisions, on /metrics.
	sloGauges *slo.Gauges
	// sinkName is the configured sink, for logs and /healthz.
	sinkName string
	// store is the local store when it is the sink; the evaluator and
	// the web UI read it.
	store *metrics.Store
	// runs keeps the last runs of every canary for the web UI.
	runs *dashboards.RunLog
	// reloads are POST /-/reload's requests; the agent's loop takes them
	// one at a time until it closes stopped.
	reloads      chan reloadRequest
	stopped      chan struct{}
	reloadGauges *reloadGauges
	evaluator    *evaluatorLoop
	// httpReload is server.reload, which only a restart changes: POST
	// /-/reload is on.
	httpReload bool
	// reference holds untouched twins of the running canaries, by name,
	// which a reload compares the new ones with (reload.go).
	reference map[string]*canary.Canary
}

func newAgent(ctx context.Context, cfg *config.Config, deps agentDeps) (*agent, error) {
	slogger := deps.logger
	if slogger == nil {
		slogger = slog.New(slog.DiscardHandler)
		deps.logger = slogger
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
	a := &agent{cfg: cfg, deps: deps, rec: rec, health: metrics.NewHealthWith(metrics.HealthConfig{Clock: deps.clock}), sinkName: cfg.Metrics.Sink,
		stdout: &lineWriter{w: deps.env.stdout}}
	a.prom = metrics.NewPrometheus(a.health, nil)
	a.sloGauges = &slo.Gauges{}
	a.prom.Register(a.sloGauges)
	a.reloads, a.stopped = make(chan reloadRequest), make(chan struct{})
	a.reloadGauges = &reloadGauges{}
	a.reloadGauges.set(true, deps.clock.Now())
	a.prom.Register(a.reloadGauges)
	if a.pipeline, err = a.newPipeline(ctx); err != nil {
		return nil, err
	}
	sinks := metrics.Fanout{a.pipeline, a.prom}
	printAggregates := deps.print == "json" || (deps.print == "" && cfg.Metrics.Sink != config.SinkEMF)
	switch {
	case printAggregates && deps.textOut:
		sinks = append(sinks, metrics.NewTextLines(a.stdout))
	case printAggregates:
		sinks = append(sinks, metrics.NewJSONLines(a.stdout))
	}

	browsers, err := newBrowserPool(cfg, cfg.Canaries, slogger) // nil without browser canaries
	if err != nil {
		_ = a.pipeline.Close(ctx)
		return nil, err
	}
	runner, err := canary.NewRunner(canary.RunnerConfig{LookupEnv: deps.env.lookupEnv, Logger: slogger, Clock: deps.clock,
		Resources: browserResources(browsers)})
	if err != nil {
		return nil, err
	}
	a.runs = dashboards.NewRunLog(50)
	canaryGauges := metrics.NewCanaryGauges(cfg.Agent.Region, deps.clock)
	a.prom.Register(canaryGauges)
	observers := dashboards.Fanout{rec, a.runs, canaryGauges}
	if a.store != nil { // the review lists the certificates the TLS steps met
		observers = append(observers, metrics.NewCertObserver(a.store, cfg.Agent.Region, slogger))
	}
	counter := &countingObserver{next: observers, onRun: deps.onRun}
	sched, err := canary.NewScheduler(canary.SchedulerConfig{
		Canaries: cfg.Canaries, Run: runner.Run, Observer: counter, Clock: deps.clock,
		MaxConcurrent: cfg.Agent.MaxConcurrent, Jitter: cfg.Agent.Jitter, Logger: slogger,
		Paused: slo.PauseFunc(cfg.Maintenance),
	})
	if err != nil {
		return nil, err
	}
	flusher, err := metrics.NewFlusher(metrics.FlusherConfig{
		Recorder: rec, Sink: sinks, Clock: deps.clock, Logger: slogger, Grace: time.Second,
		Agent: cfg.Agent.Name, Region: cfg.Agent.Region, Flushed: a.logPeriod,
	})
	if err != nil {
		return nil, err
	}
	a.sched, a.flusher, a.counter, a.browsers = sched, flusher, counter, browsers
	a.httpReload = cfg.Metrics.Reload && deps.reload != nil
	if deps.reload != nil {
		// Nothing has run yet, so cfg's canaries still equal their twins
		// unless the file changed since it was read.
		if twin, err := deps.reload(); err == nil && reflect.DeepEqual(twin.Canaries, cfg.Canaries) {
			a.reference = canariesByName(twin.Canaries)
		}
	}
	return a, nil
}

// newPipeline builds the configured sink behind a Publisher (retries,
// spool) and a Pipeline (its own goroutine).
func (a *agent) newPipeline(ctx context.Context) (*metrics.Pipeline, error) {
	m := a.cfg.Metrics
	log := a.deps.logger
	pc := metrics.PublisherConfig{Name: m.Sink, Clock: a.deps.clock, Logger: log, Health: a.health}
	switch m.Sink {
	case config.SinkCloudWatch:
		sink, err := metrics.NewCloudWatch(ctx, *m.CloudWatch)
		if err != nil {
			return nil, err
		}
		sc := m.Spool
		sc.Logger, sc.Health = log, a.health
		spool, err := metrics.OpenSpool(sc)
		if err != nil {
			return nil, err
		}
		if _, points, _ := spool.Depth(); points > 0 {
			log.Info("spool from an earlier run found; replaying it", "points", points, "dir", sc.Dir)
		}
		pc.Sink, pc.Spool, pc.MaxAge = sink, spool, metrics.CloudWatchMaxAge
	case config.SinkEMF:
		ec := metrics.EMFConfig{Writer: a.stdout}
		if cw := m.CloudWatch; cw != nil {
			ec.Namespace, ec.StorageResolution, ec.RegionRollup = cw.Namespace, cw.StorageResolution, cw.RegionRollup
		}
		sink, err := metrics.NewEMF(ec)
		if err != nil {
			return nil, err
		}
		pc.Sink = sink
	default:
		sc := m.Store
		sc.Clock, sc.Logger = a.deps.clock, log
		store, err := metrics.OpenStore(ctx, sc)
		if err != nil {
			return nil, err
		}
		pc.Sink, a.store = store, store
	}
	pub, err := metrics.NewPublisher(pc)
	if err != nil {
		return nil, err
	}
	return metrics.NewPipeline(metrics.PipelineConfig{Publisher: pub, Clock: a.deps.clock})
}

// logPeriod is the line a person watching `nines run` reads each period.
func (a *agent) logPeriod(b metrics.Batch) {
	var attempts, successes int64
	var start time.Time
	for _, ag := range b.Aggregates {
		if ag.Series.Step != "" {
			continue
		}
		attempts += ag.Attempts
		successes += ag.Successes
		if start.IsZero() || ag.Start.Before(start) {
			start = ag.Start
		}
	}
	snap := a.health.Snapshot()
	var attrs []any
	if !start.IsZero() { // a period without runs has only a heartbeat
		attrs = append(attrs, "period_start", start.UTC().Format(time.RFC3339))
	}
	a.deps.logger.Info("period flushed", append(attrs, "aggregates", len(b.Aggregates),
		"attempts", attempts, "successes", successes, "sink", a.sinkName, "spool_points", snap.SpoolPoints,
		"dropped_points", snap.DroppedTotal())...)
}

func (a *agent) run(ctx context.Context) error {
	log := a.deps.logger
	a.pipeline.Start()
	if a.browsers != nil {
		defer a.browsers.Close() // after the scheduler's runs in flight end
	}
	// Live from here until the scheduler, started below, returns.
	a.health.SetLive(true)
	stopServer, err := a.serve()
	if err != nil {
		_ = a.pipeline.Close(context.Background())
		return err
	}
	defer stopServer()
	log.Info("agent starting", "canaries", len(a.cfg.Canaries), "region", a.cfg.Agent.Region,
		"period", a.cfg.Agent.Period.String(), "sink", a.sinkName, "config", a.cfg.File)

	flushCtx, stopFlush := context.WithCancel(context.Background())
	flushDone := make(chan struct{})
	go func() {
		defer close(flushDone)
		a.flusher.Run(flushCtx)
	}()
	a.evaluator = a.startEvaluator(ctx)
	err = a.loop(ctx) // returns once ctx is done and runs in flight finished
	a.health.SetLive(false)
	if eerr := a.evaluator.stop(false); eerr != nil && err == nil {
		err = fmt.Errorf("evaluator: %w", eerr)
	}
	stopFlush()
	<-flushDone
	// SIGTERM: the current period goes out, and what cannot go out in
	// time is written to the spool, which the next start replays.
	finalCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ferr := a.flusher.Final(finalCtx); ferr != nil && err == nil {
		err = ferr
	}
	runs, failed, overlapped := a.counter.totals()
	snap := a.health.Snapshot()
	log.Info("agent stopped", "runs", runs, "failed", failed, "overlapped", overlapped,
		"spool_points", snap.SpoolPoints, "dropped_points", snap.DroppedTotal())
	return err
}

// loop runs the scheduler and takes reloads, from SIGHUP and POST
// /-/reload, one at a time, until the scheduler returns.
func (a *agent) loop(ctx context.Context) error {
	defer close(a.stopped)
	schedDone := make(chan error, 1)
	go func() { schedDone <- a.sched.Run(ctx) }()
	for {
		select {
		case err := <-schedDone:
			return err
		case req := <-a.reloads:
			req.done <- a.reload(ctx)
		case <-a.deps.hangups:
			a.deps.logger.Info("SIGHUP: reloading the config", "config", a.cfg.File)
			_ = a.reload(ctx) // logged there
		}
	}
}

// evaluatorDeps is what the agent hands its evaluator: its source, its
// store's file and regions, its clock, its runs (the alerts' last failure)
// and its /metrics (each round's decisions).
func (a *agent) evaluatorDeps(src slo.Source) evaluatorDeps {
	deps := evaluatorDeps{Source: src, StatePath: a.cfg.Metrics.Store.Path,
		Clock: a.deps.clock, Logger: a.deps.logger, Stdout: a.stdout, StdoutJSON: !a.deps.textOut, OnResult: a.deps.onAlert,
		RecentFailure: recentFailures(a.runs), OnDecisions: a.sloGauges.Set}
	if a.store != nil {
		// The regions that wrote each canary's runs to the store.
		deps.Regions = alerting.StoreRegions{Store: a.store}
	}
	return deps
}

// serve serves /metrics, /healthz and the web UI on the listener the
// caller bound.
func (a *agent) serve() (stop func(), err error) {
	ln := a.deps.listener
	if ln == nil {
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.prom)
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.HandleFunc("POST /-/reload", a.reloadHandler)
	web, closeWeb, err := a.webUI()
	if err != nil {
		a.deps.logger.Warn("web UI not served", "err", err)
	} else {
		mux.Handle("/", web)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.deps.logger.Error("agent server stopped", "err", err)
		}
	}()
	a.deps.logger.Info("agent server listening", "ui", "http://"+ln.Addr().String()+"/",
		"metrics", "http://"+ln.Addr().String()+"/metrics", "healthz", "http://"+ln.Addr().String()+"/healthz",
		"readyz", "http://"+ln.Addr().String()+"/readyz")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		if closeWeb != nil {
			closeWeb()
		}
	}, nil
}

// healthz is liveness: 200 while the agent's scheduler runs, whatever
// its sink does. An orchestrator restarts a container whose liveness
// fails, and a restart cures no CloudWatch outage: the spool already
// carries the data through one. How the data fares is readiness, on
// /readyz and /metrics.
func (a *agent) healthz(w http.ResponseWriter, _ *http.Request) {
	snap := a.health.Snapshot()
	status, code := "ok", http.StatusOK
	if !snap.Live {
		status, code = "not_running", http.StatusServiceUnavailable
	}
	runs, failed, overlapped := a.counter.totals()
	writeJSON(w, code, map[string]any{"status": status, "runs": runs, "failed": failed, "overlapped": overlapped})
}

// readyz is readiness: 200 while the agent's data gets where it goes, 503
// with the reasons while the sink fails, points wait in the spool, or
// points were dropped within the last metrics.DefaultDropWindow.
func (a *agent) readyz(w http.ResponseWriter, _ *http.Request) {
	snap := a.health.Snapshot()
	status, code := "ready", http.StatusOK
	if !snap.Readiness.Ready {
		status, code = "not_ready", http.StatusServiceUnavailable
	}
	reasons := snap.Readiness.Reasons
	if reasons == nil {
		reasons = []metrics.NotReady{}
	}
	writeJSON(w, code, map[string]any{
		"status": status, "reasons": reasons, "sink": a.sinkName,
		"spool_points": snap.SpoolPoints, "dropped_points": snap.Dropped, "published_points": snap.Published,
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// lineWriter serializes writes to one stream, so lines written by
// different goroutines never interleave.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// countingObserver counts runs for the shutdown summary and passes
// everything on to the recorder.
type countingObserver struct {
	next  canary.Observer
	onRun func(canary.Result)

	mu                       sync.Mutex
	runs, failed, overlapped int64
	lastFailed               map[string]canary.Result // by canary
}

func (c *countingObserver) Observe(r canary.Result) {
	c.mu.Lock()
	c.runs++
	if !r.OK {
		c.failed++
		if prev, ok := c.lastFailed[r.Canary]; !ok || !r.Start.Before(prev.Start) {
			if c.lastFailed == nil {
				c.lastFailed = map[string]canary.Result{}
			}
			c.lastFailed[r.Canary] = r
		}
	}
	c.mu.Unlock()
	c.next.Observe(r)
	if c.onRun != nil {
		c.onRun(r)
	}
}

// lastFailures is each canary's latest failed run.
func (c *countingObserver) lastFailures() []canary.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]canary.Result, 0, len(c.lastFailed))
	for _, r := range c.lastFailed {
		out = append(out, r)
	}
	return out
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

// sloSource is what the evaluator and the web UI read SLO events and
// canary runs from: the local store when it is the sink, CloudWatch when
// the config has a cloudwatch: section, else nothing (an agent with no
// SLOs and no failure rules to watch, or only failure rules that the
// Lambda evaluator watches for an agent that publishes EMF).
func (a *agent) sloSource(ctx context.Context) (slo.Source, error) {
	if !evaluates(a.cfg) {
		return nil, nil
	}
	if a.store != nil {
		return slo.NewLocalSource(a.store)
	}
	if cw := a.cfg.Metrics.CloudWatch; cw != nil {
		awsCfg, err := loadAWS(ctx, cw.Profile, cw.Region)
		if errors.Is(err, errNoRegion) {
			return nil, fmt.Errorf("no AWS region for the SLOs' CloudWatch source: %s", noRegionHint)
		}
		if err != nil {
			return nil, err
		}
		src := cloudWatchSourceConfig(awsCfg, cw.Endpoint)
		src.Namespace, src.Regions, src.Clock = cw.Namespace, a.cfg.AgentRegions(), a.deps.clock
		return slo.NewCloudWatchSource(src)
	}
	if len(a.cfg.SLOs) == 0 {
		return nil, nil
	}
	return nil, errors.New("the SLOs need a source: the local store (the default sink) or a cloudwatch: section")
}

// webUI is the local, read-only UI served beside /metrics: the embedded
// default's window on SLOs, canaries and alerts.
func (a *agent) webUI() (http.Handler, func(), error) {
	closeFn := func() {}
	var canaries []string
	for _, c := range a.cfg.Canaries {
		canaries = append(canaries, c.Name)
	}
	wc := dashboards.WebConfig{SLOs: a.cfg.SLOs, Compositions: a.cfg.Compositions, Canaries: canaries, Runs: a.runs, Logger: a.deps.logger,
		Now: a.deps.clock.Now}
	if a.deps.listener != nil {
		wc.Listen, wc.Hosts = a.deps.listener.Addr().String(), a.cfg.Metrics.UIHosts
	}
	if a.browsers != nil {
		// Only a browser canary writes artifacts, into the directory its
		// pool checked is the agent's own; without one, /artifacts/ has
		// nothing to serve and is not there.
		wc.ArtifactDir = a.cfg.Browser.Artifacts.Dir
	}
	src, err := a.sloSource(context.Background())
	if err != nil {
		return nil, closeFn, err
	}
	if src != nil {
		ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: a.deps.clock})
		if err != nil {
			return nil, closeFn, err
		}
		// The local store answers in milliseconds; CloudWatch bills each
		// evaluation, so the UI reuses one for as long as the evaluator's
		// own interval.
		maxAge := 10 * time.Second
		if _, remote := src.(*slo.CloudWatchSource); remote {
			maxAge = max(maxAge, alertSettings(a.cfg).Interval)
		}
		wc.Source = src
		wc.Decisions = &dashboards.CachedDecisions{Source: dashboards.EvaluatorDecisions{Evaluator: ev, SLOs: a.cfg.SLOs},
			MaxAge: maxAge, Now: a.deps.clock.Now}
	} else {
		wc.Decisions = dashboards.EvaluatorDecisions{SLOs: nil}
	}
	if a.store != nil {
		wc.Latency = dashboards.StoreSources{Store: a.store}
		wc.Counts, wc.Failures = dashboards.StoreSources{Store: a.store}, dashboards.StoreSources{Store: a.store}
		if evaluates(a.cfg) {
			if st, err := alerting.OpenSQLite(context.Background(), a.store.Path()); err == nil {
				wc.Alerts, wc.Silences, closeFn = dashboards.IncidentSource{Store: st}, st, func() { st.Close() }
			}
		}
	}
	web, err := dashboards.NewWeb(wc)
	return web, closeFn, err
}
