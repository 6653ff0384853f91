package sns_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/alerting/sns"
)

// example is testdata/cloudwatch-alarm-notification.json: the subject and
// body of a CloudWatch alarm notification, written by hand after the AWS
// documentation's example. It is a reference, not output of this package,
// so it has no -update flag: change it only when CloudWatch's shape does.
type example struct {
	Subject string          `json:"Subject"`
	Message json.RawMessage `json:"Message"`
}

func loadExample(t *testing.T) example {
	t.Helper()
	data, err := os.ReadFile("testdata/cloudwatch-alarm-notification.json")
	if err != nil {
		t.Fatal(err)
	}
	var ex example
	if err := json.Unmarshal(data, &ex); err != nil {
		t.Fatal(err)
	}
	return ex
}

// object is a JSON object's keys in order and its values.
type object struct {
	keys   []string
	values map[string]json.RawMessage
}

func decodeObject(t *testing.T, raw json.RawMessage) object {
	t.Helper()
	o := object{values: map[string]json.RawMessage{}}
	if err := json.Unmarshal(raw, &o.values); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		o.keys = append(o.keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// kind is a JSON value's type: object, array, string, number, bool, null.
func kind(v json.RawMessage) string {
	switch b := bytes.TrimSpace(v); {
	case len(b) == 0:
		return "missing"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == '"':
		return "string"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	case b[0] == 'n':
		return "null"
	}
	return "number"
}

// sameShape checks that got has the example's keys in the example's
// order, each with the example's JSON type, and recurses into objects and
// the first element of arrays. A null in the example is a field CloudWatch
// sends as null or as a string (Unit, when the alarm has one).
func sameShape(t *testing.T, path string, want, got json.RawMessage, extra ...string) {
	t.Helper()
	w, g := decodeObject(t, want), decodeObject(t, got)
	gotKeys := slices.DeleteFunc(slices.Clone(g.keys), func(k string) bool { return slices.Contains(extra, k) })
	if !slices.Equal(w.keys, gotKeys) {
		t.Errorf("%s: keys\n %v\nwant CloudWatch's\n %v", path, gotKeys, w.keys)
	}
	for _, k := range w.keys {
		wk, gk := kind(w.values[k]), kind(g.values[k])
		if wk != gk && !(wk == "null" && gk == "string") {
			t.Errorf("%s.%s is %s, want %s", path, k, gk, wk)
			continue
		}
		switch wk {
		case "object":
			sameShape(t, path+"."+k, w.values[k], g.values[k])
		case "array":
			var wl, gl []json.RawMessage
			json.Unmarshal(w.values[k], &wl)
			json.Unmarshal(g.values[k], &gl)
			if len(wl) > 0 && kind(wl[0]) == "object" && len(gl) > 0 {
				sameShape(t, path+"."+k+"[0]", wl[0], gl[0])
			}
		}
	}
}

var (
	subjectForm   = regexp.MustCompile(`^(ALARM|OK|INSUFFICIENT_DATA): "(.+)" in (.+)$`)
	timestampForm = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$`)
)

// nines' body has CloudWatch's fields, in CloudWatch's order and types,
// with the "nines" object after them; its subject, timestamps, region
// and alarm ARN take CloudWatch's forms.
func TestMessageHasTheShapeOfCloudWatchsExample(t *testing.T) {
	ex := loadExample(t)
	var exBody struct {
		AlarmName, Region, StateChangeTime, AlarmConfigurationUpdatedTimestamp, AlarmArn string
	}
	if err := json.Unmarshal(ex.Message, &exBody); err != nil {
		t.Fatal(err)
	}
	if m := subjectForm.FindStringSubmatch(ex.Subject); m == nil || m[2] != exBody.AlarmName || m[3] != exBody.Region {
		t.Fatalf("the example's own subject %q does not have the form the test checks", ex.Subject)
	}
	for _, kind := range []alerting.Kind{alerting.KindFire, alerting.KindResolve} {
		t.Run(string(kind), func(t *testing.T) {
			n, f := newNotifier(t)
			if _, err := n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(kind)}); err != nil {
				t.Fatal(err)
			}
			m := f.Messages()[0]
			sameShape(t, "body", ex.Message, json.RawMessage(m.Body), "nines")
			if keys := decodeObject(t, json.RawMessage(m.Body)).keys; keys[len(keys)-1] != "nines" {
				t.Errorf("the nines object is not last: %v", keys)
			}
			var body struct {
				AlarmName, Region, StateChangeTime, AlarmConfigurationUpdatedTimestamp, AlarmArn string
				OKActions, AlarmActions                                                          []string
			}
			if err := json.Unmarshal([]byte(m.Body), &body); err != nil {
				t.Fatal(err)
			}
			if sm := subjectForm.FindStringSubmatch(m.Subject); sm == nil || sm[2] != body.AlarmName || sm[3] != body.Region {
				t.Errorf("subject %q is not CloudWatch's `STATE: \"name\" in region` for %q in %q", m.Subject, body.AlarmName, body.Region)
			}
			if body.Region != "EU (Ireland)" {
				t.Errorf("Region %q, want the long name EU (Ireland)", body.Region)
			}
			for what, ts := range map[string]string{"StateChangeTime": body.StateChangeTime, "AlarmConfigurationUpdatedTimestamp": body.AlarmConfigurationUpdatedTimestamp} {
				if !timestampForm.MatchString(ts) {
					t.Errorf("%s %q is not in CloudWatch's form, like %q", what, ts, exBody.StateChangeTime)
				}
			}
			if want := "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:" + body.AlarmName; body.AlarmArn != want {
				t.Errorf("AlarmArn %q, want %q", body.AlarmArn, want)
			}
			topic := []string{f.TopicARN("pages")}
			if !slices.Equal(body.AlarmActions, topic) || !slices.Equal(body.OKActions, topic) {
				t.Errorf("actions ALARM %v OK %v, want the topic for both", body.AlarmActions, body.OKActions)
			}
		})
	}
}

