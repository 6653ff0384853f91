package slo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// ParsePolicy reads a policy file, as `nines slo backtest --policy` takes:
//
//	min_bad_events: 2      # optional; bad events a long window needs before a tier fires
//	min_events: 100        # optional; 0 (the default) turns this guard off
//	tiers:                 # optional; keyed by tier name
//	  page_fast: {for: 5m}  # the tier must hold 5m before it fires
//	  page_slow: {disabled: true}
//	  ticket: {burn_rate: 2}
//	  weekly: {severity: ticket, long_window: 7d, short_window: 12h, burn_rate: 0.5}
//
// A name of a default tier (page_fast, page_slow, ticket) changes or
// disables it; any other name adds a tier. Unknown keys are errors, and
// errors start with name:line.
func ParsePolicy(name string, data []byte) (Policy, error) {
	p := DefaultPolicy()
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		return Policy{}, fmt.Errorf("%s: %w", name, err)
	}
	fail := func(n *yaml.Node, path, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s: %s", name, n.Line, path, fmt.Sprintf(format, args...))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return p, nil
	}
	if root.Kind != yaml.MappingNode {
		return Policy{}, fail(root, "policy", "want a mapping with min_bad_events, min_events and tiers")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "min_events":
			f, err := number(v)
			if err != nil || f < 0 {
				return Policy{}, fail(v, "min_events", "want a count of 0 or more, got %q", v.Value)
			}
			p.MinEvents = f
		case "min_bad_events":
			f, err := number(v)
			if err != nil || f < 1 {
				return Policy{}, fail(v, "min_bad_events", "want a count of 1 or more, got %q; 2 (the default) keeps one failed probe from alerting", v.Value)
			}
			p.MinBadEvents = f
		case "tiers":
			if v.Kind != yaml.MappingNode {
				return Policy{}, fail(v, "tiers", "want a mapping from tier name to its settings")
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				tn, tv := v.Content[j], v.Content[j+1]
				t, err := parseTier(tn.Value, tv, fail)
				if err != nil {
					return Policy{}, err
				}
				for _, seen := range p.Tiers {
					if seen.Name == t.Name {
						return Policy{}, fail(tn, "tiers."+t.Name, "appears twice")
					}
				}
				if err := t.validate(defaultTier(t.Name) != nil); err != nil {
					return Policy{}, fail(tv, "tiers."+t.Name, "%v", err)
				}
				p.Tiers = append(p.Tiers, t)
			}
		default:
			return Policy{}, fail(k, k.Value, "unknown key; want min_bad_events, min_events or tiers")
		}
	}
	// Check the tiers as they resolve for the table's own window, so a
	// short window longer than its long one is caught here, not at runtime.
	if _, err := p.Resolve(TableWindow); err != nil {
		return Policy{}, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

type failFunc func(n *yaml.Node, path, format string, args ...any) error

func parseTier(name string, n *yaml.Node, fail failFunc) (TierSpec, error) {
	t := TierSpec{Name: name}
	path := "tiers." + name
	if name == "" {
		return t, fail(n, "tiers", "a tier needs a name")
	}
	if n.Kind != yaml.MappingNode {
		return t, fail(n, path, "want a mapping of severity, long_window, short_window, burn_rate, for, disabled")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := path + "." + k.Value
		var err error
		switch k.Value {
		case "disabled":
			t.Disabled, err = strconv.ParseBool(v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				return t, fail(v, p, "want true or false, got %q", v.Value)
			}
		case "severity":
			t.Severity = Severity(v.Value)
			if t.Severity != Page && t.Severity != Ticket {
				return t, fail(v, p, "want page or ticket, got %q", v.Value)
			}
		case "long_window", "short_window", "for":
			d, err := ParseDuration(v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				return t, fail(v, p, "want a duration such as 1h or 5m, got %q", v.Value)
			}
			switch k.Value {
			case "long_window":
				t.LongWindow = d
			case "short_window":
				t.ShortWindow = d
			default:
				t.For = d
			}
		case "burn_rate":
			t.BurnRate, err = number(v)
			if err != nil || t.BurnRate <= 0 {
				return t, fail(v, p, "want a positive number, got %q", v.Value)
			}
		default:
			return t, fail(k, p, "unknown key; want severity, long_window, short_window, burn_rate, for or disabled")
		}
	}
	return t, nil
}

func number(n *yaml.Node) (float64, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, errors.New("not a number")
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("not a number")
	}
	return f, nil
}
