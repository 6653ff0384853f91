// Package sns is the ALARM phase's Amazon SNS notifier. It publishes each
// notification to a topic in the shape of a CloudWatch alarm notification,
// so the PagerDuty and Opsgenie CloudWatch integrations subscribed to the
// topic open and resolve incidents unchanged, and adds a "nines" object
// with the structured details.
package sns

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/slo"
)

// SNS's limits.
const (
	// MaxSubject is the first subject length SNS refuses.
	MaxSubject = 100
	// MaxMessage bounds the body and the attributes together.
	MaxMessage = 256 * 1024
)

// API is the part of the SNS client the notifier uses.
type API interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Config configures a Notifier.
type Config struct {
	// Client and TopicARN are required. Give the client no retries of its
	// own (RetryMaxAttempts 1): the pipeline retries.
	Client   API
	TopicARN string
	// Namespace is the metric namespace the Trigger names; "Nines" by
	// default.
	Namespace string
}

// Notifier publishes notifications to one topic.
type Notifier struct {
	cfg       Config
	partition string
	region    string
	account   string
}

// New returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	if cfg.Client == nil {
		return nil, errors.New("sns: a client is required")
	}
	parts := strings.Split(cfg.TopicARN, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sns" {
		return nil, errors.New("sns: topic_arn must look like arn:aws:sns:REGION:ACCOUNT:NAME")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "Nines"
	}
	return &Notifier{cfg: cfg, partition: parts[1], region: parts[3], account: parts[4]}, nil
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, d alerting.Delivery) (string, error) {
	body, err := n.Message(d.Notification)
	if err != nil {
		return "", alerting.Classified(err)
	}
	_, err = n.cfg.Client.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(n.cfg.TopicARN),
		Subject:           aws.String(n.Subject(d.Notification)),
		Message:           aws.String(string(body)),
		MessageAttributes: Attributes(d.Notification),
	})
	return "", alerting.Classified(err)
}

// Subject is CloudWatch's: `ALARM: "nines/checkout/page" in EU (Ireland)`
// or `OK: ...`, what the PagerDuty integration reads first. It is printable
// ASCII under SNS's 100 characters: a long alarm name is cut, and ends in
// "...", so the state and the region always show.
func (n *Notifier) Subject(no alerting.Notification) string {
	state, _ := states(no.Kind)
	var name strings.Builder
	for _, r := range no.DedupeKey {
		if r < ' ' || r > '~' {
			r = '?'
		}
		name.WriteRune(r)
	}
	head, tail := state+`: "`, `" in `+RegionName(n.region)
	room := MaxSubject - 1 - len(head) - len(tail)
	alarm := name.String()
	if len(alarm) > room {
		alarm = alarm[:max(room-len("..."), 0)] + "..."
	}
	return head + alarm + tail
}

// states are the alarm's new and old state for a notification: nines
// sends ALARM and OK, never INSUFFICIENT_DATA (no data fires as ALARM).
func states(k alerting.Kind) (state, old string) {
	switch k {
	case alerting.KindResolve:
		return "OK", "ALARM"
	case alerting.KindRemind, alerting.KindEscalate:
		return "ALARM", "ALARM"
	}
	return "ALARM", "OK"
}

// Attributes lets subscription filters route by severity and SLO.
func Attributes(n alerting.Notification) map[string]types.MessageAttributeValue {
	s := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return map[string]types.MessageAttributeValue{
		"severity": s(string(n.Key.Severity)),
		"slo":      s(n.Key.Subject),
		"kind":     s(string(n.Kind)),
	}
}

// alarm is a CloudWatch alarm notification, field for field and in
// CloudWatch's order (testdata/cloudwatch-alarm-notification.json), as
// aws-lambda-go's events.CloudWatchAlarmSNSPayload reads it, plus nines'
// details in "nines".
type alarm struct {
	AlarmName        string `json:"AlarmName"`
	AlarmDescription string `json:"AlarmDescription"`
	AWSAccountID     string `json:"AWSAccountId"`
	// ConfigurationUpdated stands in with the time the incident fired:
	// nines' alert rules have no update time of their own.
	ConfigurationUpdated    string   `json:"AlarmConfigurationUpdatedTimestamp"`
	NewStateValue           string   `json:"NewStateValue"`
	NewStateReason          string   `json:"NewStateReason"`
	StateChangeTime         string   `json:"StateChangeTime"`
	Region                  string   `json:"Region"`
	AlarmARN                string   `json:"AlarmArn"`
	OldStateValue           string   `json:"OldStateValue"`
	OKActions               []string `json:"OKActions"`
	AlarmActions            []string `json:"AlarmActions"`
	InsufficientDataActions []string `json:"InsufficientDataActions"`
	Trigger                 trigger  `json:"Trigger"`
	Nines                   details  `json:"nines"`
}

