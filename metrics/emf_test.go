package metrics

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// validateEMF checks one document against the embedded metric format
// specification: a root object with _aws, whose Timestamp is epoch
// milliseconds and whose CloudWatchMetrics are directives with a
// Namespace, dimension sets of at most 30 names each naming a string
// member of the root, and at most 100 metrics, each naming a number or an
// array of at most 100 numbers at the root, with a known unit and a
// storage resolution of 1 or 60.
func validateEMF(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, line)
	}
	aws, ok := doc["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("no _aws object: %s", line)
	}
	ts, ok := aws["Timestamp"].(json.Number)
	if _, err := ts.Int64(); !ok || err != nil {
		t.Fatalf("_aws.Timestamp %v is not an integer of milliseconds", aws["Timestamp"])
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		t.Fatalf("_aws.CloudWatchMetrics is not a non-empty array: %s", line)
	}
	units := map[string]bool{"Count": true, "Milliseconds": true}
	for _, d := range directives {
		dir, ok := d.(map[string]any)
		if !ok {
			t.Fatalf("directive %v is not an object", d)
		}
		if ns, ok := dir["Namespace"].(string); !ok || ns == "" || len(ns) > 1024 {
			t.Errorf("Namespace %v", dir["Namespace"])
		}
		dimSets, ok := dir["Dimensions"].([]any)
		if !ok {
			t.Fatalf("Dimensions %v is not an array", dir["Dimensions"])
		}
		for _, ds := range dimSets {
			names, ok := ds.([]any)
			if !ok || len(names) > 30 {
				t.Fatalf("dimension set %v", ds)
			}
			for _, n := range names {
				if _, ok := doc[n.(string)].(string); !ok {
					t.Errorf("dimension %v is not a string member of the root", n)
				}
			}
		}
		metrics, ok := dir["Metrics"].([]any)
		if !ok || len(metrics) == 0 || len(metrics) > emfMaxMetricsPerDirective {
			t.Fatalf("Metrics %v: want 1 to 100", dir["Metrics"])
		}
		for _, m := range metrics {
			md := m.(map[string]any)
			name, _ := md["Name"].(string)
			if name == "" || len(name) > 1024 {
				t.Errorf("metric name %v", md["Name"])
			}
			if u, ok := md["Unit"].(string); ok && !units[u] {
				t.Errorf("unit %q", u)
			}
			if r, ok := md["StorageResolution"].(json.Number); ok && r.String() != "1" && r.String() != "60" {
				t.Errorf("StorageResolution %v", r)
			}
			switch v := doc[name].(type) {
			case json.Number:
			case []any:
				if len(v) == 0 || len(v) > emfMaxValuesPerArray {
					t.Errorf("%s holds %d values; EMF takes 1 to 100", name, len(v))
				}
				for _, x := range v {
					if _, ok := x.(json.Number); !ok {
						t.Errorf("%s holds %v, not a number", name, x)
					}
				}
			default:
				t.Errorf("metric %s is %T at the root, want a number or an array", name, doc[name])
			}
		}
	}
	return doc
}

func TestEMF(t *testing.T) {
	var buf bytes.Buffer
	sink, err := NewEMF(EMFConfig{Writer: &buf, RegionRollup: true})
	if err != nil {
		t.Fatal(err)
	}
	// 250 runs over 40 buckets: values repeat by count, 100 to an array.
	var lat []int64
	for i := range 250 {
		lat = append(lat, int64(10_000+(i%40)*1000))
	}
	run := aggregateOf(t, Series{Canary: "checkout", Region: "eu-west-1"}, t0, lat, 2)
	step := aggregateOf(t, Series{Canary: "checkout", Region: "eu-west-1", Step: "login"}, t0, []int64{3000}, 0)
	failing := aggregateOf(t, Series{Canary: "down", Region: "eu-west-1"}, t0, nil, 6)
	hb := Heartbeat{Agent: "lambda-1", Region: "eu-west-1", Start: t0, Period: time.Minute}
	if err := sink.Publish(context.Background(), Batch{Aggregates: []*Aggregate{run, step, failing}, Heartbeats: []Heartbeat{hb}}); err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		docs = append(docs, validateEMF(t, sc.Bytes()))
	}
	// checkout: 3 documents (100 + 100 + 50 values); the step: 1; the
	// failing canary: 1 with counters only; the heartbeat: 1.
	if len(docs) != 6 {
		t.Fatalf("%d documents, want 6", len(docs))
	}
	count := func(doc map[string]any, name string) int {
		v, _ := doc[name].([]any)
		return len(v)
	}
	if got := []int{count(docs[0], "Latency"), count(docs[1], "Latency"), count(docs[2], "Latency")}; fmt.Sprint(got) != "[100 100 50]" {
		t.Errorf("latency arrays %v, want [100 100 50]", got)
	}
	if docs[0]["Attempts"].(json.Number).String() != "252" || docs[0]["Successes"].(json.Number).String() != "250" {
		t.Errorf("counters %v / %v, want 252 / 250", docs[0]["Attempts"], docs[0]["Successes"])
	}
	if _, ok := docs[1]["Attempts"]; ok {
		t.Error("a continuation document repeats Attempts: CloudWatch would count them twice")
	}
	// The values, as samples, are the histogram: percentiles agree.
	var samples []float64
	for _, d := range docs[:3] {
		for _, v := range d["Latency"].([]any) {
			f, _ := v.(json.Number).Float64()
			samples = append(samples, f)
		}
	}
	dist := run.LatencyDistribution()
	for i, want := range expandValues(dist) {
		if samples[i] != want {
			t.Fatalf("sample %d = %v, want %v", i, samples[i], want)
		}
	}
	if docs[3]["Step"] != "login" || count(docs[3], "StepLatency") != 1 {
		t.Errorf("step document %v", docs[3])
	}
	if _, ok := docs[4]["Latency"]; ok || docs[4]["Attempts"].(json.Number).String() != "6" {
		t.Errorf("failing canary document %v", docs[4])
	}
	if docs[5]["AgentHeartbeat"].(json.Number).String() != "1" || docs[5]["Agent"] != "lambda-1" {
		t.Errorf("heartbeat document %v", docs[5])
	}
	if ts, _ := docs[0]["_aws"].(map[string]any)["Timestamp"].(json.Number).Int64(); ts != t0.UnixMilli() {
		t.Errorf("Timestamp %d, want the period start %d", ts, t0.UnixMilli())
	}
}
