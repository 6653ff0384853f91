package awsfake

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// GetMetricData limits, as CloudWatch documents them.
const (
	cwMaxQueries    = 500
	cwMaxDatapoints = 100800
)

var cwQueryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// cwSeries is a time series: values keyed by period start in Unix
// milliseconds.
type cwSeries struct {
	period int64 // seconds
	points map[int64]float64
}

func (s *cwSeries) sortedTimes() []int64 {
	ts := make([]int64, 0, len(s.points))
	for t := range s.points {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// cwQuery is one MetricDataQuery.
type cwQuery struct {
	id, label  string
	returnData bool
	period     int64
	metric     *Metric
	stat       cwStat
	expr       cwNode
	exprText   string
}

// cwRequest is what evaluating one GetMetricData call needs.
type cwRequest struct {
	c          *CloudWatch
	start, end time.Time
	queries    map[string]*cwQuery
	results    map[string]*cwValue
	evaluating map[string]bool
}

func (c *CloudWatch) getMetricData(_ context.Context, in cwMap) (cbor.Map, *cwError) {
	start, ok, err := in.time("", "StartTime")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, cwMissingParameter("The parameter StartTime is required.")
	}
	end, ok, err := in.time("", "EndTime")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, cwMissingParameter("The parameter EndTime is required.")
	}
	if !start.Before(end) {
		return nil, cwValidation("The parameter StartTime must be less than the parameter EndTime.")
	}
	scanBy, _, err := in.str("", "ScanBy")
	if err != nil {
		return nil, err
	}
	switch scanBy {
	case "":
		scanBy = "TimestampDescending"
	case "TimestampDescending", "TimestampAscending":
	default:
		return nil, cwValidation("The value %s for parameter ScanBy is invalid.", scanBy)
	}
	maxPoints := int64(cwMaxDatapoints)
	if n, ok, err := in.int("", "MaxDatapoints"); err != nil {
		return nil, err
	} else if ok {
		if n < 1 || n > cwMaxDatapoints {
			return nil, cwValidation("The value %d for parameter MaxDatapoints is invalid. It must be between 1 and %d.", n, cwMaxDatapoints)
		}
		maxPoints = n
	}
	offset := int64(0)
	if token, ok, err := in.str("", "NextToken"); err != nil {
		return nil, err
	} else if ok {
		n, perr := strconv.ParseInt(strings.TrimPrefix(token, "fake-offset-"), 10, 64)
		if perr != nil || !strings.HasPrefix(token, "fake-offset-") || n <= 0 {
			return nil, &cwError{status: 400, typ: "InvalidNextToken", queryCode: "InvalidNextToken", sender: true, message: "The service couldn't process the provided NextToken."}
		}
		offset = n
	}

	raw, err := in.structs("", "MetricDataQueries")
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, cwMissingParameter("The parameter MetricDataQueries is required.")
	}
	if len(raw) > cwMaxQueries {
		return nil, cwValidation("1 validation error detected: Value at 'metricDataQueries' failed to satisfy constraint: Member must have length less than or equal to %d", cwMaxQueries)
	}
	req := &cwRequest{c: c, start: start, end: end, queries: map[string]*cwQuery{}, results: map[string]*cwValue{}, evaluating: map[string]bool{}}
	var order []*cwQuery
	for i, r := range raw {
		q, err := cwDecodeQuery(r, fmt.Sprintf("MetricDataQueries.member.%d.", i+1))
		if err != nil {
			return nil, err
		}
		if _, dup := req.queries[q.id]; dup {
			return nil, cwValidation("The value %s for parameter MetricDataQueries.member.%d.Id is a duplicate.", q.id, i+1)
		}
		req.queries[q.id] = q
		order = append(order, q)
	}
	returned := 0
	for _, q := range order {
		if q.expr != nil {
			for _, ref := range cwRefs(q.expr) {
				if _, ok := req.queries[ref]; !ok {
					return nil, cwValidation("Error in expression '%s': Unrecognized metric or expression id '%s'", q.id, ref)
				}
			}
		}
		if q.returnData {
			returned++
		}
	}
	if returned == 0 {
		return nil, cwValidation("At least one query in MetricDataQueries must have ReturnData set to true.")
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	type result struct {
		q      *cwQuery
		times  []int64
		values []float64
	}
	var results []result
	total := int64(0)
	for _, q := range order {
		v, err := req.eval(q.id)
		if err != nil {
			return nil, err
		}
		if !q.returnData {
			continue
		}
		s, err := req.asSeries(q, v)
		if err != nil {
			return nil, err
		}
		times := s.sortedTimes()
		if scanBy == "TimestampDescending" {
			slices.Reverse(times)
		}
		values := make([]float64, len(times))
		for i, t := range times {
			values[i] = s.points[t]
		}
		results = append(results, result{q, times, values})
		total += int64(len(times))
	}
	if offset > total {
		return nil, &cwError{status: 400, typ: "InvalidNextToken", queryCode: "InvalidNextToken", sender: true, message: "The service couldn't process the provided NextToken."}
	}

	// Page through the concatenated datapoints: skip offset, return at most
	// maxPoints, and mark a query cut short as PartialData.
	out := cbor.List{}
	skip, budget := offset, maxPoints
	for _, r := range results {
		n := int64(len(r.times))
		from := min(skip, n)
		skip -= from
		to := from + min(budget, n-from)
		budget -= to - from
		if from == n && n > 0 {
			continue
		}
		status := "Complete"
		if to < n {
			status = "PartialData"
		}
		ts := make(cbor.List, 0, to-from)
		vs := make(cbor.List, 0, to-from)
		for i := from; i < to; i++ {
			ts = append(ts, cwTime(time.UnixMilli(r.times[i])))
			vs = append(vs, cbor.Float64(r.values[i]))
		}
		out = append(out, cbor.Map{
			"Id":         cbor.String(r.q.id),
			"Label":      cbor.String(r.q.label),
			"Timestamps": ts,
			"Values":     vs,
			"StatusCode": cbor.String(status),
			"Messages":   cbor.List{},
		})
	}
	resp := cbor.Map{"MetricDataResults": out, "Messages": cbor.List{}}
	if next := offset + maxPoints; next < total {
		resp["NextToken"] = cbor.String(fmt.Sprintf("fake-offset-%d", next))
	}
	return resp, nil
}

