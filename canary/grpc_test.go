package canary

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// startGRPC serves health on a loopback port, over TLS with cert when given.
func startGRPC(t *testing.T, hs healthpb.HealthServer, cert *tls.Certificate) string {
	t.Helper()
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}})))
	}
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// hangingHealth never answers until the call is abandoned.
type hangingHealth struct {
	healthpb.UnimplementedHealthServer
}

func (hangingHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// authHealth wants "authorization: Bearer good-token-123", and echoes a
// wrong one back, as careless servers do.
type authHealth struct {
	healthpb.UnimplementedHealthServer
}

func (authHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if got := strings.Join(md.Get("authorization"), ","); got != "Bearer good-token-123" {
		return nil, status.Errorf(codes.Unauthenticated, "bad credentials %q", got)
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func TestGRPCHealthStep(t *testing.T) {
	ca := newTestCA(t, "Nines Test gRPC CA")
	cert := ca.issue(t, leaf{names: []string{"grpc.test"}})
	hs := health.NewServer()
	hs.SetServingStatus("shop.Cart", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("shop.Payments", healthpb.HealthCheckResponse_NOT_SERVING)
	plain := startGRPC(t, hs, nil)
	secure := startGRPC(t, hs, &cert)
	hanging := startGRPC(t, hangingHealth{}, nil)
	authed := startGRPC(t, authHealth{}, nil)
	down := health.NewServer()
	down.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	serverDown := startGRPC(t, down, nil)
	env := map[string]string{"GRPC_TOKEN": "good-token-123", "BAD_TOKEN": "wrong-token-456"}

	cases := []struct {
		name      string
		spec      *GRPCSpec
		timeout   time.Duration
		wantClass FailureClass
		wantErr   string
		wantTLS   bool
	}{
		{name: "a SERVING service passes", spec: &GRPCSpec{Address: MustTemplate(plain), Service: "shop.Cart"}},
		{name: "the whole server is asked about with no service", spec: &GRPCSpec{Address: MustTemplate(plain)}},
		{name: "a NOT_SERVING service fails with not_serving",
			spec:      &GRPCSpec{Address: MustTemplate(plain), Service: "shop.Payments"},
			wantClass: FailNotServing, wantErr: `service "shop.Payments" is NOT_SERVING, want SERVING`},
		{name: "an unknown service fails with grpc_status",
			spec:      &GRPCSpec{Address: MustTemplate(plain), Service: "shop.Nothing"},
			wantClass: FailGRPCStatus, wantErr: `health check of service "shop.Nothing": NotFound`},
		{name: "a server that hangs times out",
			spec: &GRPCSpec{Address: MustTemplate(hanging)}, timeout: 300 * time.Millisecond, wantClass: FailTimeout},
		{name: "TLS with the server's CA passes and times the handshake",
			spec:    &GRPCSpec{Address: MustTemplate(secure), Service: "shop.Cart", TLS: true, TLSOptions: TLSOptions{CAFile: ca.CAFile, ServerName: "grpc.test"}},
			wantTLS: true},
		{name: "TLS without trusting the CA fails with tls",
			spec:      &GRPCSpec{Address: MustTemplate(secure), TLS: true, TLSOptions: TLSOptions{ServerName: "grpc.test"}},
			wantClass: FailTLS, wantErr: "certificate signed by unknown authority"},
		{name: "a refused connection fails with connect",
			spec: &GRPCSpec{Address: MustTemplate(closedPort(t))}, wantClass: FailConnect, wantErr: "connection refused"},
		{name: "metadata is sent with the call",
			spec: &GRPCSpec{Address: MustTemplate(authed), Metadata: map[string]Template{"authorization": MustTemplate("Bearer ${env:GRPC_TOKEN}")}}},
		{name: "a rejected token fails with grpc_status and stays out of the error",
			spec:      &GRPCSpec{Address: MustTemplate(authed), Metadata: map[string]Template{"authorization": MustTemplate("Bearer ${env:BAD_TOKEN}")}},
			wantClass: FailGRPCStatus, wantErr: `Unauthenticated: bad credentials "[REDACTED]"`},
		{name: "a whole server NOT_SERVING is named as the server, not as a service called \"\"",
			spec:      &GRPCSpec{Address: MustTemplate(serverDown)},
			wantClass: FailNotServing, wantErr: `the server's overall health is NOT_SERVING, want SERVING`},
		{name: "a failed call with no service names the server's overall health",
			spec:      &GRPCSpec{Address: MustTemplate(authed)},
			wantClass: FailGRPCStatus, wantErr: `health check of the server's overall health: Unauthenticated`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			res := runOnce(t, newTestRunner(t, env), timeout, Step{Name: "health", Spec: tc.spec})
			checkOutcome(t, res, tc.wantClass, tc.wantErr)
			sr := res.Steps[0]
			if tc.wantClass != FailConnect && sr.Phases.Connect <= 0 {
				t.Errorf("connect phase %s, want it measured", sr.Phases.Connect)
			}
			if tc.wantClass == "" && sr.Timings[TimingCall] <= 0 {
				t.Errorf("call phase %s, want it measured", sr.Timings[TimingCall])
			}
			if tc.wantTLS && (sr.Phases.TLS <= 0 || sr.Cert == nil) {
				t.Errorf("tls phase %s, cert %+v; want both", sr.Phases.TLS, sr.Cert)
			}
		})
	}
}
