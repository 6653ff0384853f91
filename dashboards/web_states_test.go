package dashboards

import (
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// blindError is the error of the SLO whose query fails; it has markup in
// it, which the page must escape.
const blindError = `GetMetricData: <AccessDenied> not authorized for "Nines"`

// statesFixture serves the UI over three SLOs at the end of a day of one
// run a minute: checkout-down over a canary that failed every run (its
// budget spent 200 times over: -19900%), search-fine over a canary that
// never failed and runs every 10 minutes (its short windows widened), and
// ledger-blind, whose query fails.
func statesFixture(t *testing.T) *httptest.Server {
	t.Helper()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	src := slo.NewMemorySource()
	src.Fail("ledger", errors.New(blindError))
	sli := func(canary string, good float64) slo.SLI {
		s := slo.SLI{Kind: slo.SLIAvailability, Canary: canary}
		tr := slo.Trace{Start: now.Add(-24 * time.Hour), Step: time.Minute}
		for range 24 * 60 {
			tr.Good, tr.Total = append(tr.Good, good), append(tr.Total, 1)
		}
		if err := src.Add(s, tr); err != nil {
			t.Fatal(err)
		}
		return s
	}
	window := slo.RollingWindow(30 * 24 * time.Hour)
	slos := []slo.SLO{
		{Name: "search-fine", SLI: sli("search", 1), Objective: 0.995, Window: window, Probes: slo.Probes{Every: 10 * time.Minute}},
		{Name: "ledger-blind", SLI: sli("ledger", 1), Objective: 0.995, Window: window},
		{Name: "checkout-down", SLI: sli("checkout", 0), Objective: 0.995, Window: window},
	}
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(now)})
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWeb(WebConfig{SLOs: slos, Canaries: []string{"checkout", "search", "ledger"},
		Decisions: EvaluatorDecisions{Evaluator: ev, SLOs: slos}, Source: src, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	return srv
}

// row returns the SLO list's row of the named SLO.
func row(t *testing.T, body, name string) string {
	t.Helper()
	i := strings.Index(body, `<tr><td><a href="/slo/`+name+`">`)
	if i < 0 {
		t.Fatalf("the list has no row for %s:\n%s", name, body)
	}
	end := strings.Index(body[i:], "</tr>")
	return body[i : i+end]
}

// okWord finds "ok" as a word a person reads, or a class that colours it so.
var okWord = regexp.MustCompile(`(?i)>\s*ok\s*<|\bok\b[^-]|class="[^"]*\b(ok|tone-good)\b`)

// visible drops the page's style sheet, whose class names are not what a
// person reads.
func visible(body string) string {
	if i, j := strings.Index(body, "<style>"), strings.Index(body, "</style>"); i >= 0 && j > i {
		return body[:i] + body[j:]
	}
	return body
}

func TestWebShowsEachSLOsAlertAndBudgetState(t *testing.T) {
	srv := statesFixture(t)
	_, _, list := get(t, srv.URL+"/")
	cases := []struct {
		name, slo string
		want      []string
		wantNot   *regexp.Regexp
	}{
		{"A canary failing every run shows its page and its budget exhausted, never ok",
			"checkout-down", []string{`<span class="badge tone-bad">page · page_fast</span>`, `<span class="badge tone-bad">exhausted</span>`,
				`<td class="bad">-19900%</td>`}, okWord},
		{"A canary that never fails shows no alert and a healthy budget",
			"search-fine", []string{`<span class="badge tone-neutral">none</span>`, `<span class="badge tone-good">healthy</span>`, "<td>100%</td>"},
			regexp.MustCompile(`tone-bad|exhausted`)},
		{"An SLO whose query fails shows error in both states, with its error on hover, escaped",
			"ledger-blind", []string{`<span class="badge tone-error">error</span></td>`, `<span class="badge tone-error">error</span>`,
				"&lt;AccessDenied&gt;", "<td>no data</td>"}, regexp.MustCompile(`<AccessDenied>|healthy|\bnone\b`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := row(t, list, tc.slo)
			for _, w := range tc.want {
				if !strings.Contains(r, w) {
					t.Errorf("the row lacks %s:\n%s", w, r)
				}
			}
			if m := tc.wantNot.FindString(r); m != "" {
				t.Errorf("the row shows %q:\n%s", m, r)
			}
		})
	}
	// Least budget first, then the SLO that cannot be evaluated.
	if c, s, l := strings.Index(list, ">checkout-down<"), strings.Index(list, ">search-fine<"), strings.Index(list, ">ledger-blind<"); !(c < s && s < l) {
		t.Errorf("order checkout-down %d, search-fine %d, ledger-blind %d; want spent budget first, the error last", c, s, l)
	}
}

func TestWebSLOPageShowsEachTiersStatusAndReason(t *testing.T) {
	srv := statesFixture(t)
	cases := []struct {
		name, slo string
		want      []string
		wantNot   *regexp.Regexp
	}{
		{"An exhausted budget reads exhausted with its figure, never ok, and the firing tier says why",
			"checkout-down", []string{`<span class="badge tone-bad">page · page_fast</span>`, `<span class="badge tone-bad">exhausted</span>`,
				`<span class="bad">-19900%</span> left`, `<span class="badge tone-bad">firing</span></td><td>burn 200x over 1h and 200x over 5m, both above 14.4x`,
				`<p id="reason">page_fast: burn 200x over 1h and 200x over 5m, both above 14.4x.</p>`}, okWord},
		{"Each tier that does not fire says why not, and a widened window says so",
			"search-fine", []string{`<span class="badge tone-good">healthy</span>`,
				`<span class="badge tone-neutral">below_burn_rate</span></td><td>burn 0x over 1h is not above 14.4x`,
				`<span class="badge tone-neutral">below_burn_rate</span></td><td>burn 0x over 6h is not above 6x`,
				`<span class="badge tone-neutral">below_burn_rate</span></td><td>burn 0x over 3d is not above 1x`,
				`<div class="muted note">widened short window 5m to 11m to hold the SLI&#39;s probes, one every 10m</div>`,
				`<td>11m</td>`}, regexp.MustCompile(`tone-bad|>exhausted</span>|slo-error`)},
		{"An SLO that cannot be evaluated shows its error, escaped, and each tier's failed query",
			"ledger-blind", []string{`<span class="badge tone-error">error</span>`, `<div class="error" id="slo-error">`,
				`<pre>GetMetricData: &lt;AccessDenied&gt; not authorized for &#34;Nines&#34;</pre>`,
				`<span class="badge tone-error">query_failed</span></td><td>the query failed: GetMetricData: &lt;AccessDenied&gt;`},
			regexp.MustCompile(`<AccessDenied>|healthy|id="reason"`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := get(t, srv.URL+"/slo/"+tc.slo)
			if code != 200 {
				t.Fatalf("status %d", code)
			}
			body = visible(body)
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %s:\n%s", w, body)
				}
			}
			if m := tc.wantNot.FindString(body); m != "" {
				t.Errorf("the page shows %q", m)
			}
		})
	}
}
