package awsfake

import (
	"fmt"
	"math"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// cwMap is a decoded CBOR structure. Its getters treat a CBOR null like an
// absent member, as the SDK never sends one, and report a member of the
// wrong type as a serialization error naming the path.
type cwMap cbor.Map

func (m cwMap) get(k string) (cbor.Value, bool) {
	v, ok := m[k]
	if !ok {
		return nil, false
	}
	switch v.(type) {
	case *cbor.Nil, *cbor.Undefined:
		return nil, false
	}
	return v, true
}

func (m cwMap) str(path, k string) (string, bool, *cwError) {
	v, ok := m.get(k)
	if !ok {
		return "", false, nil
	}
	s, ok := v.(cbor.String)
	if !ok {
		return "", false, cwTypeError(path+k, "string", v)
	}
	return string(s), true, nil
}

func (m cwMap) float(path, k string) (float64, bool, *cwError) {
	v, ok := m.get(k)
	if !ok {
		return 0, false, nil
	}
	f, err := cwAsFloat(v)
	if err != nil {
		return 0, false, cwTypeError(path+k, "number", v)
	}
	return f, true, nil
}

func (m cwMap) int(path, k string) (int64, bool, *cwError) {
	v, ok := m.get(k)
	if !ok {
		return 0, false, nil
	}
	i, err := cbor.AsInt64(v)
	if err != nil {
		return 0, false, cwTypeError(path+k, "integer", v)
	}
	return i, true, nil
}

func (m cwMap) bool(path, k string) (bool, bool, *cwError) {
	v, ok := m.get(k)
	if !ok {
		return false, false, nil
	}
	b, ok := v.(cbor.Bool)
	if !ok {
		return false, false, cwTypeError(path+k, "bool", v)
	}
	return bool(b), true, nil
}

func (m cwMap) time(path, k string) (time.Time, bool, *cwError) {
	v, ok := m.get(k)
	if !ok {
		return time.Time{}, false, nil
	}
	t, err := cwAsTime(v)
	if err != nil {
		return time.Time{}, false, cwTypeError(path+k, "timestamp", v)
	}
	return t, true, nil
}

func (m cwMap) list(path, k string) (cbor.List, *cwError) {
	v, ok := m.get(k)
	if !ok {
		return nil, nil
	}
	l, ok := v.(cbor.List)
	if !ok {
		return nil, cwTypeError(path+k, "list", v)
	}
	return l, nil
}

func (m cwMap) structure(path, k string) (cwMap, bool, *cwError) {
	v, ok := m.get(k)
	if !ok {
		return nil, false, nil
	}
	s, ok := v.(cbor.Map)
	if !ok {
		return nil, false, cwTypeError(path+k, "structure", v)
	}
	return cwMap(s), true, nil
}

// structs reads a list of structures.
func (m cwMap) structs(path, k string) ([]cwMap, *cwError) {
	l, err := m.list(path, k)
	if err != nil {
		return nil, err
	}
	out := make([]cwMap, 0, len(l))
	for i, v := range l {
		s, ok := v.(cbor.Map)
		if !ok {
			return nil, cwTypeError(fmt.Sprintf("%s%s[%d]", path, k, i), "structure", v)
		}
		out = append(out, cwMap(s))
	}
	return out, nil
}

func (m cwMap) strings(path, k string) ([]string, *cwError) {
	l, err := m.list(path, k)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(l))
	for i, v := range l {
		s, ok := v.(cbor.String)
		if !ok {
			return nil, cwTypeError(fmt.Sprintf("%s%s[%d]", path, k, i), "string", v)
		}
		out = append(out, string(s))
	}
	return out, nil
}

func (m cwMap) floats(path, k string) ([]float64, *cwError) {
	l, err := m.list(path, k)
	if err != nil {
		return nil, err
	}
	out := make([]float64, 0, len(l))
	for i, v := range l {
		f, err := cwAsFloat(v)
		if err != nil {
			return nil, cwTypeError(fmt.Sprintf("%s%s[%d]", path, k, i), "number", v)
		}
		out = append(out, f)
	}
	return out, nil
}

func cwTypeError(path, want string, got cbor.Value) *cwError {
	return cwSerialization(fmt.Errorf("%s: %w: want %s, got CBOR %T", path, errCWType, want, got))
}

func cwAsFloat(v cbor.Value) (float64, error) {
	return cbor.AsFloat64(v)
}

// cwAsTime reads a CBOR tag 1 epoch time to the millisecond, the precision
// the SDK sends.
func cwAsTime(v cbor.Value) (time.Time, error) {
	tag, ok := v.(*cbor.Tag)
	if !ok || tag.ID != 1 {
		return time.Time{}, errCWType
	}
	secs, err := cbor.AsFloat64(tag.Value)
	if err != nil {
		return time.Time{}, err
	}
	if math.IsNaN(secs) || math.IsInf(secs, 0) {
		return time.Time{}, errCWType
	}
	return time.UnixMilli(int64(math.Round(secs * 1e3))).UTC(), nil
}

// cwTime encodes t the way the SDK reads timestamps.
func cwTime(t time.Time) cbor.Value {
	return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1e3)}
}

func cwStrings(ss []string) cbor.List {
	out := make(cbor.List, 0, len(ss))
	for _, s := range ss {
		out = append(out, cbor.String(s))
	}
	return out
}
