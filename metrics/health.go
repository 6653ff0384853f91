package metrics

import (
	"sort"
	"sync"
	"time"
)

// Why points were dropped: the reason label of nines_dropped_points_total.
const (
	DropSpoolFull = "spool_full" // the spool hit max_bytes; its oldest batch went
	DropExpired   = "expired"    // older than CloudWatch accepts (2 weeks)
	DropRejected  = "rejected"   // the sink refused the request itself (Classify: Drop)
	DropCorrupt   = "corrupt"    // a spool file could not be read
	DropNoSpool   = "no_spool"   // the sink failed and there is no spool to keep it
)

// Health counts what the publishing pipeline did: the agent's own health,
// served on /metrics and /healthz. A nil *Health counts nothing, so every
// part can take one optionally. It is safe for concurrent use.
type Health struct {
	mu          sync.Mutex
	sinkErrors  map[[2]string]int64 // sink, reason
	dropped     map[string]int64
	published   map[string]int64 // sink -> points
	spoolFiles  int
	spoolPoints int
	spoolBytes  int64
	lastSuccess map[string]time.Time
}

// NewHealth returns an empty Health.
func NewHealth() *Health {
	return &Health{sinkErrors: map[[2]string]int64{}, dropped: map[string]int64{},
		published: map[string]int64{}, lastSuccess: map[string]time.Time{}}
}

// SinkError counts a failed publish attempt.
func (h *Health) SinkError(sink, reason string) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sinkErrors[[2]string{sink, reason}]++
}

// Dropped counts points lost for reason.
func (h *Health) Dropped(reason string, points int) {
	if h == nil || points == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropped[reason] += int64(points)
}

// Published counts points a sink accepted, at now.
func (h *Health) Published(sink string, points int, now time.Time) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.published[sink] += int64(points)
	h.lastSuccess[sink] = now
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
	SinkErrors  []LabeledCount
	Dropped     map[string]int64
	Published   map[string]int64
	LastSuccess map[string]time.Time
	SpoolFiles  int
	SpoolPoints int
	SpoolBytes  int64
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
		return HealthSnapshot{}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := HealthSnapshot{Dropped: map[string]int64{}, Published: map[string]int64{}, LastSuccess: map[string]time.Time{},
		SpoolFiles: h.spoolFiles, SpoolPoints: h.spoolPoints, SpoolBytes: h.spoolBytes}
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
