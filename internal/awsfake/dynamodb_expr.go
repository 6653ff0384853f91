package awsfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// This file parses and evaluates DynamoDB expressions: conditions (also used
// for key conditions and filters) and the SET/REMOVE/ADD subset of update
// expressions.

// dynamodbEnv resolves placeholders and remembers which ones an expression
// used, because DynamoDB rejects a request that defines one it never uses.
type dynamodbEnv struct {
	names      map[string]string
	values     dynamodbItem
	usedNames  map[string]bool
	usedValues map[string]bool
}

func newDynamodbEnv(names map[string]string, values dynamodbItem) *dynamodbEnv {
	return &dynamodbEnv{names: names, values: values, usedNames: map[string]bool{}, usedValues: map[string]bool{}}
}

func (e *dynamodbEnv) checkUnused() error {
	var unusedNames, unusedValues []string
	for n := range e.names {
		if !e.usedNames[n] {
			unusedNames = append(unusedNames, n)
		}
	}
	for v := range e.values {
		if !e.usedValues[v] {
			unusedValues = append(unusedValues, v)
		}
	}
	sort.Strings(unusedNames)
	sort.Strings(unusedValues)
	if len(unusedNames) > 0 {
		return dynamodbValidation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(unusedNames, ", "))
	}
	if len(unusedValues) > 0 {
		return dynamodbValidation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(unusedValues, ", "))
	}
	return nil
}

type dynamodbToken struct {
	kind string // "ident", "name" (#x), "value" (:x), "int", "op", "eof"
	text string
}

func dynamodbLex(s string) ([]dynamodbToken, error) {
	var toks []dynamodbToken
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':':
			j := i + 1
			for j < len(s) && isWord(s[j]) {
				j++
			}
			if j == i+1 {
				return nil, fmt.Errorf("Syntax error; token: %q", string(c))
			}
			kind := "name"
			if c == ':' {
				kind = "value"
			}
			toks = append(toks, dynamodbToken{kind, s[i:j]})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			toks = append(toks, dynamodbToken{"int", s[i:j]})
			i = j
		case isWord(c):
			j := i
			for j < len(s) && isWord(s[j]) {
				j++
			}
			toks = append(toks, dynamodbToken{"ident", s[i:j]})
			i = j
		case c == '<' || c == '>':
			if i+1 < len(s) && (s[i+1] == '=' || c == '<' && s[i+1] == '>') {
				toks = append(toks, dynamodbToken{"op", s[i : i+2]})
				i += 2
			} else {
				toks = append(toks, dynamodbToken{"op", s[i : i+1]})
				i++
			}
		case strings.IndexByte("=(),.[]+-", c) >= 0:
			toks = append(toks, dynamodbToken{"op", s[i : i+1]})
			i++
		default:
			return nil, fmt.Errorf("Invalid character encountered; character: %q", string(c))
		}
	}
	return append(toks, dynamodbToken{kind: "eof"}), nil
}

type dynamodbParser struct {
	env  *dynamodbEnv
	toks []dynamodbToken
	pos  int
}

func (p *dynamodbParser) peek() dynamodbToken { return p.toks[p.pos] }

func (p *dynamodbParser) next() dynamodbToken {
	t := p.toks[p.pos]
	if t.kind != "eof" {
		p.pos++
	}
	return t
}

func (p *dynamodbParser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == "ident" && strings.EqualFold(t.text, word)
}

func (p *dynamodbParser) isOp(op string) bool {
	t := p.peek()
	return t.kind == "op" && t.text == op
}

func (p *dynamodbParser) expect(op string) error {
	if !p.isOp(op) {
		return p.syntaxError()
	}
	p.next()
	return nil
}

func (p *dynamodbParser) syntaxError() error {
	t := p.peek()
	if t.kind == "eof" {
		return errors.New("Syntax error; token: <EOF>")
	}
	return fmt.Errorf("Syntax error; token: %q", t.text)
}

