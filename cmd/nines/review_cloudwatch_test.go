package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/dashboards"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/metrics"
)

// The review of a Lambda deployment: last week's runs from two regions
// went to CloudWatch through the real sink, and an incident to the state
// table through the DynamoDB store. nines review reads both back over the
// SDK, with no local store, and says that failure classes are not there.
func TestReviewReadsCloudWatchAndTheStateTable(t *testing.T) {
	ctx := context.Background()
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{})
	ddb := awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDNINESFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "nines-fake-secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", cw.URL())
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.URL())

	// The last complete week, which CloudWatch still takes data for.
	week := dashboards.ISOWeekOf(time.Now().AddDate(0, 0, -7))
	start, err := dashboards.ParseISOWeek(week, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := metrics.NewCloudWatch(ctx, metrics.CloudWatchConfig{Client: cw.Client()})
	if err != nil {
		t.Fatal(err)
	}
	for _, region := range []struct {
		name string
		ms   time.Duration
	}{{"eu-west-1", 40}, {"ap-southeast-2", 250}} {
		rec, err := metrics.NewRecorder(metrics.RecorderConfig{Region: region.name, Period: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 7*24*60; i++ {
			res := canary.Result{Canary: "checkout-api", Scheduled: start.Add(time.Duration(i) * time.Minute), OK: true, Duration: region.ms * time.Millisecond}
			if region.name == "eu-west-1" && i >= 3000 && i < 3010 {
				res = canary.Result{Canary: "checkout-api", Scheduled: res.Scheduled, Failure: canary.FailHTTPStatus}
			}
			rec.Observe(res)
		}
		if err := sink.Publish(ctx, metrics.Batch{Aggregates: rec.FlushAll()}); err != nil {
			t.Fatal(err)
		}
	}
	store, err := alerting.NewDynamoDBStore(ddb.Client(), "nines-state")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateTable(ctx, awsfake.ShortTableWait); err != nil {
		t.Fatal(err)
	}
	fired := start.Add(3000*time.Minute + 2*time.Minute)
	a := &alerting.Alert{Key: alerting.Key{Subject: "checkout-availability", Severity: alerting.Page}, Status: alerting.Firing,
		FiredAt: fired, Last: alerting.Details{Tier: "page_fast"}}
	if err := store.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.Status, a.ResolvedAt = alerting.Resolved, fired.Add(20*time.Minute)
	if err := store.Save(ctx, a); err != nil {
		t.Fatal(err)
	}

	p := writeConfig(t, `
canaries:
  - name: checkout-api
    steps:
      - http: { url: "https://shop.example.com/health" }
slos:
  - name: checkout-availability
    sli: { kind: availability, canary: checkout-api }
    objective: 99.9
    window: 7d
deploy:
  monitoring_region: us-east-1
  agent_regions: [eu-west-1, ap-southeast-2]
  code_bucket_prefix: ops-artifacts
store: { path: "`+filepath.Join(t.TempDir(), "absent.db")+`" }
`)
	code, out, errOut := run(t, ctx, "review", "-c", p, "--week", week, "--format", "json", "--state-table", "nines-state")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rv struct {
		SLOs []struct {
			Availability float64 `json:"availability"`
			Total        float64 `json:"total"`
		} `json:"slos"`
		Alerts []struct {
			SLO      string `json:"slo"`
			Severity string `json:"severity"`
			Tier     string `json:"tier"`
		} `json:"alerts"`
		Latency []struct {
			Region string  `json:"region"`
			P999Ms float64 `json:"p99_9_ms"`
		} `json:"latency"`
		Unavailable map[string]string `json:"unavailable"`
	}
	if err := json.Unmarshal([]byte(out), &rv); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	runs := float64(2 * 7 * 24 * 60)
	if len(rv.SLOs) != 1 || rv.SLOs[0].Total != runs || rv.SLOs[0].Availability != (runs-10)/runs {
		t.Errorf("SLOs %+v, want %v runs of which 10 failed", rv.SLOs, runs)
	}
	if len(rv.Alerts) != 1 || rv.Alerts[0].SLO != "checkout-availability" || rv.Alerts[0].Severity != "page" || rv.Alerts[0].Tier != "page_fast" {
		t.Errorf("alerts %+v, want the page from the state table", rv.Alerts)
	}
	got := map[string]float64{}
	for _, l := range rv.Latency {
		got[l.Region] = l.P999Ms
	}
	if len(got) != 2 || got["eu-west-1"] < 39 || got["eu-west-1"] > 41 || got["ap-southeast-2"] < 249 || got["ap-southeast-2"] > 251 {
		t.Errorf("p99.9 by region %v, want about 40 ms in eu-west-1 and 250 ms in ap-southeast-2", got)
	}
	if rv.Unavailable["failures"] == "" || rv.Unavailable["alerts"] != "" {
		t.Errorf("unavailable %v, want failures only", rv.Unavailable)
	}
	if why := rv.Unavailable["certificates"]; !strings.Contains(why, "CloudWatch holds no certificates") {
		t.Errorf("the certificates section over CloudWatch says %q, want why it is unavailable", why)
	}

	// Without the table the alert section says how to get it.
	code, out, errOut = run(t, ctx, "review", "-c", p, "--week", week, "--format", "md")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Not available: pass --state-table", "Not available: CloudWatch holds no failure classes"} {
		if !strings.Contains(out, want) {
			t.Errorf("the Markdown review lacks %q:\n%s", want, out)
		}
	}
}
