package canary

import (
	"net"
	"os"
	"strings"
	"testing"
)

// checkOutcome fails t unless res ended as wanted: passing when wantClass
// is empty, else failing with that class and an error containing wantErr.
func checkOutcome(t *testing.T, res Result, wantClass FailureClass, wantErr string) {
	t.Helper()
	if wantClass == "" {
		if !res.OK {
			t.Fatalf("failed with %s: %s", res.Failure, res.Error)
		}
		return
	}
	if res.OK {
		t.Fatalf("passed, want a %s failure", wantClass)
	}
	if res.Failure != wantClass || !strings.Contains(res.Error, wantErr) {
		t.Fatalf("failed with %s: %q; want %s containing %q", res.Failure, res.Error, wantClass, wantErr)
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// requireOrSkip skips a test whose facility this machine lacks, unless the
// variable env is 1, which makes the lack a failure (CI sets it).
func requireOrSkip(t *testing.T, env string, err error) {
	t.Helper()
	if os.Getenv(env) == "1" {
		t.Fatalf("%s=1 but %v", env, err)
	}
	t.Skipf("%v (set %s=1 to make this a failure)", err, env)
}
