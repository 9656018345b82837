package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// TestPortalLinks: a link is redeemed once, its session lasts until the link expires or
// is revoked, and Prune deletes links that expired before its time.
func TestPortalLinks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		l := &store.PortalLink{ID: "l1", Tenant: "acme", TokenHash: "tok1", ExpiresAt: now.Add(time.Hour)}
		if err := db.CreatePortalLink(ctx, l); err != nil {
			t.Fatal(err)
		}
		if got, err := db.RedeemPortalLink(ctx, "tok1", "sess1"); err != nil || got.Tenant != "acme" || got.RedeemedAt == nil {
			t.Fatalf("redeem: %+v %v", got, err)
		}
		if _, err := db.RedeemPortalLink(ctx, "tok1", "sess2"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("a second redemption: %v", err)
		}
		if _, err := db.PortalSession(ctx, "sess1"); err != nil {
			t.Errorf("the session: %v", err)
		}
		if ls, total, err := db.PortalLinksInForce(ctx, "acme", 0, 10); err != nil || total != 1 || len(ls) != 1 {
			t.Errorf("in force: %d %v", total, err)
		}
		now = now.Add(time.Hour)
		if _, err := db.PortalSession(ctx, "sess1"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("the session after the link expired: %v", err)
		}
		// A second link, revoked: its session ends, and it is no longer in force.
		if err := db.CreatePortalLink(ctx, &store.PortalLink{ID: "l2", Tenant: "acme", TokenHash: "tok2", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RedeemPortalLink(ctx, "tok2", "sess3"); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokePortalLink(ctx, "l2"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.PortalSession(ctx, "sess3"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("the session of a revoked link: %v", err)
		}
		if _, total, _ := db.PortalLinksInForce(ctx, "", 0, 10); total != 0 {
			t.Errorf("links in force after expiry and revocation: %d", total)
		}
		if err := db.RevokePortalLink(ctx, "nope"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("revoke an unknown link: %v", err)
		}
		if _, _, _, err := db.Prune(ctx, now.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokePortalLink(ctx, "l1"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("a link expired before the prune's time is kept: %v", err)
		}
		if err := db.RevokePortalLink(ctx, "l2"); err != nil {
			t.Errorf("a link expiring after the prune's time is deleted: %v", err)
		}
	})
}
