package metrics

import (
	"context"
	"encoding/json"
	"io"
	"sync"
)

// Sink publishes Aggregates somewhere: CloudWatch, EMF, the local store.
type Sink interface {
	// Publish sends aggregates. An error means some were not sent; the
	// pipeline keeps them and tries again.
	Publish(ctx context.Context, aggs []*Aggregate) error
	// Close flushes what the sink holds.
	Close(ctx context.Context) error
}

// JSONLines writes each Aggregate as one JSON line.
type JSONLines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONLines returns a sink that writes to w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

func (s *JSONLines) Publish(ctx context.Context, aggs []*Aggregate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	enc := json.NewEncoder(s.w)
	for _, a := range aggs {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return nil
}

func (s *JSONLines) Close(context.Context) error { return nil }
