// Package config turns the user's YAML into validated domain types. It is
// the only package that knows the file format: canary, metrics, slo and
// alerting receive their own types, built here by an explicit mapping.
// Every error names the file, the line and the field path, and one load
// reports every problem at once.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/slo"
)

// Config is a loaded, validated nines configuration.
type Config struct {
	// File is the path the config was read from.
	File     string
	Agent    Agent
	Canaries []*canary.Canary
	// DemoListen, when set, is where nines serves its built-in demo target.
	DemoListen string
	// Browser configures the agent's one browser, for browser steps.
	Browser canary.BrowserConfig
	// SLOs and Compositions come from slos: and the OpenSLO files openslo:
	// names; SLOWarnings is what is legal there but probably not meant.
	SLOs         []slo.SLO
	Compositions []slo.Composition
	SLOWarnings  []Error
	// Warnings is every warning of the load, SLOWarnings included, in
	// file order: what is legal but probably not meant.
	Warnings []Error
	// Dashboards is the dashboards: section.
	Dashboards Dashboards
	// Maintenance is the maintenance: section (maintenance.go); each SLO
	// also carries the windows in its scope.
	Maintenance []slo.Maintenance
	// Alerting is the alerting: section (alerting.go), nil without one.
	Alerting *alerting.Settings
	// FailureRules are the canary failure rules (failures.go), one per
	// canary that has one; on by default for canaries no SLO covers.
	FailureRules []alerting.FailureRule
	// Deploy is the deploy: section, nil when there is none.
	Deploy *Deploy
	// Metrics is where aggregates go: sink:, cloudwatch:, store:, spool:,
	// server: and cost: (metrics.go).
	Metrics Metrics
}

// Agent holds the agent-wide settings.
type Agent struct {
	// Name identifies this agent in heartbeats; the host name by default.
	Name string
	// Region is the Region dimension of every metric this agent publishes.
	Region string
	// Period is the aggregation period of published metrics.
	Period time.Duration
	// MaxConcurrent bounds the runs in flight.
	MaxConcurrent int
	// Jitter spreads each canary's first start over this fraction of its
	// interval, deterministically from its name (0 = all at once).
	Jitter float64
	// LatencyPrecision is the HDR histograms' significant figures.
	LatencyPrecision int
}

// Defaults, applied in one place (applyDefaults).
const (
	DefaultRegion           = "local"
	DefaultPeriod           = time.Minute
	DefaultMaxConcurrent    = 64
	DefaultJitter           = 1.0
	DefaultLatencyPrecision = 3
	DefaultEvery            = time.Minute
	DefaultTimeout          = 10 * time.Second
)

// Options adjust how a file is loaded.
type Options struct {
	// LookupEnv resolves ${env:NAME}; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// SkipEnvCheck accepts ${env:NAME} references to unset variables, for
	// validating a file where its secrets are not present.
	SkipEnvCheck bool
	// Hostname names the agent when agent.name is not set.
	Hostname string
}

// Load reads and validates the file at path.
func Load(path string, opts Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data, opts)
}

// Parse validates data as a config file named name. A returned error is an
// Errors holding every problem found.
func Parse(name string, data []byte, opts Options) (*Config, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	d := newDecoder(name)
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: name, Msg: "the file is empty; see examples/quickstart.yaml for a start"}}
		}
		return nil, echoed(Errors{yamlSyntaxError(name, data, err)})
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Errors{{File: name, Line: extra.Line, Msg: "the file holds more than one YAML document; keep one"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, Errors{yamlSyntaxError(name, data, err)}
	}
	var f fileYAML
	d.decode(&root, reflectValue(&f), "")
	if d.refused {
		return nil, echoed(d.errs)
	}
	// Validation runs even after type errors, so one run reports every
	// problem; what it says about a field that failed to decode (or about
	// the parts around it) is dropped, since the decode error says it better.
	decodeErrs := append(Errors(nil), d.errs...)
	d.errs = nil
	c := &Config{File: name}
	m := mapper{d: d, opts: opts}
	m.build(&f, c)
	seen := append(Errors(nil), decodeErrs...)
	for _, p := range d.misspelt {
		seen = append(seen, Error{Path: p})
	}
	d.errs = append(decodeErrs, withoutRelated(d.errs, seen)...)
	if len(d.errs) > 0 {
		d.sortErrors()
		return nil, echoed(d.errs)
	}
	c.SLOWarnings = echoed(c.SLOWarnings)
	c.Warnings = echoed(append(m.literalReferences(&root), c.SLOWarnings...))
	sort.SliceStable(c.Warnings, func(i, j int) bool { return c.Warnings[i].Line < c.Warnings[j].Line })
	return c, nil
}

