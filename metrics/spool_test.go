package metrics

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// chunkNames lists a chunk's points as canary@minute, then agent@minute
// for heartbeats, for comparing with lists written by hand.
func chunkNames(c spoolChunk) []string {
	var out []string
	for _, a := range c.Aggregates {
		out = append(out, fmt.Sprintf("%s@%d", a.Series.Canary, int(a.Start.Sub(t0)/time.Minute)))
	}
	for _, h := range c.Heartbeats {
		out = append(out, fmt.Sprintf("%s@%d", h.Agent, int(h.Start.Sub(t0)/time.Minute)))
	}
	return out
}

func openTestSpool(t *testing.T, dir string, maxBytes int64, health *Health) *Spool {
	t.Helper()
	s, err := OpenSpool(SpoolConfig{Dir: dir, MaxBytes: maxBytes, Health: health})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSpoolSettlesWhatEachRequestCarried(t *testing.T) {
	t.Run("SplitRequests cuts a batch where Publish cuts its requests", func(t *testing.T) {
		f := newFakeCloudWatch(t, nil)
		var b Batch
		for m := range 3 {
			mb := minuteBatch(t, t0.Add(time.Duration(m)*time.Minute), 150)
			b.Aggregates = append(b.Aggregates, mb.Aggregates...)
			b.Heartbeats = append(b.Heartbeats, mb.Heartbeats...)
		}
		// 3 datums an aggregate, 1 a heartbeat, 1000 to a request: 333
		// aggregates fill the first (999 datums); the other 117 and the 3
		// heartbeats (354 datums) the second.
		parts := f.sink.SplitRequests(b)
		if len(parts) != 2 {
			t.Fatalf("%d parts, want 2", len(parts))
		}
		want := [][2]int{{333, 0}, {117, 3}}
		var joined Batch
		for i, p := range parts {
			if got := [2]int{len(p.Aggregates), len(p.Heartbeats)}; got != want[i] {
				t.Errorf("part %d has %d aggregates and %d heartbeats, want %d and %d", i, got[0], got[1], want[i][0], want[i][1])
			}
			if n := f.sink.Requests(p); n != 1 {
				t.Errorf("part %d takes %d requests to publish, want 1", i, n)
			}
			joined.Aggregates = append(joined.Aggregates, p.Aggregates...)
			joined.Heartbeats = append(joined.Heartbeats, p.Heartbeats...)
		}
		for i := range b.Aggregates {
			if joined.Aggregates[i] != b.Aggregates[i] {
				t.Fatalf("aggregate %d of the parts is not the batch's", i)
			}
		}
		for i := range b.Heartbeats {
			if joined.Heartbeats[i] != b.Heartbeats[i] {
				t.Fatalf("heartbeat %d of the parts is not the batch's", i)
			}
		}
	})

	t.Run("What a settle records survives a restart, and a torn record after it costs nothing later", func(t *testing.T) {
		dir := t.TempDir()
		health := NewHealth()
		s := openTestSpool(t, dir, 0, health)
		for m := range 2 {
			if err := s.Append(minuteBatch(t, t0.Add(time.Duration(m)*time.Minute), 4)); err != nil {
				t.Fatal(err)
			}
		}
		// In order: c00-c03 of minute 0, c00-c03 of minute 1, the two
		// heartbeats. Settling 6 leaves c02@1, c03@1 and both heartbeats.
		c := s.peek(100)
		if err := s.settle(c, 6); err != nil {
			t.Fatal(err)
		}
		if n, points, _ := s.Depth(); n != 2 || points != 4 {
			t.Fatalf("after settling 6 of 10 points the spool holds %d files and %d points, want 2 and 4", n, points)
		}
		if got := health.Snapshot().SpoolPoints; got != 4 {
			t.Errorf("the spool gauge says %d points, want 4", got)
		}
		// A crash in the middle of a later record leaves half a line.
		j, err := os.OpenFile(filepath.Join(dir, journalName), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.WriteString("2 4 0 9f"); err != nil {
			t.Fatal(err)
		}
		j.Close()

		s2 := openTestSpool(t, dir, 0, nil)
		c2 := s2.peek(100)
		want := []string{"c02@1", "c03@1", "agent-1@0", "agent-1@1"}
		if got := chunkNames(c2); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after a restart the spool replays %v, want %v", got, want)
		}
		// The next record goes after the torn one; it must still count.
		// Settling 3 finishes minute 0's file (its heartbeat) and minute
		// 1's aggregates, leaving minute 1's heartbeat.
		if err := s2.settle(c2, 3); err != nil {
			t.Fatal(err)
		}
		s3 := openTestSpool(t, dir, 0, nil)
		if got, want := chunkNames(s3.peek(100)), []string{"agent-1@1"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after a second restart the spool replays %v, want %v", got, want)
		}
		if n, points, _ := s3.Depth(); n != 1 || points != 1 {
			t.Errorf("the spool holds %d files and %d points, want 1 and 1", n, points)
		}
	})

	t.Run("A full spool counts as dropped only what it had not sent of a file", func(t *testing.T) {
		dir := t.TempDir()
		health := NewHealth()
		one, _ := marshalBatch(minuteBatch(t, t0, 4))
		s := openTestSpool(t, dir, 2*int64(len(one))+10, health)
		for m := range 2 {
			if err := s.Append(minuteBatch(t, t0.Add(time.Duration(m)*time.Minute), 4)); err != nil {
				t.Fatal(err)
			}
		}
		// 3 of minute 0's 4 aggregates are sent; its fourth and its
		// heartbeat are not.
		if err := s.settle(s.peek(100), 3); err != nil {
			t.Fatal(err)
		}
		if err := s.Append(minuteBatch(t, t0.Add(2*time.Minute), 4)); err != nil {
			t.Fatal(err)
		}
		if got := health.Snapshot().Dropped[DropSpoolFull]; got != 2 {
			t.Errorf("dropped[spool_full] = %d, want 2 (c03 and the heartbeat of minute 0)", got)
		}
		if n, points, _ := s.Depth(); n != 2 || points != 10 {
			t.Errorf("the spool holds %d files and %d points, want minutes 1 and 2: 2 and 10", n, points)
		}
	})

	t.Run("Expired periods are counted once, when settled, though the first replay fails", func(t *testing.T) {
		f := newFakeCloudWatch(t, nil)
		health := NewHealth()
		p := newTestPublisher(t, f, t.TempDir(), 0, health)
		now := f.clock.Now()
		old := minuteBatch(t, now.Add(-15*24*time.Hour).Truncate(time.Minute), 2)
		young := minuteBatch(t, now.Add(-time.Hour).Truncate(time.Minute), 2)
		for _, b := range []Batch{old, young} {
			if err := p.cfg.Spool.Append(b); err != nil {
				t.Fatal(err)
			}
		}
		f.cw.SetDown(true)
		if _, err := p.Replay(context.Background()); err == nil {
			t.Fatal("Replay reported no error with CloudWatch down")
		}
		f.cw.SetDown(false)
		if _, err := p.Replay(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := health.Snapshot().Dropped[DropExpired]; got != int64(old.Points()) {
			t.Errorf("dropped[expired] = %d, want %d", got, old.Points())
		}
		if sums, _ := attemptsByPeriod(f.cw); len(sums) != 1 || sums[young.Aggregates[0].Start] != wantAttempts(2) {
			t.Errorf("CloudWatch got %v, want only the young batch", sums)
		}
		if p.Pending() != 0 {
			t.Errorf("%d points still pending", p.Pending())
		}
	})
}
