package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/pagerduty"
	"github.com/nines-dev/nines/alerting/slack"
	"github.com/nines-dev/nines/alerting/sns"
	"github.com/nines-dev/nines/alerting/teams"
	"github.com/nines-dev/nines/alerting/webhook"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/dashboards"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// evaluatorDeps are what the agent hands the evaluator: the parts that
// belong to other phases.
type evaluatorDeps struct {
	// Source answers the SLOs' queries: the local store, or CloudWatch.
	Source slo.Source
	// StatePath is the local store's SQLite file; alert state gets a
	// table of its own in it unless the config keeps state in DynamoDB.
	StatePath string
	// Heartbeat publishes the evaluator's heartbeat (optional; see
	// alerting.CloudWatchHeartbeat).
	Heartbeat func(ctx context.Context, at time.Time) error
	// Heartbeats counts agents' AgentHeartbeat for the agents: watches;
	// the Source counts them when it can (the local store and CloudWatch
	// both do). Without either those watches are off.
	Heartbeats slo.HeartbeatSource
	Clock      clock.Clock
	Logger     *slog.Logger
	// Stdout is where the log receiver writes: JSON lines with
	// "type":"alert" when StdoutJSON, else text.
	Stdout     io.Writer
	StdoutJSON bool
	// OnResult, when set, hears what became of every delivery (the demo
	// narrates pages and resolves from it).
	OnResult func(alerting.Result)
	// RecentFailure, when set, puts the latest failed run of an SLO's
	// canary in its alerts (see recentFailures).
	RecentFailure alerting.RecentFailureFunc
	// Regions lists where the canary failure rules look for runs: the
	// local store's own list, or by default the agent regions a
	// CloudWatch source sums (agentRegions).
	Regions alerting.RegionSource
	// OnDecisions, when set, hears each round's decisions (the agent's
	// /metrics shows them).
	OnDecisions func([]slo.Decision)
	// Drain, when set, says at close how long to wait for deliveries in
	// flight before the pipeline stops them: a reload's stop waits, so
	// that the next evaluator does not send them again.
	Drain func() time.Duration
}

// evaluates reports whether the config has anything for an evaluator to
// alert on: SLOs, or canary failure rules.
func evaluates(cfg *config.Config) bool { return len(cfg.SLOs) > 0 || len(cfg.FailureRules) > 0 }

// recentFailures answers the alerts' RecentFailure hook from the runs the
// agent keeps for the web UI: the newest failed run of the canary.
func recentFailures(runs *dashboards.RunLog) alerting.RecentFailureFunc {
	if runs == nil {
		return nil
	}
	return func(name string) (alerting.Failure, bool) {
		fs := runs.Failures(name)
		if len(fs) == 0 {
			return alerting.Failure{}, false
		}
		return alerting.FailureOf(fs[0]), true
	}
}

// runEvaluator evaluates the config's SLOs and canary failure rules every
// evaluation interval and alerts through the configured receivers until
// ctx ends. With neither it returns at once. run.go calls it next to the
// scheduler:
//
//	go func() { errc <- runEvaluator(ctx, cfg, evaluatorDeps{Source: store, StatePath: cfg.Metrics.Store.Path, ...}) }()
func runEvaluator(ctx context.Context, cfg *config.Config, deps evaluatorDeps) error {
	if !evaluates(cfg) {
		return nil
	}
	svc, closeFn, err := newEvaluator(ctx, cfg, deps)
	if err != nil {
		return err
	}
	defer closeFn()
	return svc.Run(ctx)
}

