package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamodbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/lambdarun/lambdatest"
)

// lambdaHelperEnv marks the child process that plays the Lambda function.
const lambdaHelperEnv = "NINES_TEST_LAMBDA_HELPER"

// TestLambdaHelper is not a test: started by the Lambda tests in a child
// process, it is the function itself, run the way Lambda runs bootstrap:
// no arguments, AWS_LAMBDA_RUNTIME_API set. aws-lambda-go's loop never
// returns, so the parent ends the process when it is done.
func TestLambdaHelper(t *testing.T) {
	if os.Getenv(lambdaHelperEnv) != "1" {
		t.Skip("started by TestLambdaAgent and TestLambdaEvaluator")
	}
	err := Run(context.Background(), nil, os.Stdin, os.Stdout, os.Stderr)
	t.Fatalf("the Lambda loop returned: %v", err)
}

// startFunction runs TestLambdaHelper against rt with env on top of a
// clean AWS environment (static credentials, no profile, no IMDS).
func startFunction(t *testing.T, rt *lambdatest.Runtime, env map[string]string) {
	t.Helper()
	base := map[string]string{
		lambdaHelperEnv: "1", "AWS_LAMBDA_RUNTIME_API": rt.Address(),
		"AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret", "AWS_REGION": "us-east-1",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true",
		"HOME": t.TempDir(), "PATH": os.Getenv("PATH"),
	}
	for k, v := range env {
		base[k] = v
	}
	var vars []string
	for k, v := range base {
		vars = append(vars, k+"="+v)
	}
	lambdatest.StartChild(t, "TestLambdaHelper", vars)
}

func awaitOutcome(t *testing.T, ch <-chan lambdatest.Outcome) lambdatest.Outcome {
	t.Helper()
	return lambdatest.Await(t, ch, 60*time.Second)
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// datumsWhenAnswered records what the CloudWatch fake held at the moment
// the function posted its answer, before the post was acknowledged.
type datumsWhenAnswered struct {
	mu     sync.Mutex
	datums []awsfake.MetricDatum
}

func (d *datumsWhenAnswered) hook(cw *awsfake.CloudWatch) func(lambdatest.Outcome) {
	return func(lambdatest.Outcome) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.datums = cw.Datums()
	}
}

func (d *datumsWhenAnswered) get() []awsfake.MetricDatum {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.datums
}

func sumOf(datums []awsfake.MetricDatum, metric string, dims map[string]string) float64 {
	var total float64
	for _, d := range datums {
		if d.MetricName != metric {
			continue
		}
		match := true
		for k, v := range dims {
			if d.Dimensions[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case d.Value != nil:
			total += *d.Value
		case d.StatisticValues != nil:
			total += d.StatisticValues.Sum
		}
	}
	return total
}

func TestLambdaAgent(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(target.Close)
	// A port nothing listens on: the refused connection's error names the
	// URL, with the canary's token in it until the runner redacts it.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String()
	closed.Close()
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{})
	ddb := awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})
	state, err := alerting.NewDynamoDBStore(ddb.Client(), "nines-state")
	if err != nil {
		t.Fatal(err)
	}
	if err := state.CreateTable(context.Background(), awsfake.ShortTableWait); err != nil {
		t.Fatal(err)
	}
	rt := lambdatest.NewT(t)
	var seen datumsWhenAnswered
	rt.OnOutcome = seen.hook(cw)

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
  - name: partner-api
    every: 1m
    steps:
      - http: { url: "`+refused+`/v1?token=${env:STATUS_TOKEN}", headers: { Authorization: "Bearer ${env:STATUS_TOKEN}" } }
