// Package dynalite runs the dynalite DynamoDB emulator (npm dynalite
// 4.0.0) for tests, so that the state store that the ALARM phase keeps in
// DynamoDB is checked against an implementation other than nines' own
// fake. Each server holds its tables in memory and dies with its test.
//
// Where dynalite and the DynamoDB API reference disagree, the reference
// wins: dynalite has no UpdateTimeToLive, describes TTL as DISABLED and
// expires nothing, so tests check expiry against the fake only.
package dynalite

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// RequireEnv names the variable that turns a missing emulator from a
// skipped test into a failed one, as CI sets it.
const RequireEnv = "NINES_REQUIRE_EMULATORS"

// Server is a running dynalite.
type Server struct {
	// URL is the endpoint, http://127.0.0.1:PORT.
	URL string
}

// Start runs `npx dynalite --host 127.0.0.1 --port N` on a free port,
// waits until it answers, and stops it when tb ends. Without npx or
// dynalite the test is skipped, or fails when NINES_REQUIRE_EMULATORS is
// set.
func Start(tb testing.TB) *Server {
	tb.Helper()
	npx, err := exec.LookPath("npx")
	if err != nil {
		missing(tb, "npx is not on PATH")
	}
	// --no-install: a test never downloads; CI installs dynalite first.
	if out, err := exec.Command(npx, "--no-install", "dynalite", "--help").CombinedOutput(); err != nil {
		missing(tb, fmt.Sprintf("dynalite is not installed (npm install -g dynalite@4.0.0): %v: %s", err, out))
	}
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(npx, "--no-install", "dynalite", "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	// npx runs node as a child: a group of their own lets Stop end both.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting dynalite: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	if err := s.waitUp(exited, &waitErr); err != nil {
		tb.Fatalf("dynalite on %s: %v", s.URL, err)
	}
	return s
}

func missing(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv(RequireEnv) != "" {
		tb.Fatalf("%s is set, but %s", RequireEnv, why)
	}
	tb.Skip(why)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitUp polls ListTables until dynalite answers, it exits, or 30 s pass.
func (s *Server) waitUp(exited <-chan struct{}, waitErr *error) error {
	client := s.Client()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{})
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before it answered: %v", *waitErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer in 30s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Client returns an SDK client for the server, with static credentials.
func (s *Server) Client(optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDNINES", "nines", ""),
	}
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.AccountIDEndpointMode = aws.AccountIDEndpointModeDisabled
	}}, optFns...)...)
}

// API is a client for the server that answers UpdateTimeToLive as DynamoDB
// would, with the specification it was given: dynalite lacks the
// operation (it answers UnknownOperationException) and expires nothing,
// so there is nothing else to ask of it.
func (s *Server) API(optFns ...func(*dynamodb.Options)) *API {
	return &API{Client: s.Client(optFns...)}
}

// API is a dynalite client with UpdateTimeToLive stood in for.
type API struct{ *dynamodb.Client }

// UpdateTimeToLive answers as DynamoDB does once it accepts the change.
func (a *API) UpdateTimeToLive(_ context.Context, in *dynamodb.UpdateTimeToLiveInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	return &dynamodb.UpdateTimeToLiveOutput{TimeToLiveSpecification: in.TimeToLiveSpecification}, nil
}
