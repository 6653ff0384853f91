package alerting

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// The SQLite store keeps every incident, not only the current one, so the
// weekly review can list a week's alerts.
func TestSQLiteStoreKeepsEveryIncident(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nines.db")
	st, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 18, 14, 2, 0, 0, time.UTC)
	a := &Alert{Key: Key{Subject: "checkout", Severity: Page}, Status: Firing, FiredAt: t0, Last: Details{Tier: "page_fast"}}
	steps := []func(){
		func() {},
		func() { a.LastSent = t0.Add(time.Hour) }, // a reminder: same incident
		func() { a.Status, a.ResolvedAt = Resolved, t0.Add(32*time.Minute) },
		func() { // a second incident the next day
			a.Status, a.FiredAt, a.ResolvedAt, a.Last.Tier = Firing, t0.Add(24*time.Hour), time.Time{}, "page_slow"
		},
	}
	for i, step := range steps {
		step()
		if err := st.Save(ctx, a); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	st.Close()

	// Reopened, as the review would.
	st, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Incidents(ctx, t0.Add(-24*time.Hour), t0.Add(7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d incidents, want 2: %+v", len(got), got)
	}
	if !got[0].FiredAt.Equal(t0) || !got[0].ResolvedAt.Equal(t0.Add(32*time.Minute)) || got[0].Tier != "page_fast" {
		t.Errorf("first incident %+v", got[0])
	}
	if !got[1].FiredAt.Equal(t0.Add(24*time.Hour)) || !got[1].ResolvedAt.IsZero() || got[1].Tier != "page_slow" {
		t.Errorf("second incident %+v, want still firing", got[1])
	}
	// A range after the first resolved holds only the second.
	later, _ := st.Incidents(ctx, t0.Add(time.Hour), t0.Add(48*time.Hour))
	if len(later) != 1 || !later[0].FiredAt.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("incidents after the first resolved: %+v", later)
	}
}
