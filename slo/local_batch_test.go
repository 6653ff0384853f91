package slo_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// A query the store cannot answer is named by its SLI when the store
// reads the whole batch at once, as when it reads one query at a time: a
// step of 1.5 s is not a whole number of seconds.
func TestLocalSourceBatchNamesTheSLIItCannotRead(t *testing.T) {
	ctx := context.Background()
	st, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: filepath.Join(t.TempDir(), "nines.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	src, _ := slo.NewLocalSource(st)
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	_, err = src.Counts(ctx, []slo.Query{
		{SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "home"}, From: at, To: at.Add(time.Hour), Step: time.Minute},
		{SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}, From: at, To: at.Add(time.Hour), Step: 1500 * time.Millisecond},
	})
	want := "slo: reading the local store for availability of checkout in all regions: store query: Every 1.5s must be a whole number of seconds"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if strings.Contains(err.Error(), "home") {
		t.Fatalf("err %q names the query that was fine", err)
	}
}
