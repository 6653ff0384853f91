package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/deploy"
)

func init() {
	register("deploy", "render the CloudFormation parameters, or print a template (deploy render|template)", runDeploy, "render", "template")
}

func runDeploy(ctx context.Context, e *env, args []string) error {
	usage := "deploy render -c FILE [--format json|overrides] [--agent-template-url URL]\n       nines deploy template nines.yaml|agent.yaml"
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if len(args) == 0 {
			return usageError("usage: nines %s", usage)
		}
		fmt.Fprintf(e.stdout, "Usage: nines %s\n", usage)
		return nil
	}
	switch args[0] {
	case "render":
		return runDeployRender(e, args[1:])
	case "template":
		return runDeployTemplate(e, args[1:])
	}
	return usageError("deploy %q: use render or template", args[0])
}

// runDeployRender prints nines.yaml's parameters from the config's
// deploy: section and canaries. json is CloudFormation's parameter file
// (create-stack --parameters file://...); overrides is Key=Value lines for
// `aws cloudformation deploy --parameter-overrides`.
func runDeployRender(e *env, args []string) error {
	fs := newFlagSet(e, "deploy render", "deploy render -c FILE [--format json|overrides] [--agent-template-url URL]")
	path := configFlag(fs)
	format := fs.String("format", "json", "output: json (a CloudFormation parameter file) or overrides (Key=Value lines)")
	templateURL := fs.String("agent-template-url", "", "S3 URL of agent.yaml (default: next to the zip in the monitoring region's code bucket)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, "json", "overrides"); err != nil {
		return err
	}
	// The functions resolve ${env:NAME} on Lambda, not here.
	cfg, err := e.loadConfig(*path, config.Options{SkipEnvCheck: true})
	if err != nil {
		return err
	}
	in := deploy.Input{Deploy: cfg.Deploy, Agent: cfg.Agent, Canaries: cfg.Canaries, AgentTemplateURL: *templateURL}
	if cw := cfg.Metrics.CloudWatch; cw != nil {
		in.Namespace = cw.Namespace
	}
	plan, err := deploy.Render(in)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("%s: %v", *path, err)}
	}
	for _, w := range plan.Warnings {
		fmt.Fprintln(e.stderr, "nines: warning:", w)
	}
	fmt.Fprintf(e.stderr, "nines: deploy nines.yaml in %s, the monitoring region\n", plan.Region)
	switch *format {
	case "overrides":
		for _, p := range plan.Parameters {
			fmt.Fprintf(e.stdout, "%s=%s\n", p.Key, p.Value)
		}
	default:
		out, err := json.MarshalIndent(plan.Parameters, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(out))
	}
	return nil
}

// runDeployTemplate prints one of the embedded templates, so the binary
// that is deployed carries the template that matches it.
func runDeployTemplate(e *env, args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintf(e.stdout, "Usage: nines deploy template %s\n", strings.Join(deploy.TemplateNames, "|"))
		return nil
	}
	if len(args) != 1 || !slices.Contains(deploy.TemplateNames, args[0]) {
		return usageError("deploy template: name one of %s", strings.Join(deploy.TemplateNames, ", "))
	}
	data, err := deploy.Templates.ReadFile(args[0])
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(data)
	return err
}
