package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/nines-dev/nines/canary"
)

// This file maps the step kinds beyond HTTP and the browser: dns, tcp, tls,
// grpc, websocket and icmp. Each checks what it receives with keys of its
// own; the step-level assert: is HTTP's, and extract: takes regex only.
// docs/config.md describes every key.

type dnsYAML struct {
	Name      string         `yaml:"name"`
	Type      string         `yaml:"type"`
	Server    string         `yaml:"server"`
	Transport string         `yaml:"transport"`
	TLS       *tlsYAML       `yaml:"tls"`
	Rcode     string         `yaml:"rcode"`
	Answers   *dnsAnswerYAML `yaml:"answers"`
	TTL       *ttlYAML       `yaml:"ttl"`
	AD        bool           `yaml:"ad"`
}

type dnsAnswerYAML struct {
	Exact    []string `yaml:"exact"`
	Contains []string `yaml:"contains"`
	Regex    *string  `yaml:"regex"`
	Count    *int     `yaml:"count"`
}

type ttlYAML struct {
	Min *Duration `yaml:"min"`
	Max *Duration `yaml:"max"`
}

type tcpYAML struct {
	Address  string         `yaml:"address"`
	TLS      *tlsYAML       `yaml:"tls"`
	StartTLS string         `yaml:"starttls"`
	Dialogue []exchangeYAML `yaml:"dialogue"`
}

// exchangeYAML is one line of a tcp dialogue: send: TEXT or expect: REGEX.
type exchangeYAML struct {
	Send   *string `yaml:"send"`
	Expect *string `yaml:"expect"`
}

type tlsStepYAML struct {
	Address    string `yaml:"address"`
	ServerName string `yaml:"server_name"`
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	MinVersion string `yaml:"min_version"`
	DaysLeft   *int   `yaml:"days_left"`
	Issuer     string `yaml:"issuer"`
}

type grpcYAML struct {
	Address  string            `yaml:"address"`
	Service  string            `yaml:"service"`
	TLS      *tlsYAML          `yaml:"tls"`
	Metadata map[string]string `yaml:"metadata"`
}

type websocketYAML struct {
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	TLS     *tlsYAML          `yaml:"tls"`
	Send    []string          `yaml:"send"`
	Expect  *wsExpectYAML     `yaml:"expect"`
}

type wsExpectYAML struct {
	Matches *string     `yaml:"matches"`
	JSON    *string     `yaml:"json"`
	Equals  *scalarYAML `yaml:"equals"`
	Within  *Duration   `yaml:"within"`
}

type icmpYAML struct {
	Host     string    `yaml:"host"`
	Count    *int      `yaml:"count"`
	Interval *Duration `yaml:"interval"`
	Wait     *Duration `yaml:"wait"`
	MaxLoss  *float64  `yaml:"max_loss"`
}

// probeKinds lists the kinds beyond HTTP and the browser that sy sets.
func (sy *stepYAML) probeKinds() []string {
	var kinds []string
	for _, k := range []struct {
		set  bool
		name string
	}{{sy.DNS != nil, "dns"}, {sy.TCP != nil, "tcp"}, {sy.TLS != nil, "tls"}, {sy.GRPC != nil, "grpc"},
		{sy.WebSocket != nil, "websocket"}, {sy.ICMP != nil, "icmp"}} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	return kinds
}

