package awsfake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Alarm limits, as CloudWatch documents them.
const (
	cwMaxAlarmQueries = 20
	cwMaxAlarmSpan    = 7 * 24 * time.Hour
	cwMaxShortSpan    = 24 * time.Hour // when the period is under an hour
)

// cwAlarm keeps a PutMetricAlarm input as sent, so DescribeAlarms gives it
// back member for member, plus the state CloudWatch adds.
type cwAlarm struct {
	input       cwMap
	state       string
	reason      string
	updated     time.Time
	stateChange time.Time
}

// MetricAlarm is a stored alarm, for tests to inspect.
type MetricAlarm struct {
	Name, Description       string
	ActionsEnabled          bool
	AlarmActions            []string
	OKActions               []string
	InsufficientDataActions []string
	// A single-metric alarm sets these.
	Namespace, MetricName string
	Dimensions            map[string]string
	Statistic             string
	ExtendedStatistic     string
	Period                int
	Unit                  string
	// A metric math alarm sets Metrics instead.
	Metrics            []AlarmQuery
	EvaluationPeriods  int
	DatapointsToAlarm  int
	Threshold          float64
	ComparisonOperator string
	TreatMissingData   string
	// State is OK, ALARM or INSUFFICIENT_DATA.
	State, StateReason string
}

// AlarmQuery is one query of a metric math alarm.
type AlarmQuery struct {
	ID, Label, Expression string
	ReturnData            bool
	Period                int
	// Metric and Stat are set for a MetricStat query.
	Metric *Metric
	Stat   string
}

// Alarm returns a stored alarm.
func (c *CloudWatch) Alarm(name string) (MetricAlarm, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.alarms[name]
	if !ok {
		return MetricAlarm{}, false
	}
	return a.export(), true
}

// Alarms returns every stored alarm, sorted by name.
func (c *CloudWatch) Alarms() []MetricAlarm {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]MetricAlarm, 0, len(c.alarms))
	for _, name := range slices.Sorted(maps.Keys(c.alarms)) {
		out = append(out, c.alarms[name].export())
	}
	return out
}

