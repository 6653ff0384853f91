package dashboards

import (
	"context"
	"sort"
	"time"

	"github.com/nines-dev/nines/alerting"
)

// SilenceSource lists the stored silences, ended ones included:
// alerting's SQLite, DynamoDB and memory stores are SilenceSources.
type SilenceSource interface {
	Silences(ctx context.Context) ([]alerting.Silence, error)
}

// silenceRow is one active silence as the overview lists it.
type silenceRow struct {
	ID, Matches, Reason string
	Start, End          time.Time
	Left                time.Duration
}

// activeSilences lists the silences in force at now, ending soonest first,
// and says why the list could not be read when it could not.
func (w *Web) activeSilences(ctx context.Context, now time.Time) ([]silenceRow, string) {
	if w.cfg.Silences == nil {
		return nil, ""
	}
	all, err := w.cfg.Silences.Silences(ctx)
	if err != nil {
		w.cfg.Logger.Error("web: reading silences", "err", err)
		return nil, "the silences could not be read; see the agent's log"
	}
	var out []silenceRow
	for _, s := range all {
		if now.Before(s.Start) || !now.Before(s.End) {
			continue
		}
		row := silenceRow{ID: s.ID, Reason: s.Reason, Start: s.Start, End: s.End, Left: s.End.Sub(now).Truncate(time.Minute)}
		switch {
		case s.All:
			row.Matches = "every alert"
		case s.SLO != "":
			row.Matches = "SLO " + s.SLO
		default:
			row.Matches = "canary " + s.Canary
		}
		out = append(out, row)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].End.Before(out[j].End) })
	return out, ""
}
