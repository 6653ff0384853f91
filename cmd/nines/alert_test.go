package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/slack/slackfake"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

func writeAlertConfig(t *testing.T, sns *awsfake.SNS, sl *slackfake.Server) string {
	t.Helper()
	src := `canaries:
  - name: checkout
    steps:
      - http: { url: "https://shop.example.com/health" }
alerting:
  links: { runbook: "https://wiki.example.com/nines" }
  receivers:
    - name: pager
      sns: { topic_arn: "` + sns.TopicARN("pages") + `", endpoint: "` + sns.URL() + `" }
    - name: chat
      slack: { token: "${env:SLACK_TOKEN}", channel: C0ALERTS, api_url: "` + sl.APIURL() + `" }
    - name: console
      log: {}
`
	path := filepath.Join(t.TempDir(), "nines.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func setAWSTestEnv(t *testing.T) {
	t.Setenv("SLACK_TOKEN", slackfake.Token)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDNINESFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "nines-fake-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

func TestAlertTestSendsAMarkedNotificationThroughEachReceiver(t *testing.T) {
	setAWSTestEnv(t)
	sns := awsfake.NewSNST(t, awsfake.SNSConfig{Topics: []string{"pages"}})
	sl := slackfake.New(t)
	path := writeAlertConfig(t, sns, sl)
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"alert", "test", "-c", path}, nil, &out, &errOut); err != nil {
		t.Fatalf("alert test: %v\n%s%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"pager: delivered", "chat: delivered", "console: delivered", "TEST nines-test page"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	msgs := sns.Messages()
	// The subject is CloudWatch's, which names only the alarm: the test's
	// own key; the description and the nines object mark it.
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, `ALARM: "nines/nines-test/page" in `) ||
		!strings.Contains(msgs[0].Body, `"AlarmDescription":"[TEST] `) || !strings.Contains(msgs[0].Body, `"test":true`) {
		t.Errorf("sns messages %+v, want one marked [TEST]", msgs)
	}
	posts := sl.Posts()
	if len(posts) != 1 || !strings.Contains(posts[0].Text, "[TEST]") || posts[0].Attachments[0].Color != "#439fe0" {
		t.Errorf("slack posts %+v, want one marked [TEST] in blue", posts)
	}
}

func TestAlertTestToOneReceiver(t *testing.T) {
	setAWSTestEnv(t)
	sns := awsfake.NewSNST(t, awsfake.SNSConfig{Topics: []string{"pages"}})
	sl := slackfake.New(t)
	path := writeAlertConfig(t, sns, sl)
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"alert", "test", "-c", path, "--receiver", "chat"}, nil, &out, &errOut); err != nil {
		t.Fatalf("alert test: %v\n%s", err, errOut.String())
	}
	if len(sns.Messages()) != 0 || len(sl.Posts()) != 1 {
		t.Errorf("sns %d, slack %d, want only slack", len(sns.Messages()), len(sl.Posts()))
	}
	err := Run(context.Background(), []string{"alert", "test", "-c", path, "--receiver", "pagr"}, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "pager, chat, console") {
		t.Errorf("an unknown receiver gave %v, want a usage error listing the receivers", err)
	}
}

func TestAlertTestFailsWhenAReceiverRefuses(t *testing.T) {
	setAWSTestEnv(t)
	sns := awsfake.NewSNST(t, awsfake.SNSConfig{Topics: []string{"pages"}})
	sl := slackfake.New(t)
	sl.Fail(1, 403, 0)
	path := writeAlertConfig(t, sns, sl)
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"alert", "test", "-c", path}, nil, &out, &errOut)
	if err == nil || !strings.Contains(out.String(), "chat: FAILED (http_4xx)") || !strings.Contains(out.String(), "pager: delivered") {
		t.Errorf("err %v, output:\n%s\nwant chat failed and pager delivered", err, out.String())
	}
	if strings.Contains(out.String()+errOut.String(), slackfake.Token) {
		t.Error("the output shows the Slack token")
	}
}

