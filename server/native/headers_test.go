package native_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/delivery"
	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/native"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// GET /v1/deliveries/{id} shows a custom header of the webhook by name only: its value
// (an API key, say) reached the receiver but is neither recorded nor shown.
func TestGetDelivery_CustomHeadersByNameOnly(t *testing.T) {
	const secret = "CUSTOMHDR_v4lue"
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		keys, _ := server.NewKeys("native-test-master-key")
		log := servertest.Logger(t)
		deps := server.Deps{DB: db, Keys: keys, Log: log}
		engine, err := delivery.New(db, delivery.Config{Log: log, Sender: delivery.SenderOptions{AllowPrivateTargets: true}})
		if err != nil {
			t.Fatal(err)
		}
		fa := fusionauth.New(deps)
		engine.Register(fa.Encoder())
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := engine.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			stop, c := context.WithTimeout(context.Background(), 10*time.Second)
			defer c()
			_ = engine.Stop(stop)
		}()
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
		ev, _, err := engine.Publish(ctx, delivery.PublishInput{ID: "evt-headers", Type: "user.created"})
		if err != nil || ev.Deliveries != 1 {
			t.Fatalf("publish: %+v %v", ev, err)
		}
		select {
		case v := <-got:
			if v != secret {
				t.Errorf("the receiver got X-Api-Key %q", v)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("nothing delivered")
		}

		srv := server.New(log)
		srv.Register(fa, native.New(deps, engine, srv, store.HashSecret(token)))
		url := servertest.Serve(t, srv)
		spec, err := api.GetSwagger()
		if err != nil {
			t.Fatal(err)
		}
		c := servertest.NewContract(t, spec, url)
		ds, _ := db.DeliveriesOfEvent(ctx, ev.ID)
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
