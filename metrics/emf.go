package metrics

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// EMF limits (CloudWatch embedded metric format).
const (
	emfMaxMetricsPerDirective = 100
	emfMaxValuesPerArray      = 100
)

// EMFConfig configures the EMF sink.
type EMFConfig struct {
	// Writer receives one JSON document per line; on Lambda, stdout.
	Writer io.Writer
	// Namespace is DefaultNamespace when empty.
	Namespace string
	// StorageResolution is 1 or 60; 60 when 0.
	StorageResolution int
	// RegionRollup adds a dimension set without Region, as the CloudWatch
	// sink's RegionRollup does; in EMF it costs no extra bytes.
	RegionRollup bool
}

// EMF writes the metric schema as CloudWatch embedded metric format
// documents, one JSON line each, for Lambda, where CloudWatch Logs turns
// them into metrics with no API call. EMF has no Counts array, so a latency
// distribution goes out as its bucket values repeated by their counts, at
// most 100 to an array, over as many documents as that takes: CloudWatch
// ingests each as a sample, so percentiles come out as from PutMetricData.
// Publish writes synchronously, so a Lambda handler that publishes before it
// returns has flushed.
type EMF struct {
	cfg EMFConfig
	mu  sync.Mutex
}

// NewEMF returns an EMF sink.
func NewEMF(cfg EMFConfig) (*EMF, error) {
	if cfg.Writer == nil {
		return nil, fmt.Errorf("emf: Writer is required")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.StorageResolution == 0 {
		cfg.StorageResolution = 60
	}
	if cfg.StorageResolution != 1 && cfg.StorageResolution != 60 {
		return nil, fmt.Errorf("emf: storage resolution %d: use 1 or 60", cfg.StorageResolution)
	}
	return &EMF{cfg: cfg}, nil
}

type emfMetric struct {
	Name              string `json:"Name"`
	Unit              string `json:"Unit"`
	StorageResolution int    `json:"StorageResolution"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Publish writes the batch's documents.
func (e *EMF) Publish(ctx context.Context, b Batch) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := bufio.NewWriter(e.cfg.Writer)
	for _, a := range b.Aggregates {
		for _, doc := range e.aggregateDocuments(a) {
			if err := writeJSONLine(w, doc); err != nil {
				return err
			}
		}
	}
	for _, h := range b.Heartbeats {
		doc := map[string]any{
			"_aws": emfMetadata{Timestamp: h.Start.UnixMilli(), CloudWatchMetrics: []emfDirective{{
				Namespace: e.cfg.Namespace, Dimensions: [][]string{{DimensionAgent, DimensionRegion}},
				Metrics: []emfMetric{{Name: MetricHeartbeat, Unit: "Count", StorageResolution: e.cfg.StorageResolution}},
			}}},
			DimensionAgent: h.Agent, DimensionRegion: h.Region, MetricHeartbeat: 1,
		}
		if err := writeJSONLine(w, doc); err != nil {
			return err
		}
	}
	return w.Flush()
}

func writeJSONLine(w *bufio.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	_, err = w.Write(data)
	return err
}

// aggregateDocuments returns the EMF documents of one aggregate: the first
// carries the counters (for a run series) and the first latency values, the
// rest carry more latency values.
func (e *EMF) aggregateDocuments(a *Aggregate) []map[string]any {
	dimNames := []string{DimensionCanary, DimensionRegion}
	latencyName := MetricLatency
	if a.Series.Step != "" {
		dimNames = append(dimNames, DimensionStep)
		latencyName = MetricStepLatency
	}
	values := expandValues(a.LatencyDistribution())
	var docs []map[string]any
	for first := true; first || len(values) > 0; first = false {
		var metrics []emfMetric
		doc := map[string]any{DimensionCanary: a.Series.Canary, DimensionRegion: a.Series.Region}
		if a.Series.Step != "" {
			doc[DimensionStep] = a.Series.Step
		}
		if first && a.Series.Step == "" {
			metrics = append(metrics,
				emfMetric{Name: MetricAttempts, Unit: "Count", StorageResolution: e.cfg.StorageResolution},
				emfMetric{Name: MetricSuccesses, Unit: "Count", StorageResolution: e.cfg.StorageResolution})
			doc[MetricAttempts] = a.Attempts
			doc[MetricSuccesses] = a.Successes
		}
		if len(values) > 0 {
			n := min(len(values), emfMaxValuesPerArray)
			metrics = append(metrics, emfMetric{Name: latencyName, Unit: "Milliseconds", StorageResolution: e.cfg.StorageResolution})
			doc[latencyName] = values[:n]
			values = values[n:]
		}
		if len(metrics) == 0 {
			break // a step series with no successful runs has nothing to say
		}
		dimSets := [][]string{dimNames}
		if e.cfg.RegionRollup {
			rollup := []string{DimensionCanary}
			if a.Series.Step != "" {
				rollup = append(rollup, DimensionStep)
			}
			dimSets = append(dimSets, rollup)
		}
		doc["_aws"] = emfMetadata{Timestamp: a.Start.UnixMilli(), CloudWatchMetrics: []emfDirective{{
			Namespace: e.cfg.Namespace, Dimensions: dimSets, Metrics: metrics,
		}}}
		docs = append(docs, doc)
	}
	return docs
}

// expandValues lists each bucket's value (ms) as many times as its count.
func expandValues(d Distribution) []float64 {
	out := make([]float64, 0, d.Total())
	for _, b := range d {
		v := float64(b.High) / 1000
		for range b.Count {
			out = append(out, v)
		}
	}
	return out
}

// Close does nothing: Publish has written everything.
func (e *EMF) Close(context.Context) error { return nil }
