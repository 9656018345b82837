package native_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// The lists count what matches up to the store's cap, and say when more match: the
// console asks for them every few seconds, and a count must not read every row kept.
func TestLists_CountUpToTheCap(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	db.CountCap = 3
	at := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 5 {
		id := fmt.Sprintf("evt-count-%d", i)
		d := store.Delivery{ID: fmt.Sprintf("msg_count_%d", i), EventID: id, WebhookID: "wh-count", Dialect: "native",
			EventName: "user.created", Status: store.DeliveryFailed, CreatedAt: at, UpdatedAt: at}
		if i < 2 {
			d.WebhookID = "wh-other"
		}
		if err := storetest.CreateEvent(context.Background(), db, &store.Event{ID: id, Type: "user.created", OccurredAt: at, CreatedAt: at}, []store.Delivery{d}); err != nil {
			t.Fatal(err)
		}
	}
	url, c := startOn(t, db, nil)
	list := func(path string) (total int64, capped bool, n int) {
		t.Helper()
		resp, b := c.Do(t, servertest.Request(t, "GET", url+path, "", "Authorization", "Bearer "+token))
		var page struct {
			Total       int64             `json:"total"`
			TotalCapped bool              `json:"totalCapped"`
			Events      []json.RawMessage `json:"events"`
			Deliveries  []json.RawMessage `json:"deliveries"`
		}
		if err := json.Unmarshal(b, &page); resp.StatusCode != 200 || err != nil {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return page.Total, page.TotalCapped, len(page.Events) + len(page.Deliveries)
	}
	for _, c := range []struct {
		path   string
		total  int64
		capped bool
		n      int
	}{
		{"/v1/events?limit=10", 3, true, 5},
		{"/v1/events?limit=2&offset=3", 3, true, 2},
		{"/v1/deliveries?status=failed&limit=10", 3, true, 5},
		{"/v1/deliveries?webhookId=wh-count&limit=1", 3, false, 1},
		{"/v1/deliveries?webhookId=wh-other", 2, false, 2},
	} {
		if total, capped, n := list(c.path); total != c.total || capped != c.capped || n != c.n {
			t.Errorf("%s: total %d, capped %v, %d listed; want %d, %v, %d", c.path, total, capped, n, c.total, c.capped, c.n)
		}
	}
}

// Pages past the count go by cursor: an offset reads the rows it skips, so it goes no
// deeper than the lists count, and each page but the last gives the cursor of the next,
// which walks the whole list in order.
func TestLists_DeepPagesGoByCursor(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	db.CountCap = 3
	at := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 7 {
		id := fmt.Sprintf("evt-deep-%d", i)
		d := store.Delivery{ID: fmt.Sprintf("msg_deep_%d", i), EventID: id, WebhookID: "wh-deep", Dialect: "native",
			EventName: "user.created", Status: store.DeliveryFailed, CreatedAt: at, UpdatedAt: at}
		if err := storetest.CreateEvent(context.Background(), db, &store.Event{ID: id, Type: "user.created", OccurredAt: at, CreatedAt: at.Add(time.Duration(i/2) * time.Millisecond)}, []store.Delivery{d}); err != nil {
			t.Fatal(err)
		}
	}
	url, c := startOn(t, db, nil)
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, b := c.Do(t, servertest.Request(t, "GET", url+path, "", "Authorization", "Bearer "+token))
		return resp.StatusCode, b
	}
	var got []string
	path := "/v1/events?limit=2"
	for range 10 {
		status, b := get(path)
		var page struct {
			Events     []struct{ ID string }
			NextCursor string
		}
		if err := json.Unmarshal(b, &page); status != 200 || err != nil {
			t.Fatalf("%s: %d %s", path, status, b)
		}
		for _, e := range page.Events {
			got = append(got, e.ID)
		}
		if page.NextCursor == "" {
			break
		}
		path = "/v1/events?limit=2&cursor=" + page.NextCursor
	}
	if want := "evt-deep-6 evt-deep-5 evt-deep-4 evt-deep-3 evt-deep-2 evt-deep-1 evt-deep-0"; strings.Join(got, " ") != want {
		t.Errorf("events by cursor: %v, want %s", got, want)
	}
	for _, path := range []string{"/v1/events?offset=4", "/v1/deliveries?offset=4", "/v1/events?offset=1&cursor=x", "/v1/events?cursor=not-ours"} {
		if status, b := get(path); status != 400 || errorCode(t, b) != "invalid" {
			t.Errorf("%s: %d %s, want 400 invalid", path, status, b)
		}
	}
	if status, b := get("/v1/events?offset=4"); !strings.Contains(string(b), "cursor") {
		t.Errorf("a deep offset's error does not say what to do: %d %s", status, b)
	}
	if status, b := get("/v1/events?offset=3"); status != 200 {
		t.Errorf("an offset at the cap: %d %s", status, b)
	}
}
