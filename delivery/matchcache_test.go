package delivery

import (
	"strconv"
	"testing"

	"github.com/polyhook/polyhook/store"
)

// The match cache holds a bounded number of webhooks however many tenants are published
// to, and never a scope larger than that bound.
func TestMatchCache_Bounded(t *testing.T) {
	t.Parallel()
	var m matchCache
	ws := make([]*store.Webhook, 1000)
	for tenant := 0; tenant < 100; tenant++ {
		key := scope{"fusionauth", strconv.Itoa(tenant)}
		m.put(0, key, ws)
		if got, ok := m.get(0, key); !ok || len(got) != len(ws) {
			t.Fatalf("tenant %d not kept", tenant)
		}
		if m.held > maxMatchWebhooks {
			t.Fatalf("after %d tenants the cache holds %d webhooks", tenant+1, m.held)
		}
	}
	m.put(0, scope{"fusionauth", "huge"}, make([]*store.Webhook, maxMatchWebhooks+1))
	if _, ok := m.get(0, scope{"fusionauth", "huge"}); ok {
		t.Error("a scope larger than the cache was kept")
	}
	if m.held > maxMatchWebhooks {
		t.Errorf("the cache holds %d webhooks", m.held)
	}
}
