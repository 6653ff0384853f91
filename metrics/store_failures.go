package metrics

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nines-dev/nines/canary"
)

// FailureCounts adds up failed runs by canary and failure class over
// [from, to), across regions, from the hourly rollup: whole hours, so the
// weekly review reads a few thousand rows rather than every period.
func (s *Store) FailureCounts(ctx context.Context, from, to time.Time) (map[string]map[canary.FailureClass]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.canary, h.failures FROM hourly h JOIN series s ON s.id = h.series
		WHERE s.step = '' AND h.start >= ? AND h.start < ? AND h.failures IS NOT NULL AND h.failures != ''`,
		floorTo(from.Unix(), 3600), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := map[string]map[canary.FailureClass]int64{}
	for rows.Next() {
		var name string
		var failures sql.NullString
		if err := rows.Scan(&name, &failures); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		var m map[canary.FailureClass]int64
		if err := json.Unmarshal([]byte(failures.String), &m); err != nil {
			return nil, fmt.Errorf("store: failures of %s: %w", name, err)
		}
		if out[name] == nil {
			out[name] = map[canary.FailureClass]int64{}
		}
		for k, v := range m {
			out[name][k] += v
		}
	}
	return out, rows.Err()
}
