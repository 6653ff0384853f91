package metrics

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
)

// The replay kill test's data: five spooled minutes of 150 canaries and a
// heartbeat each (151 points a file), replayed at most 500 points at a
// time. By hand, with 3 datums per aggregate (Attempts, Successes, one
// Latency datum for two samples), 1 per heartbeat, and at most 1000 datums
// per PutMetricData:
//
//	chunk 1: minutes 0-2 (3 x 151 = 453 points; a fourth file would make 604)
//	  request 1: aggregates 0-332 of the chunk, 999 datums: minutes 0 and 1,
//	             and canaries c00-c32 of minute 2
//	  request 2: canaries c33-c149 of minute 2 (351 datums) and the
//	             heartbeats of minutes 0-2: 354 datums
//	chunk 2: minutes 3-4 (302 points)
//	  request 3: 300 aggregates and 2 heartbeats: 902 datums
//
// Request 1 ends inside minute 2's file, so that file is settled in part.
const (
	crashMinutes      = 5
	crashCanaries     = 150
	crashReplayPoints = 500
	crashRequests     = 3
)

// crashRequestOf says which request carries a point: canary c of minute m,
// or with c = -1 minute m's heartbeat (the table above).
func crashRequestOf(m, c int) int {
	switch {
	case m <= 1 && c >= 0, m == 2 && c >= 0 && c < 33:
		return 1
	case m <= 2:
		return 2
	}
	return 3
}

// spoolReplayChild is the child half of TestSpoolReplaySurvivesKillNine:
// it replays the spool in dir to CloudWatch at endpoint through the SDK
// client `nines run` builds, prints "replayed N", and waits for its stdin
// to close, so it can be killed after its last settle too.
func spoolReplayChild(dir, endpoint string) {
	ctx := context.Background()
	fail := func(err error) {
		fmt.Println("error", err)
		os.Exit(1)
	}
	client, err := NewCloudWatchClient(ctx, "us-east-1", endpoint)
	if err != nil {
		fail(err)
	}
	sink, err := NewCloudWatch(ctx, CloudWatchConfig{Client: client, StorageResolution: 60})
	if err != nil {
		fail(err)
	}
	spool, err := OpenSpool(SpoolConfig{Dir: dir})
	if err != nil {
		fail(err)
	}
	p, err := NewPublisher(PublisherConfig{Name: "cloudwatch", Sink: sink, Spool: spool, Attempts: 1,
		MaxAge: CloudWatchMaxAge, ReplayPoints: crashReplayPoints, Clock: clock.NewFake(t0.Add(24 * time.Hour))})
	if err != nil {
		fail(err)
	}
	n, err := p.Replay(ctx)
	if err != nil {
		fail(err)
	}
	fmt.Println("replayed", n)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// replayGate stands between the child and the CloudWatch fake and holds
// each PutMetricData at two moments, so the test can kill the child at an
// exact point of its replay:
//   - arrived: the request reached the gate and is not passed on yet; the
//     child settled every request before it, since it settles each one
//     before it sends the next;
//   - accepted: CloudWatch stored the request and its reply is held, so the
//     child cannot have settled it.
type replayGate struct {
	target string
	events chan gateEvent
	// done ends every held request when the test ends.
	done chan struct{}
}

// hold hands ev to the test and waits for its word.
func (g *replayGate) hold(ev gateEvent) bool {
	select {
	case g.events <- ev:
	case <-g.done:
		return false
	}
	select {
	case pass := <-ev.release:
		return pass
	case <-g.done:
		return false
	}
}

type gateEvent struct {
	accepted bool
	// release lets the request go on: for arrived, true passes it to
	// CloudWatch and false drops it; for accepted, the reply is sent.
	release chan bool
}

func (g *replayGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	release := make(chan bool)
	if !g.hold(gateEvent{release: release}) {
		panic(http.ErrAbortHandler)
	}
	req, err := http.NewRequest(r.Method, g.target+r.URL.Path, bytes.NewReader(body))
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		g.hold(gateEvent{accepted: true, release: release})
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(reply)
}

// childEnv is the environment of a replay child: the test's, less any
// AWS setting, with static credentials, so the SDK's own credential chain
// finds them and nothing else.
func childEnv(dir, endpoint string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "NINES_SPOOL_CRASH_CHILD="+dir, "NINES_SPOOL_CRASH_ENDPOINT="+endpoint,
		"AWS_ACCESS_KEY_ID=AKIDNINESFAKE", "AWS_SECRET_ACCESS_KEY=nines-fake-secret",
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true")
}

// runChild runs a replay child on dir. With killAt >= 0 it kills the child
// with SIGKILL at gate event killAt (numbered from 0 in the order they
// come), or, when the replay ends first with exactly killAt events, after
// the child said it was done. It returns whether it killed the child.
func (g *replayGate) runChild(t *testing.T, dir, endpoint string, killAt int) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = childEnv(dir, endpoint)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	finish := func() {
		for range lines {
		}
		_ = cmd.Wait()
	}
	kill := func() {
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		finish()
	}
	for n := 0; ; {
		select {
		case ev := <-g.events:
			if n == killAt {
				kill()
				ev.release <- false
				return true
			}
			n++
			ev.release <- true
		case line, ok := <-lines:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("the replay child exited early: %v", cmd.ProcessState)
			}
			if !strings.HasPrefix(line, "replayed ") {
				stdin.Close()
				finish()
				t.Fatalf("replay child: %s", line)
			}
			if n == killAt {
				kill()
				return true
			}
			stdin.Close()
			finish()
			if !cmd.ProcessState.Success() {
				t.Fatalf("the replay child failed: %v", cmd.ProcessState)
			}
			return false
		}
	}
}

