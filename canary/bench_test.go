package canary

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkRunnerHTTP is the agent's cost per run of a one-step HTTP canary
// against loopback: template expansion, a fresh connection, httptrace and
// assertions.
func BenchmarkRunnerHTTP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"ok","items":[1,2,3]}`)
	}))
	defer srv.Close()
	r, _ := NewRunner(RunnerConfig{})
	c := &Canary{Name: "bench", Every: time.Minute, Timeout: 5 * time.Second, Steps: []Step{{Name: "get", Spec: &HTTPSpec{
		Method: "GET", URL: MustTemplate(srv.URL + "/health"), FollowRedirects: true, MaxRedirects: 10, MaxBodyBytes: 1 << 20,
		Assert: []Assertion{{Kind: AssertStatus, Codes: []int{200}}, {Kind: AssertJSON, Path: mustPath("$.status"), Equals: ptr("ok")}},
	}}}}
	b.ReportAllocs()
	for b.Loop() {
		if res := r.Run(context.Background(), c, 1, time.Now()); !res.OK {
			b.Fatal(res.Error)
		}
	}
}