func cwDecodeQuery(r cwMap, path string) (*cwQuery, *cwError) {
	q := &cwQuery{returnData: true}
	id, _, err := r.str(path, "Id")
	if err != nil {
		return nil, err
	}
	if !cwQueryID.MatchString(id) || len(id) > 255 {
		return nil, cwValidation("The value %s for parameter %sId is invalid. It must start with a lowercase letter and contain only letters, numbers and underscores.", id, path)
	}
	q.id = id
	if rd, ok, err := r.bool(path, "ReturnData"); err != nil {
		return nil, err
	} else if ok {
		q.returnData = rd
	}
	if p, ok, err := r.int(path, "Period"); err != nil {
		return nil, err
	} else if ok {
		if err := cwCheckPeriod(p, path+"Period"); err != nil {
			return nil, err
		}
		q.period = p
	}
	label, hasLabel, err := r.str(path, "Label")
	if err != nil {
		return nil, err
	}
	ms, hasStat, err := r.structure(path, "MetricStat")
	if err != nil {
		return nil, err
	}
	expr, hasExpr, err := r.str(path, "Expression")
	if err != nil {
		return nil, err
	}
	switch {
	case hasStat && hasExpr:
		return nil, cwValidation("The parameters %sMetricStat and %sExpression are mutually exclusive and you have specified both.", path, path)
	case !hasStat && !hasExpr:
		return nil, cwValidation("Exactly one of %sMetricStat and %sExpression must be specified.", path, path)
	case hasStat:
		spath := path + "MetricStat."
		m, ok, err := ms.structure(spath, "Metric")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, cwMissingParameter("The parameter %sMetric is required.", spath)
		}
		metric := Metric{Dimensions: map[string]string{}}
		if metric.Namespace, _, err = m.str(spath+"Metric.", "Namespace"); err != nil {
			return nil, err
		}
		if metric.MetricName, _, err = m.str(spath+"Metric.", "MetricName"); err != nil {
			return nil, err
		}
		dims, err := m.structs(spath+"Metric.", "Dimensions")
		if err != nil {
			return nil, err
		}
		for j, d := range dims {
			dpath := fmt.Sprintf("%sMetric.Dimensions.member.%d.", spath, j+1)
			name, _, err := d.str(dpath, "Name")
			if err != nil {
				return nil, err
			}
			value, _, err := d.str(dpath, "Value")
			if err != nil {
				return nil, err
			}
			metric.Dimensions[name] = value
		}
		if metric.Unit, _, err = ms.str(spath, "Unit"); err != nil {
			return nil, err
		}
		period, ok, err := ms.int(spath, "Period")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, cwMissingParameter("The parameter %sPeriod is required.", spath)
		}
		if err := cwCheckPeriod(period, spath+"Period"); err != nil {
			return nil, err
		}
		stat, _, err := ms.str(spath, "Stat")
		if err != nil {
			return nil, err
		}
		s, serr := cwParseStat(stat)
		if serr != nil {
			serr.message = fmt.Sprintf("The value %s for parameter %sStat is not a valid statistic.", stat, spath)
			return nil, serr
		}
		q.metric, q.stat, q.period = &metric, s, period
		q.label = metric.MetricName
	default:
		node, perr := cwParseExpression(expr)
		if perr != nil {
			return nil, cwValidation("Error in expression '%s': %s", id, perr.Error())
		}
		q.expr, q.exprText = node, expr
		q.label = id
	}
	if hasLabel {
		q.label = label
	}
	return q, nil
}

