package native_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// GET /v1/deliveries/{id} shows a custom header of the webhook by name only: its value
// (an API key, say) reached the receiver but is neither recorded nor shown.
func TestGetDelivery_CustomHeadersByNameOnly(t *testing.T) {
	const secret = "CUSTOMHDR_v4lue"
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		url := startGateway(t, db)
		spec, err := api.GetSwagger()
		if err != nil {
			t.Fatal(err)
		}
		c := servertest.NewContract(t, spec, url)
		got := make(chan string, 1)
		rcv := servertest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case got <- r.Header.Get("X-Api-Key"):
			default:
			}
		}))
		if err := db.CreateWebhook(ctx, &store.Webhook{
			Dialect: "fusionauth", ExternalID: "00000000-0000-4000-8000-0000000000a1", URL: rcv + "/hook",
			Enabled: true, Global: true, Events: []string{"user.create"}, Headers: map[string]string{"X-Api-Key": secret},
		}); err != nil {
			t.Fatal(err)
		}
		if resp, b := c.Do(t, servertest.Request(t, "POST", url+"/v1/events", `{"id":"evt-headers","type":"user.created","data":{}}`, "Authorization", "Bearer "+token)); resp.StatusCode != 201 || !strings.Contains(string(b), `"deliveries":1`) {
			t.Fatalf("publish: %d %s", resp.StatusCode, b)
		}
		select {
		case v := <-got:
			if v != secret {
				t.Errorf("the receiver got X-Api-Key %q", v)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("nothing delivered")
		}

		ds, _ := db.DeliveriesOfEvent(ctx, "evt-headers")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			as, _ := db.Attempts(ctx, ds[0].ID)
			if len(as) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the attempt was not recorded")
			}
		}
		resp, b := c.Do(t, servertest.Request(t, "GET", url+"/v1/deliveries/"+ds[0].ID, "", "Authorization", "Bearer "+token))
		var out struct {
			AttemptList []struct{ RequestHeaders map[string]string }
		}
		if err := json.Unmarshal(b, &out); resp.StatusCode != 200 || err != nil || len(out.AttemptList) != 1 {
			t.Fatalf("get delivery: %d %s", resp.StatusCode, b)
		}
		if strings.Contains(string(b), secret) || out.AttemptList[0].RequestHeaders["X-Api-Key"] != "[redacted]" {
			t.Errorf("the custom header's value is shown: %s", b)
		}
	})
}
