package storetest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polyhook/polyhook/store"
)

// Writes the delivery engine makes, for tests that need events, deliveries and attempts
// without an engine. The store exports only what the engine uses; these go through it
// (CreateEvents, Settle) or, for what no engine does, straight to the tables.

// CreateEvent inserts one event with its deliveries, setting the times left zero and the
// event's count of deliveries.
func CreateEvent(ctx context.Context, db *store.DB, ev *store.Event, ds []store.Delivery) error {
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = db.Now()
	}
	ev.Deliveries = len(ds)
	for i := range ds {
		if ds[i].CreatedAt.IsZero() {
			ds[i].CreatedAt = ev.CreatedAt
		}
		ds[i].UpdatedAt = ds[i].CreatedAt
	}
	return db.CreateEvents(ctx, []*store.Event{ev}, ds)
}

// holder is the replica name under which RecordAttempt claims a delivery to settle it.
const holder = "storetest"

// RecordAttempt stores an attempt and its delivery's new state (d's), as the engine's
// recorder does: it claims the delivery and settles it.
func RecordAttempt(ctx context.Context, db *store.DB, a *store.Attempt, d *store.Delivery) error {
	if err := exec(ctx, db, `UPDATE deliveries SET claimed_until = ?, claimed_by = ? WHERE id = ?`,
		time.Now().Add(time.Hour).UTC(), holder, d.ID); err != nil {
		return err
	}
	d.ClaimedBy = holder
	held, err := db.Settle(ctx, []*store.Delivery{d}, []*store.Attempt{a})
	if err == nil && !held[0] {
		err = fmt.Errorf("delivery %s not settled: its attempts (%d) are not one more than the stored count", d.ID, d.Attempts)
	}
	return err
}

// SetDeliveryStatus sets a delivery's status and last error without an attempt.
func SetDeliveryStatus(ctx context.Context, db *store.DB, id, status, reason string) error {
	return exec(ctx, db, `UPDATE deliveries SET status = ?, last_error = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?`,
		status, reason, db.Now(), id)
}

// exec runs one statement written with ? placeholders on either backend.
func exec(ctx context.Context, db *store.DB, query string, args ...any) error {
	if db.Backend() == store.BackendPostgres {
		var b strings.Builder
		n := 0
		for _, r := range query {
			if r == '?' {
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteRune(r)
		}
		query = b.String()
	}
	_, err := db.SQL().ExecContext(ctx, query, args...)
	return err
}

// RawRequestHeaders returns the attempt's request_headers column as stored ("" for NULL).
func RawRequestHeaders(ctx context.Context, db *store.DB, attemptID string) (string, error) {
	return rawAttemptColumn(ctx, db, attemptID, "request_headers")
}

// RawResponseHeaders returns the attempt's response_headers column as stored ("" for NULL).
func RawResponseHeaders(ctx context.Context, db *store.DB, attemptID string) (string, error) {
	return rawAttemptColumn(ctx, db, attemptID, "response_headers")
}

// RawRequestBody returns an attempt's request_body column as stored.
func RawRequestBody(ctx context.Context, db *store.DB, attemptID string) (string, error) {
	return rawAttemptColumn(ctx, db, attemptID, "request_body")
}

func rawAttemptColumn(ctx context.Context, db *store.DB, attemptID, column string) (string, error) {
	q := `SELECT coalesce(` + column + `, '') FROM attempts WHERE id = ?`
	if db.Backend() == store.BackendPostgres {
		q = strings.Replace(q, "?", "$1", 1)
	}
	var s string
	err := db.SQL().QueryRowContext(ctx, q, attemptID).Scan(&s)
	return s, err
}
