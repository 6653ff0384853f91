package slo

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// BacktestConfig is what a backtest replays: a trace and the SLO to judge
// it by.
type BacktestConfig struct {
	Trace     Trace
	Objective float64
	Window    Window
	Budgeting Budgeting
	Policy    *Policy // nil is DefaultPolicy()
	// Probes is the SLI's cadence, as for a canary SLO in a config; zero
	// judges the trace as a ratio SLI, from the counts it holds.
	Probes Probes
}

// Alert is one firing of one tier during a backtest.
type Alert struct {
	Severity    Severity
	Tier        string
	LongWindow  time.Duration
	ShortWindow time.Duration
	// BurnRate is the long window's burn rate when the alert fired.
	BurnRate float64
	FiredAt  time.Time
	// ResolvedAt is nil when the alert still fires at the end of the trace.
	ResolvedAt *time.Time
}

// BacktestResult is what a backtest found.
type BacktestResult struct {
	Alerts []Alert
	// Budget is the budget at the last evaluation.
	Budget      Budget
	Evaluations int
}

// backtestSLI names the trace inside the backtest's own source.
var backtestSLI = SLI{Kind: SLIAvailability, Canary: "backtest"}

// Backtest replays the trace through the live Evaluator, once at the end of
// every step, with a fake clock, and records when each tier would have
// fired and resolved. Tiers are tracked one by one: the inhibition of a
// ticket by a page belongs to alerting, not to what the policy raised.
func Backtest(ctx context.Context, cfg BacktestConfig) (BacktestResult, error) {
	var res BacktestResult
	if err := cfg.Trace.validate(); err != nil {
		return res, err
	}
	if len(cfg.Trace.Total) == 0 {
		return res, errors.New("slo: the trace is empty")
	}
	s := SLO{Name: "backtest", SLI: backtestSLI, Objective: cfg.Objective, Window: cfg.Window, Budgeting: cfg.Budgeting, Policy: cfg.Policy, Probes: cfg.Probes}
	if err := s.Validate(); err != nil {
		return res, err
	}
	src := NewMemorySource()
	if err := src.Add(backtestSLI, cfg.Trace); err != nil {
		return res, err
	}
	clk := clock.NewFake(cfg.Trace.Start)
	// The trace's own grid is the resolution: each evaluation sees exactly
	// the points that ended before it.
	ev, err := NewEvaluator(EvaluatorConfig{Source: src, Clock: clk, Resolution: time.Nanosecond})
	if err != nil {
		return res, err
	}
	slos := []SLO{s}
	open := map[string]int{}        // tier name -> index of its open alert
	since := map[string]time.Time{} // tier name -> since when its condition holds
	var last Decision
	for i := 1; i <= len(cfg.Trace.Total); i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		clk.Set(cfg.Trace.Start.Add(time.Duration(i) * cfg.Trace.Step))
		ds, err := ev.Evaluate(ctx, slos)
		if err != nil {
			return res, err
		}
		last = ds[0]
		res.Evaluations++
		for _, t := range last.Tiers {
			j, firing := open[t.Name]
			// A tier with a for: fires once its condition has held that
			// long, as the alert state machine does live.
			held := t.Firing
			if t.Firing {
				if _, ok := since[t.Name]; !ok {
					since[t.Name] = last.At
				}
				held = Held(since[t.Name], last.At, t.For)
			} else {
				delete(since, t.Name)
			}
			switch {
			case held && !firing:
				open[t.Name] = len(res.Alerts)
				res.Alerts = append(res.Alerts, Alert{
					Severity: t.Severity, Tier: t.Name, LongWindow: t.LongWindow, ShortWindow: t.ShortWindow,
					BurnRate: t.Long.BurnRate, FiredAt: last.At,
				})
			case !held && firing:
				at := last.At
				res.Alerts[j].ResolvedAt = &at
				delete(open, t.Name)
			}
		}
	}
	res.Budget = last.Budget
	sort.SliceStable(res.Alerts, func(i, j int) bool { return res.Alerts[i].FiredAt.Before(res.Alerts[j].FiredAt) })
	return res, nil
}

// Held tells whether a condition true since since has held long enough at
// now for a tier with the given for: 0 fires at once.
func Held(since, now time.Time, hold time.Duration) bool {
	return hold <= 0 || !now.Before(since.Add(hold))
}

// ReadTraceCSV reads a trace: a header "timestamp,good,total", then one row
// per step. Timestamps are RFC 3339 or unix seconds, ascending, on a regular
// grid of at least one minute; a missing step is a step without events.
func ReadTraceCSV(r io.Reader) (Trace, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = 3
	cr.ReuseRecord = true
	cr.Comment = '#'
	head, err := cr.Read()
	if err == io.EOF {
		return Trace{}, errors.New("trace: empty; want a header timestamp,good,total")
	}
	if err != nil {
		return Trace{}, fmt.Errorf("trace: %w", err)
	}
	for i, want := range []string{"timestamp", "good", "total"} {
		if strings.TrimSpace(strings.ToLower(head[i])) != want {
			return Trace{}, fmt.Errorf("trace: line 1: header is %q; want timestamp,good,total", strings.Join(head, ","))
		}
	}
	type row struct {
		at          time.Time
		good, total float64
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Trace{}, fmt.Errorf("trace: %w", err)
		}
		line, _ := cr.FieldPos(0)
		at, err := parseTimestamp(strings.TrimSpace(rec[0]))
		if err != nil {
			return Trace{}, fmt.Errorf("trace: line %d: %w", line, err)
		}
		good, err1 := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		total, err2 := strconv.ParseFloat(strings.TrimSpace(rec[2]), 64)
		if err1 != nil || err2 != nil || math.IsNaN(good) || math.IsNaN(total) || math.IsInf(good, 0) || math.IsInf(total, 0) {
			return Trace{}, fmt.Errorf("trace: line %d: good and total must be numbers", line)
		}
		if good < 0 || total < 0 || good > total {
			return Trace{}, fmt.Errorf("trace: line %d: good %s and total %s: need 0 <= good <= total", line, rec[1], rec[2])
		}
		if n := len(rows); n > 0 && !at.After(rows[n-1].at) {
			return Trace{}, fmt.Errorf("trace: line %d: timestamp %s is not after the one before", line, at.Format(time.RFC3339))
		}
		rows = append(rows, row{at, good, total})
	}
	if len(rows) == 0 {
		return Trace{}, errors.New("trace: no rows after the header")
	}
	step := time.Minute
	if len(rows) > 1 {
		step = rows[1].at.Sub(rows[0].at)
		for i := 2; i < len(rows); i++ {
			if d := rows[i].at.Sub(rows[i-1].at); d < step {
				step = d
			}
		}
	}
	if step < time.Minute {
		return Trace{}, fmt.Errorf("trace: step %s is under one minute", FormatDuration(step))
	}
	start := rows[0].at
	n := int(rows[len(rows)-1].at.Sub(start)/step) + 1
	t := Trace{Start: start, Step: step, Good: make([]float64, n), Total: make([]float64, n)}
	for _, r := range rows {
		off := r.at.Sub(start)
		if off%step != 0 {
			return Trace{}, fmt.Errorf("trace: timestamp %s is off the %s grid that starts at %s",
				r.at.Format(time.RFC3339), FormatDuration(step), start.Format(time.RFC3339))
		}
		t.Good[off/step] = r.good
		t.Total[off/step] = r.total
	}
	return t, nil
}

func parseTimestamp(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: want RFC 3339 or unix seconds", s)
	}
	return t.UTC(), nil
}
