package fusionauth_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// Concurrent PATCHes of one webhook, each adding its own header or tenant, are all kept,
// in each of the three PATCH content types: the audit kept 9 (SQLite) and 4 (PostgreSQL)
// of 20 headers, and 6 and 2 of 20 tenant ids.
func TestPatch_ConcurrentChangesAllKept(t *testing.T) {
	const writers = 20
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		g := startOn(t, db)
		const id = "00000000-0000-4000-8000-0000000000c1"
		if s, b, _ := g.do(t, "POST", "/api/webhook/"+id, `{"webhook":{"url":"https://example.com/c","connectTimeout":1,"readTimeout":1,"headers":{"X-Start":"0"}}}`); s != 200 {
			t.Fatalf("create: %d %s", s, b)
		}
		tenants := make([]string, writers)
		for i := range tenants {
			tenants[i] = uuid.NewString()
		}
		var wg sync.WaitGroup
		for i := range writers {
			for _, p := range []struct{ body, contentType string }{
				{fmt.Sprintf(`{"webhook":{"headers":{"X-Merge-%d":"v"}}}`, i), "application/merge-patch+json"},
				{fmt.Sprintf(`[{"op":"add","path":"/webhook/headers/X-Json-Patch-%d","value":"v"}]`, i), "application/json-patch+json"},
				{fmt.Sprintf(`{"webhook":{"tenantIds":[%q]}}`, tenants[i]), "application/json"},
			} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if s, b, _ := g.do(t, "PATCH", "/api/webhook/"+id, p.body, "Content-Type", p.contentType); s != 200 {
						t.Errorf("patch %s: %d %s", p.body, s, b)
					}
				}()
			}
		}
		wg.Wait()
		_, b, _ := g.do(t, "GET", "/api/webhook/"+id, "")
		w := webhookOf(t, b)
		for i := range writers {
			for _, h := range []string{fmt.Sprintf("X-Merge-%d", i), fmt.Sprintf("X-Json-Patch-%d", i)} {
				if _, ok := (*w.Headers)[h]; !ok {
					t.Errorf("header %s was acknowledged and lost", h)
				}
			}
		}
		if w.TenantIds == nil || len(*w.TenantIds) != writers {
			t.Errorf("kept %d of %d appended tenant ids", len(*w.TenantIds), writers)
		}
		if _, ok := (*w.Headers)["X-Start"]; !ok {
			t.Errorf("the header set at creation was lost")
		}
	})
}

// A PUT racing PATCHes is one whole replacement among them: the PATCHes after it are
// applied to it, none to a state it replaced.
func TestPut_ConcurrentWithPatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		g := startOn(t, db)
		const id = "00000000-0000-4000-8000-0000000000c2"
		if s, b, _ := g.do(t, "POST", "/api/webhook/"+id, `{"webhook":{"url":"https://example.com/c","connectTimeout":1,"readTimeout":1}}`); s != 200 {
			t.Fatalf("create: %d %s", s, b)
		}
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"webhook":{"url":"https://example.com/put","connectTimeout":2,"readTimeout":2,"headers":{"X-Put-%d":"v"}}}`, i)
				method := "PUT"
				if i%2 == 1 {
					method, body = "PATCH", fmt.Sprintf(`{"webhook":{"headers":{"X-Patch-%d":"v"}}}`, i)
				}
				if s, b, _ := g.do(t, method, "/api/webhook/"+id, body, "Content-Type", "application/merge-patch+json"); s != 200 {
					t.Errorf("%s: %d %s", method, s, b)
				}
			}()
		}
		wg.Wait()
		_, b, _ := g.do(t, "GET", "/api/webhook/"+id, "")
		w := webhookOf(t, b)
		puts := 0
		for h := range *w.Headers {
			if len(h) > 6 && h[:6] == "X-Put-" {
				puts++
			}
		}
		if puts != 1 || *w.Url != "https://example.com/put" {
			t.Errorf("after racing PUTs and PATCHes: %d PUT headers (want exactly the last PUT's), url %s", puts, *w.Url)
		}
	})
}
