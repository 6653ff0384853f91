package config

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/webhook"
)

// alertingYAML is the alerting: section.
type alertingYAML struct {
	EvaluationInterval *Duration                    `yaml:"evaluation_interval"`
	RemindEvery        *Duration                    `yaml:"remind_every"`
	ResolveAfter       *Duration                    `yaml:"resolve_after"`
	ErrorAfter         *Duration                    `yaml:"error_after"`
	NoDataPeriods      *int                         `yaml:"no_data_periods"`
	CanaryFailures     *failuresYAML                `yaml:"canary_failures"`
	Agents             []string                     `yaml:"agents"`
	State              *alertStateYAML              `yaml:"state"`
	Links              map[string]string            `yaml:"links"`
	SLOLinks           map[string]map[string]string `yaml:"slo_links"`
	BudgetWarnings     map[string][]float64         `yaml:"budget_warnings"`
	Receivers          []receiverYAML               `yaml:"receivers"`
	Routes             map[string][]string          `yaml:"routes"`
}

type alertStateYAML struct {
	DynamoDBTable string `yaml:"dynamodb_table"`
	Region        string `yaml:"region"`
	Endpoint      string `yaml:"endpoint"`
}

type receiverYAML struct {
	Name      string                 `yaml:"name"`
	SNS       *snsReceiverYAML       `yaml:"sns"`
	Slack     *slackReceiverYAML     `yaml:"slack"`
	Webhook   *webhookReceiverYAML   `yaml:"webhook"`
	PagerDuty *pagerDutyReceiverYAML `yaml:"pagerduty"`
	Teams     *teamsReceiverYAML     `yaml:"teams"`
	Log       *struct{}              `yaml:"log"`
}

type webhookReceiverYAML struct {
	URL     string            `yaml:"url"`
	Secret  string            `yaml:"secret"`
	Headers map[string]string `yaml:"headers"`
}

type pagerDutyReceiverYAML struct {
	RoutingKey string `yaml:"routing_key"`
	URL        string `yaml:"url"`
}

type teamsReceiverYAML struct {
	URL string `yaml:"url"`
}

type snsReceiverYAML struct {
	TopicARN string `yaml:"topic_arn"`
	Region   string `yaml:"region"`
	Endpoint string `yaml:"endpoint"`
}

type slackReceiverYAML struct {
	Token      string `yaml:"token"`
	Channel    string `yaml:"channel"`
	WebhookURL string `yaml:"webhook_url"`
	APIURL     string `yaml:"api_url"`
}

var (
	topicARNRe = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)
	envRefRe   = regexp.MustCompile(`^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$`)
)

