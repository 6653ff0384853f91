// Package deploy holds the CloudFormation templates that put nines on AWS
// Lambda, and turns a nines config into their parameters. nines.yaml goes
// to the monitoring region: the evaluator, the alert topic, the state
// table, the heartbeat alarm and a StackSet that deploys agent.yaml, the
// canary agent, to every agent region. `nines deploy render` prints the
// parameters; `nines deploy template` prints the templates, which are
// embedded in the binary so they always match the code that reads their
// environment variables.
package deploy

import (
	"embed"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
)

// Templates holds nines.yaml and agent.yaml.
//
//go:embed nines.yaml agent.yaml
var Templates embed.FS

// TemplateNames are the files in Templates.
var TemplateNames = []string{"nines.yaml", "agent.yaml"}

// DefaultNamespace is the metrics namespace when the config names none.
const DefaultNamespace = "Nines"

// Lambda limits and the margins render leaves.
const (
	maxLambdaTimeout = 15 * time.Minute
	// flushMargin is the time an agent invocation keeps for publishing
	// after its last run.
	flushMargin = 15 * time.Second
	// spreadWindow is what a spread invocation covers: one minute of the
	// schedule grid, invoked every minute.
	spreadWindow = time.Minute
)

// Parameter is one stack parameter, in the shape of CloudFormation's
// parameter files (create-stack --parameters file://...).
type Parameter struct {
	Key   string `json:"ParameterKey"`
	Value string `json:"ParameterValue"`
}

// Input is what the parameters are rendered from.
type Input struct {
	Deploy   *config.Deploy
	Agent    config.Agent
	Canaries []*canary.Canary
	// Namespace is the metrics namespace; DefaultNamespace when empty.
	Namespace string
	// AgentTemplateURL is where agent.yaml was uploaded; by default next
	// to the zip in the monitoring region's code bucket.
	AgentTemplateURL string
}

// Plan is the rendered deployment.
type Plan struct {
	// Region is where nines.yaml is deployed: the monitoring region.
	Region string
	// Parameters are nines.yaml's, in template order.
	Parameters []Parameter
	// Warnings are choices render made that the user should know about.
	Warnings []string
}

// Render computes nines.yaml's parameters from the config.
func Render(in Input) (Plan, error) {
	d := in.Deploy
	if d == nil {
		return Plan{}, errors.New("the config has no deploy: section; see docs/deploy.md")
	}
	if len(in.Canaries) == 0 {
		return Plan{}, errors.New("the config has no canaries")
	}
	ns := in.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	var p Plan
	p.Region = d.MonitoringRegion
	schedule, timeout, warnings := agentSchedule(in)
	p.Warnings = warnings

	bucket, key, param := "", "", ""
	switch {
	case strings.HasPrefix(d.ConfigSource, "s3://"):
		bucket, key, _ = strings.Cut(strings.TrimPrefix(d.ConfigSource, "s3://"), "/")
	case strings.HasPrefix(d.ConfigSource, "ssm:"):
		param = strings.TrimPrefix(d.ConfigSource, "ssm:")
	default:
		p.Warnings = append(p.Warnings, "no deploy.config_source: the functions read nines.yaml from the zip, so put this file in it")
	}
	templateURL := in.AgentTemplateURL
	if templateURL == "" {
		dir := path.Dir(d.CodeKey)
		if dir == "." {
			dir = ""
		} else {
			dir += "/"
		}
		templateURL = fmt.Sprintf("https://%s-%s.s3.%s.amazonaws.com/%sagent.yaml", d.CodeBucketPrefix, d.MonitoringRegion, d.MonitoringRegion, dir)
	}
	p.Parameters = []Parameter{
		{"Namespace", ns},
		{"AgentRegions", strings.Join(d.AgentRegions, ",")},
		{"AgentTemplateURL", templateURL},
		{"CodeBucketPrefix", d.CodeBucketPrefix},
		{"CodeKey", d.CodeKey},
		{"Architecture", d.Architecture},
		{"ConfigBucket", bucket},
		{"ConfigKey", key},
		{"ConfigParameter", param},
		{"AgentSchedule", schedule},
		{"AgentTimeoutSeconds", strconv.Itoa(int(timeout / time.Second))},
		{"AlertEmail", d.AlertEmail},
	}
	return p, nil
}

// agentSchedule picks the agent's schedule and timeout. A spread agent is
// invoked every minute and runs each canary on its grid through the
// minute; otherwise each invocation runs every canary once, as often as
// the most frequent canary asks (EventBridge's finest rate is a minute).
func agentSchedule(in Input) (schedule string, timeout time.Duration, warnings []string) {
	var minEvery, maxRun time.Duration
	for _, c := range in.Canaries {
		if minEvery == 0 || c.Every < minEvery {
			minEvery = c.Every
		}
		maxRun = max(maxRun, c.Timeout*time.Duration(1+c.Retries))
	}
	// Runs beyond max_concurrent wait for a slot.
	waves := (len(in.Canaries) + in.Agent.MaxConcurrent - 1) / max(in.Agent.MaxConcurrent, 1)
	timeout = maxRun*time.Duration(waves) + flushMargin
	if in.Deploy.Spread {
		schedule = "rate(1 minute)"
		timeout += spreadWindow
	} else {
		minutes := int((minEvery + time.Minute - 1) / time.Minute)
		schedule = "rate(1 minute)"
		if minutes > 1 {
			schedule = fmt.Sprintf("rate(%d minutes)", minutes)
		}
		if minEvery < time.Minute {
			warnings = append(warnings, fmt.Sprintf("a canary runs every %s, but an agent invocation runs each canary once a minute; set deploy.spread: true to keep the interval", minEvery))
		}
		var slower []string
		for _, c := range in.Canaries {
			if c.Every > time.Duration(minutes)*time.Minute {
				slower = append(slower, c.Name)
			}
		}
		if len(slower) > 0 {
			slices.Sort(slower)
			warnings = append(warnings, fmt.Sprintf("%s run every %d minute(s) with the rest; set deploy.spread: true to keep their own intervals", strings.Join(slower, ", "), minutes))
		}
	}
	timeout = (timeout + time.Second - 1).Truncate(time.Second)
	if timeout > maxLambdaTimeout {
		warnings = append(warnings, fmt.Sprintf("the canaries need %s per invocation, more than Lambda's 15 minutes; the timeout is capped: lower timeouts or raise agent.max_concurrent", timeout))
		timeout = maxLambdaTimeout
	}
	return schedule, timeout, warnings
}
