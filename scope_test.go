package main

import (
	"testing"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// Each dialect's scope rule says which tenants' events reach its webhooks, as its vendor
// scopes them: FusionAuth by global or its tenant list, Xsolla by Login project, Nursa by
// the client that made the webhook, Authing by user pool.
func TestScopeRules(t *testing.T) {
	global := &store.Webhook{Global: true}
	listing := &store.Webhook{TenantIDs: []string{"t1", "t2"}}
	owned := &store.Webhook{Owner: "t1"}
	type want struct{ global, listingT2, ownedT1, ownedT2, ownedNone bool }
	rules := map[string]want{
		"fusionauth": {global: true, listingT2: true},
		"xsolla":     {ownedT1: true},
		"nursa":      {ownedT1: true},
		"authing":    {ownedT1: true},
	}
	for _, d := range dialects(server.Deps{}) {
		w, ok := rules[d.Name()]
		if !ok {
			t.Errorf("no scope expectations for the %s dialect", d.Name())
			continue
		}
		s, ok := d.Encoder().(delivery.Scoper)
		if !ok {
			t.Errorf("%s has no scope rule", d.Name())
			continue
		}
		got := want{
			global:    s.InScope(global, "t1"),
			listingT2: s.InScope(listing, "t2"),
			ownedT1:   s.InScope(owned, "t1"),
			ownedT2:   s.InScope(owned, "t2"),
			ownedNone: s.InScope(owned, ""),
		}
		if got != w {
			t.Errorf("%s's scope rule: %+v, want %+v", d.Name(), got, w)
		}
	}
}
