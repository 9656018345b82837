package store

import "context"

// HeldWebhooks exposes heldWebhooks, whose pages ReleaseHeld takes 500 at a time.
func HeldWebhooks(ctx context.Context, db *DB, after string, limit int) ([]string, error) {
	return db.heldWebhooks(ctx, after, limit)
}
