package metrics

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// Why points were dropped: the reason label of nines_dropped_points_total.
const (
	DropSpoolFull = "spool_full" // the spool hit max_bytes; its oldest batch went
	DropExpired   = "expired"    // older than CloudWatch accepts (2 weeks)
	DropRejected  = "rejected"   // the sink refused the request itself (Classify: Drop)
	DropCorrupt   = "corrupt"    // a spool file could not be read
	DropNoSpool   = "no_spool"   // the sink failed and there is no spool to keep it
)

// Why the agent is not ready: the reason of a NotReady, and the reason
// label of nines_not_ready.
const (
	NotReadySinkFailing   = "sink_failing"   // the sink's last publish attempt failed
	NotReadySpoolBacklog  = "spool_backlog"  // points wait in the spool
	NotReadyPointsDropped = "points_dropped" // points were lost within the drop window
)

// DefaultDropWindow is how long a dropped point keeps the agent unready:
// long enough for a person or a readiness check to see it, short enough
// that one lost batch is not a verdict for the rest of the process's life.
const DefaultDropWindow = 10 * time.Minute

// Health counts what the publishing pipeline did: the agent's own health,
// served on /metrics, /healthz (liveness) and /readyz (readiness). A nil
// *Health counts nothing, so every part can take one optionally. It is
// safe for concurrent use.
type Health struct {
	clock      clock.Clock
	dropWindow time.Duration

	mu          sync.Mutex
	live        bool
	sinkErrors  map[[2]string]int64 // sink, reason
	failing     map[string]string   // sink -> reason of its last attempt, while that failed
	dropped     map[string]int64
	drops       []dropEvent // within the drop window, oldest first
	lastDrop    time.Time
	published   map[string]int64 // sink -> points
	spoolFiles  int
	spoolPoints int
	spoolBytes  int64
	lastSuccess map[string]time.Time
}

type dropEvent struct {
	at     time.Time
	reason string
	points int64
}

// HealthConfig configures a Health.
type HealthConfig struct {
	// Clock dates the drops; the wall clock when nil.
	Clock clock.Clock
	// DropWindow is how long a drop keeps the agent unready
	// (DefaultDropWindow when 0).
	DropWindow time.Duration
}

// NewHealth returns an empty Health on the wall clock.
func NewHealth() *Health { return NewHealthWith(HealthConfig{}) }

// NewHealthWith returns an empty Health configured by cfg.
func NewHealthWith(cfg HealthConfig) *Health {
	if cfg.DropWindow <= 0 {
		cfg.DropWindow = DefaultDropWindow
	}
	return &Health{clock: clock.OrReal(cfg.Clock), dropWindow: cfg.DropWindow,
		sinkErrors: map[[2]string]int64{}, failing: map[string]string{}, dropped: map[string]int64{},
		published: map[string]int64{}, lastSuccess: map[string]time.Time{}}
}

// SetLive records whether the agent's loops run: true once its scheduler
// starts, false once it stops.
func (h *Health) SetLive(live bool) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live = live
}

// SinkError counts a failed publish attempt. The sink counts as failing
// until it next accepts points.
func (h *Health) SinkError(sink, reason string) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sinkErrors[[2]string{sink, reason}]++
	h.failing[sink] = reason
}

// Dropped counts points lost for reason, now.
func (h *Health) Dropped(reason string, points int) {
	if h == nil || points == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Now()
	h.dropped[reason] += int64(points)
	h.lastDrop = now
	h.drops = append(h.pruneDrops(now), dropEvent{at: now, reason: reason, points: int64(points)})
}

// pruneDrops forgets the drops older than the window; the caller holds mu.
func (h *Health) pruneDrops(now time.Time) []dropEvent {
	i := 0
	for i < len(h.drops) && now.Sub(h.drops[i].at) >= h.dropWindow {
		i++
	}
	h.drops = append(h.drops[:0], h.drops[i:]...)
	return h.drops
}

// Published counts points a sink accepted, at now. An attempt that
// published nothing is no success.
func (h *Health) Published(sink string, points int, now time.Time) {
	if h == nil || points <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.published[sink] += int64(points)
	h.lastSuccess[sink] = now
	delete(h.failing, sink)
}

