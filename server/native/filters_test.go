package native_test

import (
	"encoding/json"
	"strings"
	"testing"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A native subscription's filter is kept, shown and changed through /v1/webhooks, refused
// with the offending path when invalid, and decides which events make a delivery.
func TestSubscriptionFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		url := startGateway(t, db)
		spec, err := api.GetSwagger()
		if err != nil {
			t.Fatal(err)
		}
		c := servertest.NewContract(t, spec, url)
		do := func(method, path, body string) (int, []byte) {
			t.Helper()
			resp, b := c.Do(t, servertest.Request(t, method, url+path, body, "Authorization", "Bearer "+token))
			return resp.StatusCode, b
		}
		rcv := newReceiver(t)

		// Refused, naming where.
		for bad, path := range map[string]string{
			`{"data.total": {"$gt": true}}`:                                                        "filter.data.total.$gt",
			`{"data.total": {"$regex": "x"}}`:                                                      "filter.data.total.$regex",
			`{"$or": [{"type": "a"}, {"body.x": 1}]}`:                                              "filter.$or[1].body.x",
			`{"$not":{"$not":{"$not":{"$not":{"$not":{"$not":{"$not":{"$not":{"type":"x"}}}}}}}}}`: "filter",
			`{"data.x": {"$in": ["` + strings.Repeat("a", 4096) + `"]}}`:                           "filter",
		} {
			status, b := do("POST", "/v1/webhooks", `{"url":"`+rcv.URL+`/x","events":["user.created"],"filter":`+bad+`}`)
			if status != 400 || !strings.Contains(string(b), `"code":"invalid"`) || !strings.Contains(string(b), path+":") {
				t.Errorf("filter %.60s: %d %s, want 400 naming %s", bad, status, b, path)
			}
		}

		filter := `{"data.order.total":{"$gte":100},"$or":[{"data.order.country":{"$in":["DE","FR"]}},{"data.order.vip":true}]}`
		status, b := do("POST", "/v1/webhooks", `{"url":"`+rcv.URL+`/big","events":["user.created","user.updated"],"filter":`+filter+`}`)
		var created api.Webhook
		if err := json.Unmarshal(b, &created); status != 201 || err != nil || created.Filter == nil {
			t.Fatalf("create: %d %s", status, b)
		}
		// Every event reaches the unfiltered subscription; the filtered one gets only its own.
		if status, b = do("POST", "/v1/webhooks", `{"url":"`+rcv.URL+`/all","events":["user.created","user.updated"]}`); status != 201 || strings.Contains(string(b), `"filter"`) {
			t.Fatalf("create unfiltered: %d %s", status, b)
		}
		status, b = do("GET", "/v1/webhooks/"+created.Id, "")
		if status != 200 || !strings.Contains(string(b), `"filter":`+filter) {
			t.Errorf("get shows %d %s, want the filter %s", status, b, filter)
		}

		publish := func(data string) int {
			t.Helper()
			status, b := do("POST", "/v1/events", `{"type":"user.created","data":`+data+`}`)
			var ev api.Event
			if err := json.Unmarshal(b, &ev); status != 201 || err != nil {
				t.Fatalf("publish %s: %d %s", data, status, b)
			}
			return ev.Deliveries
		}
		for data, want := range map[string]int{
			`{"order":{"total":150,"country":"DE"}}`:   2,
			`{"order":{"total":100,"vip":true}}`:       2,
			`{"order":{"total":99.99,"country":"DE"}}`: 1,
			`{"order":{"total":"150","country":"DE"}}`: 1, // a string is not a number
			`{"order":{"total":150,"country":"US"}}`:   1,
			`{"order":{"country":"DE"}}`:               1, // missing
			`{}`:                                       1,
		} {
			if got := publish(data); got != want {
				t.Errorf("%s made %d deliveries, want %d", data, got, want)
			}
		}
		rcv.wait(t, "/big", 2)
		rcv.wait(t, "/all", 7)

		// PATCH replaces the filter; {} removes it.
		status, b = do("PATCH", "/v1/webhooks/"+created.Id, `{"filter":{"type":"user.updated"}}`)
		if status != 200 || !strings.Contains(string(b), `"filter":{"type":"user.updated"}`) {
			t.Fatalf("patch: %d %s", status, b)
		}
		if got := publish(`{"order":{"total":150,"country":"DE"}}`); got != 1 {
			t.Errorf("after the patch, a user.created event made %d deliveries, want 1", got)
		}
		if status, b = do("PATCH", "/v1/webhooks/"+created.Id, `{"filter":{"type":{"$foo":1}}}`); status != 400 || !strings.Contains(string(b), "filter.type.$foo") {
			t.Errorf("invalid patch: %d %s", status, b)
		}
		if status, b = do("PATCH", "/v1/webhooks/"+created.Id, `{"filter":{}}`); status != 200 || strings.Contains(string(b), `"filter"`) {
			t.Fatalf("removing the filter: %d %s", status, b)
		}
		if got := publish(`{}`); got != 2 {
			t.Errorf("without a filter, an event made %d deliveries, want 2", got)
		}
	})
}
