package store

import (
	"context"
	"time"
)

// Notices. An operator event (delivery/opevents.go) is decided in the transaction that
// records what caused it, and kept there as a row of its own (AddNotices): the event
// to publish, under the id it will have. Its process publishes it once that commits and
// then deletes the row; a process that stopped in between leaves the row for the next
// to publish (Notices), under the same id, which the publish takes as its event's
// idempotency key, so that one published before its row was deleted is not published
// twice. Nothing decided is lost to a crash or to a storm of them.

// Notice is an operator event decided and not yet published.
type Notice struct {
	// ID is the event's id once published.
	ID   string `gorm:"primaryKey;size:64"`
	Type string `gorm:"size:64;not null"`
	// Tenant is the event's tenant: its subject's owner.
	Tenant string `gorm:"size:128;not null;default:''"`
	// Subject is the id of the webhook the event is about, which never receives it.
	Subject    string    `gorm:"size:64;not null"`
	Data       string    `gorm:"type:text;not null"`
	OccurredAt time.Time `gorm:"not null"`
	CreatedAt  time.Time `gorm:"not null;index"`
}

const (
	insertNoticeSQL = `INSERT INTO notices (id, type, tenant, subject, data, occurred_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	// insertRecoveredSQL stores a notice when its webhook is failing, ahead of the
	// statement that ends the run (markHealthySQL) in the same transaction: on SQLite,
	// whose writes are one at a time, the notice is stored exactly when that ends it.
	insertRecoveredSQL = `INSERT INTO notices (id, type, tenant, subject, data, occurred_at, created_at)
SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ? AND failing_since IS NOT NULL)`
	// recoveredSQL is markHealthySQL that stores a notice when it ends the run, in one
	// statement: on PostgreSQL, of replicas ending the same run at once, the one whose
	// update changed the row, and it alone, stores its notice. It changes one row
	// exactly when markHealthySQL would. PostgreSQL only (an update in a WITH).
	recoveredSQL = `WITH ended AS (UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL RETURNING id)
INSERT INTO notices (id, type, tenant, subject, data, occurred_at, created_at)
SELECT ?, ?, ?, ?, ?, ?::timestamptz, ?::timestamptz FROM ended`
)

func (n *Notice) args(now time.Time) []any {
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now
	}
	return []any{n.ID, n.Type, n.Tenant, n.Subject, n.Data, n.OccurredAt, n.CreatedAt}
}

// AddNotices stores notices; in a transaction, they are stored when it commits.
func (db *DB) AddNotices(ctx context.Context, ns []Notice) error {
	if len(ns) == 0 {
		return nil
	}
	now := db.Now()
	sts := make([]statement, len(ns))
	for i := range ns {
		sts[i] = statement{insertNoticeSQL, ns[i].args(now)}
	}
	_, err := db.execAll(ctx, sts)
	return db.err(err)
}

// Notices returns up to limit notices stored before a time, oldest first: those a
// process left unpublished.
func (db *DB) Notices(ctx context.Context, before time.Time, limit int) ([]Notice, error) {
	var ns []Notice
	err := db.gorm.WithContext(ctx).Where("created_at < ?", before).Order("created_at, id").Limit(limit).Find(&ns).Error
	return ns, db.err(err)
}

// DeleteNotices deletes the notices ids: their events are published.
func (db *DB) DeleteNotices(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return db.err(db.gorm.WithContext(ctx).Where("id IN ?", ids).Delete(&Notice{}).Error)
}
