package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// TestOwnedDeliveriesPrunedAttempts: a pending delivery whose attempts were all pruned
// takes no place in a page, which stays full.
func TestOwnedDeliveriesPrunedAttempts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		w := &store.Webhook{Dialect: "nursa", Owner: "c1", ExternalID: "ext-c1", URL: "https://example.com/c1", Events: []string{"all"}, Enabled: true}
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var all []string
		for i := range 8 {
			at := base.Add(time.Duration(i+1) * time.Second)
			attemptAt := at
			if i == 6 { // its attempt is older than the prune's cut
				attemptAt = base.Add(-time.Hour)
			}
			all = append(all, addAttempted(t, db, w, fmt.Sprintf("d%04d", i), `{"facilityId":"NUR-1"}`, at, attemptAt))
		}
		if a, _, _, err := db.Prune(ctx, base); err != nil || a != 1 {
			t.Fatalf("prune: %d %v", a, err)
		}
		ds, _, err := db.OwnedDeliveries(ctx, store.OwnedDeliveryFilter{Dialect: "nursa", Owner: "c1", Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{all[7], all[5], all[4], all[3], all[2]}
		if got := ids(ds); !slices.Equal(got, want) {
			t.Errorf("newest five: %v, want %v", got, want)
		}
	})
}

// TestOwnedDeliveriesByData: the filter on the event's data and the page are the
// database's, so a page of the deliveries of a few facilities comes out right, and no
// longer than the page, among many of other facilities; and data the JSON functions of
// either database balk at (NUL, lone surrogates, deep nesting) fails no query.
func TestOwnedDeliveriesByData(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		hook := func(owner string) *store.Webhook {
			w := &store.Webhook{Dialect: "nursa", Owner: owner, ExternalID: "ext-" + owner, URL: "https://example.com/" + owner, Events: []string{"all"}, Enabled: true}
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			return w
		}
		mine, theirs := hook("c1"), hook("c2")
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		n := 0
		add := func(w *store.Webhook, data string) string {
			n++
			at := base.Add(time.Duration(n) * time.Second)
			return addAttempted(t, db, w, fmt.Sprintf("d%04d", n), data, at, at)
		}
		deep := strings.Repeat("[", 1500) + strings.Repeat("]", 1500)
		var want []string
		for i := range 150 {
			switch i {
			case 10, 40, 41, 90:
				want = append(want, add(mine, `{"facilityId":"NUR-1","shiftId":"s"}`))
			case 20: // escaped, with a NUL elsewhere
				want = append(want, add(mine, `{"a":"\u0000","facilityId":"NUR\u002d1"}`))
			case 30: // a lone surrogate elsewhere, and a pair
				want = append(want, add(mine, `{"a":"\ud800x\udc00","b":"\ud83d\ude00","facilityId":"NUR-9"}`))
			case 50: // another client's
				add(theirs, `{"facilityId":"NUR-1"}`)
			case 60: // not a string, or not at the top
				add(mine, `{"facilityId":1}`)
				add(mine, `{"x":{"facilityId":"NUR-1"}}`)
				add(mine, `{"facilityId":["NUR-1"]}`)
				add(mine, "")
			case 70: // deeper than SQLite's JSON functions go
				add(mine, `{"facilityId":"NUR-2","d":`+deep+`}`)
			default:
				add(mine, fmt.Sprintf(`{"facilityId":"NUR-%d"}`, 100+i))
			}
		}
		f := store.OwnedDeliveryFilter{Dialect: "nursa", Owner: "c1", DataKey: "facilityId", DataIn: []string{"NUR-1", "NUR-9", "1"}, Ascending: true, Limit: 2}
		var got []string
		for f.Offset = 0; f.Offset <= len(want); f.Offset += f.Limit {
			ds, urls, err := db.OwnedDeliveries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) > f.Limit {
				t.Fatalf("offset %d: %d rows for a page of %d", f.Offset, len(ds), f.Limit)
			}
			for _, d := range ds {
				if urls[d.ID] != mine.URL {
					t.Errorf("%s: url %q", d.ID, urls[d.ID])
				}
				got = append(got, d.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages of 2, ascending: %v, want %v", got, want)
		}

		// Newest first, one page inside; the set as large as a request can carry, more
		// values than either database takes parameters.
		f.Ascending, f.Offset, f.Limit = false, 1, 3
		f.DataIn = make([]string, 70_000)
		for i := range f.DataIn {
			f.DataIn[i] = fmt.Sprintf("NUR-%d", 100_000+i)
		}
		f.DataIn[35_000], f.DataIn[69_999] = "NUR-1", "NUR-9"
		ds, _, err := db.OwnedDeliveries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		rev := slices.Clone(want)
		slices.Reverse(rev)
		if got := ids(ds); !slices.Equal(got, rev[1:4]) {
			t.Errorf("offset 1 limit 3, descending: %v, want %v", got, rev[1:4])
		}

		// An empty set selects nothing; a key is a key, not a path.
		f.DataIn = []string{}
		if ds, _, err := db.OwnedDeliveries(ctx, f); err != nil || len(ds) != 0 {
			t.Errorf("empty set: %v %v", ids(ds), err)
		}
		f.DataKey, f.DataIn = "a.b", []string{"x"}
		if _, _, err := db.OwnedDeliveries(ctx, f); store.ErrorCode(err) != store.EINVALID {
			t.Errorf("a key that is a path: %v", err)
		}
	})
}

