//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/goawstest"
	"github.com/nines-dev/nines/internal/lambdarun/lambdatest"
)

// emulatorModule is AWS's Lambda Runtime Interface Emulator: the Runtime
// API as Lambda serves it, in front of the real bootstrap, so that the
// function is checked against an implementation of the API other than
// lambdatest's.
const emulatorModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

var (
	emulatorOnce              sync.Once
	emulatorBin, bootstrapBin string
	emulatorErr, bootstrapErr error
)

// emulatorBinaries builds the emulator from the module proxy and bootstrap
// as the Makefile's lambda target does, once per test binary. Without the
// emulator the test is skipped, unless NINES_REQUIRE_EMULATORS is set.
func emulatorBinaries(t *testing.T) (emulator, bootstrap string) {
	t.Helper()
	emulatorOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nines-emulator")
		if err != nil {
			emulatorErr = err
			return
		}
		install := exec.Command("go", "install", emulatorModule)
		install.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
		if out, err := install.CombinedOutput(); err != nil {
			emulatorErr = fmt.Errorf("go install %s: %v\n%s", emulatorModule, err, out)
		}
		emulatorBin = filepath.Join(dir, "aws-lambda-rie")
		build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", filepath.Join(dir, "bootstrap"), ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			bootstrapErr = fmt.Errorf("building bootstrap: %v\n%s", err, out)
		}
		bootstrapBin = filepath.Join(dir, "bootstrap")
	})
	if emulatorErr != nil {
		if os.Getenv("NINES_REQUIRE_EMULATORS") != "" {
			t.Fatalf("the Lambda Runtime Interface Emulator cannot be built and NINES_REQUIRE_EMULATORS is set: %v", emulatorErr)
		}
		t.Skipf("the Lambda Runtime Interface Emulator cannot be built; set NINES_REQUIRE_EMULATORS to make this a failure: %v", emulatorErr)
	}
	if bootstrapErr != nil {
		t.Fatal(bootstrapErr)
	}
	return emulatorBin, bootstrapBin
}

// emulator is the emulator running bootstrap, both on loopback.
type emulator struct {
	url string
}

// startEmulator runs bootstrap under the emulator with env on top of a
// clean AWS environment. The emulator passes its own environment on to
// the function and sets AWS_LAMBDA_RUNTIME_API itself.
func startEmulator(t *testing.T, env map[string]string) *emulator {
	t.Helper()
	rie, bootstrap := emulatorBinaries(t)
	// The emulator hands the function the runtime API's address as given,
	// so a port 0 there would reach the function as port 0: both ports are
	// picked here.
	addr, runtimeAPI := freePort(t), freePort(t)
	vars := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret", "AWS_REGION": "us-east-1",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "60", "HOME": t.TempDir(), "PATH": os.Getenv("PATH"),
	}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(rie, "--log-level", "error",
		"--runtime-api-address", runtimeAPI, "--runtime-interface-emulator-address", addr, bootstrap)
	cmd.Dir = t.TempDir()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// bootstrap is the emulator's child: a group of their own lets the
	// cleanup end both.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("emulator and bootstrap output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator is not listening on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &emulator{url: "http://" + addr + "/2015-03-31/functions/function/invocations"}
}

