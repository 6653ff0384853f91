package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/internal/lambdarun"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// publishReserve is the part of an invocation kept for publishing after
// the last run: the Publisher's retries fit in it.
const publishReserve = 15 * time.Second

// agentSummary is the agent invocation's response.
type agentSummary struct {
	Region     string `json:"region"`
	Runs       int64  `json:"runs"`
	Failed     int64  `json:"failed"`
	Overlapped int64  `json:"overlapped,omitempty"`
	Published  int    `json:"published_points"`
	// PublishError says why some points were spooled (for the next
	// invocation) or dropped; the invocation still succeeds, so Lambda
	// does not retry it and run the canaries twice.
	PublishError string `json:"publish_error,omitempty"`
	// RecordedFailures is how many canaries' last failures went to the
	// state table for the evaluator's alerts.
	RecordedFailures int `json:"recorded_failures,omitempty"`
}

// agent runs the canaries once, or on their grid through the invocation's
// minute when deploy.spread is set, and publishes their aggregates and a
// heartbeat before it returns.
func (r *lambdaRoles) agent(ctx context.Context, inv lambdarun.Invocation) (any, error) {
	cfg, err := r.loadConfig(ctx)
	if err != nil {
		return nil, err
	}
	region := r.env.getenv(envAgentRegion)
	if region == "" {
		region = cfg.Agent.Region
	}
	name := r.env.getenv(envAgentName)
	if name == "" {
		name = cfg.Agent.Name
	}
	log := r.logger.With("region", region)

	stepMetrics := map[string]bool{}
	for _, c := range cfg.Canaries {
		stepMetrics[c.Name] = c.StepMetrics
	}
	rec, err := metrics.NewRecorder(metrics.RecorderConfig{
		Region: region, Period: cfg.Agent.Period, Precision: cfg.Agent.LatencyPrecision, StepMetrics: stepMetrics,
	})
	if err != nil {
		return nil, err
	}
	pub, err := r.agentPublisher(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// No browser here, so no artifacts: a browser step needs the
	// sidecar's Chromium and its private artifact directory.
	runner, err := canary.NewRunner(canary.RunnerConfig{LookupEnv: r.env.lookupEnv, Logger: log})
	if err != nil {
		return nil, err
	}
	counter := &countingObserver{next: rec}
	spread := cfg.Deploy != nil && cfg.Deploy.Spread
	if spread {
		err = runSpread(ctx, cfg, inv, runner.Run, counter)
	} else {
		runOnce(cfg, inv, runner.Run, counter)
	}
	if err != nil {
		return nil, err
	}

	// Publish on a context that outlives a deadline the runs may have
	// eaten into: Lambda's own deadline still bounds it.
	pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishReserve)
	defer cancel()
	b := metrics.Batch{
		Aggregates: rec.FlushAll(),
		Heartbeats: []metrics.Heartbeat{{Agent: name, Region: region, Start: inv.Scheduled.Truncate(cfg.Agent.Period), Period: cfg.Agent.Period}},
	}
	sum := agentSummary{Region: region, Published: b.Points()}
	sum.Runs, sum.Failed, sum.Overlapped = counter.totals()
	if err := pub.Deliver(pubCtx, b); err != nil {
		log.Warn("publishing failed; the points are spooled for the next invocation or dropped, as logged", "err", err.Error())
		sum.PublishError = err.Error()
		sum.Published = 0
	}
	if err := pub.Close(pubCtx); err != nil {
		log.Warn("closing the metrics sink", "err", err.Error())
	}
	sum.RecordedFailures = r.recordFailures(pubCtx, counter.lastFailures(), region, log)
	return sum, nil
}

