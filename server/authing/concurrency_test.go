package authing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/authing"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// Concurrent update-webhook calls that each change a different field all stay: none is
// written over a webhook it did not read. Five rounds of four writers, on each backend.
func TestUpdateWebhook_ConcurrentFieldsAllKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		g := startOn(t, db, server.NewLimiter(0, 0))
		m := g.mint(t)
		tok := g.token(t, m)
		_, e := g.call(t, tok, m.Field("userPoolId"), "POST", "/api/v3/create-webhook", `{"name":"c","url":"https://example.com/c","events":["login"],"contentType":"application/json"}`)
		var created struct{ WebhookID string }
		if err := json.Unmarshal(e.Data, &created); err != nil || e.StatusCode != 200 {
			t.Fatalf("create: %+v", e)
		}
		id := created.WebhookID
		for round := range 5 {
			var wg sync.WaitGroup
			for _, field := range []string{
				fmt.Sprintf(`"name":"name-%d"`, round),
				fmt.Sprintf(`"url":"https://example.com/url-%d"`, round),
				fmt.Sprintf(`"secret":"secret-%d"`, round),
				fmt.Sprintf(`"retryConfig":{"enabled":true,"count":%d}`, round+1),
			} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if s, e := g.call(t, tok, m.Field("userPoolId"), "POST", "/api/v3/update-webhook", `{"webhookId":"`+id+`",`+field+`}`); s != 200 || e.StatusCode != 200 {
						t.Errorf("update %s: %d %+v", field, s, e)
					}
				}()
			}
			wg.Wait()
			w, err := db.GetWebhook(context.Background(), store.WebhookKey{Dialect: authing.Name, Owner: m.Field("userPoolId"), ExternalID: id})
			if err != nil {
				t.Fatal(err)
			}
			if w.Name != fmt.Sprintf("name-%d", round) || w.URL != fmt.Sprintf("https://example.com/url-%d", round) ||
				len(w.Secrets) != 1 || w.Secrets[0] != fmt.Sprintf("secret-%d", round) || w.Retry == nil || w.Retry.Count != round+1 {
				t.Errorf("round %d: an acknowledged change was lost: name %q url %q secrets %v retry %+v", round, w.Name, w.URL, w.Secrets, w.Retry)
			}
		}
	})
}
