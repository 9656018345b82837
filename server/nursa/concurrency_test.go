package nursa_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	api "github.com/polyhook/polyhook/gen/nursaapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// Concurrent PATCHes of one webhook, one changing its url and one its secrets, keep both
// changes: neither is written over a webhook it did not read. 25 rounds of two writers
// (pairs race more often than crowds, where some writer of each kind lands early), on
// each backend.
func TestPatch_ConcurrentFieldsAllKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		g := startOn(t, db, server.NewLimiter(0, 0))
		clientID, token := g.client(t)
		status, b := g.do(t, token, "POST", path, `{"url":"https://example.com/c","events":["all"]}`)
		var created api.WebhookResponse
		if err := json.Unmarshal(b, &created); status != 201 || err != nil {
			t.Fatalf("create: %d %s", status, b)
		}
		id := created.Data.Id.String()
		for round := range 25 {
			url, secret := fmt.Sprintf("https://example.com/url-%d", round), fmt.Sprintf("secret-of-round-%d", round)
			var wg sync.WaitGroup
			for i := range 2 {
				body := `{"events":["all"],"url":"` + url + `"}`
				if i%2 == 1 {
					body = `{"events":["all"],"secrets":["` + secret + `"]}`
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if s, b := g.do(t, token, "PATCH", path+"/"+id, body); s != 200 {
						t.Errorf("patch %s: %d %s", body, s, b)
					}
				}()
			}
			wg.Wait()
			w, err := db.GetWebhook(context.Background(), store.WebhookKey{Dialect: nursa.Name, Owner: clientID, ExternalID: id})
			if err != nil {
				t.Fatal(err)
			}
			if w.URL != url || len(w.Secrets) != 1 || w.Secrets[0] != secret {
				t.Errorf("round %d: an acknowledged change was lost: url %q secrets %v", round, w.URL, w.Secrets)
			}
		}
	})
}