// recordFailures writes each failing canary's latest failed run to the
// state table (NINES_STATE_TABLE, in the monitoring region), where the
// evaluator's alerts find it. It is best effort: the metrics are what
// count, so a failure here is logged and the invocation still succeeds.
func (r *lambdaRoles) recordFailures(ctx context.Context, runs []canary.Result, region string, log *slog.Logger) int {
	table := r.env.getenv(envStateTable)
	if table == "" || len(runs) == 0 {
		return 0
	}
	st, _, err := openAlertStore(ctx, &alerting.Settings{DynamoDBTable: table, Region: r.env.getenv(envMetricsRegion)}, "")
	if err != nil {
		log.Warn("the state table cannot be reached; failures are not recorded for the alerts", "table", table, "err", err.Error())
		return 0
	}
	ddb, ok := st.(*alerting.DynamoDBStore)
	if !ok {
		return 0
	}
	n := 0
	for _, run := range runs {
		f := alerting.FailureOf(run)
		f.Region = region
		if err := ddb.RecordFailure(ctx, f); err != nil {
			log.Warn("recording a failure for the alerts", "canary", run.Canary, "err", err.Error())
			continue
		}
		n++
	}
	return n
}

// agentPublisher is the sink the environment selects, behind a Publisher
// with a spool in /tmp, which survives while Lambda keeps the environment
// warm.
func (r *lambdaRoles) agentPublisher(ctx context.Context, cfg *config.Config) (*metrics.Publisher, error) {
	var sink metrics.Sink
	var err error
	kind := r.env.getenv(envMetricsSink)
	switch kind {
	case "emf":
		sink, err = metrics.NewEMF(metrics.EMFConfig{Writer: r.env.stdout, Namespace: r.namespace(cfg)})
	case "", "cloudwatch":
		kind = "cloudwatch"
		sink, err = metrics.NewCloudWatch(ctx, metrics.CloudWatchConfig{Region: r.env.getenv(envMetricsRegion), Namespace: r.namespace(cfg)})
	default:
		return nil, fmt.Errorf("%s=%q: use cloudwatch or emf", envMetricsSink, kind)
	}
	if err != nil {
		return nil, err
	}
	dir := r.env.getenv(envSpoolDir)
	if dir == "" {
		dir = "/tmp/nines-spool"
	}
	spool, err := metrics.OpenSpool(metrics.SpoolConfig{Dir: dir, Logger: r.logger})
	if err != nil {
		return nil, err
	}
	return metrics.NewPublisher(metrics.PublisherConfig{Name: kind, Sink: sink, Spool: spool, MaxAge: metrics.CloudWatchMaxAge, Logger: r.logger})
}

// runOnce runs every canary once, at most max_concurrent at a time, with
// its retries, all counted in the scheduled minute.
func runOnce(cfg *config.Config, inv lambdarun.Invocation, run canary.RunFunc, obs canary.Observer) {
	sem := make(chan struct{}, max(cfg.Agent.MaxConcurrent, 1))
	var wg sync.WaitGroup
	for _, c := range cfg.Canaries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			for attempt := 1; attempt <= 1+c.Retries; attempt++ {
				// Each run has its canary's own timeout; it is not cut
				// short by the invocation's deadline, which render sized.
				res := run(context.Background(), c, attempt, inv.Scheduled)
				obs.Observe(res)
				if res.OK {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// runSpread runs the scheduler over one minute from the scheduled time,
// so each canary starts on its grid slots in that minute, as the sidecar's
// would; it stops early enough for the last runs and the publish to fit
// before the deadline.
func runSpread(ctx context.Context, cfg *config.Config, inv lambdarun.Invocation, run canary.RunFunc, obs canary.Observer) error {
	end := inv.Scheduled.Add(time.Minute)
	if !inv.Deadline.IsZero() {
		var longest time.Duration
		for _, c := range cfg.Canaries {
			longest = max(longest, c.Timeout*time.Duration(1+c.Retries))
		}
		end = minTime(end, inv.Deadline.Add(-publishReserve-longest))
	}
	sched, err := canary.NewScheduler(canary.SchedulerConfig{
		Canaries: cfg.Canaries, Run: run, Observer: obs,
		MaxConcurrent: cfg.Agent.MaxConcurrent, Jitter: cfg.Agent.Jitter,
		Paused: slo.PauseFunc(cfg.Maintenance),
	})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	return sched.Run(runCtx)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
