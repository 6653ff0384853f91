// Package lambdarun serves nines on AWS Lambda. The same binary that runs as
// a sidecar is deployed as `bootstrap` on provided.al2023; when
// AWS_LAMBDA_RUNTIME_API is set, cmd/nines hands the process to Serve, which
// runs aws-lambda-go's Runtime API loop. Every invocation is an EventBridge
// scheduled event, and a Role handles it: the agent role runs the canaries
// and publishes their metrics (GENERATE and AGGREGATE), the evaluator role
// evaluates the SLOs and alerts (PROCESS and ALARM). The roles themselves
// are wired in cmd/nines; this package knows only how an invocation reaches
// one, and where the config comes from (a file in the zip, an SSM parameter
// or an S3 object).
package lambdarun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// The roles a function can play, named by NINES_ROLE or the event's detail.
const (
	RoleAgent     = "agent"
	RoleEvaluator = "evaluator"
)

// ScheduledEvent is the detail-type of an EventBridge schedule's events.
const ScheduledEvent = "Scheduled Event"

// Environment variables the deploy templates set on the functions.
const (
	// EnvRole names the role: agent or evaluator.
	EnvRole = "NINES_ROLE"
	// EnvRuntimeAPI is set by Lambda; its presence means "serve Lambda".
	EnvRuntimeAPI = "AWS_LAMBDA_RUNTIME_API"
)

// Invocation is one scheduled event, as a Role sees it.
type Invocation struct {
	// RequestID is Lambda's id for the invocation.
	RequestID string
	// Scheduled is when the schedule fired (the event's time); the agent
	// role's minute starts here.
	Scheduled time.Time
	// Deadline is when Lambda stops the invocation; a role must have
	// flushed everything by then.
	Deadline time.Time
	// Event is the event as it arrived.
	Event events.EventBridgeEvent
}

// Role handles one invocation and returns only once everything it produced
// (metrics, notifications, state) is flushed. The summary goes back to
// Lambda as the invocation's response.
type Role func(ctx context.Context, inv Invocation) (summary any, err error)

// Response is what an invocation returns to Lambda.
type Response struct {
	Role      string `json:"role"`
	RequestID string `json:"request_id,omitempty"`
	Summary   any    `json:"summary,omitempty"`
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// Roles maps role names to their handlers; at least one is required.
	Roles map[string]Role
	// DefaultRole plays when the event's detail names none (NINES_ROLE).
	DefaultRole string
	Logger      *slog.Logger
	// Now is the clock used when an event carries no time.
	Now func() time.Time
}

// Handler turns scheduled events into Role calls.
type Handler struct {
	cfg HandlerConfig
}

// NewHandler checks cfg and returns a Handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if len(cfg.Roles) == 0 {
		return nil, errors.New("lambdarun: no roles")
	}
	if cfg.DefaultRole != "" && cfg.Roles[cfg.DefaultRole] == nil {
		return nil, fmt.Errorf("lambdarun: %s=%q: use one of %s", EnvRole, cfg.DefaultRole, roleNames(cfg.Roles))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg}, nil
}

// detail is what nines reads from an event's detail. A schedule's own
// events carry {}; a rule may name the role with an input transformer, or
// a person invoking the function by hand may.
type detail struct {
	Role string `json:"role"`
}

// Invoke handles one event. Its signature is one aws-lambda-go accepts.
func (h *Handler) Invoke(ctx context.Context, ev events.EventBridgeEvent) (Response, error) {
	if ev.DetailType != ScheduledEvent {
		return Response{}, fmt.Errorf("nines serves EventBridge scheduled events (detail-type %q), not %q", ScheduledEvent, ev.DetailType)
	}
	var d detail
	if len(ev.Detail) > 0 && string(ev.Detail) != "null" {
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return Response{}, fmt.Errorf("event detail: %w", err)
		}
	}
	name := d.Role
	if name == "" {
		name = h.cfg.DefaultRole
	}
	if name == "" {
		return Response{}, fmt.Errorf("no role: set %s to one of %s, or name one in the event detail", EnvRole, roleNames(h.cfg.Roles))
	}
	role := h.cfg.Roles[name]
	if role == nil {
		return Response{}, fmt.Errorf("role %q: use one of %s", name, roleNames(h.cfg.Roles))
	}
	inv := Invocation{Scheduled: ev.Time, Event: ev}
	if inv.Scheduled.IsZero() {
		inv.Scheduled = h.cfg.Now()
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		inv.RequestID = lc.AwsRequestID
	}
	if dl, ok := ctx.Deadline(); ok {
		inv.Deadline = dl
	}
	log := h.cfg.Logger.With("role", name, "request_id", inv.RequestID)
	log.Info("invocation starting", "scheduled", inv.Scheduled, "deadline", inv.Deadline)
	summary, err := role(ctx, inv)
	if err != nil {
		// Lambda logs the error it is handed; logging here as well would
		// say it twice.
		return Response{}, fmt.Errorf("%s: %w", name, err)
	}
	log.Info("invocation done")
	return Response{Role: name, RequestID: inv.RequestID, Summary: summary}, nil
}

// Serve runs the Runtime API loop at AWS_LAMBDA_RUNTIME_API with h, ctx
// being every invocation's parent context. Like aws-lambda-go, it does not
// return: when the Runtime API fails, the process exits and Lambda starts a
// new one.
func Serve(ctx context.Context, h *Handler) {
	lambda.StartWithOptions(h.Invoke, lambda.WithContext(ctx))
}

func roleNames(roles map[string]Role) string {
	names := make([]string, 0, len(roles))
	for n := range roles {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
