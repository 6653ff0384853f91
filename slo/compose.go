package slo

import (
	"errors"
	"fmt"
	"math"
)

// CompositionMode says how parts combine.
type CompositionMode string

const (
	// Serial: hard dependencies, all needed; availabilities multiply.
	Serial CompositionMode = "serial"
	// Redundant: independent copies, any one suffices; the composite fails
	// only when every copy does: 1 - product of (1 - a).
	Redundant CompositionMode = "redundant"
	// Weighted: the weighted mean of the parts, sum(w x a) / sum(w), as
	// an OpenSLO composite SLO weighs its objectives (compositeWeight).
	// Parts that each meet their objective meet the weighted goal.
	Weighted CompositionMode = "weighted"
)

// Composition is an availability built from other SLOs, as the reliability
// pillar computes it. It states what the parts add up to beside the parts
// themselves.
type Composition struct {
	Name  string
	Mode  CompositionMode
	Parts []string // SLO names
	// Weights, one per part, apply to a weighted composition.
	Weights []float64
}

// Validate reports what is wrong with the composition.
func (c Composition) Validate() error {
	if c.Name == "" {
		return errors.New("name: must not be empty")
	}
	if c.Mode != Serial && c.Mode != Redundant && c.Mode != Weighted {
		return fmt.Errorf("mode: %q is not serial or redundant", c.Mode)
	}
	if len(c.Parts) < 2 {
		return errors.New("parts: a composition needs at least two SLOs")
	}
	seen := map[string]bool{}
	for i, p := range c.Parts {
		if p == "" {
			return fmt.Errorf("parts[%d]: must not be empty", i)
		}
		if seen[p] {
			return fmt.Errorf("parts[%d]: %q appears twice", i, p)
		}
		seen[p] = true
	}
	switch {
	case c.Mode != Weighted && len(c.Weights) > 0:
		return errors.New("weights: only a weighted composition has weights")
	case c.Mode == Weighted && len(c.Weights) != len(c.Parts):
		return fmt.Errorf("weights: %d weights for %d parts; give one for each part", len(c.Weights), len(c.Parts))
	}
	for i, w := range c.Weights {
		if !(w > 0) || math.IsInf(w, 0) {
			return fmt.Errorf("weights[%d]: %s: a weight is above 0", i, formatFloat(w))
		}
	}
	return nil
}

// composeWeighted is the weighted mean of availabilities (ratios).
func composeWeighted(parts, weights []float64) (float64, error) {
	var sum, total float64
	for i, a := range parts {
		if a < 0 || a > 1 {
			return 0, fmt.Errorf("slo: availability %s is not a ratio in [0, 1]", formatFloat(a))
		}
		sum += weights[i] * a
		total += weights[i]
	}
	return sum / total, nil
}

// Compose combines availabilities (ratios) by mode.
func Compose(mode CompositionMode, parts ...float64) (float64, error) {
	if len(parts) == 0 {
		return 0, errors.New("slo: nothing to compose")
	}
	for _, a := range parts {
		if a < 0 || a > 1 {
			return 0, fmt.Errorf("slo: availability %s is not a ratio in [0, 1]", formatFloat(a))
		}
	}
	switch mode {
	case Serial:
		r := 1.0
		for _, a := range parts {
			r *= a
		}
		return r, nil
	case Redundant:
		down := 1.0
		for _, a := range parts {
			down *= 1 - a
		}
		return 1 - down, nil
	}
	return 0, fmt.Errorf("slo: unknown composition mode %q", mode)
}

// PartStatus is one part of a composed availability.
type PartStatus struct {
	SLO       string   `json:"slo"`
	Objective float64  `json:"objective"`
	Observed  *float64 `json:"availability"` // nil: no data
}

// ComposedStatus is a composition's observed availability against its
// design goal (its parts' objectives composed the same way).
type ComposedStatus struct {
	Name      string          `json:"name"`
	Mode      CompositionMode `json:"mode"`
	Objective float64         `json:"objective"`
	Observed  *float64        `json:"availability"` // nil when any part has no data
	Parts     []PartStatus    `json:"parts"`
}

// ComposeDecisions composes the availability the decisions observed over
// their budget windows (good / total; good slices under timeslices).
func ComposeDecisions(c Composition, decisions []Decision) (ComposedStatus, error) {
	if err := c.Validate(); err != nil {
		return ComposedStatus{}, fmt.Errorf("composition %s: %w", c.Name, err)
	}
	parts := map[string]PartStatus{}
	for _, name := range c.Parts {
		var d *Decision
		for i := range decisions {
			if decisions[i].SLO == name {
				d = &decisions[i]
			}
		}
		if d == nil {
			return ComposedStatus{}, fmt.Errorf("composition %s: no SLO named %q", c.Name, name)
		}
		ps := PartStatus{SLO: name, Objective: d.Objective}
		if !d.Budget.NoData {
			a := d.Budget.Good / d.Budget.Total
			ps.Observed = &a
		}
		parts[name] = ps
	}
	return composeParts(c, parts)
}

// ComposeAll composes every composition in the order given, except that a
// composition whose parts include another is composed after it, so
// compositions nest: the redundant pair of regions, in series with the
// database. A part is an SLO (its objective, and good / total over its
// budget window) or an earlier composition (its goal and its observed
// availability).
func ComposeAll(comps []Composition, decisions []Decision) ([]ComposedStatus, error) {
	parts := map[string]PartStatus{}
	for _, d := range decisions {
		ps := PartStatus{SLO: d.SLO, Objective: d.Objective}
		if !d.Budget.NoData {
			a := d.Budget.Good / d.Budget.Total
			ps.Observed = &a
		}
		parts[d.SLO] = ps
	}
	out := make([]ComposedStatus, len(comps))
	done := make([]bool, len(comps))
	for left := len(comps); left > 0; {
		progress := false
		for i, c := range comps {
			if done[i] {
				continue
			}
			ready := true
			for _, p := range c.Parts {
				if _, ok := parts[p]; !ok {
					ready = false
				}
			}
			if !ready {
				continue
			}
			cs, err := composeParts(c, parts)
			if err != nil {
				return nil, err
			}
			out[i], done[i] = cs, true
			parts[c.Name] = PartStatus{SLO: c.Name, Objective: cs.Objective, Observed: cs.Observed}
			left--
			progress = true
		}
		if !progress {
			for i, c := range comps {
				if !done[i] {
					return nil, fmt.Errorf("composition %s: its parts %v are neither SLOs nor compositions without a cycle", c.Name, c.Parts)
				}
			}
		}
	}
	return out, nil
}

func composeParts(c Composition, parts map[string]PartStatus) (ComposedStatus, error) {
	if err := c.Validate(); err != nil {
		return ComposedStatus{}, fmt.Errorf("composition %s: %w", c.Name, err)
	}
	out := ComposedStatus{Name: c.Name, Mode: c.Mode}
	var objectives, observed []float64
	for _, name := range c.Parts {
		ps := parts[name]
		out.Parts = append(out.Parts, ps)
		objectives = append(objectives, ps.Objective)
		if ps.Observed != nil {
			observed = append(observed, *ps.Observed)
		}
	}
	compose := func(parts ...float64) (float64, error) {
		if c.Mode == Weighted {
			return composeWeighted(parts, c.Weights)
		}
		return Compose(c.Mode, parts...)
	}
	var err error
	if out.Objective, err = compose(objectives...); err != nil {
		return ComposedStatus{}, err
	}
	if len(observed) == len(c.Parts) {
		a, err := compose(observed...)
		if err != nil {
			return ComposedStatus{}, err
		}
		out.Observed = &a
	}
	return out, nil
}