// dynamodbPathStep is one step of a document path: a map key or a list index.
type dynamodbPathStep struct {
	key   string
	index int
	isIdx bool
}

type dynamodbPath []dynamodbPathStep

func (p *dynamodbParser) path() (dynamodbPath, error) {
	var path dynamodbPath
	for {
		t := p.next()
		switch t.kind {
		case "ident":
			path = append(path, dynamodbPathStep{key: t.text})
		case "name":
			n, ok := p.env.names[t.text]
			if !ok {
				return nil, fmt.Errorf("An expression attribute name used in the document path is not defined; attribute name: %s", t.text)
			}
			p.env.usedNames[t.text] = true
			path = append(path, dynamodbPathStep{key: n})
		default:
			return nil, fmt.Errorf("Syntax error; token: %q", t.text)
		}
		for p.isOp("[") {
			p.next()
			t := p.next()
			if t.kind != "int" {
				return nil, fmt.Errorf("Syntax error; token: %q", t.text)
			}
			i, _ := strconv.Atoi(t.text)
			path = append(path, dynamodbPathStep{index: i, isIdx: true})
			if err := p.expect("]"); err != nil {
				return nil, err
			}
		}
		if !p.isOp(".") {
			return path, nil
		}
		p.next()
	}
}

// get finds the value at the path, if the item has one.
func (path dynamodbPath) get(item dynamodbItem) (*dynamodbValue, bool) {
	if item == nil || len(path) == 0 || path[0].isIdx {
		return nil, false
	}
	raw, ok := item[path[0].key]
	if !ok {
		return nil, false
	}
	v, err := dynamodbParse(raw)
	if err != nil {
		return nil, false
	}
	for _, step := range path[1:] {
		var next json.RawMessage
		switch {
		case step.isIdx && v.typ == "L" && step.index < len(v.l):
			next = v.l[step.index]
		case !step.isIdx && v.typ == "M":
			next, ok = v.m[step.key]
			if !ok {
				return nil, false
			}
		default:
			return nil, false
		}
		if v, err = dynamodbParse(next); err != nil {
			return nil, false
		}
	}
	return v, true
}

// dynamodbOperand is a value in an expression: a path, a placeholder, a
// size() call or, in updates, arithmetic and functions.
type dynamodbOperand func(item dynamodbItem) (*dynamodbValue, bool, error)

func (p *dynamodbParser) value() (dynamodbOperand, error) {
	t := p.next()
	raw, ok := p.env.values[t.text]
	if !ok {
		return nil, fmt.Errorf("An expression attribute value used in expression is not defined; attribute value: %s", t.text)
	}
	p.env.usedValues[t.text] = true
	v, err := dynamodbParse(raw)
	if err != nil {
		return nil, err
	}
	return func(dynamodbItem) (*dynamodbValue, bool, error) { return v, true, nil }, nil
}

func (p *dynamodbParser) operand() (dynamodbOperand, error) {
	t := p.peek()
	switch {
	case t.kind == "value":
		return p.value()
	case t.kind == "ident" && t.text == "size" && p.toks[p.pos+1].text == "(":
		p.next()
		p.next()
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return func(item dynamodbItem) (*dynamodbValue, bool, error) {
			v, ok := path.get(item)
			if !ok {
				return nil, false, nil
			}
			n, ok := v.size()
			if !ok {
				return nil, false, nil
			}
			r := new(big.Rat).SetInt64(int64(n))
			return &dynamodbValue{typ: "N", n: r, wire: dynamodbNumberWire(r)}, true, nil
		}, nil
	case t.kind == "ident" || t.kind == "name":
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		return func(item dynamodbItem) (*dynamodbValue, bool, error) {
			v, ok := path.get(item)
			return v, ok, nil
		}, nil
	}
	return nil, p.syntaxError()
}

