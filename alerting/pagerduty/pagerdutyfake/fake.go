// Package pagerdutyfake is a loopback PagerDuty Events API v2 for the ALARM
// phase's tests: it answers as the API does (202 with a status and the
// dedup key, 400 "invalid event" for an event the API refuses), and keeps
// the incidents the events opened and resolved.
package pagerdutyfake

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/nines-dev/nines/alerting/notifiertest"
)

// RoutingKey is the integration key the fake accepts.
const RoutingKey = "R0NINESFAKE0ROUTING0KEY000000001"

// Server is the fake.
type Server struct {
	*notifiertest.HTTPReceiver
}

// Incident is what the fake made of the events of one dedup key.
type Incident struct {
	DedupKey string
	Summary  string
	Severity string
	// Triggers counts the trigger events; Resolved is set by a resolve.
	Triggers int
	Resolved bool
}

// New starts a fake that stops when t ends.
func New(t testing.TB) *Server {
	h := notifiertest.NewHTTPReceiver(t)
	h.Status = http.StatusAccepted
	h.Body = `{"status":"success","message":"Event processed"}`
	h.FailBody = `{"status":"invalid event","message":"Event object is invalid"}`
	h.Check = check
	return &Server{HTTPReceiver: h}
}

// URL is the fake's enqueue endpoint.
func (s *Server) URL() string { return s.HTTPReceiver.URL + "/v2/enqueue" }

// event is what the API reads of an event.
type event struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	Payload     *struct {
		Summary  string `json:"summary"`
		Source   string `json:"source"`
		Severity string `json:"severity"`
	} `json:"payload"`
}

// check refuses what the Events API refuses: a wrong routing key, an
// unknown action, a resolve without a dedup key, a trigger without
// summary, source or a known severity.
func check(r notifiertest.Request) int {
	var ev event
	if r.Path != "/v2/enqueue" || json.Unmarshal(r.Body, &ev) != nil || ev.RoutingKey != RoutingKey {
		return http.StatusBadRequest
	}
	switch ev.EventAction {
	case "trigger":
		p := ev.Payload
		if p == nil || p.Summary == "" || p.Source == "" || len(p.Summary) > 1024*4 {
			return http.StatusBadRequest
		}
		switch p.Severity {
		case "critical", "error", "warning", "info":
		default:
			return http.StatusBadRequest
		}
	case "resolve", "acknowledge":
		if ev.DedupKey == "" {
			return http.StatusBadRequest
		}
	default:
		return http.StatusBadRequest
	}
	return 0
}

// Incidents replays the accepted events, in order: a trigger opens an
// incident for its dedup key unless one is open, a resolve closes it.
func (s *Server) Incidents() []Incident {
	var out []Incident
	open := map[string]int{}
	for _, r := range s.Accepted() {
		var ev event
		_ = json.Unmarshal(r.Body, &ev)
		i, ok := open[ev.DedupKey]
		switch ev.EventAction {
		case "trigger":
			if !ok {
				out = append(out, Incident{DedupKey: ev.DedupKey, Summary: ev.Payload.Summary, Severity: ev.Payload.Severity})
				i = len(out) - 1
				open[ev.DedupKey] = i
			}
			out[i].Triggers++
		case "resolve":
			if ok {
				out[i].Resolved = true
				delete(open, ev.DedupKey)
			}
		}
	}
	return out
}