// addAttempted stores an event created at with data, its pending delivery id to w, and
// the delivery's failed first attempt, made at attemptAt.
func addAttempted(t *testing.T, db *store.DB, w *store.Webhook, id, data string, at, attemptAt time.Time) string {
	t.Helper()
	ctx := context.Background()
	ev := &store.Event{ID: "e" + id, Type: "x", CreatedAt: at, OccurredAt: at}
	if data != "" {
		ev.Data = json.RawMessage(data)
	}
	d := store.Delivery{ID: id, EventID: ev.ID, WebhookID: w.ID, Dialect: w.Dialect, EventName: "shift.created", Status: store.DeliveryPending}
	if err := storetest.CreateEvent(ctx, db, ev, []store.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	d.Attempts, d.LastStatus = 1, 500
	next := at.Add(time.Hour)
	d.NextAttemptAt = &next
	a := &store.Attempt{ID: "a" + id, DeliveryID: id, Number: 1, URL: w.URL, StartedAt: attemptAt, RequestBody: `{"data":` + data + `}`, ResponseStatus: 500}
	if err := storetest.RecordAttempt(ctx, db, a, &d); err != nil {
		t.Fatal(err)
	}
	return id
}

func ids(ds []store.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// TestOwnedDeliveries_AcrossWebhooks: an owner's log is read webhook by webhook and
// merged, so it must come out in one order across them, ties in time (a publish's
// deliveries share theirs) broken by id, whatever the page size, offset or direction,
// each delivery with its own webhook's URL; another owner's and unattempted deliveries
// take no place in it.
func TestOwnedDeliveries_AcrossWebhooks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		hook := func(owner, name string) *store.Webhook {
			w := &store.Webhook{Dialect: "nursa", Owner: owner, ExternalID: "ext-" + name, URL: "https://example.com/" + name, Events: []string{"all"}, Enabled: true}
			if err := db.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			return w
		}
		mine := []*store.Webhook{hook("c1", "a"), hook("c1", "b"), hook("c1", "c")}
		theirs := hook("c2", "d")
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		type entry struct {
			id  string
			at  time.Time
			url string
		}
		var want []entry
		for i := range 200 {
			at := base.Add(time.Duration(i/3) * time.Second) // three at a time
			w := mine[(i*7)%3]
			if i%5 == 0 {
				w = mine[0] // and a webhook's own ties
			}
			id := fmt.Sprintf("d%04d", (i*37)%200) // ids not in time order
			switch {
			case i%11 == 0:
				addAttempted(t, db, theirs, id, `{}`, at, at)
			case i%13 == 0: // never attempted
				d := store.Delivery{ID: id, EventID: "e" + id, WebhookID: w.ID, Dialect: w.Dialect, EventName: "shift.created", Status: store.DeliveryPending}
				if err := storetest.CreateEvent(ctx, db, &store.Event{ID: "e" + id, Type: "x", CreatedAt: at, OccurredAt: at}, []store.Delivery{d}); err != nil {
					t.Fatal(err)
				}
			default:
				addAttempted(t, db, w, id, `{}`, at, at)
				want = append(want, entry{id, at, w.URL})
			}
		}
		slices.SortFunc(want, func(a, b entry) int {
			if c := b.at.Compare(a.at); c != 0 {
				return c
			}
			return strings.Compare(b.id, a.id)
		})
		for _, ascending := range []bool{false, true} {
			order := slices.Clone(want)
			if ascending {
				slices.Reverse(order)
			}
			for _, limit := range []int{1, 7, 64, 65, 100} {
				f := store.OwnedDeliveryFilter{Dialect: "nursa", Owner: "c1", Ascending: ascending, Limit: limit}
				var got []string
				for f.Offset = 0; f.Offset <= len(order); f.Offset += limit {
					ds, urls, err := db.OwnedDeliveries(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					if len(ds) > limit {
						t.Fatalf("offset %d: %d rows for a page of %d", f.Offset, len(ds), limit)
					}
					for _, d := range ds {
						i := slices.IndexFunc(order, func(e entry) bool { return e.id == d.ID })
						if i < 0 || urls[d.ID] != order[i].url {
							t.Errorf("%s: url %q", d.ID, urls[d.ID])
						}
						got = append(got, d.ID)
					}
				}
				wantIDs := make([]string, len(order))
				for i, e := range order {
					wantIDs[i] = e.id
				}
				if !slices.Equal(got, wantIDs) {
					t.Errorf("ascending %v, pages of %d: %v, want %v", ascending, limit, got, wantIDs)
				}
			}
		}
		// No limit: the whole log, in order.
		ds, _, err := db.OwnedDeliveries(ctx, store.OwnedDeliveryFilter{Dialect: "nursa", Owner: "c1", Limit: -1})
		if err != nil || len(ds) != len(want) || ds[0].ID != want[0].id || ds[len(ds)-1].ID != want[len(want)-1].id {
			t.Errorf("no limit: %d rows %v, want %d", len(ds), err, len(want))
		}
	})
}
