package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/demotarget"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

func init() {
	register("demo", "watch nines catch an outage: a local shop degrades, nines pages, the shop recovers (no AWS, no internet)", runDemo)
}

// demoStory is the shop's fault timeline, in the demo's own time.
var demoStory = []demotarget.Phase{
	{Name: "healthy", Duration: 10 * time.Minute},
	{Name: "latency regression", Duration: 10 * time.Minute}, // Delay set from the speed
	{Name: "outage", Duration: 10 * time.Minute, ErrorEvery: 1},
	{Name: "recovered", Duration: 35 * time.Minute},
}

const demoObjective = 0.999

// demoListen is --listen's default: the agent's own default port, free
// unless a `nines run` holds it.
var demoListen = config.DefaultListen

// demoConfig is an ordinary nines config: the demo goes through the same
// loader, agent and evaluator as `nines run`.
const demoConfig = `
agent: { region: local, period: 10s }
server: { listen: %q }
store: { path: %q }
canaries:
  - name: checkout
    every: 10s
    timeout: 5s
    steps:
      - name: login
        http: { method: POST, url: "%[3]s/login", body: '{"user":"canary"}' }
        assert: [ {status: 200}, {json: "$.token", exists: true} ]
        extract: { token: {json: "$.token"} }
      - name: cart
        http: { url: "%[3]s/cart", headers: {Authorization: "Bearer ${token}"} }
        assert: [ {status: 200}, {body_contains: items} ]
slos:
  - name: checkout-availability
    sli: { kind: availability, canary: checkout }
    objective: 99.9
    policy:
      tiers:
        ticket: { disabled: true }
alerting:
  evaluation_interval: 30s
  # The canary's own dead-man's switch: five minutes without a run pages.
  no_data_periods: 30
  receivers:
%[4]s`

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", "demo [--speed 60] [--listen 127.0.0.1:9642|off] [--dir DIR]")
	speed := fs.Float64("speed", 60, "time compression: 60 plays the hour-long story in about a minute; 1 is real time")
	listen := fs.String("listen", demoListen, "where to serve the web UI while the story plays, or off")
	dir := fs.String("dir", "", "keep the demo's store here (default: a temporary directory, removed afterwards)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *speed < 1 || *speed > 3600 || math.IsNaN(*speed) {
		return usageError("--speed %g: use a value from 1 (real time) to 3600", *speed)
	}
	// The UI's port is bound before anything else. 9642 is only a
	// default: taken (by a `nines run`, say), the UI moves to a free port
	// and the intro prints it. A port given with --listen must be free.
	var ui net.Listener
	if *listen != "off" {
		listenSet := false
		fs.Visit(func(f *flag.Flag) { listenSet = listenSet || f.Name == "listen" })
		var picked bool
		var err error
		ui, picked, err = listenOrAny(*listen, !listenSet, "--listen", "pass --listen with a free address, or --listen off")
		if err != nil {
			return err
		}
		defer ui.Close() // the agent's server closes it first; this is for the early returns
		if picked {
			fmt.Fprintf(e.stdout, "%s is taken (another nines?), so the web UI serves on http://%s/ instead.\n", *listen, ui.Addr())
		}
		*listen = ui.Addr().String()
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "nines-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	// A healthy month of history comes first, written before the clock
	// starts, so the story's hour begins only once it is in the store.
	start := time.Now().Truncate(time.Second)
	storePath := filepath.Join(*dir, "nines.db")
	fmt.Fprintln(e.stdout, "Writing a healthy month of history for the shop...")
	if err := seedHistory(ctx, storePath, "checkout", "local", start); err != nil {
		return fmt.Errorf("demo: writing the shop's healthy month: %w", err)
	}
	clk := clock.NewScaled(start, *speed)
	story := append([]demotarget.Phase(nil), demoStory...)
	// The regression slows every answer by up to 150 ms of wall time, but
	// never so much that a run outlasts its own interval at this speed.
	story[1].Delay = min(150*time.Millisecond, time.Duration(float64(10*time.Second)/(*speed)*0.6)).Round(time.Millisecond)
	shop, err := demotarget.StartWith(demotarget.Config{Addr: "127.0.0.1:0", Clock: clk, Timeline: story})
	if err != nil {
		return fmt.Errorf("demo: starting the shop: %w", err)
	}
	defer shop.Close()

	receivers := "    - { name: log, log: {} }\n"
	if e.getenv("SLACK_TOKEN") != "" && e.getenv("SLACK_CHANNEL") != "" {
		receivers += "    - { name: slack, slack: { token: \"${env:SLACK_TOKEN}\", channel: \"${env:SLACK_CHANNEL}\" } }\n"
	}
	text := fmt.Sprintf(demoConfig, *listen, storePath, shop.URL(), receivers)
	cfg, err := config.Parse("demo.yaml", []byte(text), config.Options{LookupEnv: e.lookupEnv})
	if err != nil {
		return fmt.Errorf("demo: the demo's own config is invalid: %w", err)
	}

	n := &narrator{w: e.stdout, clk: clk, start: clk.Now(), shop: shop, story: story}
	quiet := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := newAgent(ctx, cfg, agentDeps{env: &env{stdin: e.stdin, stdout: n.logWriter(), stderr: e.stderr,
		getenv: e.getenv, lookupEnv: e.lookupEnv}, logger: quiet, clock: clk, print: "none", textOut: true, onAlert: n.alert,
		listener: ui})
	if err != nil {
		return err
	}
	n.store = a.store
	n.intro(cfg, *listen, *speed)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		// An agent that stops early (a store it cannot open, say) ends
		// the story at once rather than after an hour of empty figures.
		done <- a.run(runCtx)
		stop()
	}()
	narrateErr := n.narrate(runCtx, cfg.SLOs[0], storyLength(story))
	stop()
	runErr := <-done
	if narrateErr != nil && !errors.Is(narrateErr, context.Canceled) {
		return narrateErr
	}
	if runErr != nil {
		return runErr
	}
	return n.summary()
}