func TestTheEvaluatorWiringAlertsThroughTheLogReceiver(t *testing.T) {
	src := `canaries:
  - name: checkout
    every: 10s
    steps:
      - http: { url: "https://shop.example.com/health" }
slos:
  - name: checkout-availability
    sli: { kind: availability, canary: checkout }
    objective: 99.9
`
	path := filepath.Join(t.TempDir(), "nines.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	// A month of one good run a minute, then five failed minutes.
	tr := slo.Trace{Start: start.Add(-30 * 24 * time.Hour), Step: time.Minute}
	for at := tr.Start; at.Before(start.Add(5 * time.Minute)); at = at.Add(time.Minute) {
		good := 1.0
		if !at.Before(start) {
			good = 0
		}
		tr.Good, tr.Total = append(tr.Good, good), append(tr.Total, 1)
	}
	ms := slo.NewMemorySource()
	if err := ms.Add(cfg.SLOs[0].SLI, tr); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	svc, closeFn, err := newEvaluator(context.Background(), cfg, evaluatorDeps{
		Source: ms, StatePath: filepath.Join(t.TempDir(), "nines.db"), Clock: clk, Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	clk.Set(start.Add(5 * time.Minute))
	if err := svc.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ALARM checkout-availability page (") {
		t.Errorf("the log receiver wrote:\n%s\nwant a page for checkout-availability", out.String())
	}
	if !strings.Contains(out.String(), "% (burning) burn ") {
		t.Errorf("the log receiver wrote:\n%s\nwant the budget state beside the budget", out.String())
	}
}

// The agent's /metrics shows both states of every SLO from its alerting
// service's latest round: a canary failing every run reads page and
// exhausted, never fine.
func TestTheAgentsMetricsShowTheAlertingServicesLatestRound(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, `
server: { listen: off }
store: { path: `+filepath.Join(dir, "agent.db")+` }
canaries:
  - name: checkout
    every: 1m
    steps:
      - http: { url: "https://shop.example.com/health" }
slos:
  - name: checkout-availability
    sli: { kind: availability, canary: checkout }
    objective: 99.5
`)
	cfg, err := config.Load(p, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	a, err := newAgent(ctx, cfg, agentDeps{env: &env{stdout: io.Discard, stderr: io.Discard, lookupEnv: os.LookupEnv}, clock: clk, print: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.pipeline.Close(ctx)
	// A day of one failed run a minute.
	tr := slo.Trace{Start: start.Add(-24 * time.Hour), Step: time.Minute}
	for range 24 * 60 {
		tr.Good, tr.Total = append(tr.Good, 0), append(tr.Total, 1)
	}
	ms := slo.NewMemorySource()
	if err := ms.Add(cfg.SLOs[0].SLI, tr); err != nil {
		t.Fatal(err)
	}
	deps := a.evaluatorDeps(ms)
	deps.StatePath = filepath.Join(dir, "state.db")
	svc, closeFn, err := newEvaluator(ctx, cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	srv := httptest.NewServer(a.prom)
	defer srv.Close()
	if _, body := get(t, srv.URL+"/metrics"); strings.Contains(body, "nines_slo_") {
		t.Errorf("SLO series before the first evaluation:\n%s", body)
	}
	if err := svc.Once(ctx); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`nines_slo_alert_state{slo="checkout-availability",state="page"} 1`,
		`nines_slo_alert_state{slo="checkout-availability",state="none"} 0`,
		`nines_slo_budget_state{slo="checkout-availability",state="exhausted"} 1`,
		`nines_slo_budget_state{slo="checkout-availability",state="healthy"} 0`,
		`nines_slo_tier_firing{slo="checkout-availability",tier="page_fast",status="firing"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	if !regexp.MustCompile(`\nnines_slo_budget_remaining\{slo="checkout-availability"\} -(199|198\.9+\d*)\n`).MatchString(body) {
		t.Errorf("/metrics lacks the budget remaining, -199 (-19900%%):\n%s", body)
	}
}

// What was seen: a healthy canary every 2 minutes under 10-second periods
// was called silent between every two runs (a 50-second span), and its
// no_data alert flapped. A switch's span holds at least two runs and a
// period.
func TestACanarysSwitchSpansTwoOfItsRuns(t *testing.T) {
	for _, tc := range []struct {
		every, period time.Duration
		periods       int
		want          time.Duration
	}{
		{10 * time.Second, time.Minute, 5, 5 * time.Minute},       // the default span holds 30 runs
		{2 * time.Minute, 10 * time.Second, 5, 250 * time.Second}, // 2 runs and a period
		{5 * time.Minute, time.Minute, 5, 11 * time.Minute},       // a 5-minute canary: 2 runs and a minute
		{15 * time.Minute, time.Minute, 5, 31 * time.Minute},      // a 15-minute canary
		{time.Minute, time.Minute, 10, 10 * time.Minute},          // no_data_periods above the floor stays
		{90 * time.Second, time.Minute, 1, 4 * time.Minute},       // 180s + 60s, rounded up to whole periods
	} {
		w := canaryWatch("c", tc.every, tc.period, tc.periods)
		if w.Span() != tc.want {
			t.Errorf("every %s, period %s, %d periods: span %s, want %s", tc.every, tc.period, tc.periods, w.Span(), tc.want)
		}
	}
}

// What was seen: a threshold SLO (one CloudWatch statistic per period)
// got no dead-man's switch, so a metric that stopped being published left
// it at no_data, unalerted, for good. Now its switch counts the slices
// with a datapoint. Hand trace, the default 5 periods of its 1-minute
// slice: a p99 in each of minutes 0-19 and from 35 on, over the bound
// in every odd minute (a bad slice is still data); at the end of
// minute 24 the slices 20-24 are empty and 15-19 were not, so no_data
// fires; at the end of minute 35 its slice has data, so it resolves.
func TestTheEvaluatorWatchesAThresholdSLOsMetric(t *testing.T) {
	cfg, err := config.Load(writeConfig(t, `canaries:
  - name: shop
    steps:
      - http: { url: "https://shop.example.com/health" }
alerting: { receivers: [{ log: {} }] }
`), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	alb := slo.SLO{Name: "alb-p99",
		SLI: slo.SLI{Kind: slo.SLIThreshold, Op: "lt", Bound: 0.3, Metric: &slo.Metric{Namespace: "Shop/ApplicationELB", Name: "TargetResponseTime",
			Dimensions: map[string]string{"LoadBalancer": "app/shop/1"}, Statistic: "p99"}},
		Objective: 0.99, Window: slo.RollingWindow(7 * 24 * time.Hour), Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: time.Minute, SliceThreshold: 1}}
	if err := alb.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.SLOs = append(cfg.SLOs, alb)
	ctx := context.Background()
	start := time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: cw.Client(), Regions: []string{"eu-west-1"}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	svc, closeFn, err := newEvaluator(ctx, cfg, evaluatorDeps{Source: src, StatePath: filepath.Join(t.TempDir(), "nines.db"), Clock: clk, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	firedAt, resolvedAt := -1, -1
	for k := 0; k < 40; k++ {
		at := start.Add(time.Duration(k) * time.Minute)
		if k < 20 || k >= 35 {
			_, err := cw.Client().PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop/ApplicationELB"),
				MetricData: []types.MetricDatum{{MetricName: aws.String("TargetResponseTime"), Value: aws.Float64(0.1 + 0.4*float64(k%2)), Timestamp: aws.Time(at.Add(10 * time.Second)),
					Dimensions: []types.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/shop/1")}}}}})
			if err != nil {
				t.Fatal(err)
			}
		}
		clk.Set(at.Add(time.Minute))
		if err := svc.Once(ctx); err != nil {
			t.Fatalf("minute %d: %v", k, err)
		}
		for _, a := range svc.Alerts() {
			if a.Key == (alerting.Key{Subject: "alb-p99", Severity: alerting.NoData}) {
				if a.Status == alerting.Firing && firedAt < 0 {
					firedAt = k
				}
				if a.Status == alerting.Resolved && resolvedAt < 0 {
					resolvedAt = k
				}
			}
		}
	}
	if firedAt != 24 || resolvedAt != 35 {
		t.Errorf("no_data fired after minute %d and resolved after minute %d, want 24 and 35; the log receiver wrote:\n%s", firedAt, resolvedAt, out.String())
	}
	if !strings.Contains(out.String(), "no Shop/ApplicationELB/TargetResponseTime{LoadBalancer=app/shop/1}:p99 for alb-p99 in the last 5 periods") {
		t.Errorf("the log receiver wrote:\n%s\nwant the metric that stopped named", out.String())
	}
}
