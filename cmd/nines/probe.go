package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
)

func init() {
	register("probe", "run each canary once, print the result, exit 1 if any failed", runProbe)
}

// probeJSON is the stable JSON form of a probe result; keep the names.
type probeJSON struct {
	Canary     string          `json:"canary"`
	OK         bool            `json:"ok"`
	DurationMs float64         `json:"duration_ms"`
	Failure    string          `json:"failure"`
	Error      string          `json:"error,omitempty"`
	Steps      []probeStepJSON `json:"steps"`
}

type probeStepJSON struct {
	Name       string     `json:"name"`
	OK         bool       `json:"ok"`
	DurationMs float64    `json:"duration_ms"`
	Status     int        `json:"status,omitempty"`
	Phases     phasesJSON `json:"phases"`
	Error      string     `json:"error,omitempty"`
	Artifacts  []string   `json:"artifacts,omitempty"`
	// Timings and Counts are a kind's own, such as a browser step's
	// dom_content_loaded and failed_requests.
	Timings map[string]float64 `json:"timings_ms,omitempty"`
	Counts  map[string]int     `json:"counts,omitempty"`
	// Cert is the certificate a step's TLS handshake presented.
	Cert *certJSON `json:"cert,omitempty"`
}

type certJSON struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
}

type phasesJSON struct {
	DNS      float64 `json:"dns_ms"`
	Connect  float64 `json:"connect_ms"`
	TLS      float64 `json:"tls_ms"`
	TTFB     float64 `json:"ttfb_ms"`
	Transfer float64 `json:"transfer_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func toProbeJSON(r canary.Result) probeJSON {
	out := probeJSON{Canary: r.Canary, OK: r.OK, DurationMs: ms(r.Duration), Failure: string(r.Failure), Error: r.Error,
		Steps: []probeStepJSON{}}
	for _, s := range r.Steps {
		var timings map[string]float64
		for k, d := range s.Timings {
			if timings == nil {
				timings = map[string]float64{}
			}
			timings[k] = ms(d)
		}
		var cert *certJSON
		if c := s.Cert; c != nil {
			cert = &certJSON{Subject: c.Subject, Issuer: c.Issuer, NotAfter: c.NotAfter.UTC()}
		}
		out.Steps = append(out.Steps, probeStepJSON{
			Timings: timings, Counts: s.Counts, Cert: cert,
			Name: s.Name, OK: s.OK, DurationMs: ms(s.Duration), Status: s.Status, Error: s.Error, Artifacts: s.Artifacts,
			Phases: phasesJSON{DNS: ms(s.Phases.DNS), Connect: ms(s.Phases.Connect), TLS: ms(s.Phases.TLS),
				TTFB: ms(s.Phases.TTFB), Transfer: ms(s.Phases.Transfer)},
		})
	}
	return out
}

func runProbe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "probe", "probe -c FILE [--canary NAME] [--format text|json] [--no-demo]")
	path := configFlag(fs)
	only := fs.String("canary", "", "run only the canary with this `name`")
	format := fs.String("format", "text", "output format: text or json")
	noDemo := fs.Bool("no-demo", false, "don't start the config's demo shop (demo.listen); probe whatever serves that address")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, "text", "json"); err != nil {
		return err
	}
	cfg, err := e.loadConfig(*path, config.Options{})
	if err != nil {
		return err
	}
	canaries := cfg.Canaries
	if *only != "" {
		canaries = nil
		var names []string
		for _, c := range cfg.Canaries {
			names = append(names, c.Name)
			if c.Name == *only {
				canaries = append(canaries, c)
			}
		}
		if len(canaries) == 0 {
			return usageError("--canary %q: no such canary; the config has %s", *only, strings.Join(names, ", "))
		}
	}
	if cfg.DemoListen != "" && !*noDemo {
		// A demo shop already serving demo.listen (a quickstart `nines
		// run`) is the same shop: probe it rather than fight for its port.
		shop, reused, err := openDemoShop(ctx, cfg.DemoListen)
		if err != nil {
			return fmt.Errorf("%w (or pass --no-demo to probe whatever serves it)", err)
		}
		defer shop.Close()
		if reused {
			fmt.Fprintf(e.stderr, "probe: the demo shop already serves http://%s; probing that one\n", cfg.DemoListen)
		}
	}
	browsers, err := newBrowserPool(cfg, canaries, nil)
	if err != nil {
		return err
	}
	if browsers != nil {
		defer browsers.Close()
	}
	runner, err := canary.NewRunner(canary.RunnerConfig{LookupEnv: e.lookupEnv, Resources: browserResources(browsers)})
	if err != nil {
		return err
	}
	results := make([]canary.Result, len(canaries))
	var wg sync.WaitGroup
	sem := make(chan struct{}, cfg.Agent.MaxConcurrent)
	for i, c := range canaries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = runner.Run(ctx, c, 1, time.Now())
		}()
	}
	wg.Wait()

	failed := 0
	for _, r := range results {
		if !r.OK {
			failed++
		}
	}
	if *format == "json" {
		out := make([]probeJSON, len(results))
		for i, r := range results {
			out[i] = toProbeJSON(r)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printProbeText(e.stdout, results)
		fmt.Fprintf(e.stdout, "%d canaries, %d passed, %d failed\n", len(results), len(results)-failed, failed)
	}
	if failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}

