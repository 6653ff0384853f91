// Package canary is the GENERATE phase of nines. A Canary is a name, a
// schedule and a list of steps; the Runner turns one run of it into a Result,
// and the Scheduler runs every canary on time. Step kinds (http, browser)
// live one per file and are listed once, in the registry in steps.go, which
// the config validator reads too.
package canary

import (
	"context"
	"fmt"
	"time"
)

// Canary is one synthetic transaction, ready to run.
type Canary struct {
	Name    string
	Every   time.Duration
	Timeout time.Duration
	// Retries is how many times a failed run is tried again at once (0 or 1).
	// Each retry is its own attempt in the Result stream.
	Retries int
	// StepMetrics asks the recorder to keep a latency series per step.
	StepMetrics bool
	Steps       []Step
}

// Step is one named action within a canary.
type Step struct {
	Name string
	Spec StepSpec
}

// StepSpec is the kind-specific part of a step. Each kind registers a runner
// for its spec type in the registry.
type StepSpec interface {
	Kind() string
	// Validate reports what is wrong with the spec, naming the field.
	Validate() error
}

// Validate checks a canary's own invariants. The config package reports these
// errors with the file and line; programmatic users get them here.
func (c *Canary) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("name: must not be empty")
	}
	if c.Every <= 0 {
		return fmt.Errorf("every: must be positive")
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("timeout: must be positive")
	}
	if c.Retries < 0 || c.Retries > 1 {
		return fmt.Errorf("retries: must be 0 or 1")
	}
	if len(c.Steps) == 0 {
		return fmt.Errorf("steps: a canary needs at least one step")
	}
	for i, s := range c.Steps {
		if s.Spec == nil {
			return fmt.Errorf("steps[%d]: has no kind", i)
		}
		if _, ok := registry[s.Spec.Kind()]; !ok {
			return fmt.Errorf("steps[%d]: unknown kind %q", i, s.Spec.Kind())
		}
		if err := s.Spec.Validate(); err != nil {
			return fmt.Errorf("steps[%d].%s", i, err)
		}
	}
	return nil
}

// FailureClass says why a run failed, in a word that becomes a metric label,
// a report row and an alert field.
type FailureClass string

const (
	FailDNS          FailureClass = "dns"
	FailConnect      FailureClass = "connect"
	FailTLS          FailureClass = "tls"
	FailTimeout      FailureClass = "timeout"
	FailHTTPStatus   FailureClass = "http_status"
	FailAssertion    FailureClass = "assertion"
	FailBodyTooLarge FailureClass = "body_too_large"
	// FailHeadersTooLarge: the response headers passed max_header_bytes.
	FailHeadersTooLarge FailureClass = "headers_too_large"
	FailRedirect        FailureClass = "redirect"
	FailExtract         FailureClass = "extract"
	FailRequest         FailureClass = "request" // the request could not be built
	FailNetwork         FailureClass = "network" // reset or closed mid-exchange
	FailBrowser         FailureClass = "browser"
	FailJSError         FailureClass = "js_error" // the page threw or logged a console error
	FailCanceled        FailureClass = "canceled"

	// Classes of the step kinds beyond HTTP (dns.go, tls.go, grpc.go,
	// websocket.go, icmp.go).
	FailDNSRcode        FailureClass = "dns_rcode"          // the server answered with another rcode
	FailCertExpired     FailureClass = "cert_expired"       // a certificate's not_after has passed
	FailCertNotYetValid FailureClass = "cert_not_yet_valid" // a certificate's not_before is ahead
	FailCertHostname    FailureClass = "cert_hostname"      // the certificate is for another name
	FailCertUntrusted   FailureClass = "cert_untrusted"     // the chain leads to no trusted root
	FailCertExpiring    FailureClass = "cert_expiring"      // valid, but for fewer days than asked
	FailCertIssuer      FailureClass = "cert_issuer"        // issued by someone else
	FailTLSVersion      FailureClass = "tls_version"        // an older protocol than min_version
	FailGRPCStatus      FailureClass = "grpc_status"        // the health call failed with a status
	FailNotServing      FailureClass = "not_serving"        // the service's health is not SERVING
	FailUpgrade         FailureClass = "upgrade"            // the WebSocket upgrade was refused
	FailPacketLoss      FailureClass = "packet_loss"        // more echoes lost than max_loss allows
)

// Phases are the httptrace timings of a step: summed over redirect hops in a
// StepResult, one hop's worth in a Hop.
type Phases struct {
	DNS      time.Duration `json:"-"`
	Connect  time.Duration `json:"-"`
	TLS      time.Duration `json:"-"`
	TTFB     time.Duration `json:"-"`
	Transfer time.Duration `json:"-"`
}

// Add returns the sum of two phase sets.
func (p Phases) Add(o Phases) Phases {
	return Phases{
		DNS:      p.DNS + o.DNS,
		Connect:  p.Connect + o.Connect,
		TLS:      p.TLS + o.TLS,
		TTFB:     p.TTFB + o.TTFB,
		Transfer: p.Transfer + o.Transfer,
	}
}

// Hop is one request of a step, the first or a redirect.
type Hop struct {
	URL    string
	Status int
	Phases Phases
}

// StepResult is what one step did.
type StepResult struct {
	Name     string
	Kind     string
	OK       bool
	Duration time.Duration
	Phases   Phases
	Hops     []Hop
	Status   int
	Failure  FailureClass
	// Error is the reason for a failure, with every secret redacted.
	Error string
	// Artifacts are paths or URLs of files kept for a failed step.
	Artifacts []string
	// Timings holds kind-specific timings, such as a browser's DOMContentLoaded.
	Timings map[string]time.Duration
	// Counts holds kind-specific counts, such as a browser's failed requests.
	Counts map[string]int
	// Cert is the certificate the step's TLS handshake presented, if any:
	// HTTP over TLS and every kind that speaks TLS record it, even when a
	// check after the handshake fails.
	Cert *PeerCert
}

// Result is one attempt of one canary.
type Result struct {
	Canary string
	// Attempt is 1 for a scheduled run and 2 for its retry.
	Attempt int
	// Scheduled is when the run was due; Start is when it began.
	Scheduled time.Time
	Start     time.Time
	Duration  time.Duration
	OK        bool
	Failure   FailureClass
	Error     string
	Steps     []StepResult
}

// Observer receives what the scheduler produces. The metrics Recorder is one.
type Observer interface {
	// Observe receives every attempt's result.
	Observe(Result)
	// Overlapped is told when a run was due but the previous run of the same
	// canary was still going, so the new one was not started.
	Overlapped(canary string, scheduled time.Time)
}

// StepRunner runs one kind of step. It returns the step's result; the Runner
// owns timeouts, counting and timing shared by every kind.
type StepRunner func(ctx context.Context, spec StepSpec, run *RunState) StepResult