// cwCheckPeriod enforces CloudWatch's periods: 1, 5, 10, 20 or 30 seconds
// for high resolution, otherwise a multiple of 60.
func cwCheckPeriod(p int64, path string) *cwError {
	switch {
	case p <= 0:
	case p < 60 && slices.Contains([]int64{1, 5, 10, 20, 30}, p):
		return nil
	case p >= 60 && p%60 == 0:
		return nil
	}
	return cwValidation("The parameter %s must be 1, 5, 10, 20, 30, or any multiple of 60.", path)
}

// eval evaluates a query by id, memoised, refusing cycles. c.mu is held.
func (r *cwRequest) eval(id string) (*cwValue, *cwError) {
	if v, ok := r.results[id]; ok {
		return v, nil
	}
	if r.evaluating[id] {
		return nil, cwValidation("Error in expression '%s': Circular dependency", id)
	}
	r.evaluating[id] = true
	defer delete(r.evaluating, id)
	q := r.queries[id]
	var v *cwValue
	if q.metric != nil {
		v = &cwValue{series: r.c.metricSeries(*q.metric, q.stat, r.start, r.end, q.period)}
	} else {
		var err error
		if v, err = r.evalNode(q, q.expr); err != nil {
			return nil, cwValidation("Error in expression '%s': %s", id, err.Error())
		}
	}
	r.results[id] = v
	return v, nil
}

// asSeries turns a query's value into the series GetMetricData returns. A
// scalar is spread over every period of the range.
func (r *cwRequest) asSeries(q *cwQuery, v *cwValue) (*cwSeries, *cwError) {
	switch {
	case v.series != nil:
		return v.series, nil
	case v.list != nil:
		return nil, cwValidation("Error in expression '%s': the expression returns several time series, which the CloudWatch fake does not return", q.id)
	}
	s := &cwSeries{period: r.defaultPeriod(q), points: map[int64]float64{}}
	for _, t := range r.grid(s.period) {
		s.points[t] = v.scalar
	}
	return s, nil
}

