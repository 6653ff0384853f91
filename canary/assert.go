package canary

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// AssertKind names what an assertion checks.
type AssertKind string

const (
	AssertStatus       AssertKind = "status"
	AssertHeader       AssertKind = "header"
	AssertBodyContains AssertKind = "body_contains"
	AssertBodyRegex    AssertKind = "body_regex"
	AssertJSON         AssertKind = "json"
	AssertLatencyUnder AssertKind = "latency_under"
	AssertCertValidFor AssertKind = "cert_valid_days"
)

// Assertion is one check on an HTTP response. Which fields matter depends on
// Kind; config maps the YAML forms onto it.
type Assertion struct {
	Kind AssertKind
	// Status: the codes and classes (2 for 2xx) that pass.
	Codes   []int
	Classes []int
	// Header name or JSON path.
	Header string
	Path   JSONPath
	// For header and json: exactly one of these, or none to mean exists.
	Equals  *string
	Exists  *bool
	Matches *regexp.Regexp
	// body_contains / body_regex
	Contains string
	Regex    *regexp.Regexp
	// latency_under
	Under time.Duration
	// cert_valid_days
	Days int
}

// Validate checks the assertion's own fields.
func (a Assertion) Validate() error {
	switch a.Kind {
	case AssertStatus:
		if len(a.Codes)+len(a.Classes) == 0 {
			return fmt.Errorf("status: give a code, a list of codes or a class like 2xx")
		}
		for _, c := range a.Codes {
			if c < 100 || c > 599 {
				return fmt.Errorf("status: %d is not an HTTP status code (100-599)", c)
			}
		}
	case AssertHeader:
		if a.Header == "" {
			return fmt.Errorf("header: name the header")
		}
	case AssertBodyContains:
		if a.Contains == "" {
			return fmt.Errorf("body_contains: must not be empty")
		}
	case AssertBodyRegex:
		if a.Regex == nil {
			return fmt.Errorf("body_regex: give a regular expression")
		}
	case AssertJSON:
		if a.Path.raw == "" {
			return fmt.Errorf("json: give a path like $.token")
		}
	case AssertLatencyUnder:
		if a.Under <= 0 {
			return fmt.Errorf("latency_under: must be positive")
		}
	case AssertCertValidFor:
		if a.Days <= 0 {
			return fmt.Errorf("cert_valid_days: must be a positive number of days")
		}
	default:
		return fmt.Errorf("unknown assertion %q", a.Kind)
	}
	return nil
}

// response is what assertions and extractions look at.
type response struct {
	status   int
	header   http.Header
	body     []byte
	elapsed  time.Duration
	peerCert *x509.Certificate
	now      time.Time
	// redactor scrubs the run's secrets from a value before an error
	// quotes or cuts it.
	redactor *Redactor

	parsed  bool
	doc     any
	jsonErr error
}

func (r *response) json() (any, error) {
	if !r.parsed {
		r.parsed = true
		dec := json.NewDecoder(bytes.NewReader(r.body))
		dec.UseNumber()
		if err := dec.Decode(&r.doc); err != nil {
			r.jsonErr = fmt.Errorf("body is not valid JSON: %v", err)
		}
	}
	return r.doc, r.jsonErr
}

// check evaluates a; a nil error means it passed.
func (a Assertion) check(r *response) (FailureClass, error) {
	switch a.Kind {
	case AssertStatus:
		if statusMatches(r.status, a.Codes, a.Classes) {
			return "", nil
		}
		return FailHTTPStatus, fmt.Errorf("status %d, want %s", r.status, describeStatus(a.Codes, a.Classes))
	case AssertHeader:
		vals, present := r.header[http.CanonicalHeaderKey(a.Header)]
		v := strings.Join(vals, ", ")
		return matchValue("header "+a.Header, v, present, a, r.redactor)
	case AssertBodyContains:
		if bytes.Contains(r.body, []byte(a.Contains)) {
			return "", nil
		}
		return FailAssertion, fmt.Errorf("body does not contain %q", a.Contains)
	case AssertBodyRegex:
		if a.Regex.Match(r.body) {
			return "", nil
		}
		return FailAssertion, fmt.Errorf("body does not match /%s/", a.Regex)
	case AssertJSON:
		doc, err := r.json()
		if err != nil {
			return FailAssertion, err
		}
		v, present := a.Path.Lookup(doc)
		return matchValue("JSON "+a.Path.String(), jsonText(v), present, a, r.redactor)
	case AssertLatencyUnder:
		if r.elapsed < a.Under {
			return "", nil
		}
		return FailAssertion, fmt.Errorf("took %s, want under %s", r.elapsed.Round(time.Microsecond), a.Under)
	case AssertCertValidFor:
		if r.peerCert == nil {
			return FailAssertion, fmt.Errorf("cert_valid_days: the response did not come over TLS")
		}
		left := r.peerCert.NotAfter.Sub(r.now)
		if left >= time.Duration(a.Days)*24*time.Hour {
			return "", nil
		}
		return FailAssertion, fmt.Errorf("certificate %q expires %s, in %.1f days; want at least %d",
			r.peerCert.Subject.CommonName, r.peerCert.NotAfter.UTC().Format(time.RFC3339), left.Hours()/24, a.Days)
	}
	return FailAssertion, fmt.Errorf("unknown assertion %q", a.Kind)
}

