package native

import (
	"context"
	"crypto/rand"
	"encoding/base64"

	"github.com/polyhook/polyhook/store"
)

// ResetAdminToken generates a new admin token, stores its hash in place of the old one's
// and returns it. A running gateway keeps the token it started with until it restarts;
// POLYHOOK_ADMIN_TOKEN, while set, still wins over the stored one.
func ResetAdminToken(ctx context.Context, db *store.DB) (string, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := "phk_" + base64.RawURLEncoding.EncodeToString(b)
	return token, db.SetSetting(ctx, settingAdminToken, store.HashSecret(token))
}
