package deploy

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/internal/lambdarun"
)

// tagged is a value written with a CloudFormation short-form tag (!Ref,
// !Sub, !GetAtt, !If, ...), kept as the tag and what it applies to.
type tagged struct {
	Tag   string // without the !
	Value any
}

// decodeNode turns a YAML node into maps, lists, strings and tagged
// values. yaml.v3 keeps the tags on nodes, which a plain Unmarshal into
// any would reject.
func decodeNode(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return decodeNode(n.Content[0])
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", n.Content[i].Line, k)
			}
			val, err := decodeNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = val
		}
		v = m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			val, err := decodeNode(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		v = n.Value
	case yaml.AliasNode:
		return nil, fmt.Errorf("line %d: CloudFormation does not accept YAML aliases", n.Line)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		tag := strings.TrimPrefix(n.Tag, "!")
		if !shortForms[tag] {
			return nil, fmt.Errorf("line %d: unknown tag !%s", n.Line, tag)
		}
		if tag == "GetAtt" {
			if s, ok := v.(string); ok {
				v = strings.SplitN(s, ".", 2)
			}
		}
		return tagged{Tag: tag, Value: v}, nil
	}
	return v, nil
}

// shortForms are the intrinsic functions' short forms, rule functions
// included.
var shortForms = map[string]bool{
	"Ref": true, "Sub": true, "GetAtt": true, "If": true, "Not": true, "Equals": true, "And": true, "Or": true,
	"Join": true, "Select": true, "Split": true, "FindInMap": true, "GetAZs": true, "ImportValue": true,
	"Base64": true, "Cidr": true, "Condition": true, "EachMemberEquals": true, "EachMemberIn": true,
	"Contains": true, "ValueOf": true, "ValueOfAll": true, "RefAll": true,
}

type template struct {
	name       string
	root       map[string]any
	params     map[string]any
	resources  map[string]map[string]any
	conditions map[string]any
}

func loadTemplate(t *testing.T, name string) *template {
	t.Helper()
	data, err := Templates.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	v, err := decodeNode(&doc)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: not a mapping", name)
	}
	tp := &template{name: name, root: root, resources: map[string]map[string]any{}}
	tp.params, _ = root["Parameters"].(map[string]any)
	tp.conditions, _ = root["Conditions"].(map[string]any)
	res, _ := root["Resources"].(map[string]any)
	for k, r := range res {
		rm, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("%s: resource %s is not a mapping", name, k)
		}
		tp.resources[k] = rm
	}
	return tp
}