// SetAlarmState moves an alarm to state (OK, ALARM or INSUFFICIENT_DATA),
// as CloudWatch would on evaluation, so a test can show alarm status.
func (c *CloudWatch) SetAlarmState(name, state, reason string) error {
	if !slices.Contains([]string{"OK", "ALARM", "INSUFFICIENT_DATA"}, state) {
		return fmt.Errorf("alarm state %q is not OK, ALARM or INSUFFICIENT_DATA", state)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.alarms[name]
	if !ok {
		return fmt.Errorf("alarm %q does not exist", name)
	}
	a.setState(state, reason, c.now())
	return nil
}

func (a *cwAlarm) setState(state, reason string, now time.Time) {
	if state != a.state {
		a.stateChange = now
	}
	a.state, a.reason, a.updated = state, reason, now
}

func (a *cwAlarm) export() MetricAlarm {
	in := a.input
	s := func(k string) string { v, _, _ := in.str("", k); return v }
	n := func(k string) int { v, _, _ := in.int("", k); return int(v) }
	ss := func(k string) []string { v, _ := in.strings("", k); return v }
	m := MetricAlarm{
		Name: s("AlarmName"), Description: s("AlarmDescription"), ActionsEnabled: true,
		AlarmActions: ss("AlarmActions"), OKActions: ss("OKActions"), InsufficientDataActions: ss("InsufficientDataActions"),
		Namespace: s("Namespace"), MetricName: s("MetricName"), Statistic: s("Statistic"), ExtendedStatistic: s("ExtendedStatistic"),
		Period: n("Period"), Unit: s("Unit"), EvaluationPeriods: n("EvaluationPeriods"), DatapointsToAlarm: n("DatapointsToAlarm"),
		ComparisonOperator: s("ComparisonOperator"), TreatMissingData: s("TreatMissingData"),
		State: a.state, StateReason: a.reason,
	}
	if v, ok, _ := in.bool("", "ActionsEnabled"); ok {
		m.ActionsEnabled = v
	}
	m.Threshold, _, _ = in.float("", "Threshold")
	m.Dimensions = cwDimensionMap(in, "Dimensions")
	queries, _ := in.structs("", "Metrics")
	for _, q := range queries {
		aq := AlarmQuery{ReturnData: true}
		aq.ID, _, _ = q.str("", "Id")
		aq.Label, _, _ = q.str("", "Label")
		aq.Expression, _, _ = q.str("", "Expression")
		if v, ok, _ := q.bool("", "ReturnData"); ok {
			aq.ReturnData = v
		}
		p, _, _ := q.int("", "Period")
		aq.Period = int(p)
		if ms, ok, _ := q.structure("", "MetricStat"); ok {
			aq.Stat, _, _ = ms.str("", "Stat")
			if p, ok, _ := ms.int("", "Period"); ok {
				aq.Period = int(p)
			}
			if mm, ok, _ := ms.structure("", "Metric"); ok {
				metric := Metric{Dimensions: cwDimensionMap(mm, "Dimensions")}
				metric.Namespace, _, _ = mm.str("", "Namespace")
				metric.MetricName, _, _ = mm.str("", "MetricName")
				metric.Unit, _, _ = ms.str("", "Unit")
				aq.Metric = &metric
			}
		}
		m.Metrics = append(m.Metrics, aq)
	}
	return m
}

func cwDimensionMap(in cwMap, k string) map[string]string {
	dims, _ := in.structs("", k)
	out := make(map[string]string, len(dims))
	for _, d := range dims {
		name, _, _ := d.str("", "Name")
		value, _, _ := d.str("", "Value")
		out[name] = value
	}
	return out
}

func (c *CloudWatch) alarmArn(name string) string {
	return "arn:aws:cloudwatch:" + c.region + ":" + c.accountID + ":alarm:" + name
}

func (c *CloudWatch) putMetricAlarm(_ context.Context, in cwMap) (cbor.Map, *cwError) {
	if err := cwCheckAlarm(in); err != nil {
		return nil, err
	}
	name, _, _ := in.str("", "AlarmName")
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.alarms[name]; ok {
		// An update replaces the configuration and keeps the state.
		a.input, a.updated = in, now
		return nil, nil
	}
	c.alarms[name] = &cwAlarm{input: in, state: "INSUFFICIENT_DATA", reason: "Unchecked: Initial alarm creation", updated: now, stateChange: now}
	return nil, nil
}

// cwCheckAlarm enforces the alarm rules CloudWatch documents.
func cwCheckAlarm(in cwMap) *cwError {
	name, _, err := in.str("", "AlarmName")
	if err != nil {
		return err
	}
	if name == "" || len(name) > 255 {
		return cwValidation("The parameter AlarmName must be 1 to 255 characters long.")
	}
	evals, ok, err := in.int("", "EvaluationPeriods")
	if err != nil {
		return err
	}
	if !ok || evals < 1 {
		return cwValidation("The parameter EvaluationPeriods must be at least 1.")
	}
	if dp, ok, err := in.int("", "DatapointsToAlarm"); err != nil {
		return err
	} else if ok && (dp < 1 || dp > evals) {
		return cwValidation("DatapointsToAlarm must be between 1 and EvaluationPeriods.")
	}
	op, _, err := in.str("", "ComparisonOperator")
	if err != nil {
		return err
	}
	if !slices.Contains([]string{"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold",
		"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"}, op) {
		return cwValidation("The value %s for parameter ComparisonOperator is invalid.", op)
	}
	if tmd, ok, err := in.str("", "TreatMissingData"); err != nil {
		return err
	} else if ok && !slices.Contains([]string{"breaching", "notBreaching", "ignore", "missing"}, tmd) {
		return cwValidation("The value %s for parameter TreatMissingData is invalid.", tmd)
	}
	for _, k := range []string{"AlarmActions", "OKActions", "InsufficientDataActions"} {
		actions, err := in.strings("", k)
		if err != nil {
			return err
		}
		if len(actions) > 5 {
			return cwValidation("The collection %s must not have a size greater than 5.", k)
		}
	}

	metricName, single, err := in.str("", "MetricName")
	if err != nil {
		return err
	}
	queries, err := in.structs("", "Metrics")
	if err != nil {
		return err
	}
	var period int64
	switch {
	case single && len(queries) > 0:
		return cwValidation("The parameters MetricName and Metrics are mutually exclusive and you have specified both.")
	case single:
		if metricName == "" {
			return cwValidation("The parameter MetricName must not be empty.")
		}
		if ns, _, _ := in.str("", "Namespace"); ns == "" {
			return cwValidation("The parameter Namespace is required for an alarm on a single metric.")
		}
		stat, hasStat, _ := in.str("", "Statistic")
		ext, hasExt, _ := in.str("", "ExtendedStatistic")
		switch {
		case hasStat == hasExt:
			return cwValidation("Exactly one of the parameters Statistic and ExtendedStatistic must be specified.")
		case hasStat && !slices.Contains([]string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}, stat):
			return cwValidation("The value %s for parameter Statistic is invalid.", stat)
		case hasExt:
			if _, serr := cwParseStat(ext); serr != nil || slices.Contains([]string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}, ext) {
				return cwValidation("The value %s for parameter ExtendedStatistic is invalid.", ext)
			}
		}
		p, ok, err := in.int("", "Period")
		if err != nil {
			return err
		}
		if !ok {
			return cwValidation("The parameter Period is required for an alarm on a single metric.")
		}
		if err := cwCheckPeriod(p, "Period"); err != nil {
			return err
		}
		period = p
	case len(queries) == 0:
		return cwValidation("One of the parameters MetricName and Metrics must be specified.")
	default:
		if len(queries) > cwMaxAlarmQueries {
			return cwValidation("The collection Metrics must not have a size greater than %d.", cwMaxAlarmQueries)
		}
		returned := 0
		for i, q := range queries {
			path := fmt.Sprintf("Metrics.member.%d.", i+1)
			rd, ok, err := q.bool(path, "ReturnData")
			if err != nil {
				return err
			}
			if !ok || rd {
				returned++
			}
			expr, _, err := q.str(path, "Expression")
			if err != nil {
				return err
			}
			if strings.Contains(expr, "SEARCH(") {
				return cwValidation("SEARCH is not supported on Metric Alarms.")
			}
			if p, ok, _ := q.int(path, "Period"); ok {
				period = max(period, p)
			}
			if ms, ok, _ := q.structure(path, "MetricStat"); ok {
				if p, ok, _ := ms.int(path+"MetricStat.", "Period"); ok {
					period = max(period, p)
				}
			}
		}
		if returned != 1 {
			return cwValidation("Exactly one element of the metrics list should return data.")
		}
	}
	span := time.Duration(period*evals) * time.Second
	if period < 3600 && span > cwMaxShortSpan {
		return cwValidation("The evaluation period multiplied by the number of periods must not exceed one day for periods under an hour.")
	}
	if span > cwMaxAlarmSpan {
		return cwValidation("The evaluation period multiplied by the number of periods must not exceed 7 days.")
	}
	return nil
}

