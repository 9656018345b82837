package native_test

import (
	"context"
	"encoding/json"
	"fmt"
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
