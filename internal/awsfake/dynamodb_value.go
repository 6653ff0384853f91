package awsfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sort"
	"strings"
)

// dynamodbValue is a parsed attribute value. The fake keeps items in wire
// form and parses values only to compare them.
type dynamodbValue struct {
	typ  string
	s    string   // S
	n    *big.Rat // N
	b    []byte   // B
	bl   bool     // BOOL
	m    map[string]json.RawMessage
	l    []json.RawMessage
	set  []string // SS, NS and BS members in canonical form, sorted
	wire json.RawMessage
}

func dynamodbBadValue() *dynamodbError {
	return dynamodbValidation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
}

func dynamodbBadNumber() *dynamodbError {
	return dynamodbValidation("A value provided cannot be converted into a number")
}

func dynamodbParseNumber(s string) (*big.Rat, error) {
	n, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || s == "" {
		return nil, dynamodbBadNumber()
	}
	return n, nil
}

// dynamodbParse validates one attribute value in wire form, like {"N":"3"}.
func dynamodbParse(raw json.RawMessage) (*dynamodbValue, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || len(fields) != 1 {
		return nil, dynamodbBadValue()
	}
	v := &dynamodbValue{wire: raw}
	for typ, inner := range fields {
		v.typ = typ
		var err error
		switch typ {
		case "S":
			err = json.Unmarshal(inner, &v.s)
		case "N":
			var s string
			if err = json.Unmarshal(inner, &s); err == nil {
				v.n, err = dynamodbParseNumber(s)
			}
		case "B":
			err = json.Unmarshal(inner, &v.b)
		case "BOOL":
			err = json.Unmarshal(inner, &v.bl)
		case "NULL":
			var isNull bool
			err = json.Unmarshal(inner, &isNull)
			if err == nil && !isNull {
				err = dynamodbValidation("One or more parameter values were invalid: Null attribute value types must have the value of true")
			}
		case "M":
			if err = json.Unmarshal(inner, &v.m); err == nil {
				for _, member := range v.m {
					if _, err = dynamodbParse(member); err != nil {
						break
					}
				}
			}
		case "L":
			if err = json.Unmarshal(inner, &v.l); err == nil {
				for _, member := range v.l {
					if _, err = dynamodbParse(member); err != nil {
						break
					}
				}
			}
		case "SS", "NS", "BS":
			err = v.parseSet(inner)
		default:
			return nil, dynamodbBadValue()
		}
		if err != nil {
			if de, ok := err.(*dynamodbError); ok {
				return nil, de
			}
			return nil, dynamodbBadValue()
		}
	}
	return v, nil
}

func (v *dynamodbValue) parseSet(inner json.RawMessage) error {
	if v.typ == "BS" {
		var members [][]byte
		if err := json.Unmarshal(inner, &members); err != nil {
			return err
		}
		for _, m := range members {
			v.set = append(v.set, base64.StdEncoding.EncodeToString(m))
		}
	} else {
		var members []string
		if err := json.Unmarshal(inner, &members); err != nil {
			return err
		}
		for _, m := range members {
			if v.typ == "NS" {
				n, err := dynamodbParseNumber(m)
				if err != nil {
					return err
				}
				m = n.RatString()
			}
			v.set = append(v.set, m)
		}
	}
	if len(v.set) == 0 {
		return dynamodbValidation("One or more parameter values were invalid: An number set  may not be empty")
	}
	sort.Strings(v.set)
	for i := 1; i < len(v.set); i++ {
		if v.set[i] == v.set[i-1] {
			return dynamodbValidation("One or more parameter values were invalid: Input collection contains duplicates")
		}
	}
	return nil
}

// canonical is a key attribute's identity: equal numbers written
// differently ("1" and "1.0") are the same key.
func (v *dynamodbValue) canonical() string {
	switch v.typ {
	case "S":
		return "S" + v.s
	case "N":
		return "N" + v.n.RatString()
	case "B":
		return "B" + base64.StdEncoding.EncodeToString(v.b)
	}
	return v.typ + string(v.wire)
}

// compare orders two scalars of the same type; ok is false when DynamoDB
// would not order them.
func (v *dynamodbValue) compare(o *dynamodbValue) (c int, ok bool) {
	if v.typ != o.typ {
		return 0, false
	}
	switch v.typ {
	case "S":
		return strings.Compare(v.s, o.s), true
	case "N":
		return v.n.Cmp(o.n), true
	case "B":
		return bytes.Compare(v.b, o.b), true
	}
	return 0, false
}

