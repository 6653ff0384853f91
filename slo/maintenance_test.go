package slo_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// maintTrace is the hand-made trace of the maintenance tests, one point
// every 5 minutes from 2026-10-01 00:00 UTC to 2026-11-05 00:00 UTC, five
// runs a point (a canary every minute in one region). Every run succeeds
// except:
//   - every Tuesday 10:00-10:10 UTC (two points, 10 runs): a short outage
//     outside any window;
//   - every occurrence of the weekly window "Sunday 03:00 Europe/Berlin for
//     2h", where every run fails. Berlin leaves summer time on Sunday
//     2026-10-25 at 03:00, so the occurrences are, in UTC:
//     Oct 4, 11, 18 01:00-03:00 (CEST, +2), Oct 25 and Nov 1 02:00-04:00
//     (CET, +1).
var maintOccurrences = []string{
	"2026-10-04T01:00:00Z", "2026-10-11T01:00:00Z", "2026-10-18T01:00:00Z",
	"2026-10-25T02:00:00Z", "2026-11-01T02:00:00Z",
}

func maintTrace(t testing.TB) *cwTrace {
	t.Helper()
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	n := 35 * 288
	a, s := make([]float64, n), make([]float64, n)
	for i := range n {
		a[i], s[i] = 5, 5
		at := start.Add(time.Duration(i) * 5 * time.Minute)
		if at.Weekday() == time.Tuesday && at.Hour() == 10 && at.Minute() < 10 {
			s[i] = 0
		}
	}
	for _, o := range maintOccurrences {
		from, err := time.Parse(time.RFC3339, o)
		if err != nil {
			t.Fatal(err)
		}
		for k := range 24 { // 2h of 5-minute points
			s[int(from.Sub(start)/(5*time.Minute))+k] = 0
		}
	}
	return &cwTrace{start: start, step: 5 * time.Minute, n: n, regions: []string{"eu-west-1"},
		attempts: [][]float64{a}, successes: [][]float64{s}, fast: [][]float64{append([]float64(nil), s...)},
		requests: make([]float64, n), errors5xx: make([]float64, n)}
}

func berlinSunday(t testing.TB) slo.Maintenance {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return slo.Maintenance{Name: "db-patching", Reason: "weekly database patching", Cron: slo.Weekly(time.Sunday, 3, 0),
		Duration: 2 * time.Hour, Location: loc, Canaries: []string{"checkout"}}
}

