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

// An event's data comes back as it was published (compacted): numbers past what a
// float64 holds and its members' order included, from the publish, the event's page and
// the listing. Decoded into a map on the way out, 12345678901234567890 came back as
// 12345678901234567000.
func TestEvents_DataComesBackAsPublished(t *testing.T) {
	t.Parallel()
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
		const data = `{"z":12345678901234567890,"a":0.10000000000000000001,"user":{"id":"u1","n":-9007199254740993}}`
		status, b := do("POST", "/v1/events", `{"type":"user.created","data": `+strings.ReplaceAll(data, ",", ", ")+`}`)
		if status != 201 {
			t.Fatalf("publish: %d %s", status, b)
		}
		var ev struct {
			ID   string          `json:"id"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(b, &ev); err != nil || string(ev.Data) != data {
			t.Errorf("the publish's answer: data %s, want %s (%v)", ev.Data, data, err)
		}
		if status, b = do("GET", "/v1/events/"+ev.ID, ""); status != 200 || !strings.Contains(string(b), `"data":`+data) {
			t.Errorf("the event: %d %s, want its data %s", status, b, data)
		}
		if status, b = do("GET", "/v1/events?type=user.created", ""); status != 200 || !strings.Contains(string(b), `"data":`+data) {
			t.Errorf("the events: %d %s, want its data %s", status, b, data)
		}
	})
}