// probeStep maps a step of one of the kinds beyond HTTP. It returns nil
// when the step has an error, reported on m.
func (m *mapper) probeStep(kind string, sy *stepYAML, path string, extracted map[string]bool) canary.StepSpec {
	errsBefore := len(m.d.errs)
	if len(sy.Assert) > 0 {
		m.d.errorAt(path+".assert", "assert belongs to http steps; a %s step checks with keys of its own under %s: (see docs/config.md)", kind, kind)
	}
	var xs []canary.Extraction
	for _, name := range sortedKeys(sy.Extract) {
		if x, ok := m.extraction(name, sy.Extract[name], path+".extract."+name); ok {
			xs = append(xs, x)
		}
	}
	kp := path + "." + kind
	var spec canary.StepSpec
	switch kind {
	case "dns":
		spec = m.dnsStep(sy.DNS, kp, extracted, xs)
	case "tcp":
		spec = m.tcpStep(sy.TCP, kp, extracted, xs)
	case "tls":
		spec = m.tlsStep(sy.TLS, kp, extracted)
	case "grpc":
		spec = m.grpcStep(sy.GRPC, kp, extracted)
	case "websocket":
		spec = m.websocketStep(sy.WebSocket, kp, extracted, xs)
	case "icmp":
		spec = m.icmpStep(sy.ICMP, kp, extracted)
	}
	if kind != "dns" && kind != "tcp" && kind != "websocket" && len(sy.Extract) > 0 {
		m.d.errorAt(path+".extract", "a %s step receives nothing to extract from; dns, tcp and websocket steps can", kind)
	}
	if len(m.d.errs) > errsBefore {
		return nil
	}
	// The kind's own Validate has the last word on rules it owns.
	if err := spec.Validate(); err != nil {
		m.specError(path, err)
		return nil
	}
	return spec
}

// tlsOptions maps a tls: block of a dns, tcp, grpc or websocket step.
func (m *mapper) tlsOptions(ty *tlsYAML, path string) canary.TLSOptions {
	o := canary.TLSOptions{
		CAFile: m.fromConfigDir(ty.CAFile), CertFile: m.fromConfigDir(ty.CertFile), KeyFile: m.fromConfigDir(ty.KeyFile),
		InsecureSkipVerify: ty.InsecureSkipVerify, ServerName: ty.ServerName,
	}
	m.checkFiles(path, o.CAFile, o.CertFile, o.KeyFile)
	if (o.CertFile == "") != (o.KeyFile == "") {
		m.d.errorAt(path, "give both cert_file and key_file for a client certificate")
	}
	return o
}

func (m *mapper) checkFiles(path, caFile, certFile, keyFile string) {
	for _, f := range []struct{ key, file string }{{"ca_file", caFile}, {"cert_file", certFile}, {"key_file", keyFile}} {
		if f.file == "" {
			continue
		}
		if _, err := os.Stat(f.file); err != nil {
			m.d.errorAt(path+"."+f.key, "cannot read %s: %v", f.file, errors.Unwrap(err))
		}
	}
}

// hostPort checks a host:port that has no ${...} reference.
func (m *mapper) hostPort(s, path, example string) {
	switch {
	case s == "":
		m.d.errorAt(path, "is required, e.g. %s", example)
	case strings.Contains(s, "${"):
	case strings.Contains(s, "://"):
		m.d.errorAt(path, "%q: give host:port without a scheme, e.g. %s", s, example)
	default:
		if i := strings.LastIndexByte(s, ':'); i <= 0 || i == len(s)-1 {
			m.d.errorAt(path, "%q has no port: give host:port, e.g. %s", s, example)
		}
	}
}

func (m *mapper) regex(s, path string) *regexp.Regexp {
	re, err := regexp.Compile(s)
	if err != nil {
		m.d.errorAt(path, "not a valid regular expression: %v", err)
		return nil
	}
	return re
}

