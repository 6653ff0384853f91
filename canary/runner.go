package canary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/version"
)

// RunnerConfig configures a Runner. Every field is optional.
type RunnerConfig struct {
	// LookupEnv resolves ${env:NAME}; os.LookupEnv by default.
	LookupEnv func(string) (string, bool)
	Logger    *slog.Logger
	Clock     clock.Clock
	// ArtifactDir is where step kinds keep files from failed runs.
	ArtifactDir string
	// Resources carries what a step kind shares across runs, such as the
	// browser; kinds look up their own entry by a key of their own.
	Resources map[string]any
	// Resolver resolves host names; net.DefaultResolver when nil.
	Resolver *net.Resolver
}

// Runner turns one run of a canary into a Result. It owns what every step
// kind shares: the run's timeout, its cookie jar and extracted values, the
// redaction of secrets and the timing of the whole run.
type Runner struct {
	cfg       RunnerConfig
	userAgent string
}

// NewRunner returns a Runner.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.LookupEnv == nil {
		cfg.LookupEnv = os.LookupEnv
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	return &Runner{cfg: cfg, userAgent: "nines-canary/" + version.String()}, nil
}

// RunState is the state of one run, shared by its steps.
type RunState struct {
	Canary    string
	UserAgent string
	// Vars holds values extracted by earlier steps.
	Vars     map[string]string
	Jar      http.CookieJar
	Redactor *Redactor
	Logger   *slog.Logger
	// ArtifactDir and Resources come from the RunnerConfig.
	ArtifactDir string
	Resources   map[string]any
	// Start is when the run began, on the runner's clock.
	Start time.Time
	// Dialer opens connections, with the runner's resolver.
	Dialer *net.Dialer

	lookupEnv func(string) (string, bool)
}

// Run runs every step of c in order, stopping at the first failure, within
// c.Timeout. attempt is 1 for a scheduled run and 2 for a retry.
func (r *Runner) Run(ctx context.Context, c *Canary, attempt int, scheduled time.Time) Result {
	jar, _ := cookiejar.New(nil) // New never fails without options.
	state := &RunState{
		Canary:      c.Name,
		UserAgent:   r.userAgent,
		Vars:        map[string]string{},
		Jar:         jar,
		Redactor:    &Redactor{},
		Logger:      r.cfg.Logger.With("canary", c.Name),
		ArtifactDir: r.cfg.ArtifactDir,
		Resources:   r.cfg.Resources,
		Start:       r.cfg.Clock.Now(),
		Dialer:      &net.Dialer{Resolver: r.cfg.Resolver},
		lookupEnv:   r.cfg.LookupEnv,
	}
	res := Result{Canary: c.Name, Attempt: attempt, Scheduled: scheduled, Start: state.Start, OK: true}

	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	began := time.Now()
	for _, step := range c.Steps {
		sr := r.runStep(ctx, step, state)
		res.Steps = append(res.Steps, sr)
		if !sr.OK {
			res.OK = false
			res.Failure = sr.Failure
			res.Error = fmt.Sprintf("step %q: %s", step.Name, sr.Error)
			break
		}
	}
	res.Duration = time.Since(began)
	return res
}

func (r *Runner) runStep(ctx context.Context, step Step, state *RunState) StepResult {
	run, ok := registry[step.Spec.Kind()]
	if !ok {
		return StepResult{Name: step.Name, Kind: step.Spec.Kind(), Failure: FailRequest,
			Error: fmt.Sprintf("unknown step kind %q", step.Spec.Kind())}
	}
	began := time.Now()
	sr := run(ctx, step.Spec, state)
	sr.Name, sr.Kind = step.Name, step.Spec.Kind()
	if sr.Duration == 0 {
		sr.Duration = time.Since(began)
	}
	if sr.OK && ctx.Err() != nil {
		// A step that finished after the run's deadline (a body still
		// inflating when it passed) did not pass within the timeout.
		sr.OK = false
		sr.Error = ""
	}
	if !sr.OK {
		// The run's deadline wins over whatever error it caused inside the
		// step, so a hung server is a timeout rather than a read error.
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			sr.Failure = FailTimeout
			if sr.Error == "" {
				sr.Error = "the canary's timeout passed"
			}
		case errors.Is(ctx.Err(), context.Canceled):
			sr.Failure = FailCanceled
		}
		if sr.Failure == "" {
			sr.Failure = FailAssertion
		}
		// The class is shown beside the error everywhere ("tls: ..."); an
		// error that starts with it, as crypto/tls's all do, would read
		// "tls: tls: failed to verify certificate".
		sr.Error = strings.TrimPrefix(sr.Error, string(sr.Failure)+": ")
		sr.Error = state.Redactor.Redact(sr.Error)
	}
	return sr
}
