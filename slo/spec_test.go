package slo_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

func TestParseObjective(t *testing.T) {
	cases := []struct {
		name, in string
		want     float64
		err      string
	}{
		{name: "Percent is read as nines", in: "99.95", want: 0.9995},
		{name: "A ratio is taken as it is", in: "0.9995", want: 0.9995},
		{name: "A percent sign is allowed", in: "99.9%", want: 0.999},
		{name: "Two nines as percent", in: "99", want: 0.99},
		{name: "Surrounding space is ignored", in: " 0.99 ", want: 0.99},
		{name: "A hundred percent leaves no budget", in: "100", err: `objective "100": must be below 100%, which leaves no error budget`},
		{name: "A bare 1 is ambiguous", in: "1", err: `objective "1": ambiguous; write 0.999 (ratio) or 99.9 (percent)`},
		{name: "Zero is refused", in: "0", err: `objective "0": must be above 0`},
		{name: "Words are refused", in: "three nines", err: `objective "three nines": not a number; write 99.9 (percent) or 0.999 (ratio)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := slo.ParseObjective(c.in)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || !near(got, c.want) {
				t.Fatalf("ParseObjective(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
		})
	}
}

func TestParseAndFormatDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30d": 30 * 24 * time.Hour, "4w": 28 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "1w2d": 9 * 24 * time.Hour,
	} {
		if got, err := slo.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "30x", "-5m", "0s"} {
		if _, err := slo.ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) is not an error", bad)
		}
	}
	for d, want := range map[time.Duration]string{
		30 * 24 * time.Hour: "30d", 6 * time.Hour: "6h", 5 * time.Minute: "5m", 280 * time.Second: "4m40s", 36 * time.Hour: "1d12h",
	} {
		if got := slo.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func validSLO() slo.SLO {
	return slo.SLO{Name: "checkout", SLI: checkout, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow)}
}

func TestValidateNamesTheFieldAtFault(t *testing.T) {
	metric := &slo.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Statistic: "Sum"}
	cases := []struct {
		name   string
		change func(*slo.SLO)
		err    string
	}{
		{"A valid SLO passes", func(*slo.SLO) {}, ""},
		{"An SLO needs a name", func(s *slo.SLO) { s.Name = "" }, "name: must not be empty"},
		{"An objective of 1 leaves no budget", func(s *slo.SLO) { s.Objective = 1 }, "objective: must be a ratio between 0 and 1 such as 0.999, got 1"},
		{"An objective in percent is refused", func(s *slo.SLO) { s.Objective = 99.9 }, "objective: must be a ratio between 0 and 1 such as 0.999, got 99.9"},
		{"An SLI needs a kind", func(s *slo.SLO) { s.SLI.Kind = "" }, "sli.kind: must be one of availability, latency, ratio"},
		{"An unknown SLI kind is named", func(s *slo.SLO) { s.SLI.Kind = "uptime" }, `sli.kind: unknown kind "uptime"; use availability, latency or ratio`},
		{"An availability SLI needs a canary", func(s *slo.SLO) { s.SLI.Canary = "" }, "sli.canary: must not be empty"},
		{"A latency SLI needs a threshold", func(s *slo.SLO) { s.SLI.Kind = slo.SLILatency }, "sli.threshold: a latency SLI needs a positive threshold"},
		{"An empty region is refused", func(s *slo.SLO) { s.SLI.Regions = []string{"eu-west-1", ""} }, "sli.regions[1]: must not be empty"},
		{"A ratio SLI needs good or bad", func(s *slo.SLO) {
			s.SLI = slo.SLI{Kind: slo.SLIRatio, Total: metric}
		}, "sli.a ratio SLI needs exactly one of good and bad"},
		{"A ratio SLI metric needs a statistic", func(s *slo.SLO) {
			s.SLI = slo.SLI{Kind: slo.SLIRatio, Bad: &slo.Metric{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count"}, Total: metric}
		}, "sli.bad.statistic: must not be empty"},
		{"A rolling window shorter than an hour is refused", func(s *slo.SLO) { s.Window = slo.RollingWindow(30 * time.Minute) }, "window: a rolling window must be at least 1h, got 30m"},
		{"A calendar window needs week or month", func(s *slo.SLO) { s.Window = slo.CalendarWindow("quarter", nil) }, `window: calendar unit "quarter": use day, week or month`},
		{"An unknown budgeting method is named", func(s *slo.SLO) { s.Budgeting.Method = "minutes" }, `budgeting.method "minutes": use occurrences or timeslices`},
		{"A slice threshold above 1 is refused", func(s *slo.SLO) {
			s.Budgeting = slo.Budgeting{Method: slo.Timeslices, SliceThreshold: 95}
		}, "budgeting.slice_threshold: must be a ratio in (0, 1], got 95"},
		{"A slice must divide the window", func(s *slo.SLO) {
			s.Budgeting = slo.Budgeting{Method: slo.Timeslices, Slice: 7 * time.Minute}
		}, "budgeting.slice: 7m does not divide the 30d window"},
		{"A new policy tier needs a severity", func(s *slo.SLO) {
			s.Policy = &slo.Policy{Tiers: []slo.TierSpec{{Name: "weekly", LongWindow: 7 * 24 * time.Hour, ShortWindow: 12 * time.Hour, BurnRate: 0.5}}}
		}, "policy.tiers.weekly.severity: a new tier needs page or ticket"},
		{"A negative minimum of events is refused", func(s *slo.SLO) {
			s.Policy = &slo.Policy{MinEvents: -1}
		}, "policy.min_events: must not be negative, got -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := validSLO()
			c.change(&s)
			err := s.Validate()
			if c.err == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if err == nil || err.Error() != c.err {
				t.Fatalf("err = %v\nwant %s", err, c.err)
			}
		})
	}
}

func TestANinetyPercentObjectiveWarnsThatTheFastPageCannotFire(t *testing.T) {
	s := validSLO()
	s.Objective = 0.9
	got := s.Warnings(traceStart)
	want := "objective 0.9: the page 1h/5m tier can never fire: a burn rate above 14.4 needs an error ratio above 1.44, more than 100% errors"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("warnings = %q\nwant [%q]", got, want)
	}
	if w := validSLO().Warnings(traceStart); len(w) != 0 {
		t.Errorf("99.9%% warns: %q", w)
	}
}

func TestDefaultPolicyScalesWithTheWindow(t *testing.T) {
	type row struct {
		long, short time.Duration
		burn        float64
	}
	cases := []struct {
		name   string
		window time.Duration
		want   []row
	}{
		{"A 30-day window gets the workbook table itself", 30 * 24 * time.Hour, []row{
			{time.Hour, 5 * time.Minute, 14.4}, {6 * time.Hour, 30 * time.Minute, 6}, {3 * 24 * time.Hour, 6 * time.Hour, 1}}},
		// Windows scale by 28/30, to whole minutes; the burn rates stay put
		// because the same share of budget (2%, 5%, 10%) is spent.
		{"A 28-day window gets proportionally shorter windows", 28 * 24 * time.Hour, []row{
			{56 * time.Minute, 5 * time.Minute, 14.4}, {336 * time.Minute, 28 * time.Minute, 6}, {4032 * time.Minute, 336 * time.Minute, 1}}},
		{"A 7-day window gets a 14-minute fast page", 7 * 24 * time.Hour, []row{
			{14 * time.Minute, time.Minute, 14.4}, {84 * time.Minute, 7 * time.Minute, 6}, {1008 * time.Minute, 84 * time.Minute, 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tiers, err := slo.DefaultPolicy().Resolve(c.window)
			if err != nil {
				t.Fatal(err)
			}
			if len(tiers) != len(c.want) {
				t.Fatalf("%d tiers, want %d", len(tiers), len(c.want))
			}
			for i, w := range c.want {
				g := tiers[i]
				if g.LongWindow != w.long || g.ShortWindow != w.short || !near(g.BurnRate, w.burn) {
					t.Errorf("tier %s: %s/%s above %v; want %s/%s above %v", g.Name, g.LongWindow, g.ShortWindow, g.BurnRate, w.long, w.short, w.burn)
				}
				// burn x long window / window = the share of budget spent
				spent := g.BurnRate * float64(g.LongWindow) / float64(c.window)
				if want := []float64{0.02, 0.05, 0.10}[i]; !near(spent, want) {
					t.Errorf("tier %s spends %v of the budget before firing, want %v", g.Name, spent, want)
				}
			}
		})
	}
}

func TestPolicyTiersCanBeDisabledChangedAndAdded(t *testing.T) {
	p := slo.Policy{Tiers: []slo.TierSpec{
		{Name: "page_fast", Disabled: true},
		{Name: "ticket", BurnRate: 2},
		{Name: "weekly", Severity: slo.Ticket, LongWindow: 7 * 24 * time.Hour, ShortWindow: 12 * time.Hour, BurnRate: 0.5},
	}}
	tiers, err := p.Resolve(slo.TableWindow)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range tiers {
		got = append(got, tr.Name+" "+slo.FormatDuration(tr.LongWindow)+"/"+slo.FormatDuration(tr.ShortWindow)+" "+strconv.FormatFloat(tr.BurnRate, 'g', -1, 64))
	}
	want := []string{"page_slow 6h/30m 6", "ticket 3d/6h 2", "weekly 7d/12h 0.5"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("tiers = %q\nwant %q", got, want)
	}
}

func TestComposition(t *testing.T) {
	cases := []struct {
		name  string
		mode  slo.CompositionMode
		parts []float64
		want  float64
	}{
		{"Two 99.9% hard dependencies in series give 99.8001%", slo.Serial, []float64{0.999, 0.999}, 0.998001},
		{"Three serial parts multiply", slo.Serial, []float64{0.99, 0.999, 0.9999}, 0.99 * 0.999 * 0.9999},
		{"Two redundant 99% copies give 99.99%", slo.Redundant, []float64{0.99, 0.99}, 0.9999},
		{"A redundant pair fails only when both do", slo.Redundant, []float64{0.9, 0.5}, 1 - 0.1*0.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := slo.Compose(c.mode, c.parts...)
			if err != nil || !near(got, c.want) {
				t.Errorf("Compose = %v, %v; want %v", got, err, c.want)
			}
		})
	}
	if _, err := slo.Compose(slo.Serial, 0.9, 99.9); err == nil {
		t.Error("a percent part is accepted")
	}
}
