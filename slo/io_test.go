package slo_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

func TestParsePolicy(t *testing.T) {
	good := `# page less, ticket later
min_events: 50
tiers:
  page_fast: {disabled: true}
  ticket:
    burn_rate: 2
  weekly: {severity: ticket, long_window: 7d, short_window: 12h, burn_rate: 0.5}
`
	p, err := slo.ParsePolicy("policy.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if p.MinEvents != 50 || len(p.Tiers) != 3 {
		t.Fatalf("policy = %+v", p)
	}
	tiers, _ := p.Resolve(slo.TableWindow)
	if len(tiers) != 3 || tiers[0].Name != "page_slow" || tiers[1].BurnRate != 2 || tiers[2].LongWindow != 7*24*time.Hour {
		t.Errorf("tiers = %+v", tiers)
	}
	if p, err := slo.ParsePolicy("empty.yaml", nil); err != nil || p.MinEvents != 0 || p.MinBadEvents != slo.DefaultMinBadEvents || len(p.Tiers) != 0 {
		t.Errorf("an empty file = %+v, %v; want the default policy", p, err)
	}

	cases := []struct{ name, in, err string }{
		{"An unknown top-level key is an error with its line", "min_events: 5\nwindows: 3\n",
			"p.yaml:2: windows: unknown key; want min_bad_events, min_events or tiers"},
		{"An unknown tier key is an error with its path", "tiers:\n  ticket:\n    burn: 2\n",
			"p.yaml:3: tiers.ticket.burn: unknown key; want severity, long_window, short_window, burn_rate, for or disabled"},
		{"A bad duration is named", "tiers:\n  ticket: {long_window: 3 days}\n",
			`p.yaml:2: tiers.ticket.long_window: want a duration such as 1h or 5m, got "3 days"`},
		{"A new tier needs everything", "tiers:\n  weekly: {severity: ticket, long_window: 7d}\n",
			"p.yaml:2: tiers.weekly: short_window: a new tier needs one"},
		{"A severity must be page or ticket", "tiers:\n  ticket: {severity: email}\n",
			`p.yaml:2: tiers.ticket.severity: want page or ticket, got "email"`},
		{"A short window must be shorter than the long one", "tiers:\n  page_fast: {short_window: 2h}\n",
			"p.yaml: tiers.page_fast: short_window 2h must be shorter than long_window 1h"},
		{"A negative minimum is refused", "min_events: -3\n",
			`p.yaml:1: min_events: want a count of 0 or more, got "-3"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := slo.ParsePolicy("p.yaml", []byte(c.in))
			if err == nil || err.Error() != c.err {
				t.Fatalf("err = %v\nwant %s", err, c.err)
			}
		})
	}
}

func TestReadTraceCSV(t *testing.T) {
	t.Run("RFC 3339 rows on a 5-minute grid with a gap read as a regular trace", func(t *testing.T) {
		in := "timestamp,good,total\n2025-03-01T00:00:00Z,99,100\n2025-03-01T00:05:00Z,100,100\n2025-03-01T00:15:00Z,50,100\n"
		tr, err := slo.ReadTraceCSV(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if !tr.Start.Equal(traceStart) || tr.Step != 5*time.Minute || len(tr.Total) != 4 {
			t.Fatalf("trace starts %s, step %s, %d points", tr.Start, tr.Step, len(tr.Total))
		}
		if tr.Total[2] != 0 || tr.Good[3] != 50 {
			t.Errorf("points = %v / %v; want the missing step empty", tr.Good, tr.Total)
		}
	})
	t.Run("Unix seconds read the same as RFC 3339", func(t *testing.T) {
		in := "timestamp,good,total\n1740787200,1,1\n1740787260,2,2\n"
		tr, err := slo.ReadTraceCSV(strings.NewReader(in))
		if err != nil || !tr.Start.Equal(traceStart) || tr.Step != time.Minute {
			t.Fatalf("trace %+v, %v", tr, err)
		}
	})
	for _, c := range []struct{ name, in, err string }{
		{"A missing header is an error", "1740787200,1,1\n", `trace: line 1: header is "1740787200,1,1"; want timestamp,good,total`},
		{"More good than total is an error", "timestamp,good,total\n1740787200,3,2\n", "trace: line 2: good 3 and total 2: need 0 <= good <= total"},
		{"A step under a minute is an error", "timestamp,good,total\n1740787200,1,1\n1740787230,1,1\n", "trace: step 30s is under one minute"},
		{"Timestamps must ascend", "timestamp,good,total\n1740787260,1,1\n1740787200,1,1\n", "trace: line 3: timestamp 2025-03-01T00:00:00Z is not after the one before"},
		{"A row off the grid is an error", "timestamp,good,total\n1740787200,1,1\n1740787320,1,1\n1740787410,1,1\n",
			"trace: timestamp 2025-03-01T00:02:00Z is off the 1m30s grid that starts at 2025-03-01T00:00:00Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := slo.ReadTraceCSV(strings.NewReader(c.in))
			if err == nil || err.Error() != c.err {
				t.Fatalf("err = %v\nwant %s", err, c.err)
			}
		})
	}
}

func TestStatusJSONAndText(t *testing.T) {
	tr := synth(2*24*60, 100, outage(2*24*60-30, 30, 0.05))
	api := slo.SLI{Kind: slo.SLILatency, Canary: "api", Threshold: 300 * time.Millisecond, Regions: []string{"us-east-1", "eu-west-1"}}
	db := slo.SLI{Kind: slo.SLIAvailability, Canary: "db"}
	now := traceStart.Add(2 * 24 * time.Hour)
	ds := evaluateAt(t, now, map[*slo.SLI]slo.Trace{&api: tr, &db: synth(2*24*60, 100, func(int) float64 { return 0.0001 })},
		slo.SLO{Name: "api-latency", SLI: api, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow)},
		slo.SLO{Name: "db", SLI: db, Objective: 0.9999, Window: slo.RollingWindow(slo.TableWindow)},
	)
	st := slo.NewStatus(ds[0])
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range fields {
		names = append(names, k)
	}
	wantFields := []string{"slo", "objective", "sli", "budget_remaining", "burn_rates", "state", "firing_tier", "budget_state",
		"reason", "error", "exhausted_at", "tiers", "excluded_minutes", "maintenance"}
	for _, want := range wantFields {
		if _, ok := fields[want]; !ok {
			t.Errorf("status JSON %s lacks %q", raw, want)
		}
	}
	if len(fields) != len(wantFields) {
		t.Errorf("status JSON has fields %v, want exactly %v", names, wantFields)
	}
	// 150 bad of 288000 events: 1 - 150 / 288 = 0.479...
	if st.BudgetRemaining == nil || !near(*st.BudgetRemaining, 1-150.0/288) {
		t.Errorf("budget remaining %v, want %v", st.BudgetRemaining, 1-150.0/288)
	}
	if r := st.BurnRates["30m"]; r == nil || !near(*r, 50) {
		t.Errorf("30m burn %v, want 50 (5%% errors at 99.9%%)", r)
	}
	if st.State != slo.StatePage || st.ExhaustedAt == nil || st.SLI != "latency <= 300ms of api in eu-west-1,us-east-1" {
		t.Errorf("state %s, exhausted %v, sli %q", st.State, st.ExhaustedAt, st.SLI)
	}

	comp, err := slo.ComposeDecisions(slo.Composition{Name: "checkout", Mode: slo.Serial, Parts: []string{"api-latency", "db"}}, ds)
	if err != nil {
		t.Fatal(err)
	}
	apiAvail := ds[0].Budget.Good / ds[0].Budget.Total
	if !near(comp.Objective, 0.999*0.9999) || comp.Observed == nil || !near(*comp.Observed, apiAvail*0.9999) {
		t.Errorf("composed objective %v, observed %v; want %v and %v", comp.Objective, comp.Observed, 0.999*0.9999, apiAvail*0.9999)
	}

	var buf bytes.Buffer
	if err := slo.WriteStatusText(&buf, []slo.Status{st, slo.NewStatus(ds[1])}, []slo.ComposedStatus{comp}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"SLO", "api-latency  99.9%", "page", "47.917%", "30m=50.00x", "db", "99.99%",
		"checkout", "serial", "99.89%", "api-latency (99.9%, 99.9479%), db (99.99%, 99.99%)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status text lacks %q:\n%s", want, out)
		}
	}
}