// defaultPeriod is a query's Period, or else the smallest period among the
// metrics it draws on, or else a minute.
func (r *cwRequest) defaultPeriod(q *cwQuery) int64 {
	if q.period > 0 {
		return q.period
	}
	best := int64(0)
	for _, other := range r.queries {
		if other.metric != nil && (best == 0 || other.period < best) {
			best = other.period
		}
	}
	if best == 0 {
		best = 60
	}
	return best
}

// grid is every period start from StartTime, rounded as CloudWatch rounds
// it for that period, up to EndTime.
func (r *cwRequest) grid(period int64) []int64 {
	var out []int64
	step := period * 1000
	for t := cwRoundStart(r.start, r.c.now(), period).UnixMilli(); t < r.end.UnixMilli(); t += step {
		out = append(out, t)
	}
	return out
}

// cwValue is what a metric math expression yields: a scalar, one time
// series, or an array of them.
type cwValue struct {
	scalar float64
	series *cwSeries
	list   []*cwSeries
}

func (r *cwRequest) evalNode(q *cwQuery, n cwNode) (*cwValue, error) {
	switch n := n.(type) {
	case cwNumber:
		return &cwValue{scalar: float64(n)}, nil
	case cwRef:
		v, err := r.eval(string(n))
		if err != nil {
			return nil, fmt.Errorf("%s", err.message)
		}
		return v, nil
	case cwNeg:
		v, err := r.evalNode(q, n.x)
		if err != nil {
			return nil, err
		}
		return cwBinary('*', &cwValue{scalar: -1}, v)
	case cwBin:
		x, err := r.evalNode(q, n.x)
		if err != nil {
			return nil, err
		}
		y, err := r.evalNode(q, n.y)
		if err != nil {
			return nil, err
		}
		return cwBinary(n.op, x, y)
	case cwArray:
		var list []*cwSeries
		for _, item := range n {
			v, err := r.evalNode(q, item)
			if err != nil {
				return nil, err
			}
			switch {
			case v.series != nil:
				list = append(list, v.series)
			case v.list != nil:
				list = append(list, v.list...)
			default:
				return nil, fmt.Errorf("an array holds time series, not numbers")
			}
		}
		return &cwValue{list: list}, nil
	case cwCall:
		return r.call(q, n)
	}
	return nil, fmt.Errorf("unexpected expression")
}

