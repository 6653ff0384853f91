package lambdarun_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/nines-dev/nines/internal/lambdarun"
	"github.com/nines-dev/nines/internal/lambdarun/lambdatest"
)

// helperEnv marks the child process that serves the fake Runtime API.
const helperEnv = "NINES_LAMBDARUN_HELPER"

// TestServeHelper is not a test: run by TestServe in a child process, it
// serves Lambda invocations with two stub roles until the parent ends it.
// aws-lambda-go's loop never returns (it exits the process when the Runtime
// API fails), so it runs apart from the test process.
func TestServeHelper(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("run by TestServe")
	}
	h, err := lambdarun.NewHandler(lambdarun.HandlerConfig{
		Roles: map[string]lambdarun.Role{
			"agent": func(ctx context.Context, inv lambdarun.Invocation) (any, error) {
				return map[string]any{
					"scheduled":  inv.Scheduled.UTC().Format(time.RFC3339),
					"request_id": inv.RequestID,
					"deadline":   inv.Deadline.UnixMilli(),
				}, nil
			},
			"evaluator": func(ctx context.Context, inv lambdarun.Invocation) (any, error) {
				return nil, errors.New("the state table is unreachable")
			},
		},
		DefaultRole: os.Getenv(lambdarun.EnvRole),
	})
	if err != nil {
		t.Fatal(err)
	}
	lambdarun.Serve(context.Background(), h)
}

// startHelper runs TestServeHelper against rt and stops it when t ends.
func startHelper(t *testing.T, rt *lambdatest.Runtime, role string) {
	t.Helper()
	lambdatest.StartChild(t, "TestServeHelper",
		append(os.Environ(), helperEnv+"=1", lambdarun.EnvRuntimeAPI+"="+rt.Address(), lambdarun.EnvRole+"="+role))
}

func await(t *testing.T, ch <-chan lambdatest.Outcome) lambdatest.Outcome {
	t.Helper()
	return lambdatest.Await(t, ch, 30*time.Second)
}

func TestServe(t *testing.T) {
	rt := lambdatest.NewT(t)
	startHelper(t, rt, "agent")
	fired := time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC)

	t.Run("a scheduled event runs the role NINES_ROLE names, with the event's time and the invocation's deadline", func(t *testing.T) {
		o := await(t, rt.Invoke(lambdatest.ScheduledEvent(fired, nil), time.Minute))
		if o.Failed {
			t.Fatalf("invocation failed: %s", o.Body)
		}
		var resp struct {
			Role      string `json:"role"`
			RequestID string `json:"request_id"`
			Summary   struct {
				Scheduled string `json:"scheduled"`
				RequestID string `json:"request_id"`
				Deadline  int64  `json:"deadline"`
			} `json:"summary"`
		}
		if err := json.Unmarshal(o.Body, &resp); err != nil {
			t.Fatalf("response %s: %v", o.Body, err)
		}
		if resp.Role != "agent" || resp.RequestID != o.RequestID || resp.Summary.RequestID != o.RequestID {
			t.Errorf("response %s: want role agent and request id %s", o.Body, o.RequestID)
		}
		if resp.Summary.Scheduled != "2026-03-02T10:15:00Z" {
			t.Errorf("the role saw scheduled=%s, want the event's time", resp.Summary.Scheduled)
		}
		if resp.Summary.Deadline == 0 {
			t.Error("the role saw no deadline")
		}
	})

	t.Run("the event's detail can name another role, whose error Lambda receives", func(t *testing.T) {
		o := await(t, rt.Invoke(lambdatest.ScheduledEvent(fired, map[string]any{"role": "evaluator"}), time.Minute))
		if !o.Failed {
			t.Fatalf("want a failed invocation, got %s", o.Body)
		}
		if got := o.ErrorMessage(); got != "evaluator: the state table is unreachable" {
			t.Errorf("error message %q", got)
		}
	})

	t.Run("an event that is not a schedule's fails and the loop goes on", func(t *testing.T) {
		o := await(t, rt.Invoke([]byte(`{"detail-type":"Object Created","detail":{}}`), time.Minute))
		if !o.Failed || !strings.Contains(o.ErrorMessage(), `not "Object Created"`) {
			t.Errorf("want a failure naming the detail-type, got failed=%v %s", o.Failed, o.Body)
		}
		o = await(t, rt.Invoke(lambdatest.ScheduledEvent(fired, nil), time.Minute))
		if o.Failed {
			t.Errorf("the next invocation failed: %s", o.Body)
		}
	})
}

func TestInvoke(t *testing.T) {
	ok := func(ctx context.Context, inv lambdarun.Invocation) (any, error) { return inv.Scheduled, nil }
	now := time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)
	cases := []struct {
		name        string
		defaultRole string
		event       events.EventBridgeEvent
		wantRole    string
		wantErr     string
	}{
		{name: "a schedule's empty detail plays the default role", defaultRole: "agent",
			event: events.EventBridgeEvent{DetailType: "Scheduled Event", Detail: json.RawMessage(`{}`)}, wantRole: "agent"},
		{name: "a role in the detail wins over the default", defaultRole: "agent",
			event: events.EventBridgeEvent{DetailType: "Scheduled Event", Detail: json.RawMessage(`{"role":"evaluator"}`)}, wantRole: "evaluator"},
		{name: "no default and no role in the detail is an error",
			event:   events.EventBridgeEvent{DetailType: "Scheduled Event"},
			wantErr: "no role: set NINES_ROLE to one of agent, evaluator, or name one in the event detail"},
		{name: "an unknown role in the detail is an error", defaultRole: "agent",
			event:   events.EventBridgeEvent{DetailType: "Scheduled Event", Detail: json.RawMessage(`{"role":"prober"}`)},
			wantErr: `role "prober": use one of agent, evaluator`},
		{name: "a detail that is not an object is an error", defaultRole: "agent",
			event:   events.EventBridgeEvent{DetailType: "Scheduled Event", Detail: json.RawMessage(`[1]`)},
			wantErr: "event detail: json: cannot unmarshal array"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := lambdarun.NewHandler(lambdarun.HandlerConfig{
				Roles:       map[string]lambdarun.Role{"agent": ok, "evaluator": ok},
				DefaultRole: tc.defaultRole,
				Now:         func() time.Time { return now },
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := h.Invoke(context.Background(), tc.event)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Role != tc.wantRole {
				t.Errorf("role %q, want %q", resp.Role, tc.wantRole)
			}
			if resp.Summary != now {
				t.Errorf("an event without a time should be scheduled now; got %v", resp.Summary)
			}
		})
	}
}

func TestNewHandlerRejectsAnUnknownDefaultRole(t *testing.T) {
	_, err := lambdarun.NewHandler(lambdarun.HandlerConfig{
		Roles:       map[string]lambdarun.Role{"agent": nil},
		DefaultRole: "evaluatr",
	})
	if err == nil || err.Error() != `lambdarun: NINES_ROLE="evaluatr": use one of agent` {
		t.Errorf("err = %v", err)
	}
}
