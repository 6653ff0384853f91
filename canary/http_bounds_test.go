package canary

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// bigHeaders answers with n headers of 1,000 bytes each.
func bigHeaders(n int) http.HandlerFunc {
	pad := strings.Repeat("h", 1000)
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < n; i++ {
			w.Header().Set(fmt.Sprintf("X-Pad-%03d", i), pad)
		}
		io.WriteString(w, "ok")
	}
}

// gzipped returns n zero bytes, gzip-compressed: about a thousandth of n.
func gzipped(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 64<<10)
	for left := n; left > 0; left -= len(zeros) {
		zw.Write(zeros[:min(left, len(zeros))])
	}
	zw.Close()
	return buf.Bytes()
}

func TestResponseHeadersAreBoundedByMaxHeaderBytes(t *testing.T) {
	// 100 headers of 1,000 bytes are about 100 KB, over the 64 KiB default
	// and under Go's own 10 MB; 20 are about 20 KB, under it.
	big := httptest.NewServer(bigHeaders(100))
	defer big.Close()
	fine := httptest.NewServer(bigHeaders(20))
	defer fine.Close()

	cases := []struct {
		name      string
		url       string
		maxHeader int64
		want      FailureClass // "" for a pass
	}{
		{"100 KB of headers fail the 64 KiB default", big.URL, 0, FailHeadersTooLarge},
		{"100 KB of headers fail a limit of 64 KiB", big.URL, 64 << 10, FailHeadersTooLarge},
		{"100 KB of headers pass a limit of 256 KiB", big.URL, 256 << 10, ""},
		{"20 KB of headers pass the default", fine.URL, 0, ""},
	}
	r := newTestRunner(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := get(tc.url)
			spec.MaxHeaderBytes = tc.maxHeader
			res := runOnce(t, r, 10*time.Second, httpStep("s", spec))
			if tc.want == "" {
				if !res.OK {
					t.Fatalf("failed: %s %s", res.Failure, res.Error)
				}
				return
			}
			if res.OK || res.Failure != tc.want {
				t.Fatalf("got ok=%v failure=%q error=%q, want %q", res.OK, res.Failure, res.Error, tc.want)
			}
			if !strings.Contains(res.Error, "max_header_bytes") {
				t.Errorf("error %q does not name max_header_bytes, the setting to raise", res.Error)
			}
		})
	}
}

func TestMaxBodyAndHeaderBytesHaveUpperLimits(t *testing.T) {
	cases := []struct {
		name              string
		maxBody, maxHeadr int64
		want              string
	}{
		{"16 MiB of body is the most", 16 << 20, 0, ""},
		{"a byte more is refused", 16<<20 + 1, 0, "http.max_body_bytes: 16777217 is more than 16777216"},
		{"2e9, the issue's value, is refused", 2e9, 0, "http.max_body_bytes: 2000000000 is more than 16777216"},
		{"1 MiB of headers is the most", 1 << 20, 1 << 20, ""},
		{"a byte more of headers is refused", 1 << 20, 1<<20 + 1, "http.max_header_bytes: 1048577 is more than 1048576"},
		{"negative header bytes are refused", 1 << 20, -1, "http.max_header_bytes: must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := get("http://127.0.0.1:1/")
			spec.Method = "GET"
			spec.MaxBodyBytes, spec.MaxHeaderBytes = tc.maxBody, tc.maxHeadr
			err := spec.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

// A gzip body is checked against max_body_bytes as it inflates: 1 MiB of
// zeros compresses to about 1 KB, far under a 64 KiB cap, and inflates far
// over it.
func TestDecompressedBytesCountAgainstMaxBodyBytes(t *testing.T) {
	bomb := gzipped(t, 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb)
	}))
	defer srv.Close()
	spec := get(srv.URL)
	spec.MaxBodyBytes = 64 << 10
	res := runOnce(t, newTestRunner(t, nil), 10*time.Second, httpStep("s", spec))
	if res.OK || res.Failure != FailBodyTooLarge {
		t.Fatalf("got ok=%v failure=%q error=%q; the %d compressed bytes inflate to 1 MiB, want body_too_large", res.OK, res.Failure, res.Error, len(bomb))
	}
}

