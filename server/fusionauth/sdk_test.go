package fusionauth_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/polyhook/polyhook/server/fusionauth"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// TestOfficialClient drives the official @fusionauth/typescript-client, unchanged, through
// every webhook method against a running gateway (testdata/sdk/sdk.mjs asserts each result
// field by field); this test then checks what the script saw against the store.
func TestOfficialClient(t *testing.T) {
	g := start(t)
	// An event log for the script to find: the event is delivered to whichever webhook
	// the script creates first, so the deliveries are attached when it appears.
	const logID = "6a1c2d3e-0000-4000-8000-00000000e0e0"
	ctx := context.Background()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			ws, _, _ := g.db.FindWebhooks(ctx, store.WebhookFilter{Dialect: fusionauth.Name, Limit: 1})
			if len(ws) == 0 {
				continue
			}
			d := store.Delivery{ID: "msg_sdk", EventID: logID, WebhookID: ws[0].ID, Dialect: fusionauth.Name, EventName: "user.create", Status: store.DeliveryPending}
			if err := storetest.CreateEvent(ctx, g.db, &store.Event{ID: logID, Type: "user.created", OccurredAt: time.Now()}, []store.Delivery{d}); err != nil {
				t.Error(err)
				return
			}
			for i, code := range []int{500, 200} {
				d.Attempts, d.LastStatus = i+1, code
				if code == 200 {
					d.Status = store.DeliverySucceeded
				}
				a := &store.Attempt{ID: []string{"6a1c2d3e-0000-4000-8000-00000000a0a1", "6a1c2d3e-0000-4000-8000-00000000a0a2"}[i], DeliveryID: d.ID, Number: i + 1, URL: ws[0].URL,
					StartedAt: time.Now(), ResponseStatus: code, RequestBody: `{"event":{"type":"user.create","id":"` + logID + `"}}`}
				if err := storetest.RecordAttempt(ctx, g.db, a, &d); err != nil {
					t.Error(err)
				}
			}
			return
		}
	}()
	out := servertest.Node(t, "testdata/sdk", "sdk.mjs", "GATEWAY_URL="+g.url, "API_KEY="+g.key, "EVENT_LOG_ID="+logID)
	var res struct {
		GeneratedID string   `json:"generatedId"`
		SearchTotal int      `json:"searchTotal"`
		Remaining   []string `json:"remaining"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	if res.SearchTotal != 2 || len(res.Remaining) != 1 || res.Remaining[0] != res.GeneratedID {
		t.Errorf("script saw %+v", res)
	}
	ws, total, err := g.db.FindWebhooks(context.Background(), store.WebhookFilter{Dialect: fusionauth.Name})
	if err != nil || total != 1 || ws[0].ExternalID != res.GeneratedID || ws[0].Headers["X-Sdk"] != "yes" {
		t.Errorf("store after the script: %+v (total %d, %v)", ws, total, err)
	}
}