// newEvaluator wires the ALARM phase: receivers, pipeline, state store,
// machine and service. The close function stops the pipeline and closes
// the store.
func newEvaluator(ctx context.Context, cfg *config.Config, deps evaluatorDeps) (*alerting.Service, func(), error) {
	if deps.Source == nil {
		return nil, nil, errors.New("evaluator: no SLO source")
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	settings := alertSettings(cfg)
	receivers, err := buildReceivers(ctx, settings, deps.Stdout, deps.StdoutJSON)
	if err != nil {
		return nil, nil, err
	}
	pipeline, err := alerting.NewPipeline(alerting.PipelineConfig{
		Receivers: receivers, Routes: settings.Routes, Clock: deps.Clock, Logger: log, OnResult: deps.OnResult,
	})
	if err != nil {
		return nil, nil, err
	}
	store, closeStore, err := openAlertStore(ctx, settings, deps.StatePath)
	if err != nil {
		pipeline.Close()
		return nil, nil, err
	}
	closeFn := func() {
		if deps.Drain != nil {
			if d := deps.Drain(); d > 0 {
				wctx, cancel := context.WithTimeout(context.Background(), d)
				_ = pipeline.Wait(wctx)
				cancel()
			}
		}
		pipeline.Close()
		closeStore()
	}
	machine, err := alerting.NewMachine(alerting.MachineConfig{Remind: settings.Remind, ResolveAfter: settings.ResolveAfter, ErrorAfter: settings.ErrorAfter, Links: settings.Links,
		BudgetWarnings: settings.BudgetWarnings})
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: deps.Source, Clock: deps.Clock})
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	heartbeats := deps.Heartbeats
	if hs, ok := deps.Source.(slo.HeartbeatSource); ok && heartbeats == nil {
		heartbeats = hs
	}
	var watches []alerting.Watch
	if settings.NoDataPeriods > 0 {
		for _, c := range cfg.Canaries {
			watches = append(watches, canaryWatch(c.Name, c.Every, cfg.Agent.Period, settings.NoDataPeriods))
		}
		// A ratio or period SLI's metrics are not the agents': canary
		// switches do not see them stop.
		for _, o := range cfg.SLOs {
			if w, ok := sloWatch(o, cfg.Agent.Period, settings.NoDataPeriods); ok {
				watches = append(watches, w)
			}
		}
		if len(settings.Agents) > 0 && heartbeats == nil {
			log.Warn("alerting.agents is set, but this source cannot count agent heartbeats; those watches are off")
		} else {
			for _, a := range settings.Agents {
				watches = append(watches, alerting.Watch{Agent: a, Period: cfg.Agent.Period, Periods: settings.NoDataPeriods})
			}
		}
	}
	regions := deps.Regions
	if regions == nil {
		regions = alerting.FixedRegions(cfg.AgentRegions())
	}
	svc, err := alerting.NewService(alerting.ServiceConfig{
		Evaluator: ev, SLOs: cfg.SLOs, Machine: machine, Pipeline: pipeline, Store: store,
		Watches: watches, Data: alerting.CountsDataSource{Source: deps.Source, Heartbeats: heartbeats},
		Failures: cfg.FailureRules, Source: deps.Source, Regions: regions, Maintenance: cfg.Maintenance,
		Interval: settings.Interval, Heartbeat: deps.Heartbeat, RecentFailure: deps.RecentFailure,
		OnDecisions: deps.OnDecisions, Clock: deps.Clock, Logger: log,
	})
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return svc, closeFn, nil
}

// alertSettings is the config's alerting: section, or the embedded
// default without one: every notification to a log line.
func alertSettings(cfg *config.Config) *alerting.Settings {
	if cfg.Alerting != nil {
		return cfg.Alerting
	}
	return &alerting.Settings{
		Receivers:     []alerting.ReceiverSettings{{Name: "log", Log: true}},
		Interval:      alerting.DefaultInterval,
		NoDataPeriods: alerting.DefaultNoDataPeriods,
		ErrorAfter:    alerting.DefaultErrorAfter,
	}
}