// alerting maps the alerting: section; it runs after slos so that links
// can name SLOs. Without the section, Config.Alerting is nil and cmd falls
// back to a log receiver.
func (m *mapper) alerting(y *alertingYAML, c *Config) {
	if y == nil {
		return
	}
	s := &alerting.Settings{
		Interval:      time.Duration(orDefault(y.EvaluationInterval, Duration(alerting.DefaultInterval))),
		Remind:        time.Duration(orDefault(y.RemindEvery, 0)),
		ResolveAfter:  time.Duration(orDefault(y.ResolveAfter, 0)),
		ErrorAfter:    time.Duration(orDefault(y.ErrorAfter, Duration(alerting.DefaultErrorAfter))),
		NoDataPeriods: orDefault(y.NoDataPeriods, alerting.DefaultNoDataPeriods),
		Agents:        y.Agents,
	}
	if s.Interval < 10*time.Second || s.Interval%time.Second != 0 {
		m.d.errorAt("alerting.evaluation_interval", "%s: must be whole seconds, at least 10s", s.Interval)
	}
	if s.Remind != 0 && s.Remind < s.Interval {
		m.d.errorAt("alerting.remind_every", "%s is shorter than evaluation_interval (%s); remove it to turn reminders off", s.Remind, s.Interval)
	}
	if s.ResolveAfter < 0 {
		m.d.errorAt("alerting.resolve_after", "%s: must not be negative", s.ResolveAfter)
	}
	if s.ErrorAfter < 0 {
		m.d.errorAt("alerting.error_after", "%s: must not be negative; 0 alerts on the first evaluation that fails", s.ErrorAfter)
	}
	if s.NoDataPeriods < 0 {
		m.d.errorAt("alerting.no_data_periods", "%d: must be 0 (off) or more", s.NoDataPeriods)
	}
	for i, a := range y.Agents {
		if !validDimension(a) {
			m.d.errorAt(fmt.Sprintf("alerting.agents[%d]", i), "%q is not a valid agent name", a)
		}
	}
	if st := y.State; st != nil {
		s.DynamoDBTable, s.Region, s.Endpoint = st.DynamoDBTable, st.Region, st.Endpoint
		if st.DynamoDBTable == "" {
			m.d.errorAt("alerting.state.dynamodb_table", "is required in state:; without state: alerts are kept in the local store")
		}
		m.endpoint("alerting.state.endpoint", st.Endpoint)
	}
	s.Links.Global = m.links("alerting.links", y.Links)
	known := map[string]bool{}
	for _, sl := range c.SLOs {
		known[sl.Name] = true
	}
	for _, name := range sortedKeys(y.SLOLinks) {
		path := "alerting.slo_links." + name
		if !known[name] {
			m.d.errorAt(path, "%q is not an SLO in slos: or an OpenSLO file", name)
			continue
		}
		if s.Links.BySLO == nil {
			s.Links.BySLO = map[string][]alerting.Link{}
		}
		s.Links.BySLO[name] = m.links(path, y.SLOLinks[name])
	}
	for _, name := range sortedKeys(y.BudgetWarnings) {
		path := "alerting.budget_warnings." + name
		if !known[name] {
			m.d.errorAt(path, "%q is not an SLO in slos: or an OpenSLO file", name)
			continue
		}
		if ts, ok := m.warningThresholds(path, y.BudgetWarnings[name]); ok {
			if s.BudgetWarnings == nil {
				s.BudgetWarnings = map[string][]float64{}
			}
			s.BudgetWarnings[name] = ts
		}
	}

	if len(y.Receivers) == 0 {
		m.d.errorAt("alerting.receivers", "add at least one receiver: %s", receiverKinds)
	}
	names := map[string]int{}
	for i := range y.Receivers {
		path := fmt.Sprintf("alerting.receivers[%d]", i)
		if r, ok := m.receiver(&y.Receivers[i], path); ok {
			if first, dup := names[r.Name]; dup {
				m.d.errorAt(path+".name", "%q is already the name of receivers[%d]; give each receiver its own name", r.Name, first)
				continue
			}
			names[r.Name] = i
			s.Receivers = append(s.Receivers, r)
		}
	}
	for _, sev := range sortedKeys(y.Routes) {
		path := "alerting.routes." + sev
		if !validSeverity(sev) {
			m.d.errorAt(path, "%q is not a severity; use page, ticket, no_data, error or warning", sev)
			continue
		}
		for i, r := range y.Routes[sev] {
			if _, ok := names[r]; !ok && len(y.Receivers) > 0 {
				m.d.errorAt(fmt.Sprintf("%s[%d]", path, i), "%q is not the name of a receiver", r)
			}
		}
		if s.Routes == nil {
			s.Routes = map[alerting.Severity][]string{}
		}
		s.Routes[alerting.Severity(sev)] = append([]string{}, y.Routes[sev]...)
	}
	c.Alerting = s
}

