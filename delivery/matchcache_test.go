package delivery

import (
	"slices"
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
		key := scope{dialects: "fusionauth", tenant: strconv.Itoa(tenant)}
		m.put(0, key, &matchSet{ws: ws})
		if got, ok := m.get(0, key); !ok || len(got.ws) != len(ws) {
			t.Fatalf("tenant %d not kept", tenant)
		}
		if m.held > maxMatchWebhooks {
			t.Fatalf("after %d tenants the cache holds %d webhooks", tenant+1, m.held)
		}
	}
	m.put(0, scope{dialects: "fusionauth", tenant: "huge"}, &matchSet{ws: make([]*store.Webhook, maxMatchWebhooks+1)})
	if _, ok := m.get(0, scope{dialects: "fusionauth", tenant: "huge"}); ok {
		t.Error("a scope larger than the cache was kept")
	}
	if m.held > maxMatchWebhooks {
		t.Errorf("the cache holds %d webhooks", m.held)
	}
}

// countingEncoder subscribes a webhook to the names in its Events, counting the calls.
type countingEncoder struct {
	Encoder
	dialect string
	calls   *int
}

func (e countingEncoder) Dialect() string { return e.dialect }

func (e countingEncoder) Subscribes(w *store.Webhook, name string) bool {
	*e.calls++
	return slices.Contains(w.Events, name)
}

// A publish goes through the webhooks that subscribe to its event's names, in the store's
// order and each once, however many candidates the scope holds; whether a webhook
// subscribes to a name is asked once per set, not once per publish.
func TestMatchSet_SubscribedOnlyAndOnce(t *testing.T) {
	t.Parallel()
	var calls int
	encoders := map[string]Encoder{
		"a": countingEncoder{dialect: "a", calls: &calls},
		"b": countingEncoder{dialect: "b", calls: &calls},
	}
	ws := make([]*store.Webhook, 3000)
	for i := range ws {
		ws[i] = &store.Webhook{ID: strconv.Itoa(i), Dialect: "a", Events: []string{"other"}}
	}
	ws[5].Events = []string{"x"}
	ws[7] = &store.Webhook{ID: "7", Dialect: "b", Events: []string{"x"}}
	ws[10].Events = []string{"y"}
	ws[2000].Events = []string{"y", "x"}
	set := &matchSet{ws: ws}
	names := map[string][]string{"a": {"x", "y"}, "b": {"x"}}

	for range 100 {
		if got := set.subscribed(encoders, names); !slices.Equal(got, []int32{5, 7, 10, 2000}) {
			t.Fatalf("subscribed %v, want [5 7 10 2000]", got)
		}
		if got := set.subscribed(encoders, map[string][]string{"a": {"x"}}); !slices.Equal(got, []int32{5, 2000}) {
			t.Fatalf("subscribed to a's x %v, want [5 2000] (a merge changed a shared list?)", got)
		}
	}
	// Once per name and webhook of its dialect: a's x and y over 2,999, b's x over 1.
	if want := 2*2999 + 1; calls != want {
		t.Errorf("Subscribes asked %d times over 200 publishes, want %d", calls, want)
	}
	if got := set.subscribed(encoders, map[string][]string{"a": {"nobody"}}); len(got) != 0 {
		t.Errorf("subscribed to a name nobody takes: %v", got)
	}
}
