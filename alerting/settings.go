package alerting

import (
	"time"
)

// Settings is the alerting: section of the config as domain values; the
// config package builds it, and cmd wires the parts from it.
type Settings struct {
	Receivers []ReceiverSettings
	// Routes sends each severity to receivers by name; a severity without
	// a route goes to every receiver.
	Routes map[Severity][]string
	// Interval is how often the evaluator runs.
	Interval time.Duration
	// Remind and ResolveAfter configure the state machine.
	Remind       time.Duration
	ResolveAfter time.Duration
	// ErrorAfter is how long an SLO may fail to evaluate before its error
	// alert fires.
	ErrorAfter time.Duration
	Links      Links
	// BudgetWarnings maps an SLO to its budget warning thresholds, ratios
	// of remaining budget, highest first.
	BudgetWarnings map[string][]float64
	// NoDataPeriods is how many agent periods may pass without a canary's
	// Attempts (or an agent's heartbeat) before a no_data alert fires; 0
	// turns the dead-man's switches off.
	NoDataPeriods int
	// Agents are the agents whose AgentHeartbeat is watched.
	Agents []string
	// DynamoDBTable, when set, keeps alert state in DynamoDB (for Lambda);
	// otherwise it is kept in a table of its own in the local store's
	// SQLite file.
	DynamoDBTable string
	// Region and Endpoint reach DynamoDB (and CloudWatch for the
	// evaluator's heartbeat); Endpoint stands in for a fake.
	Region   string
	Endpoint string
	// Profile is the shared config profile SNS and DynamoDB are reached
	// with (--profile); empty means AWS_PROFILE, else the default.
	Profile string
}

// ReceiverSettings is one receiver; exactly one of SNS, Slack, Webhook,
// PagerDuty, Teams and Log is set.
type ReceiverSettings struct {
	Name      string
	SNS       *SNSSettings
	Slack     *SlackSettings
	Webhook   *WebhookSettings
	PagerDuty *PagerDutySettings
	Teams     *TeamsSettings
	Log       bool
}

// Kind names the receiver's kind: sns, slack, webhook, pagerduty, teams or
// log.
func (r ReceiverSettings) Kind() string {
	switch {
	case r.SNS != nil:
		return "sns"
	case r.Slack != nil:
		return "slack"
	case r.Webhook != nil:
		return "webhook"
	case r.PagerDuty != nil:
		return "pagerduty"
	case r.Teams != nil:
		return "teams"
	}
	return "log"
}

// WebhookSettings reach a generic webhook. The URL may hold a token; the
// secret and the headers' values come from the environment.
type WebhookSettings struct {
	URL     string
	Secret  string
	Headers map[string]string
}

// PagerDutySettings reach one PagerDuty service through the Events API
// v2. The routing key comes from the environment.
type PagerDutySettings struct {
	RoutingKey string
	// URL replaces the Events API endpoint (the EU region's, or a fake).
	URL string
}

// TeamsSettings reach one Microsoft Teams workflow webhook; its URL holds
// a signature, so it comes from the environment.
type TeamsSettings struct {
	URL string
}

// SNSSettings reach one topic.
type SNSSettings struct {
	TopicARN string
	// Region defaults to the topic ARN's.
	Region   string
	Endpoint string
}

// SlackSettings hold a bot token and a channel, or a webhook URL. Both
// secrets come from the environment and are never printed.
type SlackSettings struct {
	Token      string
	Channel    string
	WebhookURL string
	// APIURL replaces Slack's API base URL, for a fake.
	APIURL string
}

// Defaults of the alerting: section.
const (
	DefaultInterval      = time.Minute
	DefaultNoDataPeriods = 5
	DefaultErrorAfter    = 5 * time.Minute
	// The failure rule of a canary no SLO covers: 3 failed runs in a row
	// in 1 region page.
	DefaultFailureConsecutive = 3
	DefaultFailureRegions     = 1
	DefaultFailureSeverity    = Page
)
