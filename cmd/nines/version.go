package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/nines-dev/nines/internal/version"
)

func init() {
	register("version", "print the version", runVersion)
}

func runVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "version", "version")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "nines %s (%s, %s/%s)\n", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
