package dashboards

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/slo"
)

// Review is the weekly operational review: what `nines review` renders as
// HTML, Markdown or JSON. Ratios are ratios (0.999), durations are seconds in
// JSON, and a figure with no data behind it is null.
type Review struct {
	Week         string              `json:"week"`
	From         time.Time           `json:"from"`
	To           time.Time           `json:"to"`
	GeneratedAt  time.Time           `json:"generated_at"`
	SLOs         []SLOReview         `json:"slos"`
	Nines        []NinesRow          `json:"nines_table"`
	Alerts       []AlertReview       `json:"alerts"`
	Reliability  Reliability         `json:"reliability"`
	Latency      []LatencyReview     `json:"latency"`
	Failures     []FailureCount      `json:"top_failures"`
	Compositions []CompositionReview `json:"compositions"`
	Wheel        *WheelPick          `json:"wheel"`
	// Unavailable names the sections ("alerts", "latency", "failures")
	// that had no source, with why: a review read from CloudWatch has no
	// failure classes, for one. Such a section says so rather than "none".
	Unavailable map[string]string `json:"unavailable,omitempty"`
}

// SLOReview is one SLO's week.
type SLOReview struct {
	Name      string  `json:"slo"`
	SLI       string  `json:"sli"`
	Objective float64 `json:"objective"`
	Window    string  `json:"window"`
	// Availability is the week's good/total; MetObjective compares it with
	// the objective.
	Availability *float64 `json:"availability"`
	MetObjective *bool    `json:"met_objective"`
	Good         float64  `json:"good"`
	Total        float64  `json:"total"`
	// BudgetConsumedWeek is the share of the window's error budget that the
	// week's bad events used; BudgetRemaining is what is left of it at the
	// end of the week.
	BudgetConsumedWeek *float64 `json:"budget_consumed_week"`
	BudgetRemaining    *float64 `json:"budget_remaining"`
	// BurnDown is the budget remaining at each hour of the week.
	BurnDown []Point `json:"burn_down"`
}

// NinesRow is a row of the nines table: the downtime an objective allows,
// and, for an SLO, the downtime observed (unavailability times the span).
type NinesRow struct {
	Label               string   `json:"label"`
	Objective           float64  `json:"objective"`
	AllowedPerYearS     float64  `json:"allowed_per_year_s"`
	AllowedPerWindowS   float64  `json:"allowed_per_window_s"`
	Window              string   `json:"window"`
	ObservedThisWeekS   *float64 `json:"observed_this_week_s"`
	AllowedPerWeekS     float64  `json:"allowed_per_week_s"`
	ObservedWindowToNow *float64 `json:"observed_window_s"`
}

// AlertRecord is one alert from the alert history.
type AlertRecord struct {
	SLO        string
	Severity   string
	Tier       string
	StartedAt  time.Time // when the burn began; zero if unknown
	FiredAt    time.Time
	ResolvedAt time.Time // zero while firing
}