// datumKey names what CloudWatch keeps one value of per period: the
// metric, its dimensions and its timestamp.
func datumKey(name string, dims map[string]string, ts time.Time) string {
	keys := make([]string, 0, len(dims))
	for k, v := range dims {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	return fmt.Sprintf("%s %s %s", name, strings.Join(keys, ","), ts.UTC().Format(time.RFC3339))
}

// TestSpoolReplaySurvivesKillNine kills a replaying process with SIGKILL at
// every point of its replay, restarts it on the same spool, and counts what
// the CloudWatch fake received per metric, series and period. Each point
// arrives exactly once, except where the kill fell after CloudWatch accepted
// a request and before its settle record reached disk: then that one
// request, and only it, arrives twice.
func TestSpoolReplaySurvivesKillNine(t *testing.T) {
	// Every event of a replay (arrived and accepted for each request), and
	// after the last settle.
	for killAt := 0; killAt <= 2*crashRequests; killAt++ {
		// An accepted event is odd: request (killAt+1)/2 was accepted and
		// never settled.
		resent := 0
		if killAt%2 == 1 {
			resent = (killAt + 1) / 2
		}
		name := fmt.Sprintf("killed when request %d arrived", killAt/2+1)
		switch {
		case killAt == 2*crashRequests:
			name = "killed after the last settle"
		case resent > 0:
			name = fmt.Sprintf("killed after request %d was accepted, before it was settled", resent)
		}
		t.Run(name, func(t *testing.T) {
			cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clock.NewFake(t0.Add(24 * time.Hour))})
			gate := &replayGate{target: cw.URL(), events: make(chan gateEvent), done: make(chan struct{})}
			srv := httptest.NewServer(gate)
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(gate.done) }) // before srv.Close, which waits for held requests

			dir := t.TempDir()
			spool, err := OpenSpool(SpoolConfig{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			for m := range crashMinutes {
				if err := spool.Append(minuteBatch(t, t0.Add(time.Duration(m)*time.Minute), crashCanaries)); err != nil {
					t.Fatal(err)
				}
			}

			if !gate.runChild(t, dir, srv.URL, killAt) {
				t.Fatal("the replay ended before the kill point")
			}
			if gate.runChild(t, dir, srv.URL, -1) {
				t.Fatal("the restarted replay was killed")
			}

			want := map[string]int{}
			for m := range crashMinutes {
				at := t0.Add(time.Duration(m) * time.Minute)
				times := func(c int) int {
					if crashRequestOf(m, c) == resent {
						return 2
					}
					return 1
				}
				for c := range crashCanaries {
					dims := map[string]string{DimensionCanary: fmt.Sprintf("c%02d", c), DimensionRegion: "eu-west-1"}
					for _, metric := range []string{MetricAttempts, MetricSuccesses, MetricLatency} {
						want[datumKey(metric, dims, at)] = times(c)
					}
				}
				want[datumKey(MetricHeartbeat, map[string]string{DimensionAgent: "agent-1", DimensionRegion: "eu-west-1"}, at)] = times(-1)
			}
			got := map[string]int{}
			for _, d := range cw.Datums() {
				got[datumKey(d.MetricName, d.Dimensions, d.Timestamp)]++
			}
			wrong := 0
			for k, n := range want {
				if got[k] != n {
					if wrong++; wrong <= 5 {
						t.Errorf("%s arrived %d times, want %d", k, got[k], n)
					}
				}
			}
			for k, n := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s arrived %d times and was never spooled", k, n)
				}
			}
			if wrong > 5 {
				t.Errorf("... %d datums in all arrived a wrong number of times", wrong)
			}
			wantCalls := crashRequests
			if resent > 0 {
				wantCalls++
			}
			if n := cw.Calls("PutMetricData"); n != wantCalls {
				t.Errorf("CloudWatch accepted %d requests, want %d", n, wantCalls)
			}
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Errorf("the spool directory still holds %d files after the replay", len(files))
			}
		})
	}
}
