package alerting_test

import (
	"sort"
	"testing"
	"time"

	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/slack"
	"github.com/nines-dev/nines/alerting/slack/slackfake"
	alertsns "github.com/nines-dev/nines/alerting/sns"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/slo"
)

// BenchmarkDecisionToDelivery measures, on the wall clock, the time from
// a decision that changes an alert to its notification being accepted by
// the Slack fake and by the SNS fake: the machine's step, route, inhibit,
// dedupe, fan-out, the notifier's request over loopback HTTP and the
// fake's answer. Each iteration alternates fire and resolve, so every one
// sends a new notification to both receivers.
func BenchmarkDecisionToDelivery(b *testing.B) {
	sl := slackfake.New(b)
	sn := awsfake.NewSNST(b, awsfake.SNSConfig{Topics: []string{"pages"}})
	sln, _ := slack.New(slack.Config{Token: slackfake.Token, Channel: "C0ALERTS", APIURL: sl.APIURL()})
	snn, _ := alertsns.New(alertsns.Config{Client: sn.Client(func(o *awssns.Options) { o.RetryMaxAttempts = 1 }), TopicARN: sn.TopicARN("pages")})
	results := make(chan alerting.Result, 2)
	p, err := alerting.NewPipeline(alerting.PipelineConfig{
		Receivers: []alerting.Receiver{{Name: "slack", Notifier: sln}, {Name: "sns", Notifier: snn}},
		OnResult:  func(r alerting.Result) { results <- r },
	})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	m, _ := alerting.NewMachine(alerting.MachineConfig{})
	alerts := map[alerting.Key]alerting.Alert{}
	decisions := [2][]slo.Decision{{decision("page")}, {decision("ok")}}
	lat := map[string][]time.Duration{}
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		st := m.Step(alerts, alerting.Input{Decisions: decisions[i%2]}, now.Add(time.Duration(i)*time.Minute))
		alerts = st.Alerts
		p.Send(st.Notifications)
		for range 2 {
			r := <-results
			if !r.Delivered {
				b.Fatalf("%s: %v", r.Receiver, r.Err)
			}
			lat[r.Receiver] = append(lat[r.Receiver], time.Since(start))
		}
	}
	b.StopTimer()
	for name, ds := range lat {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, name+"-p99-ms")
	}
}

// BenchmarkMachineStep measures one step of the state machine over 100
// SLOs that all keep firing: the steady state of a large evaluator.
func BenchmarkMachineStep(b *testing.B) {
	m, _ := alerting.NewMachine(alerting.MachineConfig{Remind: time.Hour})
	var ds []slo.Decision
	for i := range 100 {
		d := decision("page")
		d.SLO = "slo-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		ds = append(ds, d)
	}
	st := m.Step(nil, alerting.Input{Decisions: ds}, t0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Step(st.Alerts, alerting.Input{Decisions: ds}, t0.Add(time.Minute))
	}
}
