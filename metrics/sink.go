package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
)

// Sink publishes batches of Aggregates somewhere: CloudWatch, EMF on
// stdout, the local store, Prometheus.
type Sink interface {
	// Publish sends a batch. An error means some of it was not sent; a
	// *PartialError says which part, and the Publisher retries or spools
	// only that.
	Publish(ctx context.Context, b Batch) error
	// Close flushes what the sink holds and releases it.
	Close(ctx context.Context) error
}

// PartialError is a Publish that sent part of its batch. Unsent is what is
// left to send; Err is why it stopped.
type PartialError struct {
	Unsent Batch
	// Untried is the part of Unsent that no failed call carried: when the
	// failure is the request's own fault (Classify: Drop), only Unsent
	// less Untried is dropped, and Untried is sent on.
	Untried Batch
	Err     error
}

func (e *PartialError) Error() string { return e.Err.Error() }
func (e *PartialError) Unwrap() error { return e.Err }

// unsent returns the part of b that err says was not sent.
func unsent(b Batch, err error) Batch {
	var pe *PartialError
	if errors.As(err, &pe) {
		return pe.Unsent
	}
	return b
}

// JSONLines writes each Aggregate as one JSON line with its latency
// summary: what `nines run` prints on stdout for people to read.
type JSONLines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONLines returns a sink that writes to w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

// Publish writes the batch's aggregates; heartbeats are left out.
func (s *JSONLines) Publish(ctx context.Context, b Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	enc := json.NewEncoder(s.w)
	for _, a := range b.Aggregates {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return nil
}

func (s *JSONLines) Close(context.Context) error { return nil }

// Fanout publishes every batch to each of its sinks in turn. One sink's
// failure does not keep the batch from the others; the errors are joined.
// Put slow or failing sinks behind a Pipeline so they cannot hold up the
// rest.
type Fanout []Sink

func (f Fanout) Publish(ctx context.Context, b Batch) error {
	var errs []error
	for _, s := range f {
		if err := s.Publish(ctx, b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (f Fanout) Close(ctx context.Context) error {
	var errs []error
	for _, s := range f {
		if err := s.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