// dynamodbCond is a parsed condition.
type dynamodbCond struct {
	eval func(item dynamodbItem) bool
}

func (e *dynamodbEnv) parseCondition(expr string) (*dynamodbCond, error) {
	toks, err := dynamodbLex(expr)
	if err != nil {
		return nil, err
	}
	p := &dynamodbParser{env: e, toks: toks}
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != "eof" {
		return nil, p.syntaxError()
	}
	return &dynamodbCond{eval: f}, nil
}

type dynamodbPredicate func(item dynamodbItem) bool

func (p *dynamodbParser) or() (dynamodbPredicate, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		p.next()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(item dynamodbItem) bool { return l(item) || right(item) }
	}
	return left, nil
}

func (p *dynamodbParser) and() (dynamodbPredicate, error) {
	left, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		p.next()
		right, err := p.not()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(item dynamodbItem) bool { return l(item) && right(item) }
	}
	return left, nil
}

func (p *dynamodbParser) not() (dynamodbPredicate, error) {
	if p.isKeyword("NOT") {
		p.next()
		inner, err := p.not()
		if err != nil {
			return nil, err
		}
		return func(item dynamodbItem) bool { return !inner(item) }, nil
	}
	return p.primary()
}

func (p *dynamodbParser) primary() (dynamodbPredicate, error) {
	if p.isOp("(") {
		p.next()
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		return inner, p.expect(")")
	}
	t := p.peek()
	if t.kind == "ident" && p.toks[p.pos+1].text == "(" && t.text != "size" {
		return p.function()
	}
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	switch {
	case p.isKeyword("BETWEEN"):
		p.next()
		low, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !p.isKeyword("AND") {
			return nil, p.syntaxError()
		}
		p.next()
		high, err := p.operand()
		if err != nil {
			return nil, err
		}
		return func(item dynamodbItem) bool {
			return dynamodbCompareOperands(item, left, low, func(c int) bool { return c >= 0 }) &&
				dynamodbCompareOperands(item, left, high, func(c int) bool { return c <= 0 })
		}, nil
	case p.isKeyword("IN"):
		p.next()
		if err := p.expect("("); err != nil {
			return nil, err
		}
		var options []dynamodbOperand
		for {
			o, err := p.operand()
			if err != nil {
				return nil, err
			}
			options = append(options, o)
			if !p.isOp(",") {
				break
			}
			p.next()
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return func(item dynamodbItem) bool {
			for _, o := range options {
				if dynamodbEqualOperands(item, left, o) {
					return true
				}
			}
			return false
		}, nil
	}
	op := p.next()
	if op.kind != "op" {
		return nil, fmt.Errorf("Syntax error; token: %q", op.text)
	}
	right, err := p.operand()
	if err != nil {
		return nil, err
	}
	switch op.text {
	case "=":
		return func(item dynamodbItem) bool { return dynamodbEqualOperands(item, left, right) }, nil
	case "<>":
		// A missing attribute is unequal to every value.
		return func(item dynamodbItem) bool {
			a, okA, _ := left(item)
			b, okB, _ := right(item)
			if !okA || !okB {
				return true
			}
			return !a.equal(b)
		}, nil
	case "<":
		return func(item dynamodbItem) bool {
			return dynamodbCompareOperands(item, left, right, func(c int) bool { return c < 0 })
		}, nil
	case "<=":
		return func(item dynamodbItem) bool {
			return dynamodbCompareOperands(item, left, right, func(c int) bool { return c <= 0 })
		}, nil
	case ">":
		return func(item dynamodbItem) bool {
			return dynamodbCompareOperands(item, left, right, func(c int) bool { return c > 0 })
		}, nil
	case ">=":
		return func(item dynamodbItem) bool {
			return dynamodbCompareOperands(item, left, right, func(c int) bool { return c >= 0 })
		}, nil
	}
	return nil, fmt.Errorf("Syntax error; token: %q", op.text)
}

func dynamodbEqualOperands(item dynamodbItem, left, right dynamodbOperand) bool {
	a, okA, _ := left(item)
	b, okB, _ := right(item)
	return okA && okB && a.equal(b)
}

func dynamodbCompareOperands(item dynamodbItem, left, right dynamodbOperand, want func(int) bool) bool {
	a, okA, _ := left(item)
	b, okB, _ := right(item)
	if !okA || !okB {
		return false
	}
	c, ok := a.compare(b)
	return ok && want(c)
}

func (p *dynamodbParser) function() (dynamodbPredicate, error) {
	name := p.next().text
	p.next() // (
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	var arg dynamodbOperand
	switch name {
	case "attribute_exists", "attribute_not_exists":
	case "begins_with", "contains", "attribute_type":
		if err := p.expect(","); err != nil {
			return nil, err
		}
		if arg, err = p.operand(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("Invalid function name; function: %s", name)
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	switch name {
	case "attribute_exists":
		return func(item dynamodbItem) bool { _, ok := path.get(item); return ok }, nil
	case "attribute_not_exists":
		return func(item dynamodbItem) bool { _, ok := path.get(item); return !ok }, nil
	case "attribute_type":
		return func(item dynamodbItem) bool {
			v, ok := path.get(item)
			t, okT, _ := arg(item)
			return ok && okT && t.typ == "S" && v.typ == t.s
		}, nil
	case "begins_with":
		return func(item dynamodbItem) bool {
			v, ok := path.get(item)
			prefix, okP, _ := arg(item)
			if !ok || !okP || v.typ != prefix.typ {
				return false
			}
			switch v.typ {
			case "S":
				return strings.HasPrefix(v.s, prefix.s)
			case "B":
				return len(v.b) >= len(prefix.b) && string(v.b[:len(prefix.b)]) == string(prefix.b)
			}
			return false
		}, nil
	default: // contains
		return func(item dynamodbItem) bool {
			v, ok := path.get(item)
			needle, okN, _ := arg(item)
			if !ok || !okN {
				return false
			}
			switch v.typ {
			case "S":
				return needle.typ == "S" && strings.Contains(v.s, needle.s)
			case "SS", "NS", "BS":
				want := needle.canonical()[1:]
				i := sort.SearchStrings(v.set, want)
				return i < len(v.set) && v.set[i] == want && v.typ[:1] == needle.typ
			case "L":
				for _, member := range v.l {
					if dynamodbRawEqual(member, needle.wire) {
						return true
					}
				}
			}
			return false
		}, nil
	}
}

// dynamodbUpdate is a parsed update expression, applied in order.
type dynamodbUpdate struct {
	actions []func(item dynamodbItem) error
}

func (u *dynamodbUpdate) apply(item dynamodbItem, t *dynamodbTable) error {
	before := t.keyAttrs(item)
	for _, act := range u.actions {
		if err := act(item); err != nil {
			return err
		}
	}
	for name, raw := range before {
		if !dynamodbRawEqual(item[name], raw) {
			return dynamodbValidation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", name)
		}
	}
	return nil
}

func (e *dynamodbEnv) parseUpdate(expr string) (*dynamodbUpdate, error) {
	toks, err := dynamodbLex(expr)
	if err != nil {
		return nil, err
	}
	p := &dynamodbParser{env: e, toks: toks}
	u := &dynamodbUpdate{}
	for p.peek().kind != "eof" {
		clause := strings.ToUpper(p.next().text)
		for {
			var act func(dynamodbItem) error
			switch clause {
			case "SET":
				act, err = p.setAction()
			case "REMOVE":
				act, err = p.removeAction()
			case "ADD":
				act, err = p.addAction()
			default:
				return nil, fmt.Errorf("Syntax error; token: %q", clause)
			}
			if err != nil {
				return nil, err
			}
			u.actions = append(u.actions, act)
			if !p.isOp(",") {
				break
			}
			p.next()
		}
	}
	return u, nil
}

func (p *dynamodbParser) setAction() (func(dynamodbItem) error, error) {
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	if err := p.expect("="); err != nil {
		return nil, err
	}
	val, err := p.setValue()
	if err != nil {
		return nil, err
	}
	return func(item dynamodbItem) error {
		v, ok, err := val(item)
		if err != nil {
			return err
		}
		if !ok {
			return dynamodbValidation("The provided expression refers to an attribute that does not exist in the item")
		}
		return path.set(item, v.wire)
	}, nil
}

// setValue parses the right side of SET: operand [+|- operand], where an
// operand may be if_not_exists(path, operand).
func (p *dynamodbParser) setValue() (dynamodbOperand, error) {
	left, err := p.setOperand()
	if err != nil {
		return nil, err
	}
	if !p.isOp("+") && !p.isOp("-") {
		return left, nil
	}
	sign := p.next().text
	right, err := p.setOperand()
	if err != nil {
		return nil, err
	}
	return func(item dynamodbItem) (*dynamodbValue, bool, error) {
		a, okA, errA := left(item)
		b, okB, errB := right(item)
		if errA != nil || errB != nil {
			return nil, false, errors.Join(errA, errB)
		}
		if !okA || !okB {
			return nil, false, nil
		}
		if a.typ != "N" || b.typ != "N" {
			return nil, false, dynamodbValidation("An operand in the update expression has an incorrect data type")
		}
		r := new(big.Rat)
		if sign == "+" {
			r.Add(a.n, b.n)
		} else {
			r.Sub(a.n, b.n)
		}
		return &dynamodbValue{typ: "N", n: r, wire: dynamodbNumberWire(r)}, true, nil
	}, nil
}

func (p *dynamodbParser) setOperand() (dynamodbOperand, error) {
	t := p.peek()
	if t.kind == "ident" && t.text == "if_not_exists" {
		p.next()
		if err := p.expect("("); err != nil {
			return nil, err
		}
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		fallback, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return func(item dynamodbItem) (*dynamodbValue, bool, error) {
			if v, ok := path.get(item); ok {
				return v, true, nil
			}
			return fallback(item)
		}, nil
	}
	return p.operand()
}

func (p *dynamodbParser) removeAction() (func(dynamodbItem) error, error) {
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	return func(item dynamodbItem) error { return path.set(item, nil) }, nil
}

func (p *dynamodbParser) addAction() (func(dynamodbItem) error, error) {
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != "value" {
		return nil, p.syntaxError()
	}
	val, err := p.value()
	if err != nil {
		return nil, err
	}
	return func(item dynamodbItem) error {
		add, _, _ := val(item)
		cur, ok := path.get(item)
		if !ok {
			return path.set(item, add.wire)
		}
		if cur.typ != "N" || add.typ != "N" {
			return dynamodbValidation("The fake supports ADD on numbers only")
		}
		return path.set(item, dynamodbNumberWire(new(big.Rat).Add(cur.n, add.n)))
	}, nil
}

// set writes raw at the path, or removes the attribute when raw is nil.
// Nested steps must be map keys that already lead to maps.
func (path dynamodbPath) set(item dynamodbItem, raw json.RawMessage) error {
	if len(path) == 1 {
		if raw == nil {
			delete(item, path[0].key)
		} else {
			item[path[0].key] = raw
		}
		return nil
	}
	parent, ok := path[:len(path)-1].get(item)
	last := path[len(path)-1]
	if !ok || parent.typ != "M" || last.isIdx {
		return dynamodbValidation("The document path provided in the update expression is invalid for update")
	}
	if raw == nil {
		delete(parent.m, last.key)
	} else {
		parent.m[last.key] = raw
	}
	wire, err := json.Marshal(map[string]any{"M": parent.m})
	if err != nil {
		return err
	}
	return path[:len(path)-1].set(item, wire)
}