// matchValue checks a header's or a JSON value's text. The value an error
// shows is redacted before it is cut and quoted: a target that echoes the
// request puts its credentials here.
func matchValue(what, got string, present bool, a Assertion, red *Redactor) (FailureClass, error) {
	show := func() string { return truncate(red.Redact(got), 80) }
	switch {
	case a.Exists != nil:
		if present == *a.Exists {
			return "", nil
		}
		if *a.Exists {
			return FailAssertion, fmt.Errorf("%s is missing", what)
		}
		return FailAssertion, fmt.Errorf("%s is present, want it absent", what)
	case !present:
		return FailAssertion, fmt.Errorf("%s is missing", what)
	case a.Equals != nil:
		if got == *a.Equals {
			return "", nil
		}
		return FailAssertion, fmt.Errorf("%s is %q, want %q", what, show(), *a.Equals)
	case a.Matches != nil:
		if a.Matches.MatchString(got) {
			return "", nil
		}
		return FailAssertion, fmt.Errorf("%s is %q, want a match for /%s/", what, show(), a.Matches)
	}
	return "", nil
}

func statusMatches(status int, codes, classes []int) bool {
	for _, c := range codes {
		if status == c {
			return true
		}
	}
	for _, c := range classes {
		if status/100 == c {
			return true
		}
	}
	return false
}

func describeStatus(codes, classes []int) string {
	var parts []string
	for _, c := range codes {
		parts = append(parts, strconv.Itoa(c))
	}
	for _, c := range classes {
		parts = append(parts, fmt.Sprintf("%dxx", c))
	}
	return strings.Join(parts, " or ")
}

// ExtractFrom names where an extracted value comes from.
type ExtractFrom string

const (
	ExtractJSON   ExtractFrom = "json"
	ExtractRegex  ExtractFrom = "regex"
	ExtractHeader ExtractFrom = "header"
)

// Extraction takes a value from a response for later steps, as ${Name}.
type Extraction struct {
	Name   string
	From   ExtractFrom
	Path   JSONPath
	Regex  *regexp.Regexp // the first group, or the whole match if none
	Header string
}

// Validate checks the extraction's own fields.
func (x Extraction) Validate() error {
	if !validName(x.Name) {
		return fmt.Errorf("%q is not a valid name: use letters, digits, _ - or .", x.Name)
	}
	switch x.From {
	case ExtractJSON:
		if x.Path.raw == "" {
			return fmt.Errorf("%s.json: give a path like $.token", x.Name)
		}
	case ExtractRegex:
		if x.Regex == nil {
			return fmt.Errorf("%s.regex: give a regular expression", x.Name)
		}
	case ExtractHeader:
		if x.Header == "" {
			return fmt.Errorf("%s.header: name the header", x.Name)
		}
	default:
		return fmt.Errorf("%s: extract from one of json, regex or header", x.Name)
	}
	return nil
}

func (x Extraction) extract(r *response) (string, error) {
	switch x.From {
	case ExtractJSON:
		doc, err := r.json()
		if err != nil {
			return "", err
		}
		v, ok := x.Path.Lookup(doc)
		if !ok {
			return "", fmt.Errorf("JSON %s is missing", x.Path)
		}
		return jsonText(v), nil
	case ExtractRegex:
		m := x.Regex.FindSubmatch(r.body)
		if m == nil {
			return "", fmt.Errorf("body does not match /%s/", x.Regex)
		}
		if len(m) > 1 {
			return string(m[1]), nil
		}
		return string(m[0]), nil
	case ExtractHeader:
		v := r.header.Get(x.Header)
		if v == "" {
			return "", fmt.Errorf("header %s is missing", x.Header)
		}
		return v, nil
	}
	return "", fmt.Errorf("unknown source %q", x.From)
}
