package store

import "context"

// HeldWebhooks exposes heldWebhooks, whose pages ReleaseHeld takes 500 at a time.
func HeldWebhooks(ctx context.Context, db *DB, after string, limit int) ([]string, error) {
	return db.heldWebhooks(ctx, after, limit)
}

// WebhookDigest exposes webhookDigest, what an attempt keeps of its webhook's id.
func WebhookDigest(webhookID string) int64 { return webhookDigest(webhookID) }
