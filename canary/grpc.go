package canary

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func init() { RegisterStepKind("grpc", runGRPC) }

// GRPCSpec calls the standard health-checking protocol (grpc.health.v1)
// and passes when the service is SERVING.
type GRPCSpec struct {
	Address Template // host:port
	// Service is the name asked about; "" asks about the whole server.
	Service    string
	TLS        bool
	TLSOptions TLSOptions
	// Metadata is sent with the call, such as authorization.
	Metadata map[string]Template
}

// Timing keys of a grpc step's StepResult.Timings.
const TimingCall = "call"

// Kind implements StepSpec.
func (s *GRPCSpec) Kind() string { return "grpc" }

// Validate implements StepSpec.
func (s *GRPCSpec) Validate() error {
	if s.Address.IsZero() {
		return fmt.Errorf("grpc.address: is required")
	}
	if !s.TLS && s.TLSOptions != (TLSOptions{}) {
		return fmt.Errorf("grpc.tls: options given but TLS is off")
	}
	return nil
}

// grpcTrace records the phases of the one connection a step opens, and the
// error of the phase that failed: grpc-go reports both as Unavailable.
type grpcTrace struct {
	mu     sync.Mutex
	phases Phases
	ready  time.Time // connected, and TLS done when asked for
	err    error
	cert   *PeerCert
}

func (t *grpcTrace) set(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f()
}

// timedCreds times the TLS handshake of wrapped credentials.
type timedCreds struct {
	credentials.TransportCredentials
	trace *grpcTrace
}

func (c *timedCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	began := time.Now()
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	c.trace.set(func() {
		c.trace.phases.TLS = time.Since(began)
		c.trace.ready = time.Now()
		if err != nil {
			c.trace.err = err
		}
		if ti, ok := info.(credentials.TLSInfo); ok {
			c.trace.cert = peerCert(ti.State)
		}
	})
	return conn, info, err
}

func runGRPC(ctx context.Context, spec StepSpec, run *RunState) StepResult {
	s := spec.(*GRPCSpec)
	var sr StepResult
	fail := sr.fail
	addr, err := s.Address.Expand(run)
	if err != nil {
		return fail(FailRequest, "address: %v", err)
	}
	md := metadata.MD{}
	for _, k := range sortedKeys(s.Metadata) {
		v, err := s.Metadata[k].Expand(run)
		if err != nil {
			return fail(FailRequest, "metadata %s: %v", k, err)
		}
		if isSecretHeader(k) {
			run.Redactor.Add(v)
		}
		md.Append(k, v)
	}

	trace := &grpcTrace{}
	creds := insecure.NewCredentials()
	if s.TLS {
		host, _, _ := net.SplitHostPort(addr)
		conf, err := s.TLSOptions.config(host)
		if err != nil {
			return fail(FailRequest, "%v", err)
		}
		creds = &timedCreds{TransportCredentials: credentials.NewTLS(conf), trace: trace}
	}
	dial := func(ctx context.Context, target string) (net.Conn, error) {
		var p Phases
		conn, err := dialTimed(ctx, run, "tcp", target, &p)
		trace.set(func() {
			trace.phases.DNS, trace.phases.Connect, trace.ready = p.DNS, p.Connect, time.Now()
			if err != nil {
				trace.err = err
			}
		})
		return conn, err
	}
	// passthrough: the address goes to the dialer as written, so its DNS
	// is resolved and timed there, once.
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(dial), grpc.WithUserAgent(run.UserAgent))
	if err != nil {
		return fail(FailRequest, "%v", err)
	}
	defer conn.Close()

	resp, err := healthpb.NewHealthClient(conn).Check(metadata.NewOutgoingContext(ctx, md), &healthpb.HealthCheckRequest{Service: s.Service})
	end := time.Now()
	trace.mu.Lock()
	sr.Phases, sr.Cert = trace.phases, trace.cert
	if !trace.ready.IsZero() {
		sr.Timings = map[string]time.Duration{TimingCall: span(trace.ready, end)}
	}
	phaseErr := trace.err
	trace.mu.Unlock()
	if err != nil {
		if phaseErr != nil {
			return fail(classifyNetError(phaseErr), "%v", phaseErr)
		}
		st := status.Convert(err)
		switch st.Code() {
		case codes.DeadlineExceeded:
			return fail(FailTimeout, "the health call did not answer: %s", st.Message())
		case codes.Canceled:
			return fail(FailCanceled, "%s", st.Message())
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fail(FailTimeout, "%s", st.Message())
		}
		return fail(FailGRPCStatus, "health check of %s: %s: %s", s.subject(), st.Code(), st.Message())
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fail(FailNotServing, "%s is %s, want SERVING", s.subject(), resp.GetStatus())
	}
	sr.OK = true
	return sr
}

// subject names what the health check asks about in an error: the empty
// service name is the protocol's way to ask about the whole server.
func (s *GRPCSpec) subject() string {
	if s.Service == "" {
		return "the server's overall health"
	}
	return fmt.Sprintf("service %q", s.Service)
}
