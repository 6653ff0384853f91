package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
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
// summary and "type":"aggregate": what `nines run` prints on stdout, where
// alerts of the log receiver come as "type":"alert" lines.
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
	for _, a := range b.Aggregates {
		body, err := json.Marshal(a)
		if err != nil {
			return err
		}
		line := append([]byte(`{"type":"aggregate",`), body[1:]...)
		if _, err := s.w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return nil
}

func (s *JSONLines) Close(context.Context) error { return nil }

// TextLines writes each Aggregate as one line for people, the text form of
// JSONLines:
//
//	2025-03-02T12:01:00Z aggregate checkout-api@local period 60s attempts 6 successes 5 failures http_status=1 p50 2.1ms p99 3.0ms p99.9 3.0ms
type TextLines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewTextLines returns a sink that writes to w.
func NewTextLines(w io.Writer) *TextLines { return &TextLines{w: w} }

// Publish writes the batch's aggregates; heartbeats are left out.
func (s *TextLines) Publish(ctx context.Context, b Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range b.Aggregates {
		var line strings.Builder
		fmt.Fprintf(&line, "%s aggregate %s period %s attempts %d successes %d", a.Start.UTC().Format(time.RFC3339),
			a.Series, a.Period, a.Attempts, a.Successes)
		if len(a.Failures) > 0 {
			classes := make([]string, 0, len(a.Failures))
			for c, n := range a.Failures {
				classes = append(classes, fmt.Sprintf("%s=%d", c, n))
			}
			sort.Strings(classes)
			line.WriteString(" failures " + strings.Join(classes, " "))
		}
		if a.Overlaps > 0 {
			fmt.Fprintf(&line, " overlaps %d", a.Overlaps)
		}
		if d := a.LatencyDistribution(); len(d) > 0 {
			fmt.Fprintf(&line, " p50 %.1fms p99 %.1fms p99.9 %.1fms", a.LatencyMs(50), a.LatencyMs(99), a.LatencyMs(99.9))
		}
		line.WriteString("\n")
		if _, err := io.WriteString(s.w, line.String()); err != nil {
			return err
		}
	}
	return nil
}

func (s *TextLines) Close(context.Context) error { return nil }

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