func (c *CloudWatch) describeAlarms(_ context.Context, in cwMap) (cbor.Map, *cwError) {
	names, err := in.strings("", "AlarmNames")
	if err != nil {
		return nil, err
	}
	prefix, hasPrefix, err := in.str("", "AlarmNamePrefix")
	if err != nil {
		return nil, err
	}
	if len(names) > 0 && hasPrefix {
		return nil, cwInvalidCombination("The parameters AlarmNames and AlarmNamePrefix are mutually exclusive.")
	}
	state, _, err := in.str("", "StateValue")
	if err != nil {
		return nil, err
	}
	actionPrefix, _, err := in.str("", "ActionPrefix")
	if err != nil {
		return nil, err
	}
	types, err := in.strings("", "AlarmTypes")
	if err != nil {
		return nil, err
	}
	metricAlarms := cbor.List{}
	if len(types) == 0 || slices.Contains(types, "MetricAlarm") {
		c.mu.Lock()
		for _, name := range slices.Sorted(maps.Keys(c.alarms)) {
			a := c.alarms[name]
			if len(names) > 0 && !slices.Contains(names, name) || !strings.HasPrefix(name, prefix) || state != "" && a.state != state {
				continue
			}
			if actionPrefix != "" && !a.hasActionPrefix(actionPrefix) {
				continue
			}
			metricAlarms = append(metricAlarms, c.alarmOutput(name, a))
		}
		c.mu.Unlock()
	}
	return cbor.Map{"MetricAlarms": metricAlarms, "CompositeAlarms": cbor.List{}}, nil
}

func (a *cwAlarm) hasActionPrefix(prefix string) bool {
	for _, k := range []string{"AlarmActions", "OKActions", "InsufficientDataActions"} {
		actions, _ := a.input.strings("", k)
		for _, act := range actions {
			if strings.HasPrefix(act, prefix) {
				return true
			}
		}
	}
	return false
}

// alarmOutput echoes the stored input as a MetricAlarm: every input member
// but Tags has a MetricAlarm member of the same name and shape.
func (c *CloudWatch) alarmOutput(name string, a *cwAlarm) cbor.Map {
	out := cbor.Map{}
	for k, v := range a.input {
		if k != "Tags" {
			out[k] = v
		}
	}
	if _, ok := out["ActionsEnabled"]; !ok {
		out["ActionsEnabled"] = cbor.Bool(true)
	}
	out["AlarmArn"] = cbor.String(c.alarmArn(name))
	out["AlarmConfigurationUpdatedTimestamp"] = cwTime(a.updated)
	out["StateValue"] = cbor.String(a.state)
	out["StateReason"] = cbor.String(a.reason)
	out["StateUpdatedTimestamp"] = cwTime(a.updated)
	out["StateTransitionedTimestamp"] = cwTime(a.stateChange)
	return out
}

func (c *CloudWatch) deleteAlarms(_ context.Context, in cwMap) (cbor.Map, *cwError) {
	names, err := in.strings("", "AlarmNames")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range names {
		if _, ok := c.alarms[name]; !ok {
			return nil, &cwError{status: 404, typ: "ResourceNotFound", queryCode: "ResourceNotFound", sender: true, message: "Alarm " + name + " does not exist."}
		}
	}
	for _, name := range names {
		delete(c.alarms, name)
	}
	return nil, nil
}

func (c *CloudWatch) setAlarmState(_ context.Context, in cwMap) (cbor.Map, *cwError) {
	name, _, err := in.str("", "AlarmName")
	if err != nil {
		return nil, err
	}
	state, _, err := in.str("", "StateValue")
	if err != nil {
		return nil, err
	}
	reason, _, err := in.str("", "StateReason")
	if err != nil {
		return nil, err
	}
	if !slices.Contains([]string{"OK", "ALARM", "INSUFFICIENT_DATA"}, state) {
		return nil, cwValidation("The value %s for parameter StateValue is invalid.", state)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.alarms[name]
	if !ok {
		return nil, &cwError{status: 404, typ: "ResourceNotFound", queryCode: "ResourceNotFound", sender: true, message: "Alarm " + name + " does not exist."}
	}
	a.setState(state, reason, c.now())
	return nil, nil
}
