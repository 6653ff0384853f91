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
	Week string    `json:"week"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Until is where the observed part of the week ends: To for a week
	// that is over, the time of the review for the week still running.
	// Nothing after it is counted, extrapolated or drawn.
	Until time.Time `json:"until"`
	// Partial is set when the week is still running.
	Partial      bool                `json:"partial"`
	GeneratedAt  time.Time           `json:"generated_at"`
	SLOs         []SLOReview         `json:"slos"`
	Nines        []NinesRow          `json:"nines_table"`
	Alerts       []AlertReview       `json:"alerts"`
	Reliability  Reliability         `json:"reliability"`
	Latency      []LatencyReview     `json:"latency"`
	Failures     []FailureCount      `json:"top_failures"`
	Compositions []CompositionReview `json:"compositions"`
	Certificates []CertReview        `json:"certificates"`
	Wheel        *WheelPick          `json:"wheel"`
	// Unavailable names the sections ("alerts", "latency", "failures",
	// "certificates")
	// that had no source, with why: a review read from CloudWatch has no
	// failure classes, for one. Such a section says so rather than "none".
	Unavailable map[string]string `json:"unavailable,omitempty"`
}

// SLOReview is one SLO's week. Every figure is over the time observed:
// the minutes of the week that hold events, up to Until.
type SLOReview struct {
	Name      string  `json:"slo"`
	SLI       string  `json:"sli"`
	Objective float64 `json:"objective"`
	Window    string  `json:"window"`
	// ObservedS is how much of the week held events (to the minute), of
	// SpanS, the week's length.
	ObservedS float64 `json:"observed_s"`
	SpanS     float64 `json:"span_s"`
	// Availability is the week's good/total; MetObjective compares it with
	// the objective.
	Availability *float64 `json:"availability"`
	MetObjective *bool    `json:"met_objective"`
	Good         float64  `json:"good"`
	Total        float64  `json:"total"`
	// DowntimeS is each observed minute's share of bad events times the
	// minute, summed: the downtime seen, never scaled to unobserved time.
	DowntimeS *float64 `json:"downtime_observed_s"`
	// BudgetConsumedWeek is the share of the window's error budget that the
	// week's bad events used; BudgetRemaining is what is left of it at
	// Until. Both count events, so both are over the observed part of the
	// window: WindowObservedS of WindowSpanS (the minutes of the week and
	// the hours before it that hold events).
	BudgetConsumedWeek *float64 `json:"budget_consumed_week"`
	BudgetRemaining    *float64 `json:"budget_remaining"`
	WindowObservedS    float64  `json:"window_observed_s"`
	WindowSpanS        float64  `json:"window_span_s"`
	// BurnDown is the budget remaining at each hour of the week up to
	// Until, and at Until; hours with no events in the window are left out.
	BurnDown []Point `json:"burn_down"`
	// ExcludedMinutes is the part of the week maintenance windows took
	// out of the SLI, and Maintenance those windows; both are left out
	// of the JSON when no window covered the week.
	ExcludedMinutes float64             `json:"excluded_minutes,omitempty"`
	Maintenance     []MaintenanceReview `json:"maintenance,omitempty"`
}

// NinesRow is a row of the nines table: the downtime an objective allows,
// and, for an SLO, the time observed this week, the downtime seen in it and
// what the objective allows in that same time, so the two compare without
// extrapolating to the unobserved rest of the week.
type NinesRow struct {
	Label             string   `json:"label"`
	Objective         float64  `json:"objective"`
	AllowedPerYearS   float64  `json:"allowed_per_year_s"`
	AllowedPerWindowS float64  `json:"allowed_per_window_s"`
	Window            string   `json:"window"`
	AllowedPerWeekS   float64  `json:"allowed_per_week_s"`
	ObservedS         *float64 `json:"observed_s"`
	DowntimeS         *float64 `json:"downtime_observed_s"`
	AllowedObservedS  *float64 `json:"allowed_in_observed_s"`
}

// AlertRecord is one alert from the alert history.
type AlertRecord struct {
	SLO        string
	Severity   string
	Tier       string
	StartedAt  time.Time // when the burn began; zero if unknown
	FiredAt    time.Time
	ResolvedAt time.Time // zero while firing
	// Silence is the ID of the silence that held back the alert's
	// notifications, and SilenceReason its reason if still known; empty
	// when none did.
	Silence, SilenceReason string
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
	// Silence and SilenceReason name the silence that held back its
	// notifications.
	Silence       string `json:"silence,omitempty"`
	SilenceReason string `json:"silence_reason,omitempty"`
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
// the previous week's. The percentiles are over successful runs only (the
// histograms keep no others); FailureRate, beside them, is the share of
// runs that failed or timed out. With no successful run the percentiles are
// null: "no successful runs", never 0 ms.
type LatencyReview struct {
	Canary string `json:"canary"`
	Region string `json:"region"`
	// Attempts and Successes count the week's runs; FailureRate is
	// 1 - Successes/Attempts, null when the source gave no counts.
	Attempts    float64  `json:"attempts"`
	Successes   float64  `json:"successes"`
	FailureRate *float64 `json:"failure_rate"`
	P999Ms      *float64 `json:"p99_9_ms"`
	P9999Ms     *float64 `json:"p99_99_ms"`
	PrevP999Ms  *float64 `json:"prev_p99_9_ms"`
	PrevP9999   *float64 `json:"prev_p99_99_ms"`
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
	// Regions are where the agents run. A canary-region with runs but no
	// successful one has no latency to show, and is listed from here with
	// its failure rate.
	Regions  []string
	Source   slo.Source
	Latency  LatencySource // optional
	Failures FailureSource // optional
	Alerts   AlertSource   // optional
	// Certificates lists the latest certificate of each canary's TLS
	// steps per region (optional).
	Certificates CertSource
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

// BuildReview gathers a week's review from the sources. With no Week it
// reviews the last complete week when any SLO has events in it, else the
// current week so far, marked partial: a new install has something to read.
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
	if cfg.TopFailures == 0 {
		cfg.TopFailures = 10
	}
	if cfg.Week != "" {
		return buildReview(ctx, cfg)
	}
	cfg.Week = LastFullWeek(cfg.Now.In(cfg.Location))
	rv, err := buildReview(ctx, cfg)
	if err != nil || rv.hasEvents() {
		return rv, err
	}
	cfg.Week = ISOWeekOf(cfg.Now.In(cfg.Location))
	return buildReview(ctx, cfg)
}

func (rv *Review) hasEvents() bool {
	for _, s := range rv.SLOs {
		if s.Total > 0 {
			return true
		}
	}
	return false
}

func buildReview(ctx context.Context, cfg ReviewConfig) (*Review, error) {
	from, err := ParseISOWeek(cfg.Week, cfg.Location)
	if err != nil {
		return nil, err
	}
	to := from.AddDate(0, 0, 7)
	if !cfg.Now.After(from) {
		return nil, fmt.Errorf("review: week %s has not begun (now is in %s): review %s for the week so far, or an earlier week",
			cfg.Week, ISOWeekOf(cfg.Now.In(cfg.Location)), ISOWeekOf(cfg.Now.In(cfg.Location)))
	}
	until := to
	if cfg.Now.Before(to) {
		until = cfg.Now
	}
	rv := &Review{Week: cfg.Week, From: from, To: to, Until: until, Partial: until.Before(to), GeneratedAt: cfg.Now,
		SLOs: []SLOReview{}, Nines: []NinesRow{}, Alerts: []AlertReview{}, Latency: []LatencyReview{},
		Failures: []FailureCount{}, Compositions: []CompositionReview{}, Certificates: []CertReview{}}

	// One Counts call for each SLO's hourly buckets, from the start of its
	// window at Until to Until (the budget, the burn-down and the week's
	// counts); then one for the minutes of the hours at the edges of each
	// stretch of observed hours, so the time observed is exact to the
	// minute where data begins or ends without reading every minute.
	// Both leave out the SLOs' maintenance windows, as the evaluator does.
	var queries []slo.Query
	var windows [][]slo.Maintenance
	for _, s := range cfg.SLOs {
		windows = append(windows, s.Maintenance)
		wstart, _ := s.Window.Bounds(until)
		if wstart.After(from) {
			wstart = from
		}
		queries = append(queries, slo.Query{SLI: s.SLI, From: wstart.Truncate(time.Hour), To: ceil(until, time.Hour), Step: time.Hour})
	}
	series, excluded, err := countsExcluding(ctx, cfg.Source, queries, windows)
	if err != nil {
		return nil, fmt.Errorf("review: reading SLO events: %w", err)
	}
	var edgeQueries []slo.Query
	var edgeWindows [][]slo.Maintenance
	var owner []int
	for i, s := range cfg.SLOs {
		for h := range edgeHours(series[i], from, until) {
			edgeQueries = append(edgeQueries, slo.Query{SLI: s.SLI, From: h, To: earliest(h.Add(time.Hour), ceil(until, time.Minute)), Step: time.Minute})
			edgeWindows = append(edgeWindows, s.Maintenance)
			owner = append(owner, i)
		}
	}
	minutes := make([]slo.Series, len(cfg.SLOs))
	if len(edgeQueries) > 0 {
		ms, _, err := countsExcluding(ctx, cfg.Source, edgeQueries, edgeWindows)
		if err != nil {
			return nil, fmt.Errorf("review: reading SLO events: %w", err)
		}
		for k, m := range ms {
			minutes[owner[k]].Buckets = append(minutes[owner[k]].Buckets, m.Buckets...)
		}
	}
	for i, s := range cfg.SLOs {
		rv.SLOs = append(rv.SLOs, sloWeek(s, queries[i], series[i], minutes[i], excluded[i], from, to, until))
		rv.SLOs[i].ExcludedMinutes, rv.SLOs[i].Maintenance = maintenanceWeek(s, from, until)
	}
	rv.Nines = ninesTable(cfg.SLOs, rv.SLOs, from)

	for name, missing := range map[string]bool{"alerts": cfg.Alerts == nil, "latency": cfg.Latency == nil, "failures": cfg.Failures == nil,
		"certificates": cfg.Certificates == nil} {
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
		alerts, err := cfg.Alerts.Alerts(ctx, from, until)
		if err != nil {
			return nil, fmt.Errorf("review: reading the alert history: %w", err)
		}
		if err := burnStarts(ctx, cfg.Source, cfg.SLOs, alerts); err != nil {
			return nil, err
		}
		rv.Alerts, rv.Reliability = alertsWeek(alerts, from, until)
	}
	if cfg.Latency != nil {
		if rv.Latency, err = latencyWeek(ctx, cfg, from, until); err != nil {
			return nil, err
		}
	}
	if cfg.Failures != nil {
		fs, err := cfg.Failures.Failures(ctx, from, until)
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
	if cfg.Certificates != nil {
		if rv.Certificates, err = certsWeek(ctx, cfg, until); err != nil {
			return nil, err
		}
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

// ceil rounds t up to a multiple of d.
func ceil(t time.Time, d time.Duration) time.Time {
	if c := t.Truncate(d); !c.Equal(t) {
		return c.Add(d)
	}
	return t
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// edgeHours are the hours of [from, until) with events where a stretch of
// observed hours begins or ends (the hour before or after has none), and
// the hour that holds until. Time observed is counted to the minute in
// them and taken as the whole hour in the others.
func edgeHours(hourly slo.Series, from, until time.Time) map[time.Time]bool {
	has := map[time.Time]bool{}
	for _, b := range hourly.Buckets {
		if b.Total > 0 {
			has[b.Start] = true
		}
	}
	edges := map[time.Time]bool{}
	for h := from; h.Before(until); h = h.Add(time.Hour) {
		if has[h] && (!has[h.Add(-time.Hour)] || !has[h.Add(time.Hour)] || h.Add(time.Hour).After(until)) {
			edges[h] = true
		}
	}
	return edges
}

// sloWeek works out one SLO's figures from its hourly buckets (asked by
// q, covering the window at until) and the minutes of its edge hours,
// both less the excluded intervals: their minutes are not observed.
func sloWeek(s slo.SLO, q slo.Query, hourly, minutes slo.Series, excluded []slo.Interval, from, to, until time.Time) SLOReview {
	out := SLOReview{Name: s.Name, SLI: s.SLI.String(), Objective: s.Objective, Window: s.Window.String(), BurnDown: []Point{},
		SpanS: to.Sub(from).Seconds(), WindowSpanS: s.Window.Span(until).Seconds()}
	// What the week observed, hour by hour: the whole hour inside a
	// stretch of data, the minutes with events at its edges. Downtime is
	// each hour's share of bad events times the time observed in it.
	observedMinutes := map[time.Time]float64{}
	for _, b := range minutes.Buckets {
		if b.Total > 0 && !b.Start.Before(from) && b.Start.Before(until) {
			observedMinutes[b.Start.Truncate(time.Hour)] += time.Minute.Seconds()
		}
	}
	edges := edgeHours(hourly, from, until)
	var downtime float64
	for _, b := range hourly.Buckets {
		if b.Total <= 0 || b.Start.Before(from) || !b.Start.Before(until) {
			continue
		}
		seen := (time.Hour - excludedWithin(excluded, b.Start, b.Start.Add(time.Hour))).Seconds()
		if edges[b.Start] {
			seen = observedMinutes[b.Start]
		}
		out.Good += b.Good
		out.Total += b.Total
		out.ObservedS += seen
		downtime += (b.Total - b.Good) / b.Total * seen
	}
	budget := 1 - s.Objective
	if out.Total > 0 {
		a := out.Good / out.Total
		met := a >= s.Objective-1e-12
		out.Availability, out.MetObjective, out.DowntimeS = &a, &met, &downtime
	}

	// Hourly prefix sums from q.From to q.To; the last hour may be the
	// part of an hour up to until.
	n := int(q.To.Sub(q.From) / time.Hour)
	good, total := make([]float64, n+1), make([]float64, n+1)
	perHour := make([][2]float64, n)
	for _, b := range hourly.Buckets {
		if i := int(b.Start.Sub(q.From) / time.Hour); i >= 0 && i < n {
			perHour[i][0] += b.Good
			perHour[i][1] += b.Total
		}
	}
	for i := 0; i < n; i++ {
		good[i+1], total[i+1] = good[i]+perHour[i][0], total[i]+perHour[i][1]
	}
	idx := func(t time.Time) int { return max(0, min(n, int(t.Sub(q.From)/time.Hour))) }
	// remaining is the budget left over the window that ends at t, whose
	// data ends at hour index end.
	remaining := func(t time.Time, end int) (r, windowTotal float64, ok bool) {
		ws, _ := s.Window.Bounds(t)
		g, tot := good[end]-good[idx(ws)], total[end]-total[idx(ws)]
		if tot == 0 {
			return 0, 0, false
		}
		return 1 - (tot-g)/(budget*tot), tot, true
	}
	if r, windowTotal, ok := remaining(until, n); ok {
		c := (out.Total - out.Good) / (budget * windowTotal)
		out.BudgetRemaining, out.BudgetConsumedWeek = &r, &c
	}
	// The window's observed time: the week's minutes with events, and the
	// hours before the week with events.
	ws, _ := s.Window.Bounds(until)
	out.WindowObservedS = out.ObservedS
	for i := idx(ws); i < idx(from); i++ {
		if h := q.From.Add(time.Duration(i) * time.Hour); perHour[i][1] > 0 {
			out.WindowObservedS += (time.Hour - excludedWithin(excluded, h, h.Add(time.Hour))).Seconds()
		}
	}
	if ws.After(from) { // a calendar window that began inside the week
		out.WindowObservedS = 0
		for i := idx(ws); i < n; i++ {
			if h := q.From.Add(time.Duration(i) * time.Hour); perHour[i][1] > 0 {
				seen := (time.Hour - excludedWithin(excluded, h, h.Add(time.Hour))).Seconds()
				if edges[h] {
					seen = observedMinutes[h]
				}
				out.WindowObservedS += seen
			}
		}
	}
	for t := from.Add(time.Hour); !t.After(until); t = t.Add(time.Hour) {
		if r, _, ok := remaining(t, idx(t)); ok {
			out.BurnDown = append(out.BurnDown, Point{T: t, V: r})
		}
	}
	if until.Sub(from)%time.Hour != 0 {
		if r, _, ok := remaining(until, n); ok {
			out.BurnDown = append(out.BurnDown, Point{T: until, V: r})
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
		observed := weeks[i].ObservedS
		row := NinesRow{Label: s.Name, Objective: s.Objective,
			AllowedPerYearS:   (1 - s.Objective) * year.Seconds(),
			AllowedPerWindowS: (1 - s.Objective) * span.Seconds(), Window: s.Window.String(),
			AllowedPerWeekS: (1 - s.Objective) * week.Seconds(), ObservedS: &observed}
		if d := weeks[i].DowntimeS; d != nil {
			allowed := (1 - s.Objective) * observed
			row.DowntimeS, row.AllowedObservedS = d, &allowed
		}
		rows = append(rows, row)
	}
	return rows
}

// alertsWeek lists the alerts that were firing in [from, until) and
// estimates MTBF and MTTR over that time. They count outages, not
// notifications: only page and ticket alerts say the service was down (a
// budget warning or an unreadable SLO does not), and alerts whose burns
// overlap are one outage, from the earliest burn's start to the last
// resolve. MTTR is the mean length of the outages that resolved; MTBF is
// the time up inside [from, until) per outage.
func alertsWeek(alerts []AlertRecord, from, until time.Time) ([]AlertReview, Reliability) {
	out := []AlertReview{}
	type span struct {
		start, end time.Time // end is zero while still firing
	}
	var burns []span
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].FiredAt.Before(alerts[j].FiredAt) })
	for _, a := range alerts {
		if a.FiredAt.Before(from) && !a.ResolvedAt.IsZero() && a.ResolvedAt.Before(from) || !a.FiredAt.Before(until) {
			continue
		}
		ar := AlertReview{SLO: a.SLO, Severity: a.Severity, Tier: a.Tier, FiredAt: a.FiredAt, Silence: a.Silence, SilenceReason: a.SilenceReason}
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
		}
		out = append(out, ar)
		if a.Severity == string(slo.Page) || a.Severity == string(slo.Ticket) {
			burns = append(burns, span{start, a.ResolvedAt})
		}
	}
	// Merge overlapping burns into outages.
	sort.Slice(burns, func(i, j int) bool { return burns[i].start.Before(burns[j].start) })
	var outages []span
	for _, b := range burns {
		if n := len(outages); n > 0 {
			last := &outages[n-1]
			if last.end.IsZero() || !b.start.After(last.end) {
				if last.end.IsZero() || b.end.IsZero() {
					last.end = time.Time{}
				} else if b.end.After(last.end) {
					last.end = b.end
				}
				continue
			}
		}
		outages = append(outages, b)
	}
	rel := Reliability{Failures: len(outages)}
	var downtime, repair time.Duration
	repaired := 0
	for _, o := range outages {
		end := o.end
		if end.IsZero() || end.After(until) {
			end = until
		}
		begin := o.start
		if begin.Before(from) {
			begin = from
		}
		downtime += max(0, end.Sub(begin))
		if !o.end.IsZero() {
			repair += o.end.Sub(o.start)
			repaired++
		}
	}
	if repaired > 0 {
		mttr := repair.Seconds() / float64(repaired)
		mtbf := (until.Sub(from) - downtime).Seconds() / float64(len(outages))
		a := mtbf / (mtbf + mttr)
		rel.MTTRS, rel.MTBFS, rel.Availability = &mttr, &mtbf, &a
	}
	return out, rel
}

// latencyWeek gives each canary-region's tail latency over successful runs
// with its failure rate beside it, and lists a canary-region that ran but
// never succeeded as such.
func latencyWeek(ctx context.Context, cfg ReviewConfig, from, until time.Time) ([]LatencyReview, error) {
	out := []LatencyReview{}
	percents := []float64{99.9, 99.99}
	var queries []slo.Query
	for _, c := range cfg.Canaries {
		// Sources read whole minutes (CloudWatch's periods are); the minute
		// that holds until has no data after it.
		cur, err := cfg.Latency.Percentiles(ctx, c, from, ceil(until, time.Minute), percents)
		if err != nil {
			return nil, fmt.Errorf("review: latency of %s: %w", c, err)
		}
		prev, err := cfg.Latency.Percentiles(ctx, c, from.AddDate(0, 0, -7), from, percents)
		if err != nil {
			return nil, fmt.Errorf("review: latency of %s the week before: %w", c, err)
		}
		seen := map[string]bool{}
		var regions []string
		for _, r := range cfg.Regions {
			if !seen[r] {
				seen[r] = true
				regions = append(regions, r)
			}
		}
		for r := range cur {
			if !seen[r] {
				seen[r] = true
				regions = append(regions, r)
			}
		}
		sort.Strings(regions)
		for _, r := range regions {
			lr := LatencyReview{Canary: c, Region: r}
			if v, ok := cur[r]; ok {
				lr.P999Ms, lr.P9999Ms = &v[0], &v[1]
			}
			if p, ok := prev[r]; ok {
				lr.PrevP999Ms, lr.PrevP9999 = &p[0], &p[1]
				if lr.P999Ms != nil && p[0] > 0 {
					ch := (*lr.P999Ms - p[0]) / p[0]
					lr.ChangeP999 = &ch
				}
			}
			out = append(out, lr)
			queries = append(queries, slo.Query{SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: c, Regions: []string{r}},
				From: from, To: ceil(until, time.Hour), Step: time.Hour})
		}
	}
	if len(queries) > 0 {
		series, err := cfg.Source.Counts(ctx, queries)
		if err != nil {
			return nil, fmt.Errorf("review: reading the canaries' runs: %w", err)
		}
		for i, s := range series {
			if s.Err != nil {
				continue
			}
			out[i].Successes, out[i].Attempts = s.Sum()
			if out[i].Attempts > 0 {
				f := 1 - out[i].Successes/out[i].Attempts
				out[i].FailureRate = &f
			}
		}
	}
	// A region with neither runs nor latency is not shown.
	kept := out[:0]
	for _, l := range out {
		if l.P999Ms != nil || l.Attempts > 0 {
			kept = append(kept, l)
		}
	}
	// Worst first: no successful run at all, then the highest p99.9.
	sort.SliceStable(kept, func(i, j int) bool {
		a, b := kept[i].P999Ms, kept[j].P999Ms
		if a == nil || b == nil {
			return a == nil && b != nil
		}
		return *a > *b
	})
	return kept, nil
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
	case s == 0:
		return "0s"
	case s < 10:
		return fmt.Sprintf("%.1fs", s)
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