// A weekly window over a 30-day rolling budget gives the budget the trace
// would give with the window's minutes cut out, on every source.
//
// By hand, at 2026-11-04 12:00 UTC (a Wednesday) the window is 2026-10-05
// 12:00 (a Monday) to 2026-11-04 12:00: 30 x 1440 = 43200 minutes, 43200
// runs. It holds four occurrences (Oct 11, 18, 25, Nov 1; Oct 4 is before
// it): 4 x 120 = 480 minutes, 480 runs, all failed, excluded. It holds five
// Tuesdays (Oct 6, 13, 20, 27, Nov 3), 5 x 10 = 50 failed runs.
//   - with the window: total 43200 - 480 = 42720, bad 50, good 42670;
//     allowed at 99% = 0.01 x 42720 = 427.2; remaining 1 - 50/427.2.
//   - without it: total 43200, bad 530; allowed 432; remaining 1 - 530/432,
//     below 0: the budget would be spent by the maintenance.
//
// By good 5-minute slices at 99%: the period has 43200 / 5 = 8640 slices,
// 96 of them excluded; 8544 have data, 10 of them bad (the Tuesdays);
// allowed 0.01 x 8544 = 85.44; remaining 1 - 10/85.44, the same.
func TestMaintenanceExcludesAWeeklyWindowFromA30DayBudget(t *testing.T) {
	tr := maintTrace(t)
	now := time.Date(2026, 11, 4, 12, 0, 0, 0, time.UTC)
	win := berlinSunday(t)
	sli := slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}
	events := slo.SLO{Name: "checkout", SLI: sli, Objective: 0.99, Window: slo.RollingWindow(30 * 24 * time.Hour),
		Probes: slo.Probes{Every: time.Minute, PerRound: 1}}
	minutes := events
	minutes.Name = "checkout-slices"
	minutes.Budgeting = slo.Budgeting{Method: slo.Timeslices, Slice: 5 * time.Minute}
	withWindow := func(s slo.SLO) slo.SLO { s.Maintenance = []slo.Maintenance{win}; return s }

	clk := clock.NewFake(tr.start)
	fake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	tr.publish(t, fake.Client(), clk)
	local, err := slo.NewLocalSource(tr.store(t))
	if err != nil {
		t.Fatal(err)
	}
	cw, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: fake.Client(), Regions: tr.regions, Clock: clock.NewFake(now)})
	if err != nil {
		t.Fatal(err)
	}
	sources := []struct {
		name string
		src  slo.Source
	}{{"memory", tr.memory(t)}, {"local store", local}, {"CloudWatch", cw}}

	wantRemaining := 1 - 50/427.2
	for _, src := range sources {
		t.Run("On the "+src.name+", the window's 480 minutes are cut out of the budget", func(t *testing.T) {
			ds := evaluateWith(t, src.src, now, []slo.SLO{withWindow(events), withWindow(minutes)})
			for i, d := range ds {
				total, bad, allowed := 42720.0, 50.0, 427.2
				if i == 1 {
					total, bad, allowed = 8544, 10, 85.44
				}
				if d.Budget.Total != total || d.Budget.Bad() != bad {
					t.Errorf("%s: budget counts %+v, want %v in all and %v bad (%s: %s)", d.SLO, d.Budget.Counts, total, bad, d.State, d.Reason)
				}
				if math.Abs(d.Budget.Allowed-allowed) > 1e-9 || math.Abs(d.Budget.Remaining-wantRemaining) > 1e-12 {
					t.Errorf("%s: allowed %v, remaining %v, want %v and %v", d.SLO, d.Budget.Allowed, d.Budget.Remaining, allowed, wantRemaining)
				}
				if d.Excluded != 480*time.Minute {
					t.Errorf("%s: excluded %s, want 8h", d.SLO, d.Excluded)
				}
				if d.Maintenance != nil {
					t.Errorf("%s: a window in force on a Wednesday noon: %+v", d.SLO, *d.Maintenance)
				}
			}
		})
	}
	t.Run("Without the window the maintenance spends the budget", func(t *testing.T) {
		d := evaluateWith(t, sources[0].src, now, []slo.SLO{events})[0]
		if d.Budget.Total != 43200 || d.Budget.Bad() != 530 || math.Abs(d.Budget.Remaining-(1-530.0/432)) > 1e-12 {
			t.Errorf("budget %+v remaining %v, want 43200 in all, 530 bad, remaining %v", d.Budget.Counts, d.Budget.Remaining, 1-530.0/432)
		}
		if d.Excluded != 0 {
			t.Errorf("excluded %s without a window", d.Excluded)
		}
	})
	t.Run("The trace with the window's points removed gives the same budget", func(t *testing.T) {
		cut := slo.NewMemorySource()
		good, total := make([]float64, tr.n), make([]float64, tr.n)
		for i := range tr.n {
			good[i], total[i] = tr.successes[0][i], tr.attempts[0][i]
		}
		for _, o := range maintOccurrences {
			from, _ := time.Parse(time.RFC3339, o)
			for k := range 24 {
				i := int(from.Sub(tr.start)/(5*time.Minute)) + k
				good[i], total[i] = 0, 0
			}
		}
		if err := cut.Add(sli, slo.Trace{Start: tr.start, Step: tr.step, Good: good, Total: total}); err != nil {
			t.Fatal(err)
		}
		want := evaluateWith(t, cut, now, []slo.SLO{events})
		got := evaluateWith(t, sources[0].src, now, []slo.SLO{withWindow(events)})
		sameDecisions(t, got, want)
	})
	t.Run("During an occurrence the decision names the window and excludes its minutes so far", func(t *testing.T) {
		at := time.Date(2026, 11, 1, 2, 30, 0, 0, time.UTC) // 30 minutes into the Nov 1 occurrence
		d := evaluateWith(t, sources[0].src, at, []slo.SLO{withWindow(events)})[0]
		if d.Maintenance == nil || !d.Maintenance.End.Equal(time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)) {
			t.Fatalf("window in force = %+v, want db-patching until 04:00 UTC", d.Maintenance)
		}
		// The 30 days start Oct 2 02:30, so they hold Oct 4, 11, 18 and
		// 25 (4 x 120 minutes) and the first 30 minutes of Nov 1's.
		if d.Excluded != 510*time.Minute {
			t.Errorf("excluded %s, want 8h30m", d.Excluded)
		}
		if !strings.HasPrefix(d.Reason, "in maintenance window db-patching until 2026-11-01T04:00:00Z (weekly database patching)") {
			t.Errorf("reason %q does not name the window", d.Reason)
		}
	})
}