// freePort is a loopback address that nothing listens on, a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// invoke sends a scheduled event for minute and decodes the function's
// answer into resp. The emulator handles one invocation at a time.
func (e *emulator) invoke(t *testing.T, minute time.Time, resp any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(lambdatest.ScheduledEvent(minute, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoking through the emulator: %v", err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	var failed struct {
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(body, &failed)
	if r.StatusCode != http.StatusOK || failed.ErrorMessage != "" {
		t.Fatalf("the invocation failed: %s %s", r.Status, body)
	}
	if err := json.Unmarshal(body, resp); err != nil {
		t.Fatalf("response %s: %v", body, err)
	}
}

func TestLambdaAgentUnderTheRuntimeInterfaceEmulator(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(target.Close)
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{})
	cfgPath := writeFile(t, "nines.yaml", `agent: { region: local, period: 60s }
canaries:
  - name: home
    every: 1m
    steps:
      - http: { url: "`+target.URL+`/" }
        assert: [ {status: 200} ]
  - name: status-page
    every: 1m
    steps:
      - http: { url: "`+target.URL+`/down" }
        assert: [ {status: 200} ]
`)
	e := startEmulator(t, map[string]string{
		"NINES_ROLE": "agent", "NINES_CONFIG": cfgPath,
		"NINES_AGENT_REGION": "eu-west-1", "NINES_AGENT_NAME": "lambda-eu-west-1",
		"NINES_METRICS_REGION": "us-east-1", "NINES_NAMESPACE": "Nines",
		"AWS_ENDPOINT_URL_CLOUDWATCH": cw.URL(), "NINES_SPOOL_DIR": t.TempDir(),
	})
	fired := time.Now().UTC().Truncate(time.Minute)
	for i, minute := range []time.Time{fired, fired.Add(time.Minute)} {
		var resp struct {
			Role    string       `json:"role"`
			Summary agentSummary `json:"summary"`
		}
		e.invoke(t, minute, &resp)
		if resp.Role != "agent" || resp.Summary.Region != "eu-west-1" || resp.Summary.Runs != 2 || resp.Summary.Failed != 1 || resp.Summary.Published == 0 || resp.Summary.PublishError != "" {
			t.Errorf("invocation %d answered %+v, want the agent's two runs in eu-west-1, one failed, published", i+1, resp)
		}
		datums := cw.Datums()
		for _, c := range []struct {
			metric string
			dims   map[string]string
		}{
			{"Attempts", map[string]string{"Canary": "home", "Region": "eu-west-1"}},
			{"Successes", map[string]string{"Canary": "home", "Region": "eu-west-1"}},
			{"Attempts", map[string]string{"Canary": "status-page", "Region": "eu-west-1"}},
			{"AgentHeartbeat", map[string]string{"Agent": "lambda-eu-west-1", "Region": "eu-west-1"}},
		} {
			if got := sumOf(datums, c.metric, c.dims); got != float64(i+1) {
				t.Errorf("after invocation %d: %s %v = %g, want %d", i+1, c.metric, c.dims, got, i+1)
			}
		}
		if got := sumOf(datums, "Successes", map[string]string{"Canary": "status-page"}); got != 0 {
			t.Errorf("status-page's Successes = %g, want 0", got)
		}
	}
}

// The evaluator under the emulator: it pages through goaws, an independent
// SNS, keeps its state in the DynamoDB fake, and a second invocation of the
// warm function, a minute on, reads that state and does not page again.
func TestLambdaEvaluatorUnderTheRuntimeInterfaceEmulator(t *testing.T) {
	ctx := context.Background()
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{})
	ddb := awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})
	store, err := alerting.NewDynamoDBStore(ddb.Client(), "nines-state")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	g := goawstest.Acquire(t)

	now := time.Now().UTC().Truncate(time.Minute)
	if err := store.RecordFailure(ctx, alerting.Failure{Canary: "checkout", Region: "eu-west-1", At: now.Add(-2 * time.Minute),
		Class: "http_status", Error: `step "pay": status 502`}); err != nil {
		t.Fatal(err)
	}
	var data []cwtypes.MetricDatum
	for i := 1; i <= 60; i++ {
		at := now.Add(-time.Duration(i) * time.Minute)
		dims := []cwtypes.Dimension{{Name: aws.String("Canary"), Value: aws.String("checkout")}, {Name: aws.String("Region"), Value: aws.String("eu-west-1")}}
		data = append(data,
			cwtypes.MetricDatum{MetricName: aws.String("Attempts"), Dimensions: dims, Timestamp: aws.Time(at), Value: aws.Float64(6), Unit: cwtypes.StandardUnitCount},
			cwtypes.MetricDatum{MetricName: aws.String("Successes"), Dimensions: dims, Timestamp: aws.Time(at), Value: aws.Float64(0), Unit: cwtypes.StandardUnitCount},
			// The agent itself is alive: only the SLO pages.
			cwtypes.MetricDatum{MetricName: aws.String("AgentHeartbeat"), Timestamp: aws.Time(at), Value: aws.Float64(1), Unit: cwtypes.StandardUnitCount,
				Dimensions: []cwtypes.Dimension{{Name: aws.String("Agent"), Value: aws.String("lambda-eu-west-1")}, {Name: aws.String("Region"), Value: aws.String("eu-west-1")}}},
		)
	}
	if _, err := cw.Client().PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeFile(t, "nines.yaml", `canaries:
  - name: checkout
    steps:
      - http: { url: "https://shop.example.com/" }
slos:
  - name: checkout-availability
    sli: { kind: availability, canary: checkout, regions: [eu-west-1] }
    objective: 99.9
deploy:
  monitoring_region: us-east-1
  agent_regions: [eu-west-1]
  code_bucket_prefix: ops-artifacts
`)
	e := startEmulator(t, map[string]string{
		"NINES_ROLE": "evaluator", "NINES_CONFIG": cfgPath, "NINES_EVALUATOR_NAME": "nines-evaluator",
		"NINES_METRICS_REGION": "us-east-1", "NINES_NAMESPACE": "Nines",
		"NINES_SNS_TOPIC_ARN": goawstest.TopicARN, "NINES_STATE_TABLE": "nines-state",
		"AWS_ENDPOINT_URL_CLOUDWATCH": cw.URL(), "AWS_ENDPOINT_URL_SNS": g.URL, "AWS_ENDPOINT_URL_DYNAMODB": ddb.URL(),
	})

	for i, minute := range []time.Time{now, now.Add(time.Minute)} {
		var resp struct {
			Role    string           `json:"role"`
			Summary evaluatorSummary `json:"summary"`
		}
		e.invoke(t, minute, &resp)
		if resp.Role != "evaluator" || resp.Summary.SLOs != 1 || resp.Summary.Firing < 1 {
			t.Errorf("invocation %d answered %+v, want the evaluator's summary with a firing alert", i+1, resp)
		}
		raw, wrapped := g.Received(t, goawstest.RawQueue), g.Received(t, goawstest.EnvelopeQueue)
		if i == 1 {
			if len(raw) != 0 || len(wrapped) != 0 {
				t.Errorf("the warm function paged again: %d raw and %d enveloped messages", len(raw), len(wrapped))
			}
			break
		}
		if len(raw) != 1 || len(wrapped) != 1 {
			t.Fatalf("the subscribers got %d raw and %d enveloped messages, want the page once each", len(raw), len(wrapped))
		}
		var env goawstest.Envelope
		if err := json.Unmarshal([]byte(wrapped[0].Body), &env); err != nil {
			t.Fatalf("no SNS envelope: %v: %s", err, wrapped[0].Body)
		}
		if !strings.HasPrefix(env.Subject, "ALARM: ") || !strings.Contains(env.Subject, "checkout-availability") {
			t.Errorf("subject %q, want an ALARM for checkout-availability", env.Subject)
		}
		var body struct {
			NewStateValue string `json:"NewStateValue"`
			Nines         struct {
				DedupeKey string `json:"dedupe_key"`
			} `json:"nines"`
		}
		if err := json.Unmarshal([]byte(raw[0].Body), &body); err != nil {
			t.Fatalf("the body is not JSON: %v: %s", err, raw[0].Body)
		}
		if body.NewStateValue != "ALARM" || !strings.Contains(body.Nines.DedupeKey, "checkout-availability") {
			t.Errorf("body state %q dedupe key %q, want ALARM for checkout-availability", body.NewStateValue, body.Nines.DedupeKey)
		}
		if !strings.Contains(raw[0].Body, "status 502") {
			t.Errorf("the page does not carry the agent's last failure: %s", raw[0].Body)
		}
	}
	if got := sumOf(cw.Datums(), alerting.HeartbeatMetric, map[string]string{"Evaluator": "nines-evaluator"}); got != 2 {
		t.Errorf("EvaluatorHeartbeat = %g over two invocations, want 2", got)
	}
	out, err := ddb.Client().Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("nines-state")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count < 2 {
		t.Errorf("the state table holds %d items, want the agent's failure and the alert state", out.Count)
	}
}
