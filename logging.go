package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
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
	if rec.Level > slog.LevelDebug && cancelled(rec) {
		// A job queue stopping mid-step (the gateway stopped right after it started) is
		// not a failure.
		rec.Level = slog.LevelDebug
	}
	if !r.Handler.Enabled(ctx, rec.Level) {
		return nil
	}
	return r.Handler.Handle(ctx, rec)
}

// cancelled reports whether a record is about a context cancelled by the stop.
func cancelled(rec slog.Record) bool {
	found := false
	rec.Attrs(func(a slog.Attr) bool {
		if v := a.Value.Resolve(); v.Kind() == slog.KindAny || v.Kind() == slog.KindString {
			found = strings.Contains(v.String(), context.Canceled.Error())
		}
		return !found
	})
	return found
}

func (r riverHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return riverHandler{r.Handler.WithAttrs(as)}
}

func (r riverHandler) WithGroup(name string) slog.Handler {
	return riverHandler{r.Handler.WithGroup(name)}
}

// repeatWindow is how long a warning or error that repeats is held back after it was
// logged: a failure that recurs every poll (the database gone, say) is logged once, then
// once a window with the number of times it was held back.
const repeatWindow = time.Minute

// repeats passes a warning or an error, then holds back the same message for
// repeatWindow; the first one after the window is logged with "repeated": how many were
// held back since. Lines below WARN pass as they are.
type repeats struct {
	slog.Handler
	seen *repeatsSeen
}

type repeatsSeen struct {
	mu sync.Mutex
	m  map[string]*repeat
}

type repeat struct {
	at   time.Time
	held int
}

func newRepeats(h slog.Handler) repeats {
	return repeats{Handler: h, seen: &repeatsSeen{m: map[string]*repeat{}}}
}

func (r repeats) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level < slog.LevelWarn {
		return r.Handler.Handle(ctx, rec)
	}
	r.seen.mu.Lock()
	s := r.seen.m[rec.Message]
	if s != nil && rec.Time.Sub(s.at) < repeatWindow {
		s.held++
		r.seen.mu.Unlock()
		return nil
	}
	held := 0
	if s != nil {
		held = s.held
	}
	if len(r.seen.m) >= 1000 { // messages are constants; this only bounds the unforeseen
		clear(r.seen.m)
	}
	r.seen.m[rec.Message] = &repeat{at: rec.Time}
	r.seen.mu.Unlock()
	if held > 0 {
		rec = rec.Clone()
		rec.AddAttrs(slog.Int("repeated", held), slog.String("repeated_over", repeatWindow.String()))
	}
	return r.Handler.Handle(ctx, rec)
}

func (r repeats) WithAttrs(as []slog.Attr) slog.Handler {
	return repeats{Handler: r.Handler.WithAttrs(as), seen: r.seen}
}

func (r repeats) WithGroup(name string) slog.Handler {
	return repeats{Handler: r.Handler.WithGroup(name), seen: r.seen}
}
