package awsfake

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

var cwDashboardName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

type cwDashboard struct {
	body     string
	modified time.Time
}

// Dashboard returns the body of a stored dashboard.
func (c *CloudWatch) Dashboard(name string) (body string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.dashboards[name]
	if !ok {
		return "", false
	}
	return d.body, true
}

// DashboardNames lists the stored dashboards, sorted.
func (c *CloudWatch) DashboardNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.dashboards))
}

func (c *CloudWatch) dashboardArn(name string) string {
	return "arn:aws:cloudwatch::" + c.accountID + ":dashboard/" + name
}

func cwDashboardInvalid(message, dataPath, detail string) *cwError {
	return &cwError{
		status: 400, typ: "DashboardInvalidInputError", queryCode: "InvalidParameterInput", sender: true, message: message,
		extra: cbor.Map{"dashboardValidationMessages": cbor.List{cbor.Map{
			"DataPath": cbor.String(dataPath),
			"Message":  cbor.String(detail),
		}}},
	}
}

func cwDashboardNotFound(name string) *cwError {
	return &cwError{status: 404, typ: "DashboardNotFoundError", queryCode: "ResourceNotFound", sender: true, message: "Dashboard " + name + " does not exist"}
}

func (c *CloudWatch) putDashboard(_ context.Context, in cwMap) (cbor.Map, *cwError) {
	name, _, err := in.str("", "DashboardName")
	if err != nil {
		return nil, err
	}
	if !cwDashboardName.MatchString(name) {
		return nil, cwInvalidParameter("The value %q for parameter DashboardName is invalid. It may contain only A-Z, a-z, 0-9, \"-\" and \"_\", up to 255 characters.", name)
	}
	body, ok, err := in.str("", "DashboardBody")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, cwMissingParameter("The parameter DashboardBody is required.")
	}
	var parsed map[string]json.RawMessage
	if jerr := json.Unmarshal([]byte(body), &parsed); jerr != nil {
		return nil, cwDashboardInvalid("The field DashboardBody must be a valid JSON object", "", "Invalid JSON: "+jerr.Error())
	}
	var widgets []json.RawMessage
	if raw, ok := parsed["widgets"]; !ok {
		return nil, cwDashboardInvalid("The input for the dashboard is not valid", "", "Should have required property 'widgets'")
	} else if jerr := json.Unmarshal(raw, &widgets); jerr != nil {
		return nil, cwDashboardInvalid("The input for the dashboard is not valid", "/widgets", "Should be array")
	}
	for i, w := range widgets {
		var widget map[string]json.RawMessage
		if json.Unmarshal(w, &widget) != nil {
			return nil, cwDashboardInvalid("The input for the dashboard is not valid", "/widgets/"+strconv.Itoa(i), "Should be object")
		}
		if _, ok := widget["type"]; !ok {
			return nil, cwDashboardInvalid("The input for the dashboard is not valid", "/widgets/"+strconv.Itoa(i), "Should have required property 'type'")
		}
	}
	c.mu.Lock()
	c.dashboards[name] = &cwDashboard{body: body, modified: c.now()}
	c.mu.Unlock()
	return cbor.Map{"DashboardValidationMessages": cbor.List{}}, nil
}

func (c *CloudWatch) getDashboard(_ context.Context, in cwMap) (cbor.Map, *cwError) {
	name, _, err := in.str("", "DashboardName")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.dashboards[name]
	if !ok {
		return nil, cwDashboardNotFound(name)
	}
	return cbor.Map{
		"DashboardName": cbor.String(name),
		"DashboardArn":  cbor.String(c.dashboardArn(name)),
		"DashboardBody": cbor.String(d.body),
	}, nil
}

func (c *CloudWatch) listDashboards(_ context.Context, in cwMap) (cbor.Map, *cwError) {
	prefix, _, err := in.str("", "DashboardNamePrefix")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	entries := cbor.List{}
	for _, name := range slices.Sorted(maps.Keys(c.dashboards)) {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		d := c.dashboards[name]
		entries = append(entries, cbor.Map{
			"DashboardName": cbor.String(name),
			"DashboardArn":  cbor.String(c.dashboardArn(name)),
			"LastModified":  cwTime(d.modified),
			"Size":          cbor.Uint(len(d.body)),
		})
	}
	return cbor.Map{"DashboardEntries": entries}, nil
}

func (c *CloudWatch) deleteDashboards(_ context.Context, in cwMap) (cbor.Map, *cwError) {
	names, err := in.strings("", "DashboardNames")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, cwMissingParameter("The parameter DashboardNames is required.")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// CloudWatch deletes nothing when any name is unknown.
	for _, name := range names {
		if _, ok := c.dashboards[name]; !ok {
			return nil, cwDashboardNotFound(name)
		}
	}
	for _, name := range names {
		delete(c.dashboards, name)
	}
	return nil, nil
}