// warningThresholds maps an SLO's budget warnings, percents of remaining
// budget, to ratios, highest first.
func (m *mapper) warningThresholds(path string, in []float64) ([]float64, bool) {
	if len(in) == 0 {
		m.d.errorAt(path, "list at least one threshold of remaining budget, in percent, such as [50, 25, 0]")
		return nil, false
	}
	ok := true
	seen := map[float64]bool{}
	out := make([]float64, 0, len(in))
	for i, p := range in {
		switch {
		case p < 0 || p >= 100:
			m.d.errorAt(fmt.Sprintf("%s[%d]", path, i), "%g: a threshold is a percent of remaining budget, from 0 (spent) up to under 100", p)
			ok = false
		case seen[p]:
			m.d.errorAt(fmt.Sprintf("%s[%d]", path, i), "%g is listed twice", p)
			ok = false
		}
		seen[p] = true
		out = append(out, p/100)
	}
	return alerting.SortThresholds(out), ok
}

func validSeverity(s string) bool {
	for _, sev := range alerting.Severities {
		if string(sev) == s {
			return true
		}
	}
	return false
}

func (m *mapper) links(path string, in map[string]string) []alerting.Link {
	var out []alerting.Link
	for _, name := range sortedKeys(in) {
		u := in[name]
		if err := checkURL(u); err != nil {
			m.d.errorAt(path+"."+name, "%v", err)
			continue
		}
		out = append(out, alerting.Link{Name: name, URL: u})
	}
	return out
}

func (m *mapper) endpoint(path, u string) {
	if u == "" {
		return
	}
	if err := checkURL(u); err != nil {
		m.d.errorAt(path, "%v", err)
	}
}

func (m *mapper) receiver(y *receiverYAML, path string) (alerting.ReceiverSettings, bool) {
	errsBefore := len(m.d.errs)
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{{"sns", y.SNS != nil}, {"slack", y.Slack != nil}, {"webhook", y.Webhook != nil}, {"pagerduty", y.PagerDuty != nil},
		{"teams", y.Teams != nil}, {"log", y.Log != nil}} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	if len(kinds) != 1 {
		if len(kinds) == 0 {
			m.d.errorAt(path, "a receiver needs one of %s", receiverKinds)
		} else {
			m.d.errorAt(path, "a receiver has exactly one kind; found %s", quoteList(kinds))
		}
		return alerting.ReceiverSettings{}, false
	}
	r := alerting.ReceiverSettings{Name: y.Name, Log: y.Log != nil}
	if r.Name == "" {
		r.Name = kinds[0]
	} else if !validDimension(r.Name) {
		m.d.errorAt(path+".name", "%q is not a valid receiver name: use letters, digits and _ . - / :", r.Name)
	}
	switch {
	case y.SNS != nil:
		r.SNS = &alerting.SNSSettings{TopicARN: y.SNS.TopicARN, Region: y.SNS.Region, Endpoint: y.SNS.Endpoint}
		if y.SNS.TopicARN == "" {
			m.d.errorAt(path+".sns.topic_arn", "is required")
		} else if !topicARNRe.MatchString(y.SNS.TopicARN) {
			m.d.errorAt(path+".sns.topic_arn", "%q is not an SNS topic ARN like arn:aws:sns:eu-west-1:123456789012:nines-pages", y.SNS.TopicARN)
		} else if r.SNS.Region == "" {
			r.SNS.Region = strings.Split(y.SNS.TopicARN, ":")[3]
		}
		m.endpoint(path+".sns.endpoint", y.SNS.Endpoint)
	case y.Slack != nil:
		sy := y.Slack
		r.Slack = &alerting.SlackSettings{Channel: sy.Channel, APIURL: sy.APIURL}
		switch {
		case sy.Token != "" && sy.WebhookURL != "":
			m.d.errorAt(path+".slack", "give token (with channel) or webhook_url, not both")
		case sy.Token == "" && sy.WebhookURL == "":
			m.d.errorAt(path+".slack", "needs token: ${env:SLACK_TOKEN} with a channel, or webhook_url: ${env:SLACK_WEBHOOK_URL}")
		case sy.Token != "":
			r.Slack.Token = m.secret(path+".slack.token", sy.Token, "SLACK_TOKEN")
			if sy.Channel == "" {
				m.d.errorAt(path+".slack.channel", "is required with a bot token: the channel ID (C0123456789) or #name to post to")
			}
		default:
			r.Slack.WebhookURL = m.secret(path+".slack.webhook_url", sy.WebhookURL, "SLACK_WEBHOOK_URL")
			if sy.Channel != "" {
				m.d.errorAt(path+".slack.channel", "a webhook posts to the channel it was made for; remove channel")
			}
		}
		m.endpoint(path+".slack.api_url", sy.APIURL)
	case y.Webhook != nil:
		r.Webhook = m.webhook(path+".webhook", y.Webhook)
	case y.PagerDuty != nil:
		r.PagerDuty = &alerting.PagerDutySettings{URL: y.PagerDuty.URL}
		if y.PagerDuty.RoutingKey == "" {
			m.d.errorAt(path+".pagerduty.routing_key", "is required: the integration key of an Events API v2 integration, as ${env:PAGERDUTY_ROUTING_KEY}")
		} else {
			r.PagerDuty.RoutingKey = m.secret(path+".pagerduty.routing_key", y.PagerDuty.RoutingKey, "PAGERDUTY_ROUTING_KEY")
		}
		m.endpoint(path+".pagerduty.url", y.PagerDuty.URL)
	case y.Teams != nil:
		r.Teams = &alerting.TeamsSettings{}
		if y.Teams.URL == "" {
			m.d.errorAt(path+".teams.url", "is required: the workflow's webhook URL, as ${env:TEAMS_WEBHOOK_URL}")
		} else {
			r.Teams.URL = m.secret(path+".teams.url", y.Teams.URL, "TEAMS_WEBHOOK_URL")
		}
	}
	return r, len(m.d.errs) == errsBefore
}

