package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The types in this file are the user-facing YAML, kept apart from the
// domain types they map onto (config.go does the mapping). Every field is a
// pointer or has a zero value meaning "not given", so defaults are applied
// in one place, applyDefaults.

type fileYAML struct {
	Agent      *agentYAML      `yaml:"agent"`
	Canaries   []canaryYAML    `yaml:"canaries"`
	Demo       *demoYAML       `yaml:"demo"`
	Browser    *browserYAML    `yaml:"browser"`
	SLOs       []sloYAML       `yaml:"slos"`
	OpenSLO    []string        `yaml:"openslo"`
	Dashboards *dashboardsYAML `yaml:"dashboards"`
	Alerting   *alertingYAML   `yaml:"alerting"`
	Deploy     *deployYAML     `yaml:"deploy"`
	// Maintenance windows (maintenance.go).
	Maintenance []maintenanceYAML `yaml:"maintenance"`
	// The metrics sections (metrics.go).
	Sink       string          `yaml:"sink"`
	CloudWatch *cloudwatchYAML `yaml:"cloudwatch"`
	Store      *storeYAML      `yaml:"store"`
	Spool      *spoolYAML      `yaml:"spool"`
	Server     *serverYAML     `yaml:"server"`
	Cost       *costYAML       `yaml:"cost"`
}

// demoYAML starts the built-in demo target, for examples that need no
// internet.
type demoYAML struct {
	Listen string `yaml:"listen"`
}

type agentYAML struct {
	Name          string    `yaml:"name"`
	Region        string    `yaml:"region"`
	Period        *Duration `yaml:"period"`
	MaxConcurrent *int      `yaml:"max_concurrent"`
	Jitter        *float64  `yaml:"jitter"`
	Precision     *int      `yaml:"latency_precision"`
}

type canaryYAML struct {
	Name        string        `yaml:"name"`
	Every       *Duration     `yaml:"every"`
	Timeout     *Duration     `yaml:"timeout"`
	Retries     *int          `yaml:"retries"`
	StepMetrics bool          `yaml:"step_metrics"`
	Failures    *failuresYAML `yaml:"failures"`
	Steps       []stepYAML    `yaml:"steps"`
}

type stepYAML struct {
	Name    string                 `yaml:"name"`
	HTTP    *httpYAML              `yaml:"http"`
	Browser *browserStepYAML       `yaml:"browser"`
	Assert  []assertYAML           `yaml:"assert"`
	Extract map[string]extractYAML `yaml:"extract"`

	// The kinds beyond HTTP (steps_probes.go).
	DNS       *dnsYAML       `yaml:"dns"`
	TCP       *tcpYAML       `yaml:"tcp"`
	TLS       *tlsStepYAML   `yaml:"tls"`
	GRPC      *grpcYAML      `yaml:"grpc"`
	WebSocket *websocketYAML `yaml:"websocket"`
	ICMP      *icmpYAML      `yaml:"icmp"`
}

type httpYAML struct {
	Method          string            `yaml:"method"`
	URL             string            `yaml:"url"`
	Headers         map[string]string `yaml:"headers"`
	Query           map[string]string `yaml:"query"`
	Body            string            `yaml:"body"`
	BasicAuth       *basicAuthYAML    `yaml:"basic_auth"`
	Bearer          string            `yaml:"bearer"`
	TLS             *tlsYAML          `yaml:"tls"`
	FollowRedirects *bool             `yaml:"follow_redirects"`
	MaxRedirects    *int              `yaml:"max_redirects"`
	MaxBodyBytes    *int64            `yaml:"max_body_bytes"`
	MaxHeaderBytes  *int64            `yaml:"max_header_bytes"`
}

type basicAuthYAML struct {
	User     string `yaml:"user"`
	Password string `yaml:"password"`
}

type tlsYAML struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	ServerName         string `yaml:"server_name"`
}

// assertYAML is one entry of assert:. Exactly one of the primary keys
// (status, header, body_contains, body_regex, json, latency_under,
// cert_valid_days) is set; header and json take one modifier.
type assertYAML struct {
	Status        *statusYAML `yaml:"status"`
	Header        *string     `yaml:"header"`
	BodyContains  *string     `yaml:"body_contains"`
	BodyRegex     *string     `yaml:"body_regex"`
	JSON          *string     `yaml:"json"`
	LatencyUnder  *Duration   `yaml:"latency_under"`
	CertValidDays *int        `yaml:"cert_valid_days"`

	Equals  *scalarYAML `yaml:"equals"`
	Exists  *bool       `yaml:"exists"`
	Matches *string     `yaml:"matches"`
}

type extractYAML struct {
	JSON   *string `yaml:"json"`
	Regex  *string `yaml:"regex"`
	Header *string `yaml:"header"`
}

// statusYAML accepts 200, [200, 204], "2xx" or ["2xx", 404].
type statusYAML struct {
	Codes   []int
	Classes []int
}

func (s *statusYAML) decodeNode(d *decoder, n *yaml.Node, path string) {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			d.errorf(n, path, "the list of statuses is empty")
			return
		}
	}
	for _, it := range items {
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			d.errorf(it, path, "want a status like 200 or 2xx, got %s", describe(it))
			continue
		}
		v := strings.ToLower(it.Value)
		if len(v) == 3 && strings.HasSuffix(v, "xx") && v[0] >= '1' && v[0] <= '5' {
			s.Classes = append(s.Classes, int(v[0]-'0'))
			continue
		}
		code, err := strconv.Atoi(v)
		if err != nil || code < 100 || code > 599 {
			d.errorf(it, path, "%q is not a status code (100-599) or a class like 2xx", it.Value)
			continue
		}
		s.Codes = append(s.Codes, code)
	}
}

// scalarYAML keeps a scalar of any type as the text a JSON value is
// compared with: equals: 3, equals: true and equals: "abc" all work.
type scalarYAML struct {
	Text string
}

func (s *scalarYAML) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want a single value, got %s", describe(n))
		return
	}
	if n.Tag == "!!null" {
		s.Text = "null"
		return
	}
	s.Text = n.Value
}

func (a assertYAML) primaryKeys() []string {
	var keys []string
	add := func(set bool, k string) {
		if set {
			keys = append(keys, k)
		}
	}
	add(a.Status != nil, "status")
	add(a.Header != nil, "header")
	add(a.BodyContains != nil, "body_contains")
	add(a.BodyRegex != nil, "body_regex")
	add(a.JSON != nil, "json")
	add(a.LatencyUnder != nil, "latency_under")
	add(a.CertValidDays != nil, "cert_valid_days")
	return keys
}

func (a assertYAML) modifierKeys() []string {
	var keys []string
	if a.Equals != nil {
		keys = append(keys, "equals")
	}
	if a.Exists != nil {
		keys = append(keys, "exists")
	}
	if a.Matches != nil {
		keys = append(keys, "matches")
	}
	return keys
}

func (x extractYAML) sources() []string {
	var keys []string
	if x.JSON != nil {
		keys = append(keys, "json")
	}
	if x.Regex != nil {
		keys = append(keys, "regex")
	}
	if x.Header != nil {
		keys = append(keys, "header")
	}
	return keys
}

func quoteList(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, ", ")
}