// seedHistory writes thirty healthy days before now, one aggregate a
// minute, so the SLO's 30-day budget and every burn-rate window start full,
// as they would for a shop nines had watched for a month.
func seedHistory(ctx context.Context, path, canaryName, region string, now time.Time) error {
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: path})
	if err != nil {
		return err
	}
	defer store.Close(ctx)
	h := metrics.NewLatencyHistogram(metrics.DefaultPrecision)
	for _, us := range []int64{1800, 1900, 2000, 2100, 2300, 2600} {
		_ = h.RecordValue(us)
	}
	dist := metrics.DistributionOf(h)
	end := now.Truncate(time.Minute)
	for day := 30; day > 0; day-- {
		var b metrics.Batch
		from := end.Add(-time.Duration(day) * 24 * time.Hour)
		for m := 0; m < 24*60; m++ {
			a := &metrics.Aggregate{Series: metrics.Series{Canary: canaryName, Region: region},
				Start: from.Add(time.Duration(m) * time.Minute), Period: time.Minute, Attempts: 6, Successes: 6}
			a.SetLatencyDistribution(dist)
			b.Aggregates = append(b.Aggregates, a)
		}
		if err := store.Write(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func storyLength(p []demotarget.Phase) time.Duration {
	var d time.Duration
	for _, ph := range p {
		d += ph.Duration
	}
	return d
}

// narrator prints what happens, in the demo's own time since the start.
type narrator struct {
	w     io.Writer
	clk   clock.Clock
	start time.Time
	shop  *demotarget.Server
	story []demotarget.Phase
	store *metrics.Store

	mu          sync.Mutex
	outageAt    time.Time
	recoveredAt time.Time
	pages       []alerting.Notification
	resolves    []alerting.Notification
	seen        map[string]bool
}

func (n *narrator) say(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	el := n.clk.Now().Sub(n.start).Round(time.Second)
	fmt.Fprintf(n.w, "[%02d:%02d] %s\n", int(el.Minutes()), int(el.Seconds())%60, fmt.Sprintf(format, args...))
}

// logWriter prefixes the log receiver's lines, so they read as part of the
// story.
func (n *narrator) logWriter() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
			n.say("log receiver: %s", line)
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (n *narrator) intro(cfg *config.Config, listen string, speed float64) {
	fmt.Fprintf(n.w, "nines demo: a shop at %s, probed by the canary %q every %s (log in, then read the cart).\n",
		n.shop.URL(), cfg.Canaries[0].Name, cfg.Canaries[0].Every)
	fmt.Fprintf(n.w, "SLO %s: %s of runs succeed over %s. Pages go to the log receiver", cfg.SLOs[0].Name,
		slo.Percent(cfg.SLOs[0].Objective), cfg.SLOs[0].Window)
	if len(cfg.Alerting.Receivers) > 1 {
		fmt.Fprint(n.w, " and Slack")
	}
	fmt.Fprintln(n.w, ".")
	var phases []string
	for _, p := range n.story {
		phases = append(phases, fmt.Sprintf("%s %s", p.Name, slo.FormatDuration(p.Duration)))
	}
	fmt.Fprintf(n.w, "The story: %s. Before it, a healthy month of history. Time runs %gx faster than real.\n", strings.Join(phases, ", then "), speed)
	if listen != "off" {
		fmt.Fprintf(n.w, "Watch it in the web UI: http://%s/\n", listen)
	}
	fmt.Fprintln(n.w)
}

// alert hears every delivery; each notification is told once.
func (n *narrator) alert(r alerting.Result) {
	if !r.Delivered {
		return
	}
	n.mu.Lock()
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	if n.seen[r.ID] {
		n.mu.Unlock()
		return
	}
	n.seen[r.ID] = true
	outage, recovered := n.outageAt, n.recoveredAt
	switch {
	case r.Kind == alerting.KindResolve && r.Key.Severity == alerting.Page:
		n.resolves = append(n.resolves, r.Notification)
	case (r.Kind == alerting.KindFire || r.Kind == alerting.KindEscalate) && r.Key.Severity == alerting.Page:
		n.pages = append(n.pages, r.Notification)
	}
	n.mu.Unlock()
	switch {
	case r.Key.Severity != alerting.Page:
	case r.Kind == alerting.KindFire || r.Kind == alerting.KindEscalate:
		detect := ""
		if !outage.IsZero() {
			took := r.At.Sub(outage).Round(time.Second)
			formula := time.Duration((1 - demoObjective) / 1.0 * float64(time.Hour) * 14.4).Round(time.Second)
			detect = fmt.Sprintf(", %s after the outage began (the workbook's formula for a full outage at 99.9%%: %s, plus the %s evaluation interval)",
				took, formula, 30*time.Second)
		}
		n.say("PAGE  %s fired by %s%s", r.Key.Subject, r.Details.Tier, detect)
	case r.Kind == alerting.KindResolve:
		after := ""
		if !recovered.IsZero() {
			after = fmt.Sprintf(", %s after the shop recovered (the 30m window of the slow page tier has to clear)", r.At.Sub(recovered).Round(time.Second))
		}
		n.say("RESOLVED  %s%s", r.Key.Subject, after)
	}
}

// narrate reports the shop's phase changes and, every five minutes of demo
// time, the canaries' figures, until the story ends and the page has
// resolved (or ten more minutes have passed).
func (n *narrator) narrate(ctx context.Context, s slo.SLO, length time.Duration) error {
	src, err := slo.NewLocalSource(n.store)
	if err != nil {
		return err
	}
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: n.clk})
	if err != nil {
		return err
	}
	phase := ""
	lastReport := n.start
	var baseline float64
	for first := true; ; first = false {
		wait := 10 * time.Second
		if first {
			wait = 0
		}
		t := n.clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		}
		now := n.clk.Now()
		if p := n.shop.Phase(); p.Name != phase {
			phase = p.Name
			n.mu.Lock()
			switch p.Name {
			case "outage":
				n.outageAt = now
			case "recovered":
				n.recoveredAt = now
			}
			n.mu.Unlock()
			switch {
			case p.Delay > 0:
				n.say("the shop: %s, every answer %s slower", p.Name, p.Delay)
			case p.ErrorEvery == 1:
				n.say("the shop: %s, every request fails with 503", p.Name)
			default:
				n.say("the shop: %s", p.Name)
			}
		}
		if now.Sub(lastReport) >= 5*time.Minute {
			lastReport = now
			tail := n.recentTail(ctx, now)
			if baseline == 0 && tail.ok {
				baseline = tail.p999
			}
			line := "canaries: no runs over the last 5m"
			switch {
			case tail.ok:
				line = fmt.Sprintf("canaries: p99.9 of successful runs over the last 5m %.1f ms", tail.p999)
				if baseline > 0 && tail.p999 > 3*baseline {
					line += fmt.Sprintf(" (up from %.1f ms)", baseline)
				}
			case tail.attempts > 0:
				line = "canaries: no successful runs over the last 5m"
			}
			if tail.attempts > 0 {
				line += fmt.Sprintf(", %s of %d runs failed", slo.Percent(float64(tail.attempts-tail.successes)/float64(tail.attempts)), tail.attempts)
			}
			if ds, err := ev.Evaluate(ctx, []slo.SLO{s}); err == nil && len(ds) == 1 && !ds[0].Budget.NoData {
				d := ds[0]
				line += fmt.Sprintf("; budget %s left (%s)", slo.Percent(math.Max(d.Budget.Remaining, -9.99)), d.BudgetState)
				if len(d.Burns) > 0 && !d.Burns[0].NoData {
					line += fmt.Sprintf(", burning %.1fx over %s", d.Burns[0].BurnRate, slo.FormatDuration(d.Burns[0].Window))
				}
				alert := string(d.State)
				if t, ok := d.FiredTier(); ok {
					alert += " (" + t.Name + ")"
				}
				line += ", alert " + alert
			}
			n.say("%s", line)
		}
		n.mu.Lock()
		resolved := len(n.resolves) > 0
		n.mu.Unlock()
		elapsed := now.Sub(n.start)
		if elapsed >= length && (resolved || elapsed >= length+10*time.Minute) {
			return nil
		}
	}
}

