package slo_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// heartbeatBatch is what three agents sent over an hour of one-minute
// periods: a in eu-west-1 throughout, b in us-east-1 until 20 minutes
// ago, and c in ap-southeast-2 only in the first ten minutes. Agent a
// also runs in us-east-1 (two sidecars of one name), which counts twice.
func heartbeatBatch(end time.Time) metrics.Batch {
	var b metrics.Batch
	for i := 1; i <= 60; i++ {
		at := end.Add(-time.Duration(i) * time.Minute)
		beat := func(agent, region string) {
			b.Heartbeats = append(b.Heartbeats, metrics.Heartbeat{Agent: agent, Region: region, Start: at, Period: time.Minute})
		}
		beat("a", "eu-west-1")
		beat("a", "us-east-1")
		if i > 20 {
			beat("b", "us-east-1")
		}
		if i > 50 {
			beat("c", "ap-southeast-2")
		}
	}
	return b
}

// Both sources count the heartbeats an agent sent in a window, summed over
// regions, from what the real sinks wrote: the SQLite store's table and
// PutMetricData through the SDK.
func TestAgentHeartbeatsFromTheStoreAndCloudWatch(t *testing.T) {
	ctx := context.Background()
	end := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clk := clock.NewFake(end)
	batch := heartbeatBatch(end)

	st, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: filepath.Join(t.TempDir(), "nines.db"), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(ctx) })
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	local, err := slo.NewLocalSource(st)
	if err != nil {
		t.Fatal(err)
	}

	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	sink, err := metrics.NewCloudWatch(ctx, metrics.CloudWatchConfig{Client: cw.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Publish(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// Eight queries a call and three regions: two agents a call, so the
	// three agents take two calls.
	remote, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: cw.Client(), Clock: clk, MaxQueries: 8,
		Regions: []string{"eu-west-1", "us-east-1", "ap-southeast-2"}})
	if err != nil {
		t.Fatal(err)
	}

	agents := []string{"a", "b", "c", "never"}
	windows := []struct {
		name     string
		from, to time.Time
		want     []float64
	}{
		{"the last 5 minutes", end.Add(-5 * time.Minute), end, []float64{10, 0, 0, 0}},
		{"the 5 minutes before b stopped", end.Add(-25 * time.Minute), end.Add(-20 * time.Minute), []float64{10, 5, 0, 0}},
		{"the whole hour", end.Add(-time.Hour), end, []float64{120, 40, 10, 0}},
	}
	for _, w := range windows {
		for _, src := range []struct {
			name string
			s    slo.HeartbeatSource
		}{{"local", local}, {"cloudwatch", remote}} {
			got, err := src.s.AgentHeartbeats(ctx, agents, w.from, w.to)
			if err != nil {
				t.Fatalf("%s, %s: %v", src.name, w.name, err)
			}
			for i := range agents {
				if got[i] != w.want[i] {
					t.Errorf("%s, %s: agent %s sent %g heartbeats, want %g", src.name, w.name, agents[i], got[i], w.want[i])
				}
			}
		}
	}
	if got := remote.Calls(); got != 2*int64(len(windows)) {
		t.Errorf("GetMetricData calls = %d, want 2 a window (three agents, two a call)", got)
	}

	if _, err := remote.AgentHeartbeats(ctx, agents, end.Add(-90*time.Second), end); err == nil || !strings.Contains(err.Error(), "whole minutes") {
		t.Errorf("a window off the minute: err = %v, want one that asks for whole minutes", err)
	}
	noRegions, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: cw.Client(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noRegions.AgentHeartbeats(ctx, agents, end.Add(-5*time.Minute), end); err == nil || !strings.Contains(err.Error(), "deploy.agent_regions") {
		t.Errorf("no regions: err = %v, want one that names the setting", err)
	}
}
