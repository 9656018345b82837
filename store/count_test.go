package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A listing counts the rows that match up to CountCap and one more, on either backend.
func TestFind_CountsUpToTheCap(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		db.CountCap = 2
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for i := range 4 {
			id := "evt_cap_" + strconv.Itoa(i)
			if err := storetest.CreateEvent(ctx, db, &store.Event{ID: id, Type: "x", CreatedAt: at, OccurredAt: at}, nil); err != nil {
				t.Fatal(err)
			}
		}
		evs, total, err := db.FindEvents(ctx, store.EventFilter{Limit: 10})
		if err != nil || len(evs) != 4 || total != 3 {
			t.Errorf("4 events, cap 2: %d listed, total %d (%v); want 4 and 3", len(evs), total, err)
		}
		evs, total, err = db.FindEvents(ctx, store.EventFilter{Type: "x", Limit: 1, Offset: 1})
		if err != nil || len(evs) != 1 || total != 3 {
			t.Errorf("a page of 1 at 1: %d listed, total %d (%v)", len(evs), total, err)
		}
		if _, total, err = db.FindEvents(ctx, store.EventFilter{Type: "y"}); err != nil || total != 0 {
			t.Errorf("none match: total %d (%v)", total, err)
		}
	})
}