// What a Lambda function subscribed to the topic reads: every field of
// events.CloudWatchAlarmSNSPayload is set, except the two CloudWatch
// leaves empty on a single-metric alarm on a plain statistic (Metrics is
// for metric-math alarms, EvaluateLowSampleCountPercentile for
// percentiles).
func TestBodyFillsEveryFieldOfTheLambdaPayload(t *testing.T) {
	unset := map[string]bool{"Trigger.Metrics": true, "Trigger.EvaluateLowSampleCountPercentile": true}
	ex := loadExample(t)
	var fromExample events.CloudWatchAlarmSNSPayload
	if err := json.Unmarshal(ex.Message, &fromExample); err != nil {
		t.Fatalf("the example does not decode: %v", err)
	}
	for _, kind := range []alerting.Kind{alerting.KindFire, alerting.KindRemind, alerting.KindResolve, alerting.KindTest} {
		t.Run(string(kind), func(t *testing.T) {
			n, f := newNotifier(t)
			if _, err := n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(kind)}); err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader([]byte(f.Messages()[0].Body)))
			var p events.CloudWatchAlarmSNSPayload
			if err := dec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			checkSet(t, "", reflect.ValueOf(p), unset)
		})
	}
}

func checkSet(t *testing.T, path string, v reflect.Value, unset map[string]bool) {
	t.Helper()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if path != "" {
			name = path + "." + name
		}
		f := v.Field(i)
		if unset[name] {
			continue
		}
		if f.Kind() == reflect.Struct {
			checkSet(t, name, f, unset)
			continue
		}
		if f.IsZero() {
			t.Errorf("%s is not set", name)
		}
	}
}

// The region table gives CloudWatch's long names.
func TestRegionNames(t *testing.T) {
	for code, want := range map[string]string{
		"us-east-1": "US East (N. Virginia)", "eu-west-1": "EU (Ireland)", "ap-southeast-2": "Asia Pacific (Sydney)",
		"sa-east-1": "South America (Sao Paulo)", "cn-north-1": "cn-north-1",
	} {
		if got := sns.RegionName(code); got != want {
			t.Errorf("RegionName(%q) = %q, want %q", code, got, want)
		}
	}
}
