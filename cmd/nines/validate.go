package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/nines-dev/nines/config"
)

func init() {
	register("validate", "check a config file and print every problem in it", runValidate)
}

// validateJSON is the stable JSON form of a validation, for scripts.
type validateJSON struct {
	File     string          `json:"file"`
	OK       bool            `json:"ok"`
	Canaries int             `json:"canaries"`
	Steps    int             `json:"steps"`
	SLOs     int             `json:"slos"`
	Errors   []validateIssue `json:"errors"`
	Warnings []validateIssue `json:"warnings"`
}

type validateIssue struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

func issues(es []config.Error) []validateIssue {
	out := []validateIssue{}
	for _, e := range es {
		out = append(out, validateIssue{File: e.File, Line: e.Line, Path: e.Path, Message: e.Msg})
	}
	return out
}

func runValidate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "validate", "validate -c FILE [--skip-env] [--format text|json]")
	path := configFlag(fs)
	skipEnv := fs.Bool("skip-env", false, "accept ${env:NAME} references to variables that are not set here")
	format := fs.String("format", "text", "output format: text, or json for scripts")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, "text", "json"); err != nil {
		return err
	}
	if *format == "json" {
		return validateAsJSON(e, *path, *skipEnv)
	}
	cfg, err := e.loadConfig(*path, config.Options{SkipEnvCheck: *skipEnv})
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(e.stderr, "warning:", w.Error())
	}
	steps := 0
	for _, c := range cfg.Canaries {
		steps += len(c.Steps)
	}
	fmt.Fprintf(e.stdout, "%s: ok (%d canaries, %d steps, %d SLOs, region %s)\n", *path, len(cfg.Canaries), steps, len(cfg.SLOs), cfg.Agent.Region)
	return nil
}

func validateAsJSON(e *env, path string, skipEnv bool) error {
	if path == "" {
		return usageError("-c FILE is required; see examples/quickstart.yaml")
	}
	host, _ := os.Hostname()
	out := validateJSON{File: path, Errors: []validateIssue{}, Warnings: []validateIssue{}}
	cfg, err := config.Load(path, config.Options{SkipEnvCheck: skipEnv, LookupEnv: e.lookupEnv, Hostname: host})
	var errs config.Errors
	switch {
	case errors.As(err, &errs):
		out.Errors = issues(errs)
	case err != nil:
		out.Errors = []validateIssue{{File: path, Message: err.Error()}}
	default:
		out.OK = true
		out.Canaries, out.SLOs = len(cfg.Canaries), len(cfg.SLOs)
		for _, c := range cfg.Canaries {
			out.Steps += len(c.Steps)
		}
		out.Warnings = issues(cfg.Warnings)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	if !out.OK {
		return &exitError{code: 1}
	}
	return nil
}
