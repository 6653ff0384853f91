package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/internal/lambdarun"
	"github.com/nines-dev/nines/metrics"
)

func init() {
	register("lambda", "serve AWS Lambda invocations (what bootstrap does when AWS_LAMBDA_RUNTIME_API is set)", runLambda)
}

// Environment variables the deploy templates set, besides lambdarun's.
const (
	envAgentRegion   = "NINES_AGENT_REGION"   // the Region dimension: where the probe runs
	envAgentName     = "NINES_AGENT_NAME"     // the Agent dimension of the heartbeat
	envMetricsRegion = "NINES_METRICS_REGION" // the monitoring region metrics go to
	envNamespace     = "NINES_NAMESPACE"      // the namespace IAM allows
	envMetricsSink   = "NINES_METRICS_SINK"   // cloudwatch (PutMetricData, default) or emf
	envSpoolDir      = "NINES_SPOOL_DIR"      // where unpublished metrics wait; /tmp survives warm starts
	envTopicARN      = "NINES_SNS_TOPIC_ARN"  // the alert topic
	envStateTable    = "NINES_STATE_TABLE"    // the alert state table
)

func runLambda(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "lambda", "lambda [--log-level info]")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if e.getenv(lambdarun.EnvRuntimeAPI) == "" {
		return usageError("lambda: %s is not set; this command is the Lambda function's bootstrap (see docs/deploy.md)", lambdarun.EnvRuntimeAPI)
	}
	// Lambda sends stdout and stderr to CloudWatch Logs; stdout carries the
	// EMF documents, so the logs go to stderr, as JSON.
	logger, err := newLogger(e.stderr, "json", *logLevel)
	if err != nil {
		return err
	}
	r := &lambdaRoles{env: e, logger: logger}
	h, err := lambdarun.NewHandler(lambdarun.HandlerConfig{
		Roles: map[string]lambdarun.Role{
			lambdarun.RoleAgent:     r.agent,
			lambdarun.RoleEvaluator: r.evaluator,
		},
		DefaultRole: e.getenv(lambdarun.EnvRole),
		Logger:      logger,
	})
	if err != nil {
		return err
	}
	lambdarun.Serve(ctx, h)
	return nil
}

// lambdaRoles are the two things a nines function does per invocation.
type lambdaRoles struct {
	env    *env
	logger *slog.Logger
}

// loadConfig reads the config from where the environment says. It is read
// on every invocation: a config changed in S3 or SSM takes effect on the
// next minute, with no redeploy.
func (r *lambdaRoles) loadConfig(ctx context.Context) (*config.Config, error) {
	src, err := lambdarun.SourceFromEnv(r.env.getenv)
	if err != nil {
		return nil, err
	}
	name, data, err := src.Fetch(ctx, lambdarun.Clients{})
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	cfg, err := config.Parse(name, data, config.Options{LookupEnv: r.env.lookupEnv, Hostname: host})
	var errs config.Errors
	if errors.As(err, &errs) {
		msgs := make([]string, len(errs))
		for i, ce := range errs {
			msgs[i] = ce.Error()
		}
		return nil, fmt.Errorf("%s: %d problem(s): %s", name, len(errs), strings.Join(msgs, "; "))
	}
	return cfg, err
}

// namespace is the metrics namespace: the template's, which its IAM
// policy allows, then the config's cloudwatch.namespace, then the default.
func (r *lambdaRoles) namespace(cfg *config.Config) string {
	if ns := r.env.getenv(envNamespace); ns != "" {
		return ns
	}
	if cw := cfg.Metrics.CloudWatch; cw != nil && cw.Namespace != "" {
		return cw.Namespace
	}
	return metrics.DefaultNamespace
}
