package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/nines-dev/nines/config"
)

// configFlag adds -c/--config to fs.
func configFlag(fs *flag.FlagSet) *string {
	p := fs.String("c", "", "path to the nines config `file` (required)")
	fs.StringVar(p, "config", "", "same as -c")
	return p
}

// loadConfig loads the file named by -c, printing every problem found.
func (e *env) loadConfig(path string, opts config.Options) (*config.Config, error) {
	if path == "" {
		return nil, usageError("-c FILE is required; see examples/quickstart.yaml")
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = e.lookupEnv
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	cfg, err := config.Load(path, opts)
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, ce := range errs {
			fmt.Fprintln(e.stderr, ce.Error())
		}
		return nil, &exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s) found", path, len(errs))}
	}
	return cfg, err
}

// newLogger logs JSON when stderr is not a terminal (production) and text
// when it is, unless format says otherwise.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: forPeople}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto":
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				return slog.New(slog.NewTextHandler(w, opts)), nil
			}
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError("--log-format %q: use auto, text or json", format)
}
