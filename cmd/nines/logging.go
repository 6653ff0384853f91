package main

import (
	"log/slog"
)

// forPeople is the log handlers' ReplaceAttr: slog's JSON handler writes a
// time.Duration as integer nanoseconds ("took": 1052000000), which nobody
// reads at a glance, so every duration becomes its string ("1.052s"); and a
// zero time.Time says only that nothing was there, so it is left out.
func forPeople(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindDuration:
		return slog.String(a.Key, a.Value.Duration().String())
	case slog.KindTime:
		if a.Value.Time().IsZero() {
			return slog.Attr{}
		}
	}
	return a
}
