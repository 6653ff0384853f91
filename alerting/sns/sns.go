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
	cfg     Config
	region  string
	account string
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
	return &Notifier{cfg: cfg, region: parts[3], account: parts[4]}, nil
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, d alerting.Delivery) (string, error) {
	body, err := n.Message(d.Notification)
	if err != nil {
		return "", alerting.Classified(err)
	}
	_, err = n.cfg.Client.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(n.cfg.TopicARN),
		Subject:           aws.String(Subject(d.Notification)),
		Message:           aws.String(string(body)),
		MessageAttributes: Attributes(d.Notification),
	})
	return "", alerting.Classified(err)
}

// Subject is "ALARM: ..." or "OK: ...", printable ASCII, under 100
// characters: what the PagerDuty integration reads first.
func Subject(n alerting.Notification) string {
	word := "ALARM: "
	if n.Kind == alerting.KindResolve {
		word = "OK: "
	}
	rest := n.Title()
	if n.HasBudget() && n.Kind != alerting.KindResolve && n.Details.BudgetRemaining != nil {
		rest += ", budget " + n.Details.Budget()
	}
	var b strings.Builder
	b.WriteString(word)
	for _, r := range rest {
		if b.Len() >= MaxSubject-1 {
			break
		}
		if r < ' ' || r > '~' {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
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

// alarm is a CloudWatch alarm notification, as aws-lambda-go's
// events.CloudWatchAlarmSNSPayload reads it, plus nines' details.
type alarm struct {
	AlarmName        string  `json:"AlarmName"`
	AlarmDescription string  `json:"AlarmDescription"`
	AWSAccountID     string  `json:"AWSAccountId"`
	NewStateValue    string  `json:"NewStateValue"`
	NewStateReason   string  `json:"NewStateReason"`
	StateChangeTime  string  `json:"StateChangeTime"`
	Region           string  `json:"Region"`
	OldStateValue    string  `json:"OldStateValue"`
	Trigger          trigger `json:"Trigger"`
	Nines            details `json:"nines"`
}

type trigger struct {
	MetricName         string      `json:"MetricName"`
	Namespace          string      `json:"Namespace"`
	StatisticType      string      `json:"StatisticType"`
	Statistic          string      `json:"Statistic"`
	Unit               *string     `json:"Unit"`
	Dimensions         []dimension `json:"Dimensions"`
	Period             int64       `json:"Period"`
	EvaluationPeriods  int64       `json:"EvaluationPeriods"`
	ComparisonOperator string      `json:"ComparisonOperator"`
	Threshold          float64     `json:"Threshold"`
	TreatMissingData   string      `json:"TreatMissingData"`
}

type dimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type details struct {
	DedupeKey string            `json:"dedupe_key"`
	Incident  string            `json:"incident"`
	ID        string            `json:"id"`
	Kind      alerting.Kind     `json:"kind"`
	Subject   string            `json:"slo"`
	Severity  alerting.Severity `json:"severity"`
	FiredAt   time.Time         `json:"fired_at"`
	Test      bool              `json:"test,omitempty"`
	Details   alerting.Details  `json:"details"`
	Links     []alerting.Link   `json:"links,omitempty"`
	Truncated bool              `json:"truncated,omitempty"`
}

// Message is the JSON body of the notification, kept within SNS's 256 KiB
// (less the attributes): if it would not fit, the burn-rate table and then
// the reason and the last failure's error are cut, and "truncated" says
// so. The last failure's first artifacts stay: they are what the reader
// opens first.
func (n *Notifier) Message(no alerting.Notification) ([]byte, error) {
	state, old := "ALARM", "OK"
	switch no.Kind {
	case alerting.KindResolve:
		state, old = "OK", "ALARM"
	case alerting.KindRemind, alerting.KindEscalate:
		old = "ALARM"
	}
	period := int64(60)
	if d, err := slo.ParseDuration(no.Details.LongWindow); err == nil {
		period = int64(d / time.Second)
	}
	a := alarm{
		AlarmName: no.DedupeKey, AlarmDescription: no.Title(), AWSAccountID: n.account,
		NewStateValue: state, NewStateReason: no.Details.Reason,
		StateChangeTime: no.At.UTC().Format("2006-01-02T15:04:05.000+0000"),
		Region:          n.region, OldStateValue: old,
		Trigger: trigger{
			MetricName: "BurnRate", Namespace: n.cfg.Namespace, StatisticType: "Statistic", Statistic: "MAXIMUM",
			Dimensions: []dimension{{Name: "SLO", Value: no.Key.Subject}, {Name: "Severity", Value: string(no.Key.Severity)}},
			Period:     period, EvaluationPeriods: 1, ComparisonOperator: "GreaterThanThreshold",
			Threshold: no.Details.Threshold, TreatMissingData: "notBreaching",
		},
		Nines: details{
			DedupeKey: no.DedupeKey, Incident: no.Incident, ID: no.ID, Kind: no.Kind, Subject: no.Key.Subject,
			Severity: no.Key.Severity, FiredAt: no.FiredAt.UTC(), Test: no.Kind == alerting.KindTest,
			Details: no.Details, Links: no.Links,
		},
	}
	switch {
	case no.Key.Severity == alerting.NoData:
		a.Trigger.MetricName, a.Trigger.Statistic = "SampleCount", "SAMPLE_COUNT"
		a.Trigger.ComparisonOperator, a.Trigger.TreatMissingData = "LessThanOrEqualToThreshold", "breaching"
	case no.Details.Rule == alerting.RuleCanaryFailures:
		// Successes summed over the rule's span: it fires at none.
		a.Trigger.MetricName, a.Trigger.Statistic = "Successes", "SUM"
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