func (m *mapper) dnsStep(y *dnsYAML, path string, extracted map[string]bool, xs []canary.Extraction) *canary.DNSSpec {
	s := &canary.DNSSpec{
		Name: m.template(y.Name, path+".name", extracted), Type: strings.ToUpper(y.Type), Server: y.Server,
		Transport: strings.ToLower(y.Transport), Rcode: strings.ToUpper(y.Rcode), AD: y.AD, Extract: xs,
	}
	if y.Name == "" {
		m.d.errorAt(path+".name", "is required: the name to look up, e.g. example.com")
	}
	if s.Type == "" {
		s.Type = "A"
	}
	if s.Transport == "" {
		s.Transport = "udp"
	}
	if s.Rcode == "" {
		s.Rcode = "NOERROR"
	}
	if y.TLS != nil {
		s.TLS = m.tlsOptions(y.TLS, path+".tls")
	}
	if a := y.Answers; a != nil {
		s.Answers = canary.DNSAnswers{Exact: a.Exact, Contains: a.Contains, Count: a.Count}
		if a.Regex != nil {
			s.Answers.Regex = m.regex(*a.Regex, path+".answers.regex")
		}
	}
	if y.TTL != nil {
		s.MinTTL, s.MaxTTL = durationPtr(y.TTL.Min), durationPtr(y.TTL.Max)
	}
	return s
}

func durationPtr(d *Duration) *time.Duration {
	if d == nil {
		return nil
	}
	v := time.Duration(*d)
	return &v
}

func (m *mapper) tcpStep(y *tcpYAML, path string, extracted map[string]bool, xs []canary.Extraction) *canary.TCPSpec {
	s := &canary.TCPSpec{Address: m.template(y.Address, path+".address", extracted), StartTLS: strings.ToLower(y.StartTLS), Extract: xs}
	m.hostPort(y.Address, path+".address", "mail.example.com:25")
	if y.TLS != nil {
		s.TLS = true
		s.TLSOptions = m.tlsOptions(y.TLS, path+".tls")
	}
	for i, ey := range y.Dialogue {
		ep := fmt.Sprintf("%s.dialogue[%d]", path, i)
		switch {
		case (ey.Send == nil) == (ey.Expect == nil):
			m.d.errorAt(ep, "give one of send: TEXT or expect: REGEX per item")
		case ey.Send != nil:
			s.Dialogue = append(s.Dialogue, canary.TCPExchange{Send: m.template(*ey.Send, ep+".send", extracted)})
		default:
			s.Dialogue = append(s.Dialogue, canary.TCPExchange{Expect: m.regex(*ey.Expect, ep+".expect")})
		}
	}
	return s
}

// tlsVersions are the protocol versions min_version takes.
var tlsVersions = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

func (m *mapper) tlsStep(y *tlsStepYAML, path string, extracted map[string]bool) *canary.TLSSpec {
	s := &canary.TLSSpec{
		Address: m.template(y.Address, path+".address", extracted),
		Options: canary.TLSOptions{ServerName: y.ServerName, CAFile: m.fromConfigDir(y.CAFile),
			CertFile: m.fromConfigDir(y.CertFile), KeyFile: m.fromConfigDir(y.KeyFile)},
		DaysLeft: orDefault(y.DaysLeft, 0),
	}
	m.hostPort(y.Address, path+".address", "example.com:443")
	m.checkFiles(path, s.Options.CAFile, s.Options.CertFile, s.Options.KeyFile)
	if y.MinVersion != "" {
		v, ok := tlsVersions[y.MinVersion]
		if !ok {
			m.d.errorAt(path+".min_version", "%q: use \"1.0\", \"1.1\", \"1.2\" or \"1.3\"", y.MinVersion)
		}
		s.MinVersion = v
	}
	if y.Issuer != "" {
		s.Issuer = m.regex(y.Issuer, path+".issuer")
	}
	return s
}

func (m *mapper) grpcStep(y *grpcYAML, path string, extracted map[string]bool) *canary.GRPCSpec {
	s := &canary.GRPCSpec{Address: m.template(y.Address, path+".address", extracted), Service: y.Service}
	m.hostPort(y.Address, path+".address", "api.example.com:443")
	if y.TLS != nil {
		s.TLS = true
		s.TLSOptions = m.tlsOptions(y.TLS, path+".tls")
	}
	if len(y.Metadata) > 0 {
		s.Metadata = map[string]canary.Template{}
		for _, k := range sortedKeys(y.Metadata) {
			if k != strings.ToLower(k) || !validHeaderName(k) {
				m.d.errorAt(path+".metadata."+k, "%q is not a gRPC metadata key: use lower-case letters, digits, - _ and .", k)
			}
			s.Metadata[k] = m.template(y.Metadata[k], path+".metadata."+k, extracted)
		}
	}
	return s
}