func (v *dynamodbValue) equal(o *dynamodbValue) bool {
	if v.typ != o.typ {
		return false
	}
	switch v.typ {
	case "S", "N", "B":
		c, _ := v.compare(o)
		return c == 0
	case "BOOL":
		return v.bl == o.bl
	case "NULL":
		return true
	case "SS", "NS", "BS":
		return strings.Join(v.set, "\x00") == strings.Join(o.set, "\x00") && len(v.set) == len(o.set)
	case "M":
		if len(v.m) != len(o.m) {
			return false
		}
		for k, a := range v.m {
			b, ok := o.m[k]
			if !ok || !dynamodbRawEqual(a, b) {
				return false
			}
		}
		return true
	case "L":
		if len(v.l) != len(o.l) {
			return false
		}
		for i := range v.l {
			if !dynamodbRawEqual(v.l[i], o.l[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func dynamodbRawEqual(a, b json.RawMessage) bool {
	va, errA := dynamodbParse(a)
	vb, errB := dynamodbParse(b)
	return errA == nil && errB == nil && va.equal(vb)
}

// size is what the size() function reports.
func (v *dynamodbValue) size() (int, bool) {
	switch v.typ {
	case "S":
		return len(v.s), true
	case "B":
		return len(v.b), true
	case "M":
		return len(v.m), true
	case "L":
		return len(v.l), true
	case "SS", "NS", "BS":
		return len(v.set), true
	}
	return 0, false
}

func dynamodbNumberWire(n *big.Rat) json.RawMessage {
	var s string
	if n.IsInt() {
		s = n.Num().String()
	} else {
		s = strings.TrimRight(strings.TrimRight(n.FloatString(38), "0"), ".")
	}
	raw, _ := json.Marshal(map[string]string{"N": s})
	return raw
}

// dynamodbItemSize is an item's size as the Developer Guide's "DynamoDB
// item sizes and formats" defines it: the sum, over attributes, of the
// name's UTF-8 length and the value's size. The wire's JSON escaping and
// base64 count for nothing.
func dynamodbItemSize(item dynamodbItem) int {
	size := 0
	for name, raw := range item {
		size += len(name) + dynamodbValueSize(raw)
	}
	return size
}

// dynamodbValueSize is one value's size, by the same guide: a string is its
// UTF-8 bytes; a binary its raw bytes; a number 1 byte per two significant
// digits plus 1; null and Boolean 1 byte; a list or map 3 bytes plus, for
// each element, 1 byte and its size (a map element's name included); a set
// the sum of its members.
func dynamodbValueSize(raw json.RawMessage) int {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return len(raw)
	}
	size := 0
	for typ, inner := range fields {
		switch typ {
		case "S":
			var s string
			_ = json.Unmarshal(inner, &s)
			size += len(s)
		case "B":
			var b []byte
			_ = json.Unmarshal(inner, &b)
			size += len(b)
		case "N":
			var s string
			_ = json.Unmarshal(inner, &s)
			size += dynamodbNumberSize(s)
		case "NULL", "BOOL":
			size++
		case "SS":
			var members []string
			_ = json.Unmarshal(inner, &members)
			for _, m := range members {
				size += len(m)
			}
		case "NS":
			var members []string
			_ = json.Unmarshal(inner, &members)
			for _, m := range members {
				size += dynamodbNumberSize(m)
			}
		case "BS":
			var members [][]byte
			_ = json.Unmarshal(inner, &members)
			for _, m := range members {
				size += len(m)
			}
		case "L":
			var members []json.RawMessage
			_ = json.Unmarshal(inner, &members)
			size += 3
			for _, m := range members {
				size += 1 + dynamodbValueSize(m)
			}
		case "M":
			var members map[string]json.RawMessage
			_ = json.Unmarshal(inner, &members)
			size += 3
			for name, m := range members {
				size += 1 + len(name) + dynamodbValueSize(m)
			}
		}
	}
	return size
}

// dynamodbNumberSize is 1 byte per two significant digits, plus 1: leading
// and trailing zeroes are trimmed, and the sign, decimal point and exponent
// take no digits.
func dynamodbNumberSize(s string) int {
	mantissa, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "e")
	mantissa = strings.TrimLeft(mantissa, "+-")
	digits := strings.Trim(strings.Replace(mantissa, ".", "", 1), "0")
	n := len(digits)
	if n == 0 {
		n = 1 // zero
	}
	return (n+1)/2 + 1
}
