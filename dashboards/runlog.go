package dashboards

import (
	"sync"
	"time"

	"github.com/nines-dev/nines/canary"
)

// RunLog keeps the last runs of every canary in memory for the local web
// UI. It is a canary.Observer: the agent hands it every result beside the
// recorder.
type RunLog struct {
	mu       sync.Mutex
	keep     int
	runs     map[string][]canary.Result // newest last
	overlaps map[string]int64
}

// NewRunLog keeps the last keep runs per canary (default 50).
func NewRunLog(keep int) *RunLog {
	if keep <= 0 {
		keep = 50
	}
	return &RunLog{keep: keep, runs: map[string][]canary.Result{}, overlaps: map[string]int64{}}
}

// Observe implements canary.Observer.
func (l *RunLog) Observe(r canary.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rs := append(l.runs[r.Canary], r)
	if len(rs) > l.keep {
		rs = append(rs[:0], rs[len(rs)-l.keep:]...)
	}
	l.runs[r.Canary] = rs
}

// Overlapped implements canary.Observer.
func (l *RunLog) Overlapped(name string, _ time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.overlaps[name]++
}

// Recent returns a canary's kept runs, newest first.
func (l *RunLog) Recent(name string) []canary.Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	rs := l.runs[name]
	out := make([]canary.Result, len(rs))
	for i, r := range rs {
		out[len(rs)-1-i] = r
	}
	return out
}

// Failures returns the kept failed runs of the given canaries, newest first.
func (l *RunLog) Failures(names ...string) []canary.Result {
	var out []canary.Result
	for _, n := range names {
		for _, r := range l.Recent(n) {
			if !r.OK {
				out = append(out, r)
			}
		}
	}
	sortResultsNewestFirst(out)
	return out
}

func sortResultsNewestFirst(rs []canary.Result) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Start.After(rs[j-1].Start); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// Fanout passes every observation to each observer in turn.
type Fanout []canary.Observer

// Observe implements canary.Observer.
func (f Fanout) Observe(r canary.Result) {
	for _, o := range f {
		o.Observe(r)
	}
}

// Overlapped implements canary.Observer.
func (f Fanout) Overlapped(name string, at time.Time) {
	for _, o := range f {
		o.Overlapped(name, at)
	}
}