func printProbeText(w io.Writer, results []canary.Result) {
	for _, r := range results {
		state := "ok"
		if !r.OK {
			state = "FAIL " + string(r.Failure)
		}
		fmt.Fprintf(w, "%-24s %-18s %9.1fms\n", r.Canary, state, ms(r.Duration))
		for _, s := range r.Steps {
			st := "ok"
			if !s.OK {
				st = "FAIL"
			}
			fmt.Fprintf(w, "  %-22s %-4s %9.1fms  dns %.1f  connect %.1f  tls %.1f  ttfb %.1f  transfer %.1f",
				s.Name, st, ms(s.Duration), ms(s.Phases.DNS), ms(s.Phases.Connect), ms(s.Phases.TLS), ms(s.Phases.TTFB), ms(s.Phases.Transfer))
			if s.Status != 0 {
				fmt.Fprintf(w, "  status %d", s.Status)
			}
			fmt.Fprintln(w)
			printKindPhases(w, s)
			if s.Error != "" {
				fmt.Fprintf(w, "    %s: %s\n", s.Failure, s.Error)
			}
			for _, a := range s.Artifacts {
				fmt.Fprintf(w, "    artifact: %s\n", a)
			}
		}
	}
}

// printKindPhases prints what a step kind records beyond the common
// phases: a grpc step's call, a websocket's upgrade and first message, an
// icmp step's round trips and counts, and the certificate a handshake saw.
func printKindPhases(w io.Writer, s canary.StepResult) {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.Timings)) {
		parts = append(parts, fmt.Sprintf("%s %.1f", k, ms(s.Timings[k])))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, s.Counts[k]))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "    %s\n", strings.Join(parts, "  "))
	}
	if c := s.Cert; c != nil {
		fmt.Fprintf(w, "    cert %s, issued by %s, expires %s\n", c.Subject, c.Issuer, c.NotAfter.UTC().Format(time.RFC3339))
	}
}

// newBrowserPool returns the agent's browser when a canary has a browser
// step, or nil. nines run and nines probe share it; close it when done.
func newBrowserPool(cfg *config.Config, canaries []*canary.Canary, logger *slog.Logger) (*canary.BrowserPool, error) {
	for _, c := range canaries {
		for _, s := range c.Steps {
			if s.Spec.Kind() == "browser" {
				bc := cfg.Browser
				bc.Logger = logger
				pool, err := canary.NewBrowserPool(bc)
				if err != nil {
					return nil, fmt.Errorf("browser: %w", err)
				}
				return pool, nil
			}
		}
	}
	return nil, nil
}

// browserResources is the Runner's Resources for a pool, which may be nil.
func browserResources(pool *canary.BrowserPool) map[string]any {
	if pool == nil {
		return nil
	}
	return map[string]any{canary.BrowserResource: pool}
}