func (r *cwRequest) call(q *cwQuery, n cwCall) (*cwValue, error) {
	args := make([]*cwValue, len(n.args))
	for i, a := range n.args {
		v, err := r.evalNode(q, a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	switch n.name {
	case "SUM", "AVG", "MIN", "MAX":
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes one argument", n.name)
		}
		return cwAggregate(n.name, args[0])
	case "FILL":
		if len(args) != 2 {
			return nil, fmt.Errorf("FILL takes two arguments")
		}
		if args[1].series != nil || args[1].list != nil {
			return nil, fmt.Errorf("the second argument of FILL must be a number")
		}
		fill := func(s *cwSeries) *cwSeries {
			out := &cwSeries{period: s.period, points: make(map[int64]float64)}
			for _, t := range r.grid(s.period) {
				out.points[t] = args[1].scalar
			}
			for t, v := range s.points {
				out.points[t] = v
			}
			return out
		}
		switch {
		case args[0].series != nil:
			return &cwValue{series: fill(args[0].series)}, nil
		case args[0].list != nil:
			var list []*cwSeries
			for _, s := range args[0].list {
				list = append(list, fill(s))
			}
			return &cwValue{list: list}, nil
		}
		return nil, fmt.Errorf("the first argument of FILL must be a time series")
	}
	return nil, fmt.Errorf("Unknown function %s", n.name)
}

// cwAggregate applies SUM, AVG, MIN or MAX: across an array of series it
// works per timestamp over the series that have a value there; over one
// series it yields a scalar.
func cwAggregate(name string, v *cwValue) (*cwValue, error) {
	fold := func(vals []float64) float64 {
		acc := vals[0]
		for _, x := range vals[1:] {
			switch name {
			case "SUM", "AVG":
				acc += x
			case "MIN":
				acc = math.Min(acc, x)
			case "MAX":
				acc = math.Max(acc, x)
			}
		}
		if name == "AVG" {
			acc /= float64(len(vals))
		}
		return acc
	}
	switch {
	case v.list != nil:
		if len(v.list) == 0 {
			return nil, fmt.Errorf("%s of an empty array", name)
		}
		byTime := map[int64][]float64{}
		for _, s := range v.list {
			for t, x := range s.points {
				byTime[t] = append(byTime[t], x)
			}
		}
		out := &cwSeries{period: v.list[0].period, points: map[int64]float64{}}
		for t, vals := range byTime {
			out.points[t] = fold(vals)
		}
		return &cwValue{series: out}, nil
	case v.series != nil:
		var vals []float64
		for _, t := range v.series.sortedTimes() {
			vals = append(vals, v.series.points[t])
		}
		if len(vals) == 0 {
			return &cwValue{series: &cwSeries{period: v.series.period, points: map[int64]float64{}}}, nil
		}
		return &cwValue{scalar: fold(vals)}, nil
	}
	return nil, fmt.Errorf("%s needs a time series or an array of them", name)
}

// cwBinary applies an arithmetic operator. Two series combine where both
// have a timestamp; a result that is not a finite number (division by
// zero) is left out, as CloudWatch drops it.
func cwBinary(op byte, x, y *cwValue) (*cwValue, error) {
	if x.list != nil || y.list != nil {
		return nil, fmt.Errorf("arithmetic on an array of time series is not supported by the CloudWatch fake")
	}
	apply := func(a, b float64) float64 {
		switch op {
		case '+':
			return a + b
		case '-':
			return a - b
		case '*':
			return a * b
		}
		return a / b
	}
	switch {
	case x.series == nil && y.series == nil:
		return &cwValue{scalar: apply(x.scalar, y.scalar)}, nil
	case x.series != nil && y.series != nil:
		out := &cwSeries{period: x.series.period, points: map[int64]float64{}}
		for t, a := range x.series.points {
			if b, ok := y.series.points[t]; ok {
				if v := apply(a, b); cwFinite(v) {
					out.points[t] = v
				}
			}
		}
		return &cwValue{series: out}, nil
	case x.series != nil:
		out := &cwSeries{period: x.series.period, points: map[int64]float64{}}
		for t, a := range x.series.points {
			if v := apply(a, y.scalar); cwFinite(v) {
				out.points[t] = v
			}
		}
		return &cwValue{series: out}, nil
	default:
		out := &cwSeries{period: y.series.period, points: map[int64]float64{}}
		for t, b := range y.series.points {
			if v := apply(x.scalar, b); cwFinite(v) {
				out.points[t] = v
			}
		}
		return &cwValue{series: out}, nil
	}
}

// Metric math syntax tree.
type (
	cwNode   any
	cwNumber float64
	cwRef    string
	cwNeg    struct{ x cwNode }
	cwBin    struct {
		op   byte
		x, y cwNode
	}
	cwArray []cwNode
	cwCall  struct {
		name string
		args []cwNode
	}
)

// cwRefs lists the query ids an expression names.
func cwRefs(n cwNode) []string {
	switch n := n.(type) {
	case cwRef:
		return []string{string(n)}
	case cwNeg:
		return cwRefs(n.x)
	case cwBin:
		return append(cwRefs(n.x), cwRefs(n.y)...)
	case cwArray:
		var out []string
		for _, x := range n {
			out = append(out, cwRefs(x)...)
		}
		return out
	case cwCall:
		var out []string
		for _, x := range n.args {
			out = append(out, cwRefs(x)...)
		}
		return out
	}
	return nil
}

// cwParser is a recursive-descent parser for the metric math subset the
// fake supports:
//
//	expr    = term { ("+" | "-") term }
//	term    = unary { ("*" | "/") unary }
//	unary   = "-" unary | primary
//	primary = number | id | FUNC "(" expr { "," expr } ")" | "(" expr ")" | "[" expr { "," expr } "]"
type cwParser struct {
	src string
	pos int
}

func cwParseExpression(src string) (cwNode, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("the expression is empty")
	}
	p := &cwParser{src: src}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.src) {
		return nil, fmt.Errorf("Syntax error at position %d: unexpected '%c'", p.pos, p.src[p.pos])
	}
	return n, nil
}