func (m *mapper) websocketStep(y *websocketYAML, path string, extracted map[string]bool, xs []canary.Extraction) *canary.WebSocketSpec {
	s := &canary.WebSocketSpec{URL: m.template(y.URL, path+".url", extracted), Extract: xs}
	switch {
	case y.URL == "":
		m.d.errorAt(path+".url", "is required, e.g. wss://example.com/socket")
	case strings.HasPrefix(y.URL, "${"):
	case !strings.HasPrefix(y.URL, "ws://") && !strings.HasPrefix(y.URL, "wss://"):
		m.d.errorAt(path+".url", "%q must start with ws:// or wss://", y.URL)
	}
	if len(y.Headers) > 0 {
		s.Headers = map[string]canary.Template{}
		for _, k := range sortedKeys(y.Headers) {
			if !validHeaderName(k) {
				m.d.errorAt(path+".headers."+k, "%q is not a valid header name: use letters, digits and -, e.g. X-Request-Id", k)
			}
			s.Headers[k] = m.template(y.Headers[k], path+".headers."+k, extracted)
		}
	}
	if y.TLS != nil {
		s.TLS = m.tlsOptions(y.TLS, path+".tls")
		if strings.HasPrefix(y.URL, "ws://") {
			m.d.errorAt(path+".tls", "tls options need a wss:// url")
		}
	}
	for i, msg := range y.Send {
		s.Send = append(s.Send, m.template(msg, fmt.Sprintf("%s.send[%d]", path, i), extracted))
	}
	if e := y.Expect; e != nil {
		ep := path + ".expect"
		switch {
		case e.Matches != nil && e.JSON != nil:
			m.d.errorAt(ep, "give matches: REGEX or json: PATH, not both")
		case e.Matches != nil:
			s.Expect.Matches = m.regex(*e.Matches, ep+".matches")
		case e.JSON != nil:
			p, err := canary.ParseJSONPath(*e.JSON)
			if err != nil {
				m.d.errorAt(ep+".json", "%v", err)
			}
			s.Expect.JSON = p
		default:
			m.d.errorAt(ep, "give matches: REGEX, or json: PATH with equals: VALUE")
		}
		if e.Equals != nil {
			if e.JSON == nil {
				m.d.errorAt(ep+".equals", "equals compares a json: value; add json: PATH")
			}
			s.Expect.Equals = &e.Equals.Text
		}
		s.Expect.Within = time.Duration(orDefault(e.Within, 0))
		s.Expect.Set = true
	}
	return s
}

func (m *mapper) icmpStep(y *icmpYAML, path string, extracted map[string]bool) *canary.ICMPSpec {
	s := &canary.ICMPSpec{
		Host:     m.template(y.Host, path+".host", extracted),
		Count:    orDefault(y.Count, canary.DefaultICMPCount),
		Interval: time.Duration(orDefault(y.Interval, Duration(canary.DefaultICMPInterval))),
		Wait:     time.Duration(orDefault(y.Wait, Duration(canary.DefaultICMPWait))),
		MaxLoss:  orDefault(y.MaxLoss, 0),
	}
	if y.Host == "" {
		m.d.errorAt(path+".host", "is required: the host to ping, e.g. 192.0.2.1")
	}
	if m.lambda {
		m.d.errorAt(path, "Lambda has no ICMP, and this file has a deploy: section for Lambda agents; probe the host with a tcp step, or run this canary on the sidecar agent from another file")
	}
	return s
}