// receiverKinds lists the receivers' kinds for errors.
const receiverKinds = "sns, slack, webhook, pagerduty, teams or log"

// headerNameRe is an HTTP header name (RFC 9110's token).
var headerNameRe = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// webhook maps a generic webhook. Its URL may be written in the file or
// come from the environment (when it holds a token); the signing secret
// and every header's value must come from the environment.
func (m *mapper) webhook(path string, y *webhookReceiverYAML) *alerting.WebhookSettings {
	w := &alerting.WebhookSettings{}
	switch {
	case y.URL == "":
		m.d.errorAt(path+".url", "is required: the URL to POST to, written here or as ${env:WEBHOOK_URL}")
	case envRefRe.MatchString(y.URL):
		w.URL = m.secret(path+".url", y.URL, "WEBHOOK_URL")
	default:
		if err := checkURL(y.URL); err != nil {
			m.d.errorAt(path+".url", "%v", err)
		}
		w.URL = y.URL
	}
	if y.Secret != "" {
		w.Secret = m.secret(path+".secret", y.Secret, "WEBHOOK_SECRET")
	}
	for _, name := range sortedKeys(y.Headers) {
		hp := path + ".headers." + name
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !headerNameRe.MatchString(name):
			m.d.errorAt(hp, "%q is not an HTTP header name", name)
			continue
		case canon == webhook.SignatureHeader || canon == webhook.TimestampHeader || canon == "Content-Type":
			m.d.errorAt(hp, "%s is set by nines; choose another header", canon)
			continue
		}
		if w.Headers == nil {
			w.Headers = map[string]string{}
		}
		w.Headers[name] = m.secret(hp, y.Headers[name], "WEBHOOK_AUTHORIZATION")
	}
	return w
}

// secret resolves a value that must come from the environment, so that
// the secret is never in the file (which is read, copied and committed).
func (m *mapper) secret(path, v, example string) string {
	m.expands(path)
	ref := envRefRe.FindStringSubmatch(v)
	if ref == nil {
		// Never echo the value: it may be the secret itself.
		m.d.errorAt(path, "must come from the environment, as ${env:%s}; a secret in the file would leak with it", example)
		return ""
	}
	val, ok := m.opts.LookupEnv(ref[1])
	if !ok && !m.opts.SkipEnvCheck {
		m.d.errorAt(path, "${env:%s}: the environment variable %s is not set; export it before starting nines", ref[1], ref[1])
	}
	return val
}
