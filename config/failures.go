package config

import (
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/slo"
)

// This file maps the canary failure rules: alerting.canary_failures, the
// default of every canary, and each canary's own failures:. See
// docs/alerting.md.

// failuresYAML is a failure rule, {consecutive, regions, severity}, or
// the word off.
type failuresYAML struct {
	Off         bool
	Consecutive *int   `yaml:"consecutive"`
	Regions     *int   `yaml:"regions"`
	Severity    string `yaml:"severity"`
}

func (f *failuresYAML) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.MappingNode {
		d.decodeStruct(n, reflect.ValueOf(f).Elem(), path)
		return
	}
	const want = "{consecutive: 3, regions: 1, severity: page}, or off"
	if !d.scalar(n, path, want) {
		return
	}
	if n.Value != "off" {
		d.errorf(n, path, "%q: give %s", n.Value, want)
		return
	}
	f.Off = true
}

// failureSpec is a rule's settings without its canary.
type failureSpec struct {
	on          bool
	consecutive int
	regions     int
	severity    alerting.Severity
}

// defaultFailures is the rule of every canary that no availability or
// latency SLO covers, unless the config says otherwise.
var defaultFailures = failureSpec{
	on: true, consecutive: alerting.DefaultFailureConsecutive, regions: alerting.DefaultFailureRegions, severity: alerting.DefaultFailureSeverity,
}

// failureRules maps alerting.canary_failures and each canary's failures:
// onto Config.FailureRules, one rule per canary it is on for. A canary
// with its own failures: mapping has the rule, its keys over the global
// ones; failures: off has none. Otherwise the global rule applies, except
// to a canary an availability or latency SLO covers: that SLO pages for
// the same failures, so such a canary has the rule only when its own
// failures: asks for it.
func (m *mapper) failureRules(f *fileYAML, c *Config) {
	global := defaultFailures
	if f.Alerting != nil && f.Alerting.CanaryFailures != nil {
		global = m.failureSpec(f.Alerting.CanaryFailures, "alerting.canary_failures", defaultFailures)
	}
	covered := map[string]bool{}
	for _, s := range c.SLOs {
		if s.SLI.Kind == slo.SLIAvailability || s.SLI.Kind == slo.SLILatency {
			covered[s.SLI.Canary] = true
		}
	}
	mapped := map[string]*canary.Canary{}
	for _, cn := range c.Canaries {
		mapped[cn.Name] = cn
	}
	for i := range f.Canaries {
		spec := global
		switch own := f.Canaries[i].Failures; {
		case own != nil:
			base := global
			if !base.on {
				base = defaultFailures
			}
			spec = m.failureSpec(own, fmt.Sprintf("canaries[%d].failures", i), base)
		case covered[f.Canaries[i].Name]:
			spec.on = false
		}
		// A canary that did not map (or a second one of its name) has
		// its errors reported already.
		cn := mapped[f.Canaries[i].Name]
		delete(mapped, f.Canaries[i].Name)
		if cn != nil && spec.on {
			c.FailureRules = append(c.FailureRules, alerting.FailureRule{
				Canary: cn.Name, Every: cn.Every, Period: c.Agent.Period,
				Consecutive: spec.consecutive, Regions: spec.regions, Severity: spec.severity,
			})
		}
	}
}

// failureSpec validates one failures mapping, taking what it leaves out
// from base.
func (m *mapper) failureSpec(y *failuresYAML, path string, base failureSpec) failureSpec {
	if y.Off {
		return failureSpec{}
	}
	s := base
	s.on = true
	if y.Consecutive != nil {
		s.consecutive = *y.Consecutive
		if s.consecutive < 1 {
			m.d.errorAt(path+".consecutive", "%d: at least 1 failed run in a row", s.consecutive)
		}
	}
	if y.Regions != nil {
		s.regions = *y.Regions
		if s.regions < 1 {
			m.d.errorAt(path+".regions", "%d: at least 1 region", s.regions)
		}
	}
	switch sev := alerting.Severity(y.Severity); sev {
	case "":
	case alerting.Page, alerting.Ticket:
		s.severity = sev
	case alerting.NoData:
		m.d.errorAt(path+".severity", "no_data is the dead-man's switches' severity; use page or ticket")
	default:
		m.d.errorAt(path+".severity", "%q: use page or ticket", y.Severity)
	}
	return s
}
