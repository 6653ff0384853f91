package lambdatest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// StartChild runs the test named test from the current test binary in a
// child process with env, as the Lambda function: aws-lambda-go's loop never
// returns, so it cannot run inside the test process. The child is killed
// when t ends, and its output is logged if t failed.
func StartChild(t testing.TB, test string, env []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", test, stdout.String(), test, stderr.String())
		}
	})
}

// Await waits up to within for an invocation's outcome.
func Await(t testing.TB, ch <-chan Outcome, within time.Duration) Outcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(within):
		t.Fatalf("the function did not answer the invocation within %s", within)
		return Outcome{}
	}
}