// withoutRelated drops the errors about a path that is, contains or lies
// within a path that already has an error in seen.
func withoutRelated(errs, seen Errors) Errors {
	var out Errors
	for _, e := range errs {
		related := false
		for _, s := range seen {
			if pathWithin(e.Path, s.Path) || pathWithin(s.Path, e.Path) {
				related = true
				break
			}
		}
		if !related {
			out = append(out, e)
		}
	}
	return out
}

// pathWithin reports whether path p is q or lies inside it.
func pathWithin(p, q string) bool {
	if q == "" || p == q {
		return true
	}
	return strings.HasPrefix(p, q) && (p[len(q)] == '.' || p[len(q)] == '[')
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlSyntaxError(file string, data []byte, err error) Error {
	e := Error{File: file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	switch {
	case strings.HasPrefix(e.Msg, "found a tab character"):
		// The parser names the line of the enclosing block; point at the
		// tab itself.
		if l := firstTabIndent(data); l > 0 {
			e.Line = l
		}
		e.Msg += "; indent with spaces"
	case parseErrorHint(e.Msg) != "" && e.Line > 0:
		// The YAML parser counts these lines from 0, and names where the
		// unfinished block starts; the mistake is often further down.
		e.Line++
		e.Msg += "; " + parseErrorHint(e.Msg)
	}
	e.Msg = "YAML syntax: " + e.Msg
	return e
}

// parseErrorHint says where to look for the YAML parser's (not scanner's)
// "did not find" errors, or "" for other errors.
func parseErrorHint(msg string) string {
	switch msg {
	case "did not find expected key", "did not find expected '-' indicator", "did not find expected node content":
		return "check the indentation from this line down"
	case "did not find expected ',' or '}'", "did not find expected ',' or ']'":
		return "check the brackets and commas from this line down"
	}
	return ""
}

// firstTabIndent returns the 1-based line of the first line indented with a
// tab, or 0.
func firstTabIndent(data []byte) int {
	for i, l := range strings.Split(string(data), "\n") {
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if strings.Contains(indent, "\t") {
			return i + 1
		}
	}
	return 0
}

// mapper maps the YAML types onto the domain types, validating as it goes.
type mapper struct {
	d    *decoder
	opts Options
	// expanded holds the paths of the values nines expands references in.
	expanded map[string]bool
	// lambda is set when the file deploys Lambda agents (deploy:).
	lambda bool
}

// fromConfigDir resolves a relative path in the config (a CA bundle, a
// client certificate, the store, the spool, the artifacts) against the
// config file's directory, so the config means the same files from any
// working directory.
func (m *mapper) fromConfigDir(p string) string {
	if p == "" || filepath.IsAbs(p) || m.d.file == "" || m.d.file == "-" {
		return p
	}
	return filepath.Join(filepath.Dir(m.d.file), p)
}

func (m *mapper) build(f *fileYAML, c *Config) {
	m.agent(f.Agent, &c.Agent)
	m.metrics(f, c.Agent, &c.Metrics)
	m.browser(f.Browser, &c.Browser)
	if f.Demo != nil {
		c.DemoListen = f.Demo.Listen
		if !loopbackAddr(f.Demo.Listen) {
			m.d.errorAt("demo.listen", "%q: the demo target listens on loopback only, e.g. 127.0.0.1:8642", f.Demo.Listen)
		}
	}
	if len(f.Canaries) == 0 {
		m.d.errorAt("canaries", "add at least one canary; see examples/quickstart.yaml")
	}
	m.lambda = f.Deploy != nil
	names := map[string]int{}
	for i := range f.Canaries {
		path := fmt.Sprintf("canaries[%d]", i)
		cy := &f.Canaries[i]
		if first, dup := names[cy.Name]; dup && cy.Name != "" {
			m.d.errorAt(path+".name", "%q is already the name of canaries[%d]; names must be unique", cy.Name, first)
		}
		names[cy.Name] = i
		if cn := m.canary(cy, path); cn != nil {
			c.Canaries = append(c.Canaries, cn)
		}
	}
	m.slos(f, c)
	m.maintenance(f, c)
	m.dashboards(f.Dashboards, c)
	m.alerting(f.Alerting, c)
	m.failureRules(f, c)
	m.deploy(f.Deploy, c)
}

// loopbackAddr reports whether addr is a host:port on a loopback interface.
func loopbackAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (m *mapper) agent(a *agentYAML, out *Agent) {
	if a == nil {
		a = &agentYAML{}
	}
	*out = Agent{
		Name:             a.Name,
		Region:           a.Region,
		Period:           time.Duration(orDefault(a.Period, Duration(DefaultPeriod))),
		MaxConcurrent:    orDefault(a.MaxConcurrent, DefaultMaxConcurrent),
		Jitter:           orDefault(a.Jitter, DefaultJitter),
		LatencyPrecision: orDefault(a.Precision, DefaultLatencyPrecision),
	}
	if out.Region == "" {
		out.Region = DefaultRegion
	}
	// The name is the Agent dimension of the heartbeat, and CloudWatch
	// refuses a dimension value that is not printable ASCII; a host name
	// that would be refused is passed over rather than reported, since the
	// user never wrote it.
	switch {
	case out.Name != "":
		if !validDimension(out.Name) {
			m.d.errorAt("agent.name", "%q is not a valid agent name: use letters, digits and _ . - / : (at most 255), starting with a letter or digit", out.Name)
		}
	case validDimension(m.opts.Hostname):
		out.Name = m.opts.Hostname
	default:
		out.Name = "nines-agent"
	}
	if !validDimension(out.Region) {
		m.d.errorAt("agent.region", "%q is not a valid region name: use letters, digits and - (e.g. eu-west-1)", out.Region)
	}
	if out.Period < time.Second || out.Period%time.Second != 0 {
		m.d.errorAt("agent.period", "%s: must be a whole number of seconds, at least 1s", out.Period)
	} else if out.Period < time.Minute && !highResolutionPeriod(out.Period) {
		m.d.errorAt("agent.period", "%s: CloudWatch keeps periods of 1s, 5s, 10s, 30s or a multiple of 60s", out.Period)
	} else if out.Period >= time.Minute && out.Period%time.Minute != 0 {
		m.d.errorAt("agent.period", "%s: a period of a minute or more must be a whole number of minutes", out.Period)
	}
	if out.MaxConcurrent < 1 {
		m.d.errorAt("agent.max_concurrent", "%d: must be at least 1", out.MaxConcurrent)
	}
	if out.Jitter < 0 || out.Jitter > 1 || math.IsNaN(out.Jitter) {
		m.d.errorAt("agent.jitter", "%g: must be between 0 (no spread) and 1 (spread over the whole interval)", out.Jitter)
	}
	if out.LatencyPrecision < 1 || out.LatencyPrecision > 5 {
		m.d.errorAt("agent.latency_precision", "%d: significant figures must be between 1 and 5 (3 is the norm)", out.LatencyPrecision)
	}
}

// highResolutionPeriod reports whether p is one of the periods under a
// minute that CloudWatch stores for high-resolution metrics.
func highResolutionPeriod(p time.Duration) bool {
	switch p {
	case time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second:
		return true
	}
	return false
}

func orDefault[T any, P ~*T](p P, def T) T {
	if p == nil {
		return def
	}
	return *p
}

var dimensionRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-/:]{0,254}$`)

// validDimension keeps names usable as CloudWatch dimension values, file
// names and URL path segments.
func validDimension(s string) bool { return dimensionRe.MatchString(s) }

func (m *mapper) canary(cy *canaryYAML, path string) *canary.Canary {
	errsBefore := len(m.d.errs)
	c := &canary.Canary{
		Name:        cy.Name,
		Every:       time.Duration(orDefault(cy.Every, Duration(DefaultEvery))),
		Retries:     orDefault(cy.Retries, 0),
		StepMetrics: cy.StepMetrics,
	}
	c.Timeout = time.Duration(orDefault(cy.Timeout, Duration(min(DefaultTimeout, c.Every))))
	switch {
	case cy.Name == "":
		m.d.errorAt(path+".name", "is required")
	case !validDimension(cy.Name):
		m.d.errorAt(path+".name", "%q is not a valid canary name: use letters, digits and _ . - / : (at most 255), starting with a letter or digit", cy.Name)
	}
	if c.Every < time.Second {
		m.d.errorAt(path+".every", "%s: must be at least 1s", c.Every)
	}
	if c.Timeout <= 0 {
		m.d.errorAt(path+".timeout", "%s: must be positive", c.Timeout)
	} else if c.Timeout > c.Every && c.Every >= time.Second {
		m.d.errorAt(path+".timeout", "%s is longer than every (%s): runs would overlap; lower timeout or raise every", c.Timeout, c.Every)
	}
	if c.Retries < 0 || c.Retries > 1 {
		m.d.errorAt(path+".retries", "%d: must be 0 or 1", c.Retries)
	}
	if len(cy.Steps) == 0 {
		m.d.errorAt(path+".steps", "a canary needs at least one step")
	}
	extracted := map[string]bool{}
	stepNames := map[string]int{}
	for i := range cy.Steps {
		sp := fmt.Sprintf("%s.steps[%d]", path, i)
		sy := &cy.Steps[i]
		if sy.Name == "" {
			sy.Name = fmt.Sprintf("step%d", i+1)
		} else if !validDimension(sy.Name) {
			m.d.errorAt(sp+".name", "%q is not a valid step name: use letters, digits and _ . - / :", sy.Name)
		}
		if first, dup := stepNames[sy.Name]; dup {
			m.d.errorAt(sp+".name", "%q is already the name of steps[%d]; step names must be unique within a canary", sy.Name, first)
		}
		stepNames[sy.Name] = i
		if st := m.step(sy, sp, extracted); st != nil {
			c.Steps = append(c.Steps, *st)
		}
		// A later step may use what this one extracts, even when this
		// step has an error of its own: that error is the one to report.
		for name := range sy.Extract {
			extracted[name] = true
		}
	}
	if len(m.d.errs) > errsBefore {
		return nil
	}
	return c
}

// step maps one step. extracted holds the names that earlier steps extract,
// so a ${name} used before it exists is caught here rather than at run time.
func (m *mapper) step(sy *stepYAML, path string, extracted map[string]bool) *canary.Step {
	kinds := canary.StepKinds()
	var present []string
	if sy.HTTP != nil {
		present = append(present, "http")
	}
	if sy.Browser != nil {
		present = append(present, "browser")
	}
	present = append(present, sy.probeKinds()...)
	if len(present) != 1 {
		if len(present) == 0 {
			m.d.errorAt(path, "a step needs one of: %s", strings.Join(kinds, ", "))
		} else {
			m.d.errorAt(path, "a step has exactly one kind; found %s", quoteList(present))
		}
		return nil
	}
	var spec canary.StepSpec
	switch present[0] {
	case "http":
		// Assign only a non-nil *HTTPSpec: a nil pointer in the interface
		// would not be nil.
		if h := m.http(sy, path, extracted); h != nil {
			spec = h
		}
	case "browser":
		if b := m.browserStep(sy, path, extracted); b != nil {
			spec = b
		}
	default:
		spec = m.probeStep(present[0], sy, path, extracted)
	}
	if spec == nil {
		return nil
	}
	return &canary.Step{Name: sy.Name, Spec: spec}
}

func (m *mapper) template(s, path string, extracted map[string]bool) canary.Template {
	m.expands(path)
	t, err := canary.ParseTemplate(s)
	if err != nil {
		m.d.errorAt(path, "%v", err)
		return canary.Template{}
	}
	if !m.opts.SkipEnvCheck {
		for _, name := range t.EnvRefs() {
			if _, ok := m.opts.LookupEnv(name); !ok {
				m.d.errorAt(path, "${env:%s}: the environment variable %s is not set; export it before starting nines", name, name)
			}
		}
	}
	for _, name := range t.VarRefs() {
		if !extracted[name] {
			m.d.errorAt(path, "${%s} is not extracted by an earlier step; add extract: {%s: ...} to a step before this one", name, name)
		}
	}
	return t
}

func (m *mapper) http(sy *stepYAML, path string, extracted map[string]bool) *canary.HTTPSpec {
	h := sy.HTTP
	hp := path + ".http"
	s := &canary.HTTPSpec{
		Method:          strings.ToUpper(h.Method),
		URL:             m.template(h.URL, hp+".url", extracted),
		Body:            m.template(h.Body, hp+".body", extracted),
		Bearer:          m.template(h.Bearer, hp+".bearer", extracted),
		FollowRedirects: orDefault(h.FollowRedirects, true),
		MaxRedirects:    orDefault(h.MaxRedirects, canary.DefaultMaxRedirects),
		MaxBodyBytes:    orDefault(h.MaxBodyBytes, int64(canary.DefaultMaxBodyBytes)),
		MaxHeaderBytes:  orDefault(h.MaxHeaderBytes, int64(canary.DefaultMaxHeaderBytes)),
	}
	if s.Method == "" {
		s.Method = "GET"
	}
	if h.URL == "" {
		m.d.errorAt(hp+".url", "is required")
	} else if !strings.Contains(h.URL, "${") {
		if err := checkURL(h.URL); err != nil {
			m.d.errorAt(hp+".url", "%v", err)
		}
	} else if !strings.HasPrefix(h.URL, "http://") && !strings.HasPrefix(h.URL, "https://") && !strings.HasPrefix(h.URL, "${") {
		m.d.errorAt(hp+".url", "%q must start with http:// or https://", h.URL)
	}
	if len(h.Headers) > 0 {
		s.Headers = map[string]canary.Template{}
		for _, k := range sortedKeys(h.Headers) {
			if !validHeaderName(k) {
				m.d.errorAt(hp+".headers."+k, "%q is not a valid header name: use letters, digits and -, e.g. X-Request-Id", k)
			}
			s.Headers[k] = m.template(h.Headers[k], hp+".headers."+k, extracted)
		}
	}
	if len(h.Query) > 0 {
		s.Query = map[string]canary.Template{}
		for _, k := range sortedKeys(h.Query) {
			s.Query[k] = m.template(h.Query[k], hp+".query."+k, extracted)
		}
	}
	if h.BasicAuth != nil {
		if h.BasicAuth.User == "" {
			m.d.errorAt(hp+".basic_auth.user", "is required")
		}
		s.BasicUser = m.template(h.BasicAuth.User, hp+".basic_auth.user", extracted)
		s.BasicPassword = m.template(h.BasicAuth.Password, hp+".basic_auth.password", extracted)
		if h.Bearer != "" {
			m.d.errorAt(hp+".bearer", "give basic_auth or bearer, not both")
		}
	}
	if h.TLS != nil {
		s.TLS = canary.TLSOptions{
			CAFile: m.fromConfigDir(h.TLS.CAFile), CertFile: m.fromConfigDir(h.TLS.CertFile), KeyFile: m.fromConfigDir(h.TLS.KeyFile),
			InsecureSkipVerify: h.TLS.InsecureSkipVerify, ServerName: h.TLS.ServerName,
		}
		for _, f := range []struct{ key, file string }{{"ca_file", s.TLS.CAFile}, {"cert_file", s.TLS.CertFile}, {"key_file", s.TLS.KeyFile}} {
			if f.file == "" {
				continue
			}
			if _, err := os.Stat(f.file); err != nil {
				m.d.errorAt(hp+".tls."+f.key, "cannot read %s: %v", f.file, errors.Unwrap(err))
			}
		}
		if strings.HasPrefix(h.URL, "http://") {
			m.d.errorAt(hp+".tls", "tls options need an https:// url")
		}
	}
	for i, ay := range sy.Assert {
		if a, ok := m.assertion(ay, fmt.Sprintf("%s.assert[%d]", path, i)); ok {
			s.Assert = append(s.Assert, a)
		}
	}
	for _, name := range sortedKeys(sy.Extract) {
		if x, ok := m.extraction(name, sy.Extract[name], path+".extract."+name); ok {
			s.Extract = append(s.Extract, x)
		}
	}
	// The kind's own Validate has the last word on rules it owns.
	if err := s.Validate(); err != nil {
		m.specError(path, err)
		return nil
	}
	return s
}

// fieldPrefix matches the field path a domain Validate error starts with,
// such as http.max_redirects or assert[0].status.
var fieldPrefix = regexp.MustCompile(`^[A-Za-z0-9_.\-]+(\[[0-9]+\][A-Za-z0-9_.\-]*)*$`)

// specError reports an error from a domain type's Validate. Those errors
// start with the field they are about ("http.method: ..."); joined to path,
// it names that field and its line. A field that already has an error is
// not reported twice (an unparsable url is not also a missing one).
func (m *mapper) specError(path string, err error) {
	msg := err.Error()
	if field, rest, ok := strings.Cut(msg, ": "); ok && fieldPrefix.MatchString(field) {
		path, msg = path+"."+field, rest
	}
	for _, e := range m.d.errs {
		if e.Path == path {
			return
		}
	}
	m.d.errorAt(path, "%s", msg)
}

func checkURL(raw string) error {
	if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
		return fmt.Errorf("%q must start with http:// or https://", raw)
	}
	rest := raw[strings.Index(raw, "://")+3:]
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if host == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	if strings.ContainsAny(raw, " \t\n") {
		return fmt.Errorf("%q contains white space; encode it as %%20", raw)
	}
	return nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

func (m *mapper) assertion(ay assertYAML, path string) (canary.Assertion, bool) {
	keys := ay.primaryKeys()
	mods := ay.modifierKeys()
	switch {
	case len(keys) == 0 && len(mods) > 0:
		m.d.errorAt(path, "%s checks a header or a json value: add header: NAME or json: PATH to this item", quoteList(mods))
		return canary.Assertion{}, false
	case len(keys) == 0:
		m.d.errorAt(path, "an assertion needs one of status, header, body_contains, body_regex, json, latency_under, cert_valid_days")
		return canary.Assertion{}, false
	case len(keys) > 1:
		m.d.errorAt(path, "one check per assertion; found %s: split them into separate list items", quoteList(keys))
		return canary.Assertion{}, false
	}
	kind := keys[0]
	if len(mods) > 0 && kind != "header" && kind != "json" {
		m.d.errorAt(path, "%s does not take %s; only header and json do", kind, quoteList(mods))
		return canary.Assertion{}, false
	}
	if len(mods) > 1 {
		m.d.errorAt(path, "give one of equals, exists or matches; found %s", quoteList(mods))
		return canary.Assertion{}, false
	}
	a := canary.Assertion{Kind: canary.AssertKind(kind)}
	var err error
	switch kind {
	case "status":
		a.Codes, a.Classes = ay.Status.Codes, ay.Status.Classes
	case "header":
		a.Header = *ay.Header
	case "body_contains":
		a.Contains = *ay.BodyContains
	case "body_regex":
		if a.Regex, err = regexp.Compile(*ay.BodyRegex); err != nil {
			m.d.errorAt(path+".body_regex", "not a valid regular expression: %v", err)
			return a, false
		}
	case "json":
		if a.Path, err = canary.ParseJSONPath(*ay.JSON); err != nil {
			m.d.errorAt(path+".json", "%v", err)
			return a, false
		}
	case "latency_under":
		a.Under = time.Duration(*ay.LatencyUnder)
	case "cert_valid_days":
		a.Days = *ay.CertValidDays
	}
	if ay.Equals != nil {
		a.Equals = &ay.Equals.Text
	}
	a.Exists = ay.Exists
	if ay.Matches != nil {
		if a.Matches, err = regexp.Compile(*ay.Matches); err != nil {
			m.d.errorAt(path+".matches", "not a valid regular expression: %v", err)
			return a, false
		}
	}
	if err := a.Validate(); err != nil {
		m.specError(path, err)
		return a, false
	}
	return a, true
}

func (m *mapper) extraction(name string, xy extractYAML, path string) (canary.Extraction, bool) {
	x := canary.Extraction{Name: name}
	src := xy.sources()
	if len(src) != 1 {
		if len(src) == 0 {
			m.d.errorAt(path, "extract from one of json, regex or header")
		} else {
			m.d.errorAt(path, "extract from one source; found %s", quoteList(src))
		}
		return x, false
	}
	var err error
	switch src[0] {
	case "json":
		x.From = canary.ExtractJSON
		if x.Path, err = canary.ParseJSONPath(*xy.JSON); err != nil {
			m.d.errorAt(path+".json", "%v", err)
			return x, false
		}
	case "regex":
		x.From = canary.ExtractRegex
		if x.Regex, err = regexp.Compile(*xy.Regex); err != nil {
			m.d.errorAt(path+".regex", "not a valid regular expression: %v", err)
			return x, false
		}
		if x.Regex.NumSubexp() > 1 {
			m.d.errorAt(path+".regex", "has %d groups; use at most one, the value to extract", x.Regex.NumSubexp())
			return x, false
		}
	case "header":
		x.From = canary.ExtractHeader
		x.Header = *xy.Header
	}
	if err := x.Validate(); err != nil {
		// Most extraction errors start with the name, which is already the
		// last element of path.
		if msg := err.Error(); strings.HasPrefix(msg, name+".") || strings.HasPrefix(msg, name+": ") {
			path = strings.TrimSuffix(path, "."+name)
		}
		m.specError(path, err)
		return x, false
	}
	return x, true
}

// AgentRegions are the regions agents publish from: deploy.agent_regions,
// else dashboards.regions, else agent.region. An SLI without regions of
// its own sums these, and each evaluator reads them.
func (c *Config) AgentRegions() []string {
	var deploy []string
	if c.Deploy != nil {
		deploy = c.Deploy.AgentRegions
	}
	return agentRegions(deploy, c.Dashboards.Regions, c.Agent.Region)
}

func agentRegions(deploy, dashboards []string, agent string) []string {
	switch {
	case len(deploy) > 0:
		return deploy
	case len(dashboards) > 0:
		return dashboards
	case agent != "":
		return []string{agent}
	}
	return nil
}