type trigger struct {
	MetricName         string      `json:"MetricName"`
	Namespace          string      `json:"Namespace"`
	StatisticType      string      `json:"StatisticType"`
	Statistic          string      `json:"Statistic"`
	Unit               string      `json:"Unit"`
	Dimensions         []dimension `json:"Dimensions"`
	Period             int64       `json:"Period"`
	EvaluationPeriods  int64       `json:"EvaluationPeriods"`
	ComparisonOperator string      `json:"ComparisonOperator"`
	Threshold          float64     `json:"Threshold"`
	TreatMissingData   string      `json:"TreatMissingData"`
	// EvaluateLowSampleCountPercentile is "" as CloudWatch sends it for
	// an alarm on a statistic that is not a percentile.
	EvaluateLowSampleCountPercentile string `json:"EvaluateLowSampleCountPercentile"`
}

// dimension is written value first, as CloudWatch writes it.
type dimension struct {
	Value string `json:"value"`
	Name  string `json:"name"`
}

// cloudWatchTime is CloudWatch's timestamp form in notifications:
// 2025-03-02T12:01:00.000+0000.
const cloudWatchTime = "2006-01-02T15:04:05.000-0700"

type details struct {
	alerting.Summary
	Truncated bool `json:"truncated,omitempty"`
}

// Message is the JSON body of the notification, kept within SNS's 256 KiB
// (less the attributes): if it would not fit, the burn-rate table and then
// the reason and the last failure's error are cut, and "truncated" says
// so. The last failure's first artifacts stay: they are what the reader
// opens first.
func (n *Notifier) Message(no alerting.Notification) ([]byte, error) {
	state, old := states(no.Kind)
	period := int64(60)
	if d, err := slo.ParseDuration(no.Details.LongWindow); err == nil {
		period = int64(d / time.Second)
	}
	// The topic is where the alarm goes on ALARM and on OK; nines sends
	// no INSUFFICIENT_DATA.
	topic := []string{n.cfg.TopicARN}
	a := alarm{
		AlarmName: no.DedupeKey, AlarmDescription: no.Title(), AWSAccountID: n.account,
		ConfigurationUpdated: no.FiredAt.UTC().Format(cloudWatchTime),
		NewStateValue:        state, NewStateReason: no.Details.Reason,
		StateChangeTime: no.At.UTC().Format(cloudWatchTime),
		Region:          RegionName(n.region),
		AlarmARN:        "arn:" + n.partition + ":cloudwatch:" + n.region + ":" + n.account + ":alarm:" + no.DedupeKey,
		OldStateValue:   old,
		OKActions:       topic, AlarmActions: topic, InsufficientDataActions: []string{},
		Trigger: trigger{
			MetricName: "BurnRate", Namespace: n.cfg.Namespace, StatisticType: "Statistic", Statistic: "MAXIMUM", Unit: "None",
			Dimensions: []dimension{{Name: "SLO", Value: no.Key.Subject}, {Name: "Severity", Value: string(no.Key.Severity)}},
			Period:     period, EvaluationPeriods: 1, ComparisonOperator: "GreaterThanThreshold",
			Threshold: no.Details.Threshold, TreatMissingData: "notBreaching",
		},
		Nines: details{Summary: alerting.SummaryOf(no)},
	}
	switch {
	case no.Key.Severity == alerting.NoData:
		a.Trigger.MetricName, a.Trigger.Statistic, a.Trigger.Unit = "SampleCount", "SAMPLE_COUNT", "Count"
		a.Trigger.ComparisonOperator, a.Trigger.TreatMissingData = "LessThanOrEqualToThreshold", "breaching"
	case no.Details.Rule == alerting.RuleCanaryFailures:
		// Successes summed over the rule's span: it fires at none.
		a.Trigger.MetricName, a.Trigger.Statistic, a.Trigger.Unit = "Successes", "SUM", "Count"
		a.Trigger.ComparisonOperator, a.Trigger.Threshold = "LessThanOrEqualToThreshold", 0
	}
	limit := MaxMessage - attributesSize(Attributes(no))
	body, err := json.Marshal(a)
	if err != nil || len(body) <= limit {
		return body, err
	}
	a.Nines.Truncated = true
	a.Nines.Details.BurnRates = nil
	a.Nines.Links = nil
	for _, max := range []int{4096, 256} {
		a.NewStateReason = truncate(no.Details.Reason, max)
		a.Nines.Details.Reason = a.NewStateReason
		a.AlarmDescription = truncate(no.Title(), max)
		if f := no.Details.LastFailure; f != nil {
			a.Nines.Details.LastFailure = cutFailure(*f, max)
		}
		if body, err = json.Marshal(a); err != nil || len(body) <= limit {
			return body, err
		}
	}
	return nil, errors.New("sns: the message does not fit in 256 KiB even cut down")
}

// maxArtifacts is how many of a failure's artifacts a cut message keeps.
const maxArtifacts = 10

// cutFailure cuts a failure's error and each artifact to max bytes and
// keeps its first artifacts.
func cutFailure(f alerting.Failure, max int) *alerting.Failure {
	f.Error = truncate(f.Error, max)
	arts := f.Artifacts
	if len(arts) > maxArtifacts {
		arts = arts[:maxArtifacts]
	}
	f.Artifacts = make([]string, len(arts))
	for i, a := range arts {
		f.Artifacts[i] = truncate(a, max)
	}
	return &f
}

func attributesSize(attrs map[string]types.MessageAttributeValue) int {
	n := 0
	for k, v := range attrs {
		n += len(k) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

// truncate cuts s to at most max bytes on a rune boundary, marking the cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
