package native_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store/storetest"
)

// TestAttemptNamesOmittedHeaders: a FusionAuth webhook whose custom headers include one
// HTTP cannot carry ("Header 1", as FusionAuth's own example has) is delivered with the
// others, and GET /v1/deliveries/{id} names the one left out.
func TestAttemptNamesOmittedHeaders(t *testing.T) {
	db := storetest.Open(t)
	got := make(chan http.Header, 1)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Clone():
		default:
		}
	}))
	defer rcv.Close()
	url := startGateway(t, db)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	c := servertest.NewContract(t, spec, url)
	resp, b := c.Do(t, servertest.Request(t, "POST", url+"/v1/credentials", `{"dialect":"fusionauth"}`, "Authorization", "Bearer "+token))
	var cred struct{ APIKey string }
	if err := json.Unmarshal(b, &cred); resp.StatusCode != 201 || err != nil || cred.APIKey == "" {
		t.Fatalf("mint: %d %s", resp.StatusCode, b)
	}
	resp, err = http.DefaultClient.Do(servertest.Request(t, "POST", url+"/api/webhook",
		`{"webhook":{"url":"`+rcv.URL+`/hook","connectTimeout":1000,"readTimeout":1000,"eventsEnabled":{"user.create":true},"global":true,"headers":{"Header 1":"value 1","X-Fine":"yes"}}}`,
		"Authorization", cred.APIKey))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, b = c.Do(t, servertest.Request(t, "POST", url+"/v1/events", `{"id":"evt-omitted","type":"user.created","data":{}}`, "Authorization", "Bearer "+token)); resp.StatusCode != 201 {
		t.Fatalf("publish: %d %s", resp.StatusCode, b)
	}
	select {
	case h := <-got:
		if h.Get("X-Fine") != "yes" {
			t.Errorf("X-Fine was not sent: %v", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the delivery did not arrive")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, b = c.Do(t, servertest.Request(t, "GET", url+"/v1/events/evt-omitted", "", "Authorization", "Bearer "+token))
		var ev struct{ DeliveryList []api.Delivery }
		if err := json.Unmarshal(b, &ev); resp.StatusCode != 200 || err != nil || len(ev.DeliveryList) != 1 {
			t.Fatalf("event: %d %s", resp.StatusCode, b)
		}
		resp, b = c.Do(t, servertest.Request(t, "GET", url+"/v1/deliveries/"+ev.DeliveryList[0].Id, "", "Authorization", "Bearer "+token))
		var d struct{ AttemptList []api.Attempt }
		if err := json.Unmarshal(b, &d); resp.StatusCode != 200 || err != nil {
			t.Fatalf("delivery: %d %s", resp.StatusCode, b)
		}
		if len(d.AttemptList) > 0 {
			if a := d.AttemptList[0]; a.OmittedHeaders == nil || !slices.Equal(*a.OmittedHeaders, []string{"Header 1"}) {
				t.Errorf("omittedHeaders: %s", b)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attempt recorded: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
