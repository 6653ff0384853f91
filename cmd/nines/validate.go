package main

import (
	"context"
	"fmt"

	"github.com/nines-dev/nines/config"
)

func init() {
	register("validate", "check a config file and print every problem in it", runValidate)
}

func runValidate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "validate", "validate -c FILE [--skip-env]")
	path := configFlag(fs)
	skipEnv := fs.Bool("skip-env", false, "accept ${env:NAME} references to variables that are not set here")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, err := e.loadConfig(*path, config.Options{SkipEnvCheck: *skipEnv})
	if err != nil {
		return err
	}
	steps := 0
	for _, c := range cfg.Canaries {
		steps += len(c.Steps)
	}
	fmt.Fprintf(e.stdout, "%s: ok (%d canaries, %d steps, region %s)\n", *path, len(cfg.Canaries), steps, cfg.Agent.Region)
	return nil
}
