// Command scale runs many HTTP canaries against a loopback target and
// reports how close to schedule they start, the CPU the agent used and its
// peak RSS. The target runs in a child process so its CPU is not counted.
//
//	go run ./bench/scale -canaries 1000 -every 10s -duration 5m
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/metrics"
)

func main() {
	serve := flag.Bool("serve", false, "run as the loopback target (used by the harness itself)")
	n := flag.Int("canaries", 1000, "number of canaries")
	every := flag.Duration("every", 10*time.Second, "interval of each canary")
	duration := flag.Duration("duration", 5*time.Minute, "how long to run")
	maxConc := flag.Int("max-concurrent", 64, "runs in flight at most")
	flag.Parse()
	if *serve {
		serveTarget()
		return
	}

	target, stopTarget := startTarget()
	defer stopTarget()

	runner, err := canary.NewRunner(canary.RunnerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	rec, err := metrics.NewRecorder(metrics.RecorderConfig{Region: "bench", Period: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	obs := &lagObserver{next: rec, lag: hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)}
	var canaries []*canary.Canary
	for i := 0; i < *n; i++ {
		canaries = append(canaries, &canary.Canary{
			Name: fmt.Sprintf("canary-%04d", i), Every: *every, Timeout: 5 * time.Second,
			Steps: []canary.Step{{Name: "get", Spec: &canary.HTTPSpec{Method: "GET",
				URL: canary.MustTemplate(target + "/health"), FollowRedirects: true, MaxRedirects: 10, MaxBodyBytes: 1 << 20}}},
		})
	}
	sched, err := canary.NewScheduler(canary.SchedulerConfig{Canaries: canaries, Run: runner.Run, Observer: obs,
		MaxConcurrent: *maxConc, Jitter: 1})
	if err != nil {
		log.Fatal(err)
	}
	flusher, err := metrics.NewFlusher(metrics.FlusherConfig{Recorder: rec, Sink: metrics.NewJSONLines(io.Discard), Grace: time.Second})
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	go flusher.Run(ctx)
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	began := time.Now()
	sched.Run(ctx)
	wall := time.Since(began)
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	flusher.Final(context.Background())

	cpu := tv(after.Utime) - tv(before.Utime) + tv(after.Stime) - tv(before.Stime)
	obs.mu.Lock()
	defer obs.mu.Unlock()
	fmt.Printf("canaries %d every %s for %s (max_concurrent %d)\n", *n, *every, wall.Round(time.Second), *maxConc)
	fmt.Printf("runs %d, failed %d, overlapped %d\n", obs.runs, obs.failed, obs.overlaps)
	fmt.Printf("start lag (start - schedule): p50 %s  p99 %s  p99.9 %s  max %s\n",
		us(obs.lag.ValueAtQuantile(50)), us(obs.lag.ValueAtQuantile(99)), us(obs.lag.ValueAtQuantile(99.9)), us(obs.lag.Max()))
	fmt.Printf("agent CPU %.1f%% of one core (%s over %s)\n", 100*cpu.Seconds()/wall.Seconds(), cpu.Round(time.Millisecond), wall.Round(time.Second))
	fmt.Printf("agent peak RSS %s\n", peakRSS())
}

type lagObserver struct {
	next *metrics.Recorder
	mu   sync.Mutex
	lag  *hdrhistogram.Histogram

	runs, failed, overlaps int64
}

func (o *lagObserver) Observe(r canary.Result) {
	o.mu.Lock()
	o.runs++
	if !r.OK {
		o.failed++
	}
	if r.Attempt == 1 {
		o.lag.RecordValue(max(1, r.Start.Sub(r.Scheduled).Microseconds()))
	}
	o.mu.Unlock()
	o.next.Observe(r)
}

func (o *lagObserver) Overlapped(name string, at time.Time) {
	o.mu.Lock()
	o.overlaps++
	o.mu.Unlock()
	o.next.Overlapped(name, at)
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

func us(v int64) time.Duration {
	return (time.Duration(v) * time.Microsecond).Round(10 * time.Microsecond)
}

func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}

func startTarget() (string, func()) {
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(self, "-serve")
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	return strings.TrimSpace(line), func() { cmd.Process.Kill(); cmd.Wait() }
}

func serveTarget() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"ok"}`)
	}))
}