`)
	startFunction(t, rt, map[string]string{
		"NINES_ROLE": "agent", "NINES_CONFIG": cfgPath, "STATUS_TOKEN": "s3cr3t-status-token",
		"NINES_AGENT_REGION": "eu-west-1", "NINES_AGENT_NAME": "lambda-eu-west-1",
		"NINES_METRICS_REGION": "us-east-1", "NINES_NAMESPACE": "Nines",
		"AWS_ENDPOINT_URL_CLOUDWATCH": cw.URL(), "NINES_SPOOL_DIR": t.TempDir(),
		"NINES_STATE_TABLE": "nines-state", "AWS_ENDPOINT_URL_DYNAMODB": ddb.URL(),
	})

	fired := time.Now().UTC().Truncate(time.Minute)
	o := awaitOutcome(t, rt.Invoke(lambdatest.ScheduledEvent(fired, nil), 2*time.Minute))
	if o.Failed {
		t.Fatalf("the invocation failed: %s", o.Body)
	}
	var resp struct {
		Role    string       `json:"role"`
		Summary agentSummary `json:"summary"`
	}
	if err := json.Unmarshal(o.Body, &resp); err != nil {
		t.Fatalf("response %s: %v", o.Body, err)
	}
	want := agentSummary{Region: "eu-west-1", Runs: 3, Failed: 2, Published: 4, RecordedFailures: 2}
	if resp.Role != "agent" || resp.Summary != want {
		t.Errorf("response %s, want role agent and %+v", o.Body, want)
	}
	// The failed run is in the state table, for the evaluator's alerts.
	failures, err := state.RecentFailures(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := failures["status-page"]; len(failures) != 2 || !ok || f.Region != "eu-west-1" || f.Class == "" || !strings.Contains(f.Error, "503") {
		t.Errorf("recorded failures %+v, want status-page's 503 from eu-west-1", failures)
	}
	if f := failures["partner-api"]; !strings.Contains(f.Error, closed.Addr().String()) {
		t.Errorf("partner-api's error %q does not name the URL it could not reach", f.Error)
	}
	items, err := ddb.Client().Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("nines-state")})
	if err != nil {
		t.Fatal(err)
	}
	var texts int
	for _, item := range items.Items {
		for name, v := range item {
			if sv, ok := v.(*dynamodbtypes.AttributeValueMemberS); ok {
				texts++
				if strings.Contains(sv.Value, "s3cr3t-status-token") {
					t.Errorf("the state table's %s holds the canary's secret: %s", name, sv.Value)
				}
			}
		}
	}
	if texts == 0 {
		t.Error("the state table holds no text to check")
	}

	// What the fake held when the function answered: everything was
	// published before the invocation returned.
	datums := seen.get()
	for _, c := range []struct {
		metric string
		dims   map[string]string
		want   float64
	}{
		{"Attempts", map[string]string{"Canary": "home", "Region": "eu-west-1"}, 1},
		{"Successes", map[string]string{"Canary": "home", "Region": "eu-west-1"}, 1},
		{"Attempts", map[string]string{"Canary": "status-page", "Region": "eu-west-1"}, 1},
		{"Successes", map[string]string{"Canary": "status-page", "Region": "eu-west-1"}, 0},
		{"AgentHeartbeat", map[string]string{"Agent": "lambda-eu-west-1", "Region": "eu-west-1"}, 1},
	} {
		if got := sumOf(datums, c.metric, c.dims); got != c.want {
			t.Errorf("%s %v = %g when the function answered, want %g", c.metric, c.dims, got, c.want)
		}
	}
	for _, d := range datums {
		if d.Namespace != "Nines" {
			t.Errorf("datum %s in namespace %q", d.MetricName, d.Namespace)
		}
		if d.MetricName == "Attempts" && !d.Timestamp.Equal(fired) {
			t.Errorf("Attempts at %s, want the scheduled minute %s", d.Timestamp, fired)
		}
	}

	t.Run("a second invocation of the warm function publishes its own minute", func(t *testing.T) {
		next := fired.Add(time.Minute)
		o := awaitOutcome(t, rt.Invoke(lambdatest.ScheduledEvent(next, nil), 2*time.Minute))
		if o.Failed {
			t.Fatalf("the invocation failed: %s", o.Body)
		}
		if got := sumOf(seen.get(), "Attempts", map[string]string{"Canary": "home"}); got != 2 {
			t.Errorf("Attempts for home over both invocations = %g, want 2", got)
		}
	})
}

// evaluatorFakes are what the evaluator function talks to: CloudWatch, the
// alert topic and the state table, created.
type evaluatorFakes struct {
	cw    *awsfake.CloudWatch
	sns   *awsfake.SNS
	ddb   *awsfake.DynamoDB
	topic string
	store *alerting.DynamoDBStore
}

func newEvaluatorFakes(t *testing.T) *evaluatorFakes {
	t.Helper()
	f := &evaluatorFakes{cw: awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{}), sns: awsfake.NewSNST(t, awsfake.SNSConfig{}),
		ddb: awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})}
	f.topic = f.sns.CreateTopic("nines-alerts")
	var err error
	if f.store, err = alerting.NewDynamoDBStore(f.ddb.Client(), "nines-state"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateTable(context.Background(), awsfake.ShortTableWait); err != nil {
		t.Fatal(err)
	}
	return f
}

// start runs the function as the evaluator over the fakes.
func (f *evaluatorFakes) start(t *testing.T, rt *lambdatest.Runtime, cfgPath string) {
	t.Helper()
	startFunction(t, rt, map[string]string{
		"NINES_ROLE": "evaluator", "NINES_CONFIG": cfgPath, "NINES_EVALUATOR_NAME": "nines-evaluator",
		"NINES_METRICS_REGION": "us-east-1", "NINES_NAMESPACE": "Nines",
		"NINES_SNS_TOPIC_ARN": f.topic, "NINES_STATE_TABLE": "nines-state",
		"AWS_ENDPOINT_URL_CLOUDWATCH": f.cw.URL(), "AWS_ENDPOINT_URL_SNS": f.sns.URL(), "AWS_ENDPOINT_URL_DYNAMODB": f.ddb.URL(),
	})
}

func TestLambdaEvaluator(t *testing.T) {
	ctx := context.Background()
	f := newEvaluatorFakes(t)
	cw, snsFake, store := f.cw, f.sns, f.store

	// The last hour of an agent in eu-west-1: every run of checkout failed,
	// and the agent wrote the latest failure to the state table.
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
		)
	}
	if _, err := cw.Client().PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data}); err != nil {
		t.Fatal(err)
	}

	rt := lambdatest.NewT(t)
	var seen datumsWhenAnswered
	var messagesWhenAnswered int
	rt.OnOutcome = func(o lambdatest.Outcome) {
		seen.hook(cw)(o)
		messagesWhenAnswered = len(snsFake.Messages())
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
	f.start(t, rt, cfgPath)

	o := awaitOutcome(t, rt.Invoke(lambdatest.ScheduledEvent(now, nil), time.Minute))
	if o.Failed {
		t.Fatalf("the invocation failed: %s", o.Body)
	}
	var resp struct {
		Role    string           `json:"role"`
		Summary evaluatorSummary `json:"summary"`
	}
	if err := json.Unmarshal(o.Body, &resp); err != nil {
		t.Fatalf("response %s: %v", o.Body, err)
	}
	if resp.Role != "evaluator" || resp.Summary.SLOs != 1 || resp.Summary.Firing < 1 {
		t.Errorf("response %s: want the evaluator's summary with a firing alert", o.Body)
	}
	if messagesWhenAnswered == 0 {
		t.Fatal("no SNS message had been published when the function answered")
	}
	msg := snsFake.Messages()[0]
	if msg.TopicARN != f.topic || !strings.HasPrefix(msg.Subject, "ALARM: ") || !strings.Contains(msg.Subject, "checkout-availability") {
		t.Errorf("SNS message to %s with subject %q", msg.TopicARN, msg.Subject)
	}
	if !strings.Contains(msg.Body, `status 502`) || !strings.Contains(msg.Body, `"region":"eu-west-1"`) {
		t.Errorf("the page does not carry the agent's last failure: %s", msg.Body)
	}
	if got := sumOf(seen.get(), alerting.HeartbeatMetric, map[string]string{"Evaluator": "nines-evaluator"}); got != 1 {
		t.Errorf("EvaluatorHeartbeat = %g when the function answered, want 1", got)
	}
	out, err := f.ddb.Client().Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("nines-state")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count == 0 {
		t.Error("the alert state was not saved to the table")
	}
}

// The evaluator watches each agent region's function by default. The agent
// in eu-west-1 stopped six minutes ago while ap-southeast-2's kept going,
// so the canary's Attempts still arrive: only the agent watch can tell, and
// it pages for that region's agent alone.
func TestLambdaEvaluatorWatchesEachAgentRegion(t *testing.T) {
	ctx := context.Background()
	f := newEvaluatorFakes(t)
	cw, snsFake := f.cw, f.sns

	now := time.Now().UTC().Truncate(time.Minute)
	var data []cwtypes.MetricDatum
	put := func(name string, v float64, at time.Time, dims ...string) {
		var ds []cwtypes.Dimension
		for i := 0; i < len(dims); i += 2 {
			ds = append(ds, cwtypes.Dimension{Name: aws.String(dims[i]), Value: aws.String(dims[i+1])})
		}
		data = append(data, cwtypes.MetricDatum{MetricName: aws.String(name), Dimensions: ds, Timestamp: aws.Time(at), Value: aws.Float64(v), Unit: cwtypes.StandardUnitCount})
	}
	for i := 1; i <= 30; i++ {
		at := now.Add(-time.Duration(i) * time.Minute)
		put("Attempts", 6, at, "Canary", "checkout", "Region", "ap-southeast-2")
		put("Successes", 6, at, "Canary", "checkout", "Region", "ap-southeast-2")
		put("AgentHeartbeat", 1, at, "Agent", "lambda-ap-southeast-2", "Region", "ap-southeast-2")
		if i >= 6 {
			put("Attempts", 6, at, "Canary", "checkout", "Region", "eu-west-1")
			put("Successes", 6, at, "Canary", "checkout", "Region", "eu-west-1")
			put("AgentHeartbeat", 1, at, "Agent", "lambda-eu-west-1", "Region", "eu-west-1")
		}
	}
	if _, err := cw.Client().PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data}); err != nil {
		t.Fatal(err)
	}

	rt := lambdatest.NewT(t)
	cfgPath := writeFile(t, "nines.yaml", `canaries:
  - name: checkout
    steps:
      - http: { url: "https://shop.example.com/" }