// A gzip bomb at the largest max_body_bytes: whatever the machine's speed,
// the run ends as body_too_large or, if it took longer than its timeout,
// as a timeout; it is never a success.
func TestAGzipBombIsNeverASuccess(t *testing.T) {
	bomb := gzipped(t, 64<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb)
	}))
	defer srv.Close()
	spec := get(srv.URL)
	spec.MaxBodyBytes = MaxBodyBytesLimit
	for _, timeout := range []time.Duration{5 * time.Millisecond, 50 * time.Millisecond, 10 * time.Second} {
		res := runOnce(t, newTestRunner(t, nil), timeout, httpStep("s", spec))
		if res.OK {
			t.Fatalf("timeout %s: the bomb was a success", timeout)
		}
		if res.Failure != FailBodyTooLarge && res.Failure != FailTimeout {
			t.Errorf("timeout %s: failure %q (%s), want body_too_large or timeout", timeout, res.Failure, res.Error)
		}
		if res.Duration > timeout && res.Failure != FailTimeout {
			t.Errorf("timeout %s: the run took %s and is %q, want timeout", timeout, res.Duration, res.Failure)
		}
	}
}

// expiringContext reports its deadline passed once expire is called, as a
// context does when its timer fires, but at a moment the test chooses.
type expiringContext struct {
	context.Context
	expired atomic.Bool
	done    chan struct{}
}

func newExpiringContext() *expiringContext {
	return &expiringContext{Context: context.Background(), done: make(chan struct{})}
}

func (c *expiringContext) expire() {
	if c.expired.CompareAndSwap(false, true) {
		close(c.done)
	}
}
func (c *expiringContext) Done() <-chan struct{} { return c.done }
func (c *expiringContext) Err() error {
	if c.expired.Load() {
		return context.DeadlineExceeded
	}
	return nil
}

// zeros is an endless body that expires ctx on its third read, as a
// deadline passing while a body inflates in memory, with no network wait
// for the transport to notice.
type zeros struct {
	ctx   *expiringContext
	reads int
}

func (z *zeros) Read(p []byte) (int, error) {
	z.reads++
	if z.reads == 3 {
		z.ctx.expire()
	}
	clear(p)
	return len(p), nil
}

func TestReadingTheBodyStopsAtTheDeadline(t *testing.T) {
	ctx := newExpiringContext()
	src := &zeros{ctx: ctx}
	body, err := readBody(ctx, src, MaxBodyBytesLimit)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("readBody = %d bytes, %v; want the deadline's error", len(body), err)
	}
	// Reads 1 to 3 happen; the check before the fourth sees the deadline.
	if src.reads != 3 {
		t.Errorf("the body was read %d times, want 3: no read after the deadline", src.reads)
	}
	if len(body) > 3*readChunk {
		t.Errorf("read %d bytes, want at most 3 chunks of %d", len(body), readChunk)
	}
}

// lateStep finishes, and says it passed, only after the run's deadline.
func lateStep(ctx context.Context, spec StepSpec, run *RunState) StepResult {
	<-ctx.Done()
	return StepResult{OK: true}
}

type lateSpec struct{}

func (lateSpec) Kind() string    { return "test-late" }
func (lateSpec) Validate() error { return nil }

func init() { RegisterStepKind("test-late", lateStep) }

func TestAStepThatPassesAfterTheDeadlineIsATimeout(t *testing.T) {
	res := runOnce(t, newTestRunner(t, nil), time.Millisecond, Step{Name: "late", Spec: lateSpec{}})
	if res.OK || res.Failure != FailTimeout {
		t.Fatalf("got ok=%v failure=%q error=%q, want a timeout", res.OK, res.Failure, res.Error)
	}
	if !strings.Contains(res.Error, "timeout") {
		t.Errorf("error %q does not say the timeout passed", res.Error)
	}
}