func (tp *template) ofType(typ string) []string {
	var names []string
	for n, r := range tp.resources {
		if r["Type"] == typ {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func (tp *template) props(name string) map[string]any {
	p, _ := tp.resources[name]["Properties"].(map[string]any)
	return p
}

// walk calls fn on every value under v, with its path.
func walk(v any, path string, fn func(path string, v any)) {
	fn(path, v)
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			walk(c, path+"."+k, fn)
		}
	case []any:
		for i, c := range x {
			walk(c, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	case tagged:
		walk(x.Value, path+"!"+x.Tag, fn)
	}
}

var (
	pseudoParams = map[string]bool{"AWS::AccountId": true, "AWS::Region": true, "AWS::StackName": true, "AWS::Partition": true,
		"AWS::NoValue": true, "AWS::URLSuffix": true, "AWS::StackId": true, "AWS::NotificationARNs": true}
	subRef = regexp.MustCompile(`\$\{([^}!]+)\}`)
)

func TestTemplatesAreWellFormed(t *testing.T) {
	for _, name := range TemplateNames {
		t.Run(name, func(t *testing.T) {
			tp := loadTemplate(t, name)
			if tp.root["AWSTemplateFormatVersion"] != "2010-09-09" {
				t.Error("AWSTemplateFormatVersion is not 2010-09-09")
			}
			if len(tp.resources) == 0 {
				t.Fatal("no resources")
			}
			known := func(ref string) bool {
				_, p := tp.params[ref]
				_, r := tp.resources[ref]
				return p || r || pseudoParams[ref]
			}
			for rn, r := range tp.resources {
				// CloudFormation rejects the clash, and a !Ref of the name
				// would be ambiguous: the resource would refer to itself.
				if _, clash := tp.params[rn]; clash {
					t.Errorf("resource %s has the name of a parameter", rn)
				}
				if typ, _ := r["Type"].(string); !strings.HasPrefix(typ, "AWS::") {
					t.Errorf("resource %s has type %v", rn, r["Type"])
				}
				if c, ok := r["Condition"].(string); ok && tp.conditions[c] == nil {
					t.Errorf("resource %s uses undefined condition %s", rn, c)
				}
			}
			walk(tp.root, "", func(path string, v any) {
				tv, ok := v.(tagged)
				if !ok {
					return
				}
				switch tv.Tag {
				case "Ref":
					if s, _ := tv.Value.(string); !known(s) {
						t.Errorf("%s: !Ref %v names nothing in the template", path, tv.Value)
					}
				case "GetAtt":
					l, _ := tv.Value.([]string)
					if len(l) != 2 || tp.resources[l[0]] == nil {
						t.Errorf("%s: !GetAtt %v names no resource", path, tv.Value)
					}
				case "Sub":
					s, _ := tv.Value.(string)
					for _, m := range subRef.FindAllStringSubmatch(s, -1) {
						ref, _, _ := strings.Cut(m[1], ".")
						if !known(ref) {
							t.Errorf("%s: !Sub %q: ${%s} names nothing in the template", path, s, m[1])
						}
					}
				case "If":
					l, _ := tv.Value.([]any)
					if len(l) != 3 {
						t.Errorf("%s: !If takes a condition and two values", path)
					} else if c, _ := l[0].(string); tp.conditions[c] == nil {
						t.Errorf("%s: !If names undefined condition %v", path, l[0])
					}
				}
			})
			for pn, p := range tp.params {
				pm, _ := p.(map[string]any)
				if pm["Type"] == nil {
					t.Errorf("parameter %s has no Type", pn)
				}
			}
		})
	}
}

func TestTemplatesHaveTheResources(t *testing.T) {
	want := map[string]map[string]int{
		"nines.yaml": {
			"AWS::SNS::Topic": 1, "AWS::DynamoDB::Table": 1, "AWS::Lambda::Function": 1, "AWS::IAM::Role": 1,
			"AWS::Events::Rule": 1, "AWS::Lambda::Permission": 1, "AWS::CloudWatch::Alarm": 1,
			"AWS::CloudFormation::StackSet": 1, "AWS::Logs::LogGroup": 1,
		},
		"agent.yaml": {
			"AWS::Lambda::Function": 1, "AWS::IAM::Role": 1, "AWS::Events::Rule": 1,
			"AWS::Lambda::Permission": 1, "AWS::Logs::LogGroup": 1,
		},
	}
	for name, types := range want {
		tp := loadTemplate(t, name)
		for typ, n := range types {
			if got := len(tp.ofType(typ)); got != n {
				t.Errorf("%s: %d resources of type %s, want %d", name, got, typ, n)
			}
		}
	}
}

// Each function runs the binary as provided.al2023 expects, in the role
// its template means, and its schedule invokes it with permission scoped
// to that schedule.
func TestFunctionsAreScheduledInTheirRole(t *testing.T) {
	for name, role := range map[string]string{"nines.yaml": lambdarun.RoleEvaluator, "agent.yaml": lambdarun.RoleAgent} {
		t.Run(name, func(t *testing.T) {
			tp := loadTemplate(t, name)
			fn := tp.ofType("AWS::Lambda::Function")[0]
			p := tp.props(fn)
			if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" {
				t.Errorf("%s: runtime %v handler %v, want provided.al2023 and bootstrap", fn, p["Runtime"], p["Handler"])
			}
			env, _ := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			if env[lambdarun.EnvRole] != role {
				t.Errorf("%s: %s=%v, want %s", fn, lambdarun.EnvRole, env[lambdarun.EnvRole], role)
			}
			for _, k := range []string{lambdarun.EnvConfigS3, lambdarun.EnvConfigSSM, lambdarun.EnvConfigRegion} {
				if _, ok := env[k]; !ok {
					t.Errorf("%s: no %s in the environment", fn, k)
				}
			}
			rule := tp.ofType("AWS::Events::Rule")[0]
			rp := tp.props(rule)
			if _, ok := rp["ScheduleExpression"]; !ok {
				t.Errorf("%s has no ScheduleExpression", rule)
			}
			targets, _ := rp["Targets"].([]any)
			if len(targets) != 1 || !isGetAtt(targets[0].(map[string]any)["Arn"], fn, "Arn") {
				t.Errorf("%s does not target %s", rule, fn)
			}
			ic := tp.props(tp.ofType("AWS::Lambda::EventInvokeConfig")[0])
			if !isRef(ic["FunctionName"], fn) || ic["MaximumRetryAttempts"] != "0" {
				t.Errorf("a failed scheduled invocation of %s must not be retried (runs would count twice): %v", fn, ic)
			}
			perm := tp.props(tp.ofType("AWS::Lambda::Permission")[0])
			if perm["Principal"] != "events.amazonaws.com" || !isRef(perm["FunctionName"], fn) || !isGetAtt(perm["SourceArn"], rule, "Arn") {
				t.Errorf("the invoke permission is not scoped to %s calling %s: %v", rule, fn, perm)
			}
		})
	}
}

// The alarm on the evaluator's heartbeat watches the watcher: no data is
// a breach, and it pages through the alert topic.
func TestHeartbeatAlarm(t *testing.T) {
	tp := loadTemplate(t, "nines.yaml")
	a := tp.props(tp.ofType("AWS::CloudWatch::Alarm")[0])
	fnEnv, _ := tp.props(tp.ofType("AWS::Lambda::Function")[0])["Environment"].(map[string]any)["Variables"].(map[string]any)
	topic := tp.ofType("AWS::SNS::Topic")[0]
	checks := []struct {
		what string
		ok   bool
	}{
		{"TreatMissingData is breaching", a["TreatMissingData"] == "breaching"},
		{"it watches the evaluator's heartbeat metric", a["MetricName"] == alerting.HeartbeatMetric},
		{"for the evaluator the function names", reflect.DeepEqual(a["Dimensions"], []any{map[string]any{"Name": "Evaluator", "Value": fnEnv["NINES_EVALUATOR_NAME"]}}) && fnEnv["NINES_EVALUATOR_NAME"] != nil},
		{"in the nines namespace", isRef(a["Namespace"], "Namespace")},
		{"it alarms below one heartbeat", a["ComparisonOperator"] == "LessThanThreshold" && a["Threshold"] == "1" && a["Statistic"] == "Sum"},
		{"it alarms to the topic", listHasRef(a["AlarmActions"], topic)},
		{"it tells the topic when it recovers", listHasRef(a["OKActions"], topic)},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("heartbeat alarm: want %s; got %v", c.what, a)
		}
	}
}

// Least privilege: no wildcard in any action, Resource "*" only for the
// CloudWatch calls that take no resource, PutMetricData confined to the
// nines namespace, SNS to the alert topic, DynamoDB to the state table.
func TestIAMIsLeastPrivilege(t *testing.T) {
	unscoped := map[string]bool{"cloudwatch:PutMetricData": true, "cloudwatch:GetMetricData": true}
	for _, name := range TemplateNames {
		t.Run(name, func(t *testing.T) {
			tp := loadTemplate(t, name)
			roles := tp.ofType("AWS::IAM::Role")
			if len(roles) == 0 {
				t.Fatal("no IAM role")
			}
			seen := map[string]bool{}
			for _, rn := range roles {
				p := tp.props(rn)
				if _, ok := p["ManagedPolicyArns"]; ok {
					t.Errorf("%s attaches managed policies; their actions cannot be checked here", rn)
				}
				policies, _ := p["Policies"].([]any)
				for _, pol := range policies {
					doc := pol.(map[string]any)["PolicyDocument"].(map[string]any)
					for _, st := range statements(doc["Statement"]) {
						checkStatement(t, tp, rn, st, unscoped, seen)
					}
				}
			}
			want := []string{"cloudwatch:PutMetricData", "logs:PutLogEvents", "s3:GetObject", "ssm:GetParameter"}
			if name == "nines.yaml" {
				want = append(want, "cloudwatch:GetMetricData", "sns:Publish", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Scan")
			}
			for _, a := range want {
				if !seen[a] {
					t.Errorf("no statement allows %s", a)
				}
			}
		})
	}
}

// statements unwraps the Statement list, taking the first branch of every
// !If (the other is AWS::NoValue).
func statements(v any) []map[string]any {
	var out []map[string]any
	list, _ := v.([]any)
	for _, s := range list {
		if tv, ok := s.(tagged); ok && tv.Tag == "If" {
			s = tv.Value.([]any)[1]
		}
		if m, ok := s.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func checkStatement(t *testing.T, tp *template, role string, st map[string]any, unscoped, seen map[string]bool) {
	t.Helper()
	sid, _ := st["Sid"].(string)
	where := role + "/" + sid
	if st["Effect"] != "Allow" {
		t.Errorf("%s: Effect %v", where, st["Effect"])
	}
	if _, ok := st["NotAction"]; ok {
		t.Errorf("%s: NotAction grants everything else", where)
	}
	if _, ok := st["NotResource"]; ok {
		t.Errorf("%s: NotResource grants everything else", where)
	}
	var actions []string
	switch a := st["Action"].(type) {
	case string:
		actions = []string{a}
	case []any:
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				t.Errorf("%s: action %v is not a plain string", where, x)
			}
			actions = append(actions, s)
		}
	default:
		t.Errorf("%s: Action %v", where, st["Action"])
	}
	for _, a := range actions {
		seen[a] = true
		if strings.Contains(a, "*") {
			t.Errorf("%s: action %q has a wildcard", where, a)
		}
		if !strings.Contains(a, ":") {
			t.Errorf("%s: action %q has no service prefix", where, a)
		}
	}
	res := st["Resource"]
	if res == "*" {
		for _, a := range actions {
			if !unscoped[a] {
				t.Errorf("%s: %s on Resource \"*\"; scope it to a resource", where, a)
			}
		}
	}
	for _, a := range actions {
		switch {
		case a == "cloudwatch:PutMetricData":
			cond, _ := st["Condition"].(map[string]any)
			eq, _ := cond["StringEquals"].(map[string]any)
			if len(cond) != 1 || len(eq) != 1 || !isRef(eq["cloudwatch:namespace"], "Namespace") {
				t.Errorf("%s: PutMetricData needs Condition StringEquals cloudwatch:namespace = !Ref Namespace; got %v", where, st["Condition"])
			}
		case a == "sns:Publish":
			if !isRef(res, tp.ofType("AWS::SNS::Topic")[0]) {
				t.Errorf("%s: sns:Publish on %v, want the alert topic only", where, res)
			}
		case strings.HasPrefix(a, "dynamodb:"):
			if tables := tp.ofType("AWS::DynamoDB::Table"); len(tables) > 0 {
				if !isGetAtt(res, tables[0], "Arn") {
					t.Errorf("%s: %s on %v, want the state table only", where, a, res)
				}
				break
			}
			// The agent template reaches the evaluator's table by name,
			// and may only record failures there.
			if tv, ok := res.(tagged); a != "dynamodb:UpdateItem" || !ok || tv.Tag != "Sub" ||
				tv.Value != "arn:${AWS::Partition}:dynamodb:${MonitoringRegion}:${AWS::AccountId}:table/${StateTableName}" {
				t.Errorf("%s: %s on %v, want UpdateItem on the state table named by StateTableName only", where, a, res)
			}
		case strings.HasPrefix(a, "logs:"):
			if !isGetAtt(res, tp.ofType("AWS::Logs::LogGroup")[0], "Arn") {
				t.Errorf("%s: %s on %v, want the function's own log group", where, a, res)
			}
		case a == "s3:GetObject" || a == "ssm:GetParameter":
			if tv, ok := res.(tagged); !ok || tv.Tag != "Sub" || strings.Contains(tv.Value.(string), "*") {
				t.Errorf("%s: %s on %v, want the one config object or parameter", where, a, res)
			}
		}
	}
}

func isRef(v any, name string) bool {
	tv, ok := v.(tagged)
	return ok && tv.Tag == "Ref" && tv.Value == name
}

func isGetAtt(v any, resource, attr string) bool {
	tv, ok := v.(tagged)
	l, _ := tv.Value.([]string)
	return ok && tv.Tag == "GetAtt" && len(l) == 2 && l[0] == resource && l[1] == attr
}

func listHasRef(v any, name string) bool {
	l, _ := v.([]any)
	return len(l) == 1 && isRef(l[0], name)
}

// The StackSet passes every agent.yaml parameter that has no default, and
// only parameters agent.yaml declares.
func TestStackSetPassesTheAgentParameters(t *testing.T) {
	root := loadTemplate(t, "nines.yaml")
	agent := loadTemplate(t, "agent.yaml")
	ss := root.props(root.ofType("AWS::CloudFormation::StackSet")[0])
	passed := map[string]bool{}
	params, _ := ss["Parameters"].([]any)
	for _, p := range params {
		k, _ := p.(map[string]any)["ParameterKey"].(string)
		if agent.params[k] == nil {
			t.Errorf("the StackSet passes %s, which agent.yaml does not declare", k)
		}
		passed[k] = true
	}
	for k, p := range agent.params {
		if _, hasDefault := p.(map[string]any)["Default"]; !hasDefault && !passed[k] {
			t.Errorf("agent.yaml needs %s, which the StackSet does not pass", k)
		}
	}
	if !isRef(ss["TemplateURL"], "AgentTemplateURL") {
		t.Errorf("TemplateURL %v", ss["TemplateURL"])
	}
	// The agents record their last failures in the evaluator's table.
	for _, p := range params {
		pm := p.(map[string]any)
		if pm["ParameterKey"] == "StateTableName" && !isRef(pm["ParameterValue"], root.ofType("AWS::DynamoDB::Table")[0]) {
			t.Errorf("StateTableName is %v, want the state table", pm["ParameterValue"])
		}
	}
	if !passed["StateTableName"] {
		t.Error("the StackSet does not tell the agents the state table, so alerts carry no last failure")
	}
}

// Deleting or replacing a stack must not erase what nines keeps: the
// alert state and incident history in the state table, and the functions'
// logs. Every table and log group is retained on both.
func TestStateAndLogsAreRetained(t *testing.T) {
	kept := []string{"AWS::DynamoDB::Table", "AWS::Logs::LogGroup"}
	for _, name := range TemplateNames {
		t.Run(name, func(t *testing.T) {
			tp := loadTemplate(t, name)
			n := 0
			for _, typ := range kept {
				for _, rn := range tp.ofType(typ) {
					n++
					r := tp.resources[rn]
					for _, policy := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
						if r[policy] != "Retain" {
							t.Errorf("%s (%s) has %s %v, want Retain", rn, typ, policy, r[policy])
						}
					}
				}
			}
			if n == 0 {
				t.Error("no table or log group: the check checked nothing")
			}
		})
	}
}