slos:
  - name: checkout-availability
    sli: { kind: availability, canary: checkout }
    objective: 99.9
deploy:
  monitoring_region: us-east-1
  agent_regions: [eu-west-1, ap-southeast-2]
  code_bucket_prefix: ops-artifacts
`)
	f.start(t, rt, cfgPath)
	o := awaitOutcome(t, rt.Invoke(lambdatest.ScheduledEvent(now, nil), time.Minute))
	if o.Failed {
		t.Fatalf("the invocation failed: %s", o.Body)
	}
	msgs := snsFake.Messages()
	if len(msgs) != 1 {
		var subjects []string
		for _, m := range msgs {
			subjects = append(subjects, m.Subject)
		}
		t.Fatalf("SNS messages %q, want one: the eu-west-1 agent's no-data page", subjects)
	}
	if s := msgs[0].Subject; !strings.HasPrefix(s, "ALARM: ") || !strings.Contains(s, "agent/lambda-eu-west-1") {
		t.Errorf("subject %q, want an ALARM for agent/lambda-eu-west-1", s)
	}
	if !strings.Contains(msgs[0].Body, "AgentHeartbeat") {
		t.Errorf("the message does not say which metric stopped: %s", msgs[0].Body)
	}
}

// A canary without an SLO still pages: the Lambda evaluator, with no SLO
// to evaluate, counts catalog's runs in each agent region over CloudWatch
// and pages once every run in eu-west-1 has failed for minutes, with the
// last failure the agent wrote to the state table.
func TestLambdaEvaluatorPagesForACanaryWithoutAnSLO(t *testing.T) {
	ctx := context.Background()
	f := newEvaluatorFakes(t)
	cw, snsFake := f.cw, f.sns
	now := time.Now().UTC().Truncate(time.Minute)
	if err := f.store.RecordFailure(ctx, alerting.Failure{Canary: "catalog", Region: "eu-west-1", At: now.Add(-90 * time.Second),
		Class: "timeout", Error: `step "list": no answer within 10s`}); err != nil {
		t.Fatal(err)
	}
	var data []cwtypes.MetricDatum
	for i := 1; i <= 10; i++ {
		at := now.Add(-time.Duration(i) * time.Minute)
		for region, ok := range map[string]float64{"eu-west-1": 0, "ap-southeast-2": 6} {
			dims := []cwtypes.Dimension{{Name: aws.String("Canary"), Value: aws.String("catalog")}, {Name: aws.String("Region"), Value: aws.String(region)}}
			data = append(data,
				cwtypes.MetricDatum{MetricName: aws.String("Attempts"), Dimensions: dims, Timestamp: aws.Time(at), Value: aws.Float64(6), Unit: cwtypes.StandardUnitCount},
				cwtypes.MetricDatum{MetricName: aws.String("Successes"), Dimensions: dims, Timestamp: aws.Time(at), Value: aws.Float64(ok), Unit: cwtypes.StandardUnitCount})
		}
	}
	if _, err := cw.Client().PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	rt := lambdatest.NewT(t)
	cfgPath := writeFile(t, "nines.yaml", `canaries:
  - name: catalog
    every: 10s
    steps:
      - http: { url: "https://shop.example.com/catalog" }
deploy:
  monitoring_region: us-east-1
  agent_regions: [eu-west-1, ap-southeast-2]
  code_bucket_prefix: ops-artifacts
`)
	f.start(t, rt, cfgPath)
	o := awaitOutcome(t, rt.Invoke(lambdatest.ScheduledEvent(now, nil), time.Minute))
	if o.Failed {
		t.Fatalf("the invocation failed: %s", o.Body)
	}
	msgs := snsFake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d SNS messages, want one: catalog's failure page", len(msgs))
	}
	if s := msgs[0].Subject; s != `ALARM: "nines/failures/catalog/page" in US East (N. Virginia)` {
		t.Errorf("subject %q, want an ALARM for failures/catalog", s)
	}
	for _, want := range []string{"failed in 1 of 2 regions: ap-southeast-2 0 of 6 failed, eu-west-1 6 of 6 failed", `"rule":"canary_failures"`, `no answer within 10s`, `"region":"eu-west-1"`} {
		if !strings.Contains(msgs[0].Body, want) {
			t.Errorf("the page lacks %s: %s", want, msgs[0].Body)
		}
	}
}