func (p *cwParser) space() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
}

func (p *cwParser) peek() byte {
	p.space()
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *cwParser) expect(b byte) error {
	if p.peek() != b {
		if p.pos >= len(p.src) {
			return fmt.Errorf("Syntax error: expected '%c' at the end of the expression", b)
		}
		return fmt.Errorf("Syntax error at position %d: expected '%c'", p.pos, b)
	}
	p.pos++
	return nil
}

func (p *cwParser) expr() (cwNode, error) {
	x, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		op := p.peek()
		if op != '+' && op != '-' {
			return x, nil
		}
		p.pos++
		y, err := p.term()
		if err != nil {
			return nil, err
		}
		x = cwBin{op: op, x: x, y: y}
	}
}

func (p *cwParser) term() (cwNode, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op := p.peek()
		if op != '*' && op != '/' {
			return x, nil
		}
		p.pos++
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		x = cwBin{op: op, x: x, y: y}
	}
}

func (p *cwParser) unary() (cwNode, error) {
	if p.peek() == '-' {
		p.pos++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return cwNeg{x}, nil
	}
	return p.primary()
}

func (p *cwParser) list(closing byte) ([]cwNode, error) {
	var items []cwNode
	for {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		items = append(items, x)
		if p.peek() == ',' {
			p.pos++
			continue
		}
		return items, p.expect(closing)
	}
}

func (p *cwParser) primary() (cwNode, error) {
	b := p.peek()
	switch {
	case b == 0:
		return nil, fmt.Errorf("Syntax error: the expression ends too early")
	case b == '(':
		p.pos++
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		return x, p.expect(')')
	case b == '[':
		p.pos++
		items, err := p.list(']')
		if err != nil {
			return nil, err
		}
		return cwArray(items), nil
	case b >= '0' && b <= '9' || b == '.':
		start := p.pos
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
			p.pos++
		}
		f, err := strconv.ParseFloat(p.src[start:p.pos], 64)
		if err != nil {
			return nil, fmt.Errorf("Syntax error at position %d: bad number %q", start, p.src[start:p.pos])
		}
		return cwNumber(f), nil
	case b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z':
		start := p.pos
		for p.pos < len(p.src) && (p.src[p.pos] == '_' || p.src[p.pos] >= '0' && p.src[p.pos] <= '9' ||
			p.src[p.pos] >= 'a' && p.src[p.pos] <= 'z' || p.src[p.pos] >= 'A' && p.src[p.pos] <= 'Z') {
			p.pos++
		}
		word := p.src[start:p.pos]
		if p.peek() == '(' {
			p.pos++
			switch word {
			case "SUM", "AVG", "MIN", "MAX", "FILL":
			default:
				return nil, fmt.Errorf("Unknown function %s", word)
			}
			args, err := p.list(')')
			if err != nil {
				return nil, err
			}
			return cwCall{name: word, args: args}, nil
		}
		if !cwQueryID.MatchString(word) {
			return nil, fmt.Errorf("Syntax error at position %d: %s is not a metric or expression id", start, word)
		}
		return cwRef(word), nil
	}
	return nil, fmt.Errorf("Syntax error at position %d: unexpected '%c'", p.pos, b)
}
