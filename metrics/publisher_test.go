package metrics

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
)

// newTestPublisher wires a Publisher to the fake through a spool in dir.
// Its sleeper moves the fake clock, so backoff takes no time.
func newTestPublisher(t *testing.T, f *fakeCloudWatch, dir string, maxBytes int64, health *Health) *Publisher {
	t.Helper()
	var spool *Spool
	if dir != "" {
		var err error
		spool, err = OpenSpool(SpoolConfig{Dir: dir, MaxBytes: maxBytes, Health: health})
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := NewPublisher(PublisherConfig{
		Name: "cloudwatch", Sink: f.sink, Spool: spool, MaxAge: CloudWatchMaxAge, Health: health, Clock: f.clock,
		Sleep: func(_ context.Context, d time.Duration) error { f.clock.Advance(d); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// minuteBatch is one period of n canaries, each with its own attempt count
// so a lost or repeated aggregate shows in the sums.
func minuteBatch(t testing.TB, start time.Time, n int) Batch {
	var b Batch
	for i := range n {
		b.Aggregates = append(b.Aggregates, aggregateOf(t, Series{Canary: fmt.Sprintf("c%02d", i), Region: "eu-west-1"}, start,
			[]int64{int64(20_000 + i*100), 30_000}, int64(i%3)))
	}
	b.Heartbeats = []Heartbeat{{Agent: "agent-1", Region: "eu-west-1", Start: start, Period: time.Minute}}
	return b
}

// attemptsByPeriod sums Attempts per timestamp, in arrival order, and
// reports whether timestamps arrived in order.
func attemptsByPeriod(cw *awsfake.CloudWatch) (sums map[time.Time]float64, inOrder bool) {
	sums = map[time.Time]float64{}
	inOrder = true
	var last time.Time
	for _, d := range cw.Datums() {
		if d.MetricName != MetricAttempts {
			continue
		}
		if d.Timestamp.Before(last) {
			inOrder = false
		}
		last = d.Timestamp
		sums[d.Timestamp] += *d.Value
	}
	return sums, inOrder
}

func wantAttempts(n int) float64 {
	var s float64
	for i := range n {
		s += float64(2 + i%3)
	}
	return s
}

func TestPublisherRidesOutAThirtyMinuteOutage(t *testing.T) {
	f := newFakeCloudWatch(t, nil)
	f.clock.Set(t0)
	health := NewHealth()
	p := newTestPublisher(t, f, t.TempDir(), 0, health)
	ctx := context.Background()
	const canaries = 20
	deliver := func(minute int) {
		f.clock.Set(t0.Add(time.Duration(minute+1)*time.Minute + time.Second))
		_ = p.Deliver(ctx, minuteBatch(t, t0.Add(time.Duration(minute)*time.Minute), canaries))
	}
	for m := range 5 {
		deliver(m)
	}
	f.cw.SetDown(true)
	for m := 5; m < 35; m++ {
		deliver(m)
	}
	if p.Pending() != 30*(canaries+1) {
		t.Fatalf("spool holds %d points after the outage, want %d", p.Pending(), 30*(canaries+1))
	}
	f.cw.SetDown(false)
	for m := 35; m < 40; m++ {
		deliver(m)
	}
	if p.Pending() != 0 {
		t.Errorf("spool still holds %d points once CloudWatch is back", p.Pending())
	}
	sums, inOrder := attemptsByPeriod(f.cw)
	if !inOrder {
		t.Error("periods reached CloudWatch out of order")
	}
	for m := range 40 {
		at := t0.Add(time.Duration(m) * time.Minute)
		if sums[at] != wantAttempts(canaries) {
			t.Errorf("minute %d: Attempts sum %v, want %v (lost or repeated)", m, sums[at], wantAttempts(canaries))
		}
	}
	snap := health.Snapshot()
	if snap.DroppedTotal() != 0 {
		t.Errorf("dropped %v, want nothing", snap.Dropped)
	}
	if snap.SpoolPoints != 0 {
		t.Errorf("spool gauge says %d points left", snap.SpoolPoints)
	}
}

func TestPublisherRetriesTransientFailures(t *testing.T) {
	tests := []struct {
		name   string
		fault  func(cw *awsfake.CloudWatch)
		reason string
	}{
		{"A throttling storm is retried until it passes", func(cw *awsfake.CloudWatch) { cw.Throttle("PutMetricData", 3) }, ReasonThrottled},
		{"500s are retried", func(cw *awsfake.CloudWatch) { cw.FailStatus("PutMetricData", 3, 500) }, ReasonServer},
		{"503s are retried", func(cw *awsfake.CloudWatch) { cw.FailStatus("PutMetricData", 2, 503) }, ReasonServer},
		{"Dropped connections are retried", func(cw *awsfake.CloudWatch) { cw.Drop("PutMetricData", 3) }, ReasonNetwork},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCloudWatch(t, nil)
			health := NewHealth()
			p := newTestPublisher(t, f, t.TempDir(), 0, health)
			tc.fault(f.cw)
			start := f.clock.Now()
			if err := p.Deliver(context.Background(), minuteBatch(t, t0, 5)); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if p.Pending() != 0 {
				t.Errorf("%d points spooled; the retries should have got through", p.Pending())
			}
			snap := health.Snapshot()
			if len(snap.SinkErrors) != 1 || snap.SinkErrors[0].Reason != tc.reason {
				t.Errorf("sink errors %+v, want reason %s", snap.SinkErrors, tc.reason)
			}
			if f.clock.Now().Sub(start) <= 0 {
				t.Error("no backoff between retries")
			}
		})
	}

	t.Run("A long throttling storm spools, and nothing is lost", func(t *testing.T) {
		f := newFakeCloudWatch(t, nil)
		f.clock.Set(t0)
		health := NewHealth()
		p := newTestPublisher(t, f, t.TempDir(), 0, health)
		f.cw.Throttle("PutMetricData", 25)
		for m := range 12 {
			f.clock.Set(t0.Add(time.Duration(m+1) * time.Minute))
			_ = p.Deliver(context.Background(), minuteBatch(t, t0.Add(time.Duration(m)*time.Minute), 4))
		}
		// The pipeline would replay with backoff until the storm passes.
		for try := 0; p.Pending() > 0 && try < 30; try++ {
			_, _ = p.Replay(context.Background())
		}
		sums, inOrder := attemptsByPeriod(f.cw)
		if !inOrder || len(sums) != 12 {
			t.Fatalf("in order %v, %d periods arrived; want 12 in order", inOrder, len(sums))
		}
		for at, s := range sums {
			if s != wantAttempts(4) {
				t.Errorf("%s: Attempts %v, want %v", at, s, wantAttempts(4))
			}
		}
		if health.Snapshot().DroppedTotal() != 0 {
			t.Errorf("dropped %v", health.Snapshot().Dropped)
		}
	})
}

func TestPublisherDropsWhatCanNeverSucceedAndCountsIt(t *testing.T) {
	t.Run("Periods older than two weeks are dropped as expired before sending", func(t *testing.T) {
		f := newFakeCloudWatch(t, nil)
		health := NewHealth()
		p := newTestPublisher(t, f, t.TempDir(), 0, health)
		old := minuteBatch(t, t0.Add(-21*24*time.Hour), 3)
		fresh := minuteBatch(t, t0, 3)
		b := Batch{Aggregates: append(old.Aggregates, fresh.Aggregates...), Heartbeats: fresh.Heartbeats}
		if err := p.Deliver(context.Background(), b); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		if got := health.Snapshot().Dropped[DropExpired]; got != int64(len(old.Aggregates)) {
			t.Errorf("dropped[expired] = %d, want %d", got, len(old.Aggregates))
		}
		if sums, _ := attemptsByPeriod(f.cw); len(sums) != 1 || sums[t0] != wantAttempts(3) {
			t.Errorf("CloudWatch has %v, want only the fresh period", sums)
		}
	})

	t.Run("A request CloudWatch refuses is dropped and counted, and the rest still goes", func(t *testing.T) {
		f := newFakeCloudWatch(t, nil)
		health := NewHealth()
		p := newTestPublisher(t, f, t.TempDir(), 0, health)
		// Three hours ahead: CloudWatch answers 400 InvalidParameterValue.
		// 800 aggregates fill three requests; the two carrying future
		// periods are refused, the last is not.
		future := minuteBatch(t, f.clock.Now().Add(3*time.Hour).Truncate(time.Minute), 400)
		fresh := minuteBatch(t, t0, 400)
		b := Batch{Aggregates: append(future.Aggregates, fresh.Aggregates...)}
		if err := p.Deliver(context.Background(), b); err == nil {
			t.Fatal("Deliver reported no error for a refused request")
		}
		if p.Pending() != 0 {
			t.Errorf("a refused request was spooled (%d points): it would block the spool forever", p.Pending())
		}
		dropped := health.Snapshot().Dropped[DropRejected]
		if dropped == 0 || dropped >= int64(b.Points()) {
			t.Errorf("dropped[rejected] = %d of %d: want the refused request's share only", dropped, b.Points())
		}
		sums, _ := attemptsByPeriod(f.cw)
		if sums[t0] == 0 {
			t.Error("the good request after the refused one was not sent")
		}
		var sent int64
		for _, d := range f.cw.Datums() {
			if d.MetricName == MetricAttempts {
				sent++
			}
		}
		if sent+dropped != int64(b.Points()) {
			t.Errorf("%d aggregates sent and %d dropped, of %d: some went missing", sent, dropped, b.Points())
		}
	})
}

func TestSpoolBoundsAndReplay(t *testing.T) {
	t.Run("A full spool drops the oldest batches and counts them", func(t *testing.T) {
		f := newFakeCloudWatch(t, nil)
		health := NewHealth()
		dir := t.TempDir()
		one, _ := marshalBatch(minuteBatch(t, t0, 5))
		p := newTestPublisher(t, f, dir, int64(len(one))*4+10, health)
		f.cw.SetDown(true)
		for m := range 10 {
			_ = p.Deliver(context.Background(), minuteBatch(t, t0.Add(time.Duration(m)*time.Minute), 5))
		}
		batches, points, bytes := p.cfg.Spool.Depth()
		if batches != 4 || points != 4*6 {
			t.Errorf("spool holds %d batches, %d points, %d bytes; want the newest 4", batches, points, bytes)
		}
		if got := health.Snapshot().Dropped[DropSpoolFull]; got != 6*6 {
			t.Errorf("dropped[spool_full] = %d, want %d", got, 6*6)
		}
		f.cw.SetDown(false)
		if _, err := p.Replay(context.Background()); err != nil {
			t.Fatal(err)
		}
		sums, inOrder := attemptsByPeriod(f.cw)
		if !inOrder || len(sums) != 4 {
			t.Fatalf("%d periods arrived, in order %v; want the newest 4 in order", len(sums), inOrder)
		}
		for m := 6; m < 10; m++ {
			if sums[t0.Add(time.Duration(m)*time.Minute)] != wantAttempts(5) {
				t.Errorf("minute %d missing or wrong: %v", m, sums)
			}
		}
	})

	t.Run("Replay skips nothing younger than two weeks and drops what is older", func(t *testing.T) {
		f := newFakeCloudWatch(t, nil)
		health := NewHealth()
		p := newTestPublisher(t, f, t.TempDir(), 0, health)
		now := f.clock.Now()
		old := minuteBatch(t, now.Add(-14*24*time.Hour-time.Hour), 2)
		young := minuteBatch(t, now.Add(-14*24*time.Hour+2*time.Minute).Truncate(time.Minute), 2)
		for _, b := range []Batch{old, young} {
			if err := p.cfg.Spool.Append(b); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := p.Replay(context.Background()); err != nil {
			t.Fatal(err)
		}
		sums, _ := attemptsByPeriod(f.cw)
		if len(sums) != 1 || sums[young.Aggregates[0].Start] != wantAttempts(2) {
			t.Errorf("CloudWatch got %v, want only the young batch", sums)
		}
		if got := health.Snapshot().Dropped[DropExpired]; got != int64(old.Points()) {
			t.Errorf("dropped[expired] = %d, want %d", got, old.Points())
		}
	})

	t.Run("A restart in the middle of a replay loses nothing written to disk", func(t *testing.T) {
		f := newFakeCloudWatch(t, nil)
		dir := t.TempDir()
		p := newTestPublisher(t, f, dir, 0, nil)
		p.cfg.ReplayPoints = 6 // one batch per call
		for m := range 10 {
			if err := p.cfg.Spool.Append(minuteBatch(t, t0.Add(time.Duration(m)*time.Minute), 5)); err != nil {
				t.Fatal(err)
			}
		}
		// The first four calls get through, then the network goes.
		f.cw.Drop("PutMetricData", 1000)
		f.cw.ClearFaults()
		replayed := 0
		for range 4 {
			c := p.cfg.Spool.peek(6)
			if err := f.sink.Publish(context.Background(), c.Batch); err != nil {
				t.Fatal(err)
			}
			if err := p.cfg.Spool.settle(c, c.Points()); err != nil {
				t.Fatal(err)
			}
			replayed++
		}
		// A fifth is read and sent, and the process dies before it is
		// settled: its file stays.
		c := p.cfg.Spool.peek(6)
		if err := f.sink.Publish(context.Background(), c.Batch); err != nil {
			t.Fatal(err)
		}
		// Restart: a new spool and publisher on the same directory.
		p2 := newTestPublisher(t, f, dir, 0, nil)
		if p2.Pending() != 6*6 {
			t.Fatalf("after the restart the spool holds %d points, want the 6 unsettled batches", p2.Pending())
		}
		if _, err := p2.Replay(context.Background()); err != nil {
			t.Fatal(err)
		}
		sums, inOrder := attemptsByPeriod(f.cw)
		if !inOrder {
			t.Error("out of order")
		}
		for m := range 10 {
			want := wantAttempts(5)
			if m == 4 {
				want *= 2 // sent, then resent: at least once, never lost
			}
			if got := sums[t0.Add(time.Duration(m)*time.Minute)]; got != want {
				t.Errorf("minute %d: Attempts %v, want %v", m, got, want)
			}
		}
	})

	t.Run("A half-written file from a killed append is cleaned up, and whole ones kept", func(t *testing.T) {
		dir := t.TempDir()
		s, err := OpenSpool(SpoolConfig{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Append(minuteBatch(t, t0, 2)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "00000000000000000002-3.batch.tmp"), []byte(`{"v":1,"aggre`), 0o644); err != nil {
			t.Fatal(err)
		}
		s2, err := OpenSpool(SpoolConfig{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if n, points, _ := s2.Depth(); n != 1 || points != 3 {
			t.Errorf("reopened spool holds %d batches, %d points; want 1 and 3", n, points)
		}
		if _, err := os.Stat(filepath.Join(dir, "00000000000000000002-3.batch.tmp")); !errors.Is(err, os.ErrNotExist) {
			t.Error("the temporary file is still there")
		}
	})
}

// blockingSink holds every Publish until released.
type blockingSink struct {
	release chan struct{}
	mu      sync.Mutex
	got     []Batch
}

func (s *blockingSink) Publish(ctx context.Context, b Batch) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.got = append(s.got, b)
	s.mu.Unlock()
	return nil
}

func (s *blockingSink) Close(context.Context) error { return nil }

func TestPipeline(t *testing.T) {
	t.Run("A slow sink does not hold up Publish", func(t *testing.T) {
		sink := &blockingSink{release: make(chan struct{})}
		pub, _ := NewPublisher(PublisherConfig{Sink: sink})
		pl, _ := NewPipeline(PipelineConfig{Publisher: pub, Queue: 4})
		pl.Start()
		for m := range 4 {
			// Returns at once although the sink has taken nothing.
			if err := pl.Publish(context.Background(), minuteBatch(t, t0.Add(time.Duration(m)*time.Minute), 1)); err != nil {
				t.Fatal(err)
			}
		}
		close(sink.release)
		if err := pl.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(sink.got) != 4 {
			t.Errorf("the sink got %d batches, want 4", len(sink.got))
		}
	})

	t.Run("The pipeline replays the spool on its own once CloudWatch is back", func(t *testing.T) {
		f := newFakeCloudWatch(t, nil)
		p := newTestPublisher(t, f, t.TempDir(), 0, nil)
		p.cfg.Sleep = ClockSleeper(f.clock)
		p.cfg.Attempts = 1
		steps := make(chan int, 16)
		pl, _ := NewPipeline(PipelineConfig{Publisher: p, Clock: f.clock, Stepped: func(n int) { steps <- n }})
		pl.Start()
		f.cw.SetDown(true)
		_ = pl.Publish(context.Background(), minuteBatch(t, t0, 3))
		if n := <-steps; n != 4 {
			t.Fatalf("after a failed delivery %d points are pending, want 4", n)
		}
		f.cw.SetDown(false)
		// The replay timer is armed; move past its longest backoff.
		f.clock.WaitTimers(1, nil)
		f.clock.Advance(5 * time.Minute)
		if n := <-steps; n != 0 {
			t.Fatalf("after the replay %d points are pending, want 0", n)
		}
		if err := pl.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if sums, _ := attemptsByPeriod(f.cw); sums[t0] != wantAttempts(3) {
			t.Errorf("CloudWatch has %v", sums)
		}
	})

	t.Run("Close spools what it cannot send, and a restart replays it", func(t *testing.T) {
		f := newFakeCloudWatch(t, nil)
		dir := t.TempDir()
		p := newTestPublisher(t, f, dir, 0, nil)
		sink := &blockingSink{release: make(chan struct{})}
		p.cfg.Sink = sink // hangs, as a network without answers
		pl, _ := NewPipeline(PipelineConfig{Publisher: p, Clock: clock.NewFake(t0)})
		pl.Start()
		for m := range 3 {
			_ = pl.Publish(context.Background(), minuteBatch(t, t0.Add(time.Duration(m)*time.Minute), 2))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // SIGTERM with no time left
		if err := pl.Close(ctx); err != nil {
			t.Fatal(err)
		}
		p2 := newTestPublisher(t, f, dir, 0, nil)
		if p2.Pending() != 3*3 {
			t.Fatalf("spool holds %d points after shutdown, want 9", p2.Pending())
		}
		if _, err := p2.Replay(context.Background()); err != nil {
			t.Fatal(err)
		}
		sums, inOrder := attemptsByPeriod(f.cw)
		if !inOrder || len(sums) != 3 {
			t.Errorf("after restart CloudWatch has %v (in order %v), want 3 periods", sums, inOrder)
		}
	})
}
