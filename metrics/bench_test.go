package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
)

// BenchmarkRecorderObserve is the cost of folding one result into its
// period's aggregate, across 1000 canaries.
func BenchmarkRecorderObserve(b *testing.B) {
	r, _ := NewRecorder(RecorderConfig{Region: "eu-west-1", Period: time.Minute})
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("canary-%d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Observe(canary.Result{Canary: names[i%1000], Scheduled: t0, OK: true, Duration: time.Duration(i%50000) * time.Microsecond})
		i++
	}
}