func TestCronOccurrences(t *testing.T) {
	utc := time.UTC
	day := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, utc) }
	cases := []struct {
		name string
		expr string
		dur  time.Duration
		from time.Time
		to   time.Time
		want []string
	}{
		{"Every weekday at 22:30 for 1h over a week starting Monday", "30 22 * * 1-5", time.Hour, day(7, 0, 0), day(14, 0, 0),
			[]string{"2026-12-07T22:30:00Z", "2026-12-08T22:30:00Z", "2026-12-09T22:30:00Z", "2026-12-10T22:30:00Z", "2026-12-11T22:30:00Z"}},
		{"An occurrence that began before from is kept while it overlaps", "0 23 * * *", 2 * time.Hour, day(8, 0, 30), day(8, 1, 0),
			[]string{"2026-12-07T23:00:00Z"}},
		{"Every 15 minutes in one hour", "*/15 3 * * *", 5 * time.Minute, day(1, 0, 0), day(2, 0, 0),
			[]string{"2026-12-01T03:00:00Z", "2026-12-01T03:15:00Z", "2026-12-01T03:30:00Z", "2026-12-01T03:45:00Z"}},
		{"Day of month or day of week, as cron reads both: the 1st and Sundays", "0 4 1 * 0", time.Hour, day(1, 0, 0), day(14, 0, 0),
			[]string{"2026-12-01T04:00:00Z", "2026-12-06T04:00:00Z", "2026-12-13T04:00:00Z"}},
		{"Seven is Sunday too", "0 4 * * 7", time.Hour, day(1, 0, 0), day(8, 0, 0), []string{"2026-12-06T04:00:00Z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := slo.ParseCron(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			m := slo.Maintenance{Name: "w", Cron: c, Duration: tc.dur, Canaries: []string{"c"}}
			var got []string
			for _, iv := range m.Occurrences(tc.from, tc.to) {
				got = append(got, iv.Start.UTC().Format(time.RFC3339))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("occurrences %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []struct{ expr, want string }{
		{"0 3 * *", `cron "0 3 * *": needs five fields (minute hour day-of-month month day-of-week), got 4`},
		{"61 3 * * *", `cron "61 3 * * *": minute field "61": 61-61: out of range 0-59`},
		{"0 3 * * mon", `cron "0 3 * * mon": day of week field "mon": "mon": not a number`},
		{"0 5-3 * * *", `cron "0 5-3 * * *": hour field "5-3": range "5-3": use low-high, such as 1-5`},
		{"*/0 3 * * *", `cron "*/0 3 * * *": minute field "*/0": step "0": must be a positive number`},
	} {
		if _, err := slo.ParseCron(bad.expr); err == nil || err.Error() != bad.want {
			t.Errorf("ParseCron(%q) = %v, want %s", bad.expr, err, bad.want)
		}
	}
}

// What exclusion costs over CloudWatch, at 2026-11-04 12:00 UTC with the
// weekly window of TestMaintenanceExcludesAWeeklyWindowFromA30DayBudget.
// By hand: the SLO reads its 30-day budget and the default policy's 5
// burn windows (5m, 30m, 1h, 6h, 3d): 6 queries, each 2 metrics
// (Attempts, Successes) in one region, in one GetMetricData call, since
// they all end now. The window adds one query per occurrence inside a
// read window: 4 in the budget (Oct 11, 18, 25, Nov 1), none in the 3
// days from Nov 1 12:00: 10 queries. Each occurrence ends at its own
// time, so it is a range of its own: 1 + 4 = 5 calls.
func TestMaintenanceCostsAQueryPerOccurrenceOnCloudWatch(t *testing.T) {
	tr := maintTrace(t)
	clk := clock.NewFake(tr.start)
	fake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	tr.publish(t, fake.Client(), clk)
	now := time.Date(2026, 11, 4, 12, 0, 0, 0, time.UTC)
	s := slo.SLO{Name: "checkout", SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}, Objective: 0.99,
		Window: slo.RollingWindow(30 * 24 * time.Hour), Probes: slo.Probes{Every: time.Minute, PerRound: 1}}
	for _, tc := range []struct {
		name           string
		windows        []slo.Maintenance
		queries, calls int
	}{
		{"Without a window: 6 queries in 1 call", nil, 6, 1},
		{"With a weekly window: 10 queries in 5 calls", []slo.Maintenance{berlinSunday(t)}, 10, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cw, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: fake.Client(), Regions: tr.regions, Clock: clock.NewFake(now)})
			if err != nil {
				t.Fatal(err)
			}
			src := &countingSource{Source: cw}
			x := s
			x.Maintenance = tc.windows
			evaluateWith(t, src, now, []slo.SLO{x})
			if src.queries != tc.queries || cw.Calls() != int64(tc.calls) {
				t.Errorf("%d queries in %d calls, want %d in %d", src.queries, cw.Calls(), tc.queries, tc.calls)
			}
		})
	}
}