// buildReceivers makes each configured receiver's notifier. The log
// receiver writes to stdout, in JSON lines when stdoutJSON.
func buildReceivers(ctx context.Context, s *alerting.Settings, stdout io.Writer, stdoutJSON bool) ([]alerting.Receiver, error) {
	var out []alerting.Receiver
	for _, r := range s.Receivers {
		var n alerting.Notifier
		switch {
		case r.SNS != nil:
			awsCfg, err := loadAWS(ctx, s.Profile, r.SNS.Region)
			if err != nil {
				return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
			}
			client := awssns.NewFromConfig(awsCfg, func(o *awssns.Options) {
				o.RetryMaxAttempts = 1 // the pipeline retries
				if r.SNS.Endpoint != "" {
					o.BaseEndpoint = &r.SNS.Endpoint
				}
			})
			if n, err = sns.New(sns.Config{Client: client, TopicARN: r.SNS.TopicARN}); err != nil {
				return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
			}
		case r.Slack != nil:
			var err error
			if n, err = slack.New(slack.Config{Token: r.Slack.Token, Channel: r.Slack.Channel, WebhookURL: r.Slack.WebhookURL, APIURL: r.Slack.APIURL}); err != nil {
				return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
			}
		case r.Webhook != nil:
			var err error
			if n, err = webhook.New(webhook.Config{URL: r.Webhook.URL, Secret: r.Webhook.Secret, Headers: r.Webhook.Headers}); err != nil {
				return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
			}
		case r.PagerDuty != nil:
			var err error
			if n, err = pagerduty.New(pagerduty.Config{RoutingKey: r.PagerDuty.RoutingKey, URL: r.PagerDuty.URL}); err != nil {
				return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
			}
		case r.Teams != nil:
			var err error
			if n, err = teams.New(teams.Config{URL: r.Teams.URL}); err != nil {
				return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
			}
		case stdoutJSON:
			n = alerting.NewJSONLogNotifier(stdout)
		default:
			n = alerting.NewLogNotifier(stdout)
		}
		out = append(out, alerting.Receiver{Name: r.Name, Notifier: n})
	}
	return out, nil
}

// openAlertStore opens DynamoDB when the config names a table, else a
// table of its own in the local SQLite file.
func openAlertStore(ctx context.Context, s *alerting.Settings, statePath string) (alerting.Store, func(), error) {
	if s.DynamoDBTable != "" {
		awsCfg, err := loadAWS(ctx, s.Profile, s.Region)
		if errors.Is(err, errNoRegion) {
			return nil, nil, fmt.Errorf("alert state: DynamoDB table %s: no region: set AWS_REGION or the table's region in the config", s.DynamoDBTable)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("alert state: %w", err)
		}
		client := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
			if s.Endpoint != "" {
				o.BaseEndpoint = &s.Endpoint
			}
		})
		st, err := alerting.NewDynamoDBStore(client, s.DynamoDBTable)
		return st, func() {}, err
	}
	if statePath == "" {
		statePath = "nines.db"
	}
	st, err := alerting.OpenSQLite(ctx, statePath)
	if err != nil {
		return nil, nil, err
	}
	return st, func() { st.Close() }, nil
}

// canaryWatch is a canary's dead-man's switch: no Attempts for periods
// periods of the agent's period, and never less than two of its runs and a
// period, so that a canary slower than the span (every 5 minutes under a
// 5-minute span, every 2 minutes under 10-second periods) is not called
// silent between two runs. One missed run is not a stopped canary.
func canaryWatch(name string, every, period time.Duration, periods int) alerting.Watch {
	if need := int((2*every + period + period - 1) / period); need > periods {
		periods = need
	}
	return alerting.Watch{Canary: name, Period: period, Periods: periods}
}

// sloWatch is the dead-man's switch of an SLO whose metrics are not the
// agents', and false for the rest. A ratio SLI's switch counts its total
// events over periods of the agent's period (CloudWatch keeps them at a
// minute at best); a threshold or raw_ratio SLI's counts its slices with
// a datapoint, so its period is the slice.
func sloWatch(o slo.SLO, agentPeriod time.Duration, periods int) (alerting.Watch, bool) {
	switch o.SLI.Kind {
	case slo.SLIRatio:
		return alerting.Watch{SLO: o.Name, SLI: o.SLI, Period: max(agentPeriod, time.Minute), Periods: periods}, true
	case slo.SLIThreshold, slo.SLIRawRatio:
		slice := o.Budgeting.Slice
		if slice <= 0 {
			slice = slo.DefaultSlice
		}
		return alerting.Watch{SLO: o.Name, SLI: o.SLI, Period: slice, Periods: periods}, true
	}
	return alerting.Watch{}, false
}
