package native_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/gateway"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
)

// Every canonical event type has a JSON Schema of its data at GET /v1/event-types; with
// --validate-events, POST /v1/events refuses data that does not satisfy it (422 naming the
// path), and without, it takes it.
func TestEventSchemas(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, validate := range []bool{false, true} {
			keys, _ := server.NewKeys("native-test-master-key")
			log := servertest.Logger(t)
			engine, err := delivery.New(drivers.For(db), delivery.Config{Log: log, ValidateEvents: validate})
			if err != nil {
				t.Fatal(err)
			}
			url := servertest.Serve(t, gateway.New(gateway.Config{Deps: server.Deps{DB: db, Keys: keys, Log: log}, Engine: engine, TokenHash: store.HashSecret(token)}))
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
			status, b := do("GET", "/v1/event-types", "")
			var types struct{ EventTypes []api.EventType }
			if err := json.Unmarshal(b, &types); status != 200 || err != nil || len(types.EventTypes) != len(delivery.Catalogue) {
				t.Fatalf("event types: %d %s", status, b)
			}
			for _, et := range types.EventTypes {
				var sch struct {
					Type       string
					Properties map[string]any
				}
				if err := json.Unmarshal(et.Schema, &sch); err != nil || sch.Type != "object" {
					t.Errorf("%s: schema %s", et.Type, et.Schema)
				}
			}

			good := `{"type":"user.created","data":{"user":{"id":"u1","email":"ann@example.com"},"extra":1}}`
			if status, b = do("POST", "/v1/events", good); status != 201 {
				t.Errorf("validate=%v: valid data: %d %s", validate, status, b)
			}
			for body, path := range map[string]string{
				`{"type":"user.created","data":{"user":{"id":42}}}`:                   "data.user.id",
				`{"type":"user.created","data":{}}`:                                   "data",
				`{"type":"group.member.added","data":{"group":{"id":"g"},"user":{}}}`: "data.user",
				`{"type":"fusionauth:user.create","data":{"user":{"email":"a@b.c"}}}`: "data.user",
			} {
				status, b = do("POST", "/v1/events", body)
				switch {
				case !validate && status != 201:
					t.Errorf("without validation %s: %d %s", body, status, b)
				case validate && (status != 422 || !strings.Contains(string(b), `"code":"unprocessable"`) || !strings.Contains(string(b), `"message":"`+path+`: `)):
					t.Errorf("validating %s: %d %s, want 422 naming %s", body, status, b, path)
				}
			}
			// Outside the catalogue nothing is checked.
			if status, b = do("POST", "/v1/events", `{"type":"fusionauth:user.action","data":{"x":1}}`); status != 201 {
				t.Errorf("validate=%v: a native event outside the catalogue: %d %s", validate, status, b)
			}
		}
	})
}

// validatedEvents exercises, for into, what only a gateway run with --validate-events
// answers: 422 for data its schema refuses.
func validatedEvents(t *testing.T, into *servertest.Contract) {
	t.Helper()
	db := storetest.Open(t)
	keys, _ := server.NewKeys("native-test-master-key")
	log := servertest.Logger(t)
	engine, err := delivery.New(drivers.For(db), delivery.Config{Log: log, ValidateEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	url := servertest.Serve(t, gateway.New(gateway.Config{Deps: server.Deps{DB: db, Keys: keys, Log: log}, Engine: engine, TokenHash: store.HashSecret(token)}))
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	c := servertest.NewContract(t, spec, url)
	resp, b := c.Do(t, servertest.Request(t, "POST", url+"/v1/events", `{"type":"group.created","data":{"group":{"id":""}}}`, "Authorization", "Bearer "+token))
	if resp.StatusCode != 422 || !strings.Contains(string(b), "data.group.id: ") {
		t.Errorf("invalid data with --validate-events: %d %s", resp.StatusCode, b)
	}
	into.Absorb(c)
}
