package alerting

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// silenceStores are every SilenceStore, each opened twice on the same data
// as a restarted process would open it.
func silenceStores(t *testing.T) map[string]func() SilenceStore {
	out := map[string]func() SilenceStore{}
	mem := NewMemoryStore()
	out["memory"] = func() SilenceStore { return mem }
	path := t.TempDir() + "/nines.db"
	out["sqlite"] = func() SilenceStore {
		st, err := OpenSQLite(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	for _, b := range dynamoDBBackends {
		open := openDynamoDBStore(t, b.start(t))
		out[b.name] = func() SilenceStore { return open() }
	}
	return out
}

func TestSilencesAreStoredListedAndExpired(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)
	for name, open := range silenceStores(t) {
		t.Run(name, func(t *testing.T) {
			st := open()
			a := Silence{ID: "aaa", SLO: "checkout", Reason: "deploy", Start: at, End: at.Add(2 * time.Hour)}
			b := Silence{ID: "bbb", Canary: "search", Reason: "migration", Start: at.Add(time.Minute), End: at.Add(time.Hour)}
			for _, s := range []Silence{b, a} {
				if err := st.AddSilence(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.AddSilence(ctx, a); err == nil {
				t.Error("a second silence with the same ID was taken")
			}
			if err := st.AddSilence(ctx, Silence{ID: "ccc", Reason: "x", Start: at, End: at.Add(time.Hour)}); err == nil {
				t.Error("a silence that matches nothing was taken")
			}
			again := open()
			got, err := again.Silences(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !equalSilences(got, []Silence{a, b}) {
				t.Fatalf("silences %+v, want %+v by start", got, []Silence{a, b})
			}
			if err := again.ExpireSilence(ctx, "aaa", at.Add(10*time.Minute)); err != nil {
				t.Fatal(err)
			}
			// Expiring after it ended moves nothing.
			if err := again.ExpireSilence(ctx, "aaa", at.Add(3*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := again.ExpireSilence(ctx, "nope", at); !errors.Is(err, ErrNoSilence) {
				t.Errorf("expiring an unknown ID: %v, want ErrNoSilence", err)
			}
			got, _ = open().Silences(ctx)
			a.End = at.Add(10 * time.Minute)
			if !equalSilences(got, []Silence{a, b}) {
				t.Errorf("after expiry %+v, want %+v", got, []Silence{a, b})
			}
			if got[0].Active(at.Add(10*time.Minute)) || !got[0].Active(at.Add(9*time.Minute)) {
				t.Errorf("the expired silence is active at its end, or not before it")
			}
		})
	}
}

func equalSilences(a, b []Silence) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.Start.Equal(y.Start) || !x.End.Equal(y.End) {
			return false
		}
		x.Start, x.End, y.Start, y.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// The alerts' Load skips silences in the shared DynamoDB table.
func TestSilencesAreNotAlerts(t *testing.T) {
	ctx := context.Background()
	for _, b := range dynamoDBBackends {
		t.Run(b.name, func(t *testing.T) {
			st := openDynamoDBStore(t, b.start(t))()
			at := time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)
			if err := st.AddSilence(ctx, Silence{ID: "aaa", All: true, Reason: "r", Start: at, End: at.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			as, err := st.Load(ctx)
			if err != nil || len(as) != 0 {
				t.Errorf("Load: %v, %+v; want no alerts", err, as)
			}
		})
	}
}
