package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/internal/lambdarun"
	"github.com/nines-dev/nines/slo"
)

// envEvaluatorName is the Evaluator dimension of the heartbeat, which the
// template's alarm names.
const envEvaluatorName = "NINES_EVALUATOR_NAME"

// evaluatorSummary is the evaluator invocation's response.
type evaluatorSummary struct {
	SLOs   int `json:"slos"`
	Firing int `json:"firing"`
}

// evaluator is one evaluation of the sidecar's evaluator (newEvaluator),
// over CloudWatch, with its alert state in DynamoDB: it evaluates the SLOs,
// steps the alerts, waits for the notifications to be delivered, and
// publishes its heartbeat, which the template's alarm watches.
func (r *lambdaRoles) evaluator(ctx context.Context, inv lambdarun.Invocation) (any, error) {
	cfg, err := r.loadConfig(ctx)
	if err != nil {
		return nil, err
	}
	ns := r.namespace(cfg)
	region := r.env.getenv(envMetricsRegion)
	settings := lambdaAlertSettings(cfg, r.env.getenv(envTopicARN), r.env.getenv(envStateTable), region)
	if settings.DynamoDBTable == "" {
		return nil, fmt.Errorf("Lambda keeps nothing between invocations: set %s or alerting.state.dynamodb_table", envStateTable)
	}
	withSettings := *cfg
	withSettings.Alerting = settings

	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("no AWS region: set %s", envMetricsRegion)
	}
	cw := cloudwatch.NewFromConfig(awsCfg)
	srcCfg := cloudWatchSourceConfig(awsCfg, "")
	srcCfg.Namespace, srcCfg.Regions = ns, cfg.AgentRegions()
	src, err := slo.NewCloudWatchSource(srcCfg)
	if err != nil {
		return nil, err
	}
	name := r.env.getenv(envEvaluatorName)
	if name == "" {
		name = "lambda-" + awsCfg.Region
	}
	heartbeat, err := alerting.CloudWatchHeartbeat(cw, ns, name)
	if err != nil {
		return nil, err
	}
	svc, closeFn, err := newEvaluator(ctx, &withSettings, evaluatorDeps{
		Source: src, Heartbeat: heartbeat, Logger: r.logger, Stdout: r.env.stdout,
		RecentFailure: tableFailures(ctx, settings, r.logger),
	})
	if err != nil {
		return nil, err
	}
	defer closeFn()
	onceCtx := ctx
	if !inv.Deadline.IsZero() {
		// Leave a few seconds to report the outcome to Lambda.
		var cancel context.CancelFunc
		onceCtx, cancel = context.WithDeadline(ctx, inv.Deadline.Add(-3*time.Second))
		defer cancel()
	}
	if err := svc.Once(onceCtx); err != nil {
		return nil, err
	}
	sum := evaluatorSummary{SLOs: len(cfg.SLOs)}
	for _, a := range svc.Alerts() {
		if a.Status == alerting.Firing {
			sum.Firing++
		}
	}
	return sum, nil
}

// lambdaAlertSettings is the config's alerting settings with what the
// deploy template provides: the state table, the alert topic as a receiver
// unless the config already sends to it, and, unless alerting.agents says
// otherwise, a watch on each agent region's function.
func lambdaAlertSettings(cfg *config.Config, topic, table, region string) *alerting.Settings {
	s := *alertSettings(cfg)
	s.Receivers = append([]alerting.ReceiverSettings(nil), s.Receivers...)
	if table != "" {
		s.DynamoDBTable = table
		if s.Region == "" {
			s.Region = region
		}
	}
	if len(s.Agents) == 0 && cfg.Deploy != nil {
		// The template names each region's agent function lambda-REGION
		// (NINES_AGENT_NAME), so a region whose agent stops is caught even
		// while the other regions keep the canaries' Attempts coming.
		for _, r := range cfg.Deploy.AgentRegions {
			s.Agents = append(s.Agents, "lambda-"+r)
		}
	}
	if topic != "" {
		has := false
		for _, r := range s.Receivers {
			has = has || (r.SNS != nil && r.SNS.TopicARN == topic)
		}
		if !has {
			s.Receivers = append(s.Receivers, alerting.ReceiverSettings{Name: "alert-topic", SNS: &alerting.SNSSettings{TopicARN: topic}})
		}
	}
	return &s
}

// tableFailures answers the alerts' RecentFailure hook from the last
// failures the agents wrote to the state table. The table is read once, on
// the first alert that asks; if it cannot be read, alerts go out without.
func tableFailures(ctx context.Context, settings *alerting.Settings, log *slog.Logger) alerting.RecentFailureFunc {
	var once sync.Once
	var failures map[string]alerting.Failure
	return func(canary string) (alerting.Failure, bool) {
		once.Do(func() {
			st, _, err := openAlertStore(ctx, settings, "")
			if err == nil {
				if ddb, ok := st.(*alerting.DynamoDBStore); ok {
					failures, err = ddb.RecentFailures(ctx)
				}
			}
			if err != nil {
				log.Warn("the agents' last failures cannot be read; alerts go out without them", "err", err.Error())
			}
		})
		f, ok := failures[canary]
		return f, ok
	}
}