// SetSpool records the spool's depth.
func (h *Health) SetSpool(files, points int, bytes int64) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.spoolFiles, h.spoolPoints, h.spoolBytes = files, points, bytes
}

// HealthSnapshot is Health at one moment.
type HealthSnapshot struct {
	// Live is whether the agent's loops run: liveness.
	Live bool
	// Readiness is whether its data gets where it goes now.
	Readiness   Readiness
	SinkErrors  []LabeledCount
	Dropped     map[string]int64
	LastDropped time.Time // zero if nothing was ever dropped
	Published   map[string]int64
	LastSuccess map[string]time.Time
	SpoolFiles  int
	SpoolPoints int
	SpoolBytes  int64
}

// Readiness says whether the agent's data gets where it goes now and, if
// not, why: a degraded agent still runs its canaries.
type Readiness struct {
	Ready   bool
	Reasons []NotReady // in the order of the NotReady* constants
}

// NotReady is one reason an agent is not ready. Detail holds counts, sink
// names and reason labels only, never an error's text, so it cannot carry
// a secret a sink echoed.
type NotReady struct {
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// LabeledCount is a count under a sink and a reason.
type LabeledCount struct {
	Sink, Reason string
	Count        int64
}

// DroppedTotal adds up every dropped point.
func (s HealthSnapshot) DroppedTotal() int64 {
	var n int64
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

// Snapshot copies the counters.
func (h *Health) Snapshot() HealthSnapshot {
	if h == nil {
		return HealthSnapshot{Readiness: Readiness{Ready: true}}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := HealthSnapshot{Live: h.live, Dropped: map[string]int64{}, LastDropped: h.lastDrop,
		Published: map[string]int64{}, LastSuccess: map[string]time.Time{},
		SpoolFiles: h.spoolFiles, SpoolPoints: h.spoolPoints, SpoolBytes: h.spoolBytes}
	s.Readiness = h.readinessLocked()
	for k, v := range h.sinkErrors {
		s.SinkErrors = append(s.SinkErrors, LabeledCount{Sink: k[0], Reason: k[1], Count: v})
	}
	sort.Slice(s.SinkErrors, func(i, j int) bool {
		if s.SinkErrors[i].Sink != s.SinkErrors[j].Sink {
			return s.SinkErrors[i].Sink < s.SinkErrors[j].Sink
		}
		return s.SinkErrors[i].Reason < s.SinkErrors[j].Reason
	})
	for k, v := range h.dropped {
		s.Dropped[k] = v
	}
	for k, v := range h.published {
		s.Published[k] = v
	}
	for k, v := range h.lastSuccess {
		s.LastSuccess[k] = v
	}
	return s
}

// readinessLocked judges readiness now; the caller holds mu.
func (h *Health) readinessLocked() Readiness {
	var r Readiness
	for _, sink := range sortedKeys(h.failing) {
		r.Reasons = append(r.Reasons, NotReady{Reason: NotReadySinkFailing,
			Detail: fmt.Sprintf("the %s sink's last publish failed (%s)", sink, h.failing[sink])})
	}
	if h.spoolPoints > 0 {
		r.Reasons = append(r.Reasons, NotReady{Reason: NotReadySpoolBacklog,
			Detail: fmt.Sprintf("%d points wait in the spool", h.spoolPoints)})
	}
	if drops := h.pruneDrops(h.clock.Now()); len(drops) > 0 {
		var points int64
		reasons := map[string]bool{}
		for _, d := range drops {
			points += d.points
			reasons[d.reason] = true
		}
		r.Reasons = append(r.Reasons, NotReady{Reason: NotReadyPointsDropped,
			Detail: fmt.Sprintf("%d points dropped in the last %s (%s), the last at %s", points, h.dropWindow,
				strings.Join(sortedKeys(reasons), ", "), drops[len(drops)-1].at.UTC().Format(time.RFC3339))})
	}
	r.Ready = len(r.Reasons) == 0
	return r
}
