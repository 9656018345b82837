package main

import (
	"context"
	"log/slog"
)

// quietRiver logs the job queue's routine INFO lines (producer counts, leadership,
// starts and stops) at DEBUG: they are River's, not the gateway's, and come every few
// seconds. Its warnings and errors are left as they are.
type quietRiver struct {
	slog.Handler
}

// riverHandler is quietRiver once it knows the logger is River's.
type riverHandler struct {
	slog.Handler
}

func (q quietRiver) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		if a.Key == "component" && a.Value.String() == "river" {
			return riverHandler{q.Handler.WithAttrs(as)}
		}
	}
	return quietRiver{q.Handler.WithAttrs(as)}
}

func (q quietRiver) WithGroup(name string) slog.Handler { return quietRiver{q.Handler.WithGroup(name)} }

func demote(l slog.Level) slog.Level {
	if l == slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}

func (r riverHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return r.Handler.Enabled(ctx, demote(l))
}

func (r riverHandler) Handle(ctx context.Context, rec slog.Record) error {
	rec.Level = demote(rec.Level)
	if !r.Handler.Enabled(ctx, rec.Level) {
		return nil
	}
	return r.Handler.Handle(ctx, rec)
}

func (r riverHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return riverHandler{r.Handler.WithAttrs(as)}
}

func (r riverHandler) WithGroup(name string) slog.Handler {
	return riverHandler{r.Handler.WithGroup(name)}
}