type recentRuns struct {
	p999                float64
	ok                  bool
	attempts, successes int64
}

// recentTail is the canary's last five minutes: p99.9 over its successful
// runs, from the store's merged histograms (ok is false when no run
// succeeded: there is no latency to show, which is not 0 ms), and the runs
// that failed beside it.
func (n *narrator) recentTail(ctx context.Context, now time.Time) (t recentRuns) {
	q := metrics.StoreQuery{Canary: "checkout", From: now.Add(-5 * time.Minute).Truncate(10 * time.Second), To: now.Truncate(10 * time.Second)}
	if counts, err := n.store.Counts(ctx, q); err == nil {
		for _, c := range counts {
			t.attempts += c.Attempts
			t.successes += c.Successes
		}
	}
	d, err := n.store.Latency(ctx, q)
	if err != nil || d.Total() == 0 {
		return t
	}
	t.p999, t.ok = float64(d.ValueAtPercentile(99.9))/1000, true
	return t
}

func (n *narrator) summary() error {
	n.mu.Lock()
	pages, resolves := len(n.pages), len(n.resolves)
	n.mu.Unlock()
	fmt.Fprintf(n.w, "\nThe end: %d page, %d resolve.", pages, resolves)
	if pages == 1 && resolves == 1 {
		fmt.Fprintln(n.w, " One outage, one page, one resolve: no alert storm.")
		fmt.Fprintln(n.w, "Next: examples/quickstart.yaml for your own canaries, docs/config.md for the reference.")
		return nil
	}
	fmt.Fprintln(n.w)
	return &exitError{code: 1, msg: fmt.Sprintf("demo: expected one page and one resolve, saw %d and %d", pages, resolves)}
}