// AlertReview is an alert with its time to detect and to resolve.
type AlertReview struct {
	SLO            string     `json:"slo"`
	Severity       string     `json:"severity"`
	Tier           string     `json:"tier"`
	FiredAt        time.Time  `json:"fired_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	TimeToDetectS  *float64   `json:"time_to_detect_s"`
	TimeToResolveS *float64   `json:"time_to_resolve_s"`
}

// Reliability is MTBF and MTTR estimated from the week's alerts, and the
// availability they imply: MTBF / (MTBF + MTTR).
type Reliability struct {
	Failures     int      `json:"failures"`
	MTBFS        *float64 `json:"mtbf_s"`
	MTTRS        *float64 `json:"mttr_s"`
	Availability *float64 `json:"availability"`
}

// LatencyReview is the week's tail latency of a canary in a region, beside
// the previous week's.
type LatencyReview struct {
	Canary     string   `json:"canary"`
	Region     string   `json:"region"`
	P999Ms     float64  `json:"p99_9_ms"`
	P9999Ms    float64  `json:"p99_99_ms"`
	PrevP999Ms *float64 `json:"prev_p99_9_ms"`
	PrevP9999  *float64 `json:"prev_p99_99_ms"`
	// ChangeP999 is the relative week-over-week change of p99.9.
	ChangeP999 *float64 `json:"change_p99_9"`
}

// FailureCount is how often a canary failed with a class.
type FailureCount struct {
	Canary string `json:"canary"`
	Class  string `json:"class"`
	Count  int64  `json:"count"`
}

// CompositionReview is a composed SLO's week, with each dependency's share
// of the unavailability.
type CompositionReview struct {
	Name         string                `json:"name"`
	Mode         string                `json:"mode"`
	Goal         float64               `json:"goal"`
	Availability *float64              `json:"availability"`
	Parts        []CompositionPartWeek `json:"parts"`
}

// CompositionPartWeek is one dependency of a composed SLO.
type CompositionPartWeek struct {
	SLO          string   `json:"slo"`
	Objective    float64  `json:"objective"`
	Availability *float64 `json:"availability"`
	// Contribution is the part's share of the summed unavailability.
	Contribution *float64 `json:"contribution"`
}

// WheelPick is the SLO picked at random for a deep dive.
type WheelPick struct {
	Seed uint64 `json:"seed"`
	SLO  string `json:"slo"`
}

// LatencySource gives the merged tail latency of a canary per region.
type LatencySource interface {
	// Percentiles returns, per region, the values in ms at each requested
	// percent (e.g. 99.9) over [from, to). Regions with no data are absent.
	Percentiles(ctx context.Context, canary string, from, to time.Time, percents []float64) (map[string][]float64, error)
}

// FailureSource counts failed runs by canary and class.
type FailureSource interface {
	Failures(ctx context.Context, from, to time.Time) ([]FailureCount, error)
}

// AlertSource reads the alert history.
type AlertSource interface {
	Alerts(ctx context.Context, from, to time.Time) ([]AlertRecord, error)
}

// ReviewConfig is what BuildReview reads.
type ReviewConfig struct {
	SLOs         []slo.SLO
	Compositions []slo.Composition
	// Canaries lists the canaries whose latency the review shows.
	Canaries []string
	Source   slo.Source
	Latency  LatencySource // optional
	Failures FailureSource // optional
	Alerts   AlertSource   // optional
	// Unavailable says, for a source left out, why (e.g. "failures":
	// "CloudWatch keeps no failure classes"); a generic reason otherwise.
	Unavailable map[string]string
	// Week is the ISO week to review, e.g. 2026-W47, in Location.
	Week     string
	Location *time.Location
	// Seed picks the wheel's SLO; 0 derives it from the week, so a week's
	// pick is stable.
	Seed uint64
	Now  time.Time
	// TopFailures caps the failure list (default 10).
	TopFailures int
}

// ParseISOWeek returns the Monday 00:00 that starts an ISO week.
func ParseISOWeek(s string, loc *time.Location) (time.Time, error) {
	year, week, ok := strings.Cut(s, "-W")
	y, err1 := strconv.Atoi(year)
	w, err2 := strconv.Atoi(week)
	if !ok || err1 != nil || err2 != nil || w < 1 || w > 53 || y < 1970 {
		return time.Time{}, fmt.Errorf("week %q: write it as YYYY-Www, e.g. 2026-W47", s)
	}
	// January 4th is always in week 1.
	jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, loc)
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	start := monday.AddDate(0, 0, 7*(w-1))
	if _, got := start.ISOWeek(); got != w {
		return time.Time{}, fmt.Errorf("week %q: %d has no week %d", s, y, w)
	}
	return start, nil
}

// ISOWeekOf names the ISO week a time falls in.
func ISOWeekOf(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// LastFullWeek names the most recent ISO week that has ended by now.
func LastFullWeek(now time.Time) string {
	return ISOWeekOf(now.AddDate(0, 0, -7))
}

// BuildReview gathers a week's review from the sources.
func BuildReview(ctx context.Context, cfg ReviewConfig) (*Review, error) {
	if cfg.Source == nil {
		return nil, errors.New("review: a Source is required")
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	if cfg.Week == "" {
		cfg.Week = LastFullWeek(cfg.Now.In(cfg.Location))
	}
	if cfg.TopFailures == 0 {
		cfg.TopFailures = 10
	}
	from, err := ParseISOWeek(cfg.Week, cfg.Location)
	if err != nil {
		return nil, err
	}
	to := from.AddDate(0, 0, 7)
	rv := &Review{Week: cfg.Week, From: from, To: to, GeneratedAt: cfg.Now,
		SLOs: []SLOReview{}, Nines: []NinesRow{}, Alerts: []AlertReview{}, Latency: []LatencyReview{},
		Failures: []FailureCount{}, Compositions: []CompositionReview{}}

	// One Counts call: for each SLO, hourly buckets from the start of the
	// earliest window that ends in the week to the end of the week.
	var queries []slo.Query
	for _, s := range cfg.SLOs {
		wstart, _ := s.Window.Bounds(from)
		queries = append(queries, slo.Query{SLI: s.SLI, From: wstart.Truncate(time.Hour), To: to, Step: time.Hour})
	}
	series, err := cfg.Source.Counts(ctx, queries)
	if err != nil {
		return nil, fmt.Errorf("review: reading SLO events: %w", err)
	}
	for i, s := range cfg.SLOs {
		rv.SLOs = append(rv.SLOs, sloWeek(s, queries[i], series[i], from, to))
	}
	rv.Nines = ninesTable(cfg.SLOs, rv.SLOs, from)

	for name, missing := range map[string]bool{"alerts": cfg.Alerts == nil, "latency": cfg.Latency == nil, "failures": cfg.Failures == nil} {
		if !missing {
			continue
		}
		if rv.Unavailable == nil {
			rv.Unavailable = map[string]string{}
		}
		rv.Unavailable[name] = cfg.Unavailable[name]
		if rv.Unavailable[name] == "" {
			rv.Unavailable[name] = "no source was given"
		}
	}
	if cfg.Alerts != nil {
		alerts, err := cfg.Alerts.Alerts(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("review: reading the alert history: %w", err)
		}
		if err := burnStarts(ctx, cfg.Source, cfg.SLOs, alerts); err != nil {
			return nil, err
		}
		rv.Alerts, rv.Reliability = alertsWeek(alerts, from, to)
	}
	if cfg.Latency != nil {
		if rv.Latency, err = latencyWeek(ctx, cfg.Latency, cfg.Canaries, from, to); err != nil {
			return nil, err
		}
	}
	if cfg.Failures != nil {
		fs, err := cfg.Failures.Failures(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("review: reading failures: %w", err)
		}
		sort.SliceStable(fs, func(i, j int) bool {
			if fs[i].Count != fs[j].Count {
				return fs[i].Count > fs[j].Count
			}
			return fs[i].Canary+fs[i].Class < fs[j].Canary+fs[j].Class
		})
		if len(fs) > cfg.TopFailures {
			fs = fs[:cfg.TopFailures]
		}
		rv.Failures = append(rv.Failures, fs...)
	}
	for _, c := range cfg.Compositions {
		cr, err := compositionWeek(c, cfg.SLOs, rv.SLOs)
		if err != nil {
			return nil, err
		}
		rv.Compositions = append(rv.Compositions, cr)
	}
	if len(cfg.SLOs) > 0 {
		seed := cfg.Seed
		if seed == 0 {
			y, w := from.ISOWeek()
			seed = uint64(y*100 + w)
		}
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		rv.Wheel = &WheelPick{Seed: seed, SLO: cfg.SLOs[r.IntN(len(cfg.SLOs))].Name}
	}
	return rv, nil
}

func sloWeek(s slo.SLO, q slo.Query, ser slo.Series, from, to time.Time) SLOReview {
	out := SLOReview{Name: s.Name, SLI: s.SLI.String(), Objective: s.Objective, Window: s.Window.String(), BurnDown: []Point{}}
	// Hourly good/total from q.From to the end of the week.
	n := int(to.Sub(q.From) / time.Hour)
	good, total := make([]float64, n+1), make([]float64, n+1) // prefix sums
	hourly := make([][2]float64, n)
	for _, b := range ser.Buckets {
		i := int(b.Start.Sub(q.From) / time.Hour)
		if i >= 0 && i < n {
			hourly[i][0] += b.Good
			hourly[i][1] += b.Total
		}
	}
	for i := 0; i < n; i++ {
		good[i+1], total[i+1] = good[i]+hourly[i][0], total[i]+hourly[i][1]
	}
	idx := func(t time.Time) int { return max(0, min(n, int(t.Sub(q.From)/time.Hour))) }
	wg, wt := good[idx(to)]-good[idx(from)], total[idx(to)]-total[idx(from)]
	out.Good, out.Total = wg, wt
	budget := 1 - s.Objective
	if wt > 0 {
		a := wg / wt
		met := a >= s.Objective-1e-12
		out.Availability, out.MetObjective = &a, &met
	}
	remainingAt := func(t time.Time) *float64 {
		ws, _ := s.Window.Bounds(t)
		g, tot := good[idx(t)]-good[idx(ws)], total[idx(t)]-total[idx(ws)]
		if tot == 0 {
			return nil
		}
		r := 1 - (tot-g)/(budget*tot)
		return &r
	}
	if r := remainingAt(to); r != nil {
		out.BudgetRemaining = r
		ws, _ := s.Window.Bounds(to)
		windowTotal := total[idx(to)] - total[idx(ws)]
		c := (wt - wg) / (budget * windowTotal)
		out.BudgetConsumedWeek = &c
	}
	for t := from.Add(time.Hour); !t.After(to); t = t.Add(time.Hour) {
		if r := remainingAt(t); r != nil {
			out.BurnDown = append(out.BurnDown, Point{T: t, V: *r})
		}
	}
	return out
}

var referenceNines = []float64{0.99, 0.999, 0.9995, 0.9999, 0.99999}

const year = 365 * 24 * time.Hour

func ninesTable(slos []slo.SLO, weeks []SLOReview, from time.Time) []NinesRow {
	var rows []NinesRow
	week := 7 * 24 * time.Hour
	for _, o := range referenceNines {
		rows = append(rows, NinesRow{Label: slo.Percent(o), Objective: o,
			AllowedPerYearS:   (1 - o) * year.Seconds(),
			AllowedPerWindowS: (1 - o) * (30 * 24 * time.Hour).Seconds(), Window: "30d",
			AllowedPerWeekS: (1 - o) * week.Seconds()})
	}
	for i, s := range slos {
		span := s.Window.Span(from)
		row := NinesRow{Label: s.Name, Objective: s.Objective,
			AllowedPerYearS:   (1 - s.Objective) * year.Seconds(),
			AllowedPerWindowS: (1 - s.Objective) * span.Seconds(), Window: s.Window.String(),
			AllowedPerWeekS: (1 - s.Objective) * week.Seconds()}
		if a := weeks[i].Availability; a != nil {
			d := (1 - *a) * week.Seconds()
			row.ObservedThisWeekS = &d
		}
		if r := weeks[i].BudgetRemaining; r != nil {
			// Budget used, as time: the share of the window's allowance spent.
			d := (1 - *r) * row.AllowedPerWindowS
			row.ObservedWindowToNow = &d
		}
		rows = append(rows, row)
	}
	return rows
}

func alertsWeek(alerts []AlertRecord, from, to time.Time) ([]AlertReview, Reliability) {
	out := []AlertReview{}
	var downtime, repair time.Duration
	repaired := 0
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].FiredAt.Before(alerts[j].FiredAt) })
	for _, a := range alerts {
		if a.FiredAt.Before(from) && !a.ResolvedAt.IsZero() && a.ResolvedAt.Before(from) || !a.FiredAt.Before(to) {
			continue
		}
		ar := AlertReview{SLO: a.SLO, Severity: a.Severity, Tier: a.Tier, FiredAt: a.FiredAt}
		start := a.StartedAt
		if start.IsZero() {
			start = a.FiredAt
		}
		if !a.StartedAt.IsZero() {
			d := a.FiredAt.Sub(a.StartedAt).Seconds()
			ar.TimeToDetectS = &d
		}
		if !a.ResolvedAt.IsZero() {
			r := a.ResolvedAt
			ar.ResolvedAt = &r
			d := a.ResolvedAt.Sub(start).Seconds()
			ar.TimeToResolveS = &d
			repair += a.ResolvedAt.Sub(start)
			downtime += a.ResolvedAt.Sub(start)
			repaired++
		}
		out = append(out, ar)
	}
	rel := Reliability{Failures: len(out)}
	if repaired > 0 {
		mttr := repair.Seconds() / float64(repaired)
		mtbf := (to.Sub(from) - downtime).Seconds() / float64(repaired)
		a := mtbf / (mtbf + mttr)
		rel.MTTRS, rel.MTBFS, rel.Availability = &mttr, &mtbf, &a
	}
	return out, rel
}

func latencyWeek(ctx context.Context, src LatencySource, canaries []string, from, to time.Time) ([]LatencyReview, error) {
	out := []LatencyReview{}
	percents := []float64{99.9, 99.99}
	for _, c := range canaries {
		cur, err := src.Percentiles(ctx, c, from, to, percents)
		if err != nil {
			return nil, fmt.Errorf("review: latency of %s: %w", c, err)
		}
		prev, err := src.Percentiles(ctx, c, from.AddDate(0, 0, -7), from, percents)
		if err != nil {
			return nil, fmt.Errorf("review: latency of %s the week before: %w", c, err)
		}
		regions := make([]string, 0, len(cur))
		for r := range cur {
			regions = append(regions, r)
		}
		sort.Strings(regions)
		for _, r := range regions {
			lr := LatencyReview{Canary: c, Region: r, P999Ms: cur[r][0], P9999Ms: cur[r][1]}
			if p, ok := prev[r]; ok {
				lr.PrevP999Ms, lr.PrevP9999 = &p[0], &p[1]
				if p[0] > 0 {
					ch := (cur[r][0] - p[0]) / p[0]
					lr.ChangeP999 = &ch
				}
			}
			out = append(out, lr)
		}
	}
	// Worst first.
	sort.SliceStable(out, func(i, j int) bool { return out[i].P999Ms > out[j].P999Ms })
	return out, nil
}

func compositionWeek(c slo.Composition, slos []slo.SLO, weeks []SLOReview) (CompositionReview, error) {
	cr := CompositionReview{Name: c.Name, Mode: string(c.Mode)}
	var goals, avail []float64
	unavail := 0.0
	for _, p := range c.Parts {
		i := -1
		for j, s := range slos {
			if s.Name == p {
				i = j
			}
		}
		if i < 0 {
			return cr, fmt.Errorf("review: composition %s: no SLO named %q", c.Name, p)
		}
		part := CompositionPartWeek{SLO: p, Objective: slos[i].Objective, Availability: weeks[i].Availability}
		goals = append(goals, slos[i].Objective)
		if a := weeks[i].Availability; a != nil {
			avail = append(avail, *a)
			unavail += 1 - *a
		}
		cr.Parts = append(cr.Parts, part)
	}
	var err error
	if cr.Goal, err = slo.Compose(c.Mode, goals...); err != nil {
		return cr, err
	}
	if len(avail) == len(c.Parts) {
		a, err := slo.Compose(c.Mode, avail...)
		if err != nil {
			return cr, err
		}
		cr.Availability = &a
		for i := range cr.Parts {
			share := 0.0
			if unavail > 0 {
				share = (1 - *cr.Parts[i].Availability) / unavail
			}
			cr.Parts[i].Contribution = &share
		}
	}
	return cr, nil
}

// fmtSeconds renders a duration in seconds for people: 4m 19s, 8h 45m.
func fmtSeconds(s float64) string {
	d := time.Duration(math.Round(s)) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// burnLookback is how far before a page the review looks for the start of
// the errors that caused it, and quietGap how long a run of clean minutes
// ends the search.
const (
	burnLookback = 12 * time.Hour
	quietGap     = 5 * time.Minute
)

// burnStarts fills in when each alert's errors began, where the history did
// not record it: the first minute of the run of bad minutes (with no clean
// gap of quietGap or more) that ends at the alert. Time to detect is
// measured from there. One Counts call covers every alert.
func burnStarts(ctx context.Context, src slo.Source, slos []slo.SLO, alerts []AlertRecord) error {
	var queries []slo.Query
	var which []int
	for i, a := range alerts {
		if !a.StartedAt.IsZero() {
			continue
		}
		for _, s := range slos {
			if s.Name == a.SLO {
				end := a.FiredAt.Truncate(time.Minute).Add(time.Minute)
				queries = append(queries, slo.Query{SLI: s.SLI, From: end.Add(-burnLookback), To: end, Step: time.Minute})
				which = append(which, i)
			}
		}
	}
	if len(queries) == 0 {
		return nil
	}
	series, err := src.Counts(ctx, queries)
	if err != nil {
		return fmt.Errorf("review: reading the minutes before each alert: %w", err)
	}
	for k, ser := range series {
		bad := map[time.Time]bool{}
		for _, b := range ser.Buckets {
			if b.Total > b.Good {
				bad[b.Start] = true
			}
		}
		var start time.Time
		quiet := time.Duration(0)
		for t := queries[k].To.Add(-time.Minute); !t.Before(queries[k].From); t = t.Add(-time.Minute) {
			if bad[t] {
				start, quiet = t, 0
				continue
			}
			quiet += time.Minute
			if !start.IsZero() && quiet >= quietGap {
				break
			}
		}
		if !start.IsZero() && !start.After(alerts[which[k]].FiredAt) {
			alerts[which[k]].StartedAt = start
		}
	}
	return nil
}
