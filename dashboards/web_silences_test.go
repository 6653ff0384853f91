package dashboards

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
)

// The overview lists the silences in force, read from the real SQLite
// alert store, ending soonest first, escaped; an ended or future one is
// not listed.
func TestWebListsTheSilencesInForce(t *testing.T) {
	ctx := context.Background()
	st, err := alerting.OpenSQLite(ctx, filepath.Join(t.TempDir(), "nines.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, s := range []alerting.Silence{
		{ID: "aaaaaaaaaaaa", All: true, Reason: "region failover drill", Start: now.Add(-time.Hour), End: now.Add(3 * time.Hour)},
		{ID: "bbbbbbbbbbbb", SLO: "checkout-availability", Reason: `<script>alert("x")</script>`, Start: now.Add(-time.Minute), End: now.Add(90 * time.Minute)},
		{ID: "cccccccccccc", Canary: "search", Reason: "ended", Start: now.Add(-3 * time.Hour), End: now.Add(-time.Hour)},
		{ID: "dddddddddddd", Canary: "search", Reason: "not yet", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)},
	} {
		if err := st.AddSilence(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	w, err := NewWeb(WebConfig{Silences: st, Decisions: EvaluatorDecisions{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "127.0.0.1"
	w.ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("overview answered %d: %s", rec.Code, body)
	}
	i := strings.Index(body, `<table id="silences">`)
	if i < 0 {
		t.Fatalf("the overview has no silences table:\n%s", body)
	}
	table := body[i:]
	table = table[:strings.Index(table, "</table>")]
	b, a := strings.Index(table, "bbbbbbbbbbbb"), strings.Index(table, "aaaaaaaaaaaa")
	if b < 0 || a < 0 || b > a {
		t.Errorf("want the SLO silence (ends in 1h30m) before the all silence (3h):\n%s", table)
	}
	for _, want := range []string{"SLO checkout-availability", "every alert", "1h30m0s", "3h0m0s", "&lt;script&gt;"} {
		if !strings.Contains(table, want) {
			t.Errorf("the silences table lacks %q:\n%s", want, table)
		}
	}
	for _, not := range []string{"cccccccccccc", "dddddddddddd", "<script>"} {
		if strings.Contains(table, not) {
			t.Errorf("the silences table holds %q:\n%s", not, table)
		}
	}
}