func TestPauseFuncPausesOnlyTheCoveredCanariesInsideTheWindow(t *testing.T) {
	start := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	ws := []slo.Maintenance{
		{Name: "move", Canaries: []string{"checkout"}, PauseCanaries: true, Start: start, End: start.Add(time.Hour)},
		{Name: "patch", Canaries: []string{"search"}, Start: start, End: start.Add(time.Hour)},
	}
	paused := slo.PauseFunc(ws)
	for _, tc := range []struct {
		canary string
		at     time.Time
		want   bool
	}{
		{"checkout", start, true},
		{"checkout", start.Add(59 * time.Minute), true},
		{"checkout", start.Add(time.Hour), false},
		{"checkout", start.Add(-time.Second), false},
		{"search", start.Add(30 * time.Minute), false}, // its window does not pause
	} {
		if got := paused(tc.canary, tc.at); got != tc.want {
			t.Errorf("paused(%s, %s) = %v, want %v", tc.canary, tc.at.Format(time.RFC3339), got, tc.want)
		}
	}
	if slo.PauseFunc(ws[1:]) != nil {
		t.Error("PauseFunc of windows that pause nothing should be nil")
	}
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 3 * * 0", "*/15 1-5 1,15 * 1-5", "0 0 31 2 *", "59 23 * 12 7", "-1 * * * *", "1-2-3 * * * *", "*/0 * * * *"} {
		f.Add(s)
	}
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := slo.ParseCron(expr)
		if err != nil {
			return
		}
		m := slo.Maintenance{Name: "w", Cron: c, Duration: time.Hour, Canaries: []string{"c"}}
		for _, iv := range m.Occurrences(from, from.Add(48*time.Hour)) {
			if iv.Length() != time.Hour || !iv.End.After(from) || !iv.Start.Before(from.Add(48*time.Hour)) {
				t.Fatalf("%q: occurrence %+v outside the range or of the wrong length", expr, iv)
			}
		}
	})
}
