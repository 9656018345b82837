package store

import (
	"context"
	"slices"
	"time"
)

// Ordered lanes. The deliveries of an ordered webhook carry a lane (Delivery.Lane: the
// event's ordering key, "" for none) and a place in it (LaneSeq, from the webhook's
// sequence). In a lane only the head is ever claimed: the pending delivery with no
// pending one before it (laneHead). Every other pending delivery of the lane waits for
// its lane: no claim, no hold and no next attempt, out of the due index, costing the poll
// nothing. When a head finishes for good (succeeded, failed, cancelled) the statement
// that records it makes the next one due (promoteSQL), due since it was published; should
// that be missed (another replica's publish committed in between on PostgreSQL),
// PromoteLaneHeads, run every heartbeat, makes it due. Whatever makes a delivery due or
// claims it checks laneHead, so a lane never has two deliveries claimed, nor one claimed
// before an earlier one is finished: order never depends on the promotions, only
// progress does. Unordered deliveries (Lane nil) pass every check on their first term.

// WebhookSequence numbers an ordered webhook's deliveries in the order their publishes
// commit: a publish adds its deliveries' count in its own transaction, and the row's
// lock holds a concurrent publish to the same webhook on another replica until it
// commits, so a later number is never visible before an earlier one. One row per
// ordered webhook.
type WebhookSequence struct {
	WebhookID string `gorm:"primaryKey;size:64"`
	Seq       int64  `gorm:"not null;default:0"`
}

// laneHead holds for a pending row of deliveries with no pending delivery before it in
// its lane: the first of its lane's pending. It reads the lanes' partial index
// (idx_delivery_lane), one lookup of the lane's first. It is a scalar subquery rather
// than NOT EXISTS, which PostgreSQL turns into an anti-join and, on a table whose
// statistics still say it is empty (a new database, until autovacuum analyzes it), ran
// as a nested loop reading the whole lanes' index for each row: PromoteLaneHeads took
// minutes with 13,000 deliveries waiting in lanes, holding the locks of those it had
// made due (the bench's ordered load on PostgreSQL stalled on it).
const laneHead = `deliveries.lane_seq = (SELECT MIN(e.lane_seq) FROM deliveries e WHERE e.webhook_id = deliveries.webhook_id
AND e.lane = deliveries.lane AND e.lane IS NOT NULL AND e.status = 'pending')`

// laneIndexSQL is the lanes' index: only pending deliveries of ordered webhooks are in it.
const laneIndexSQL = `CREATE INDEX IF NOT EXISTS idx_delivery_lane ON deliveries (webhook_id, lane, lane_seq)
WHERE lane IS NOT NULL AND status = 'pending'`

const (
	sequenceSQL = `INSERT INTO webhook_sequences (webhook_id, seq) VALUES (?, ?)
ON CONFLICT (webhook_id) DO UPDATE SET seq = webhook_sequences.seq + excluded.seq`
	// laneValues are a lane delivery's values: its lane_seq the webhook's sequence (the
	// first two arguments after the others), less how many of the webhook's deliveries
	// the publish inserts after it.
	laneValues = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT seq FROM webhook_sequences WHERE webhook_id = ?) - ?`
	// insertLaneDeliverySQL inserts a lane delivery as it is: held, or waiting for its
	// lane with nothing asked.
	insertLaneDeliverySQL = `INSERT INTO deliveries (` + deliveryColumns + `) VALUES (` + laneValues + `)`
	// On PostgreSQL, insertLaneHeadSQL inserts a lane delivery claimed or due, as its
	// publish asks, only if it heads its lane (laneHead, for the place laneValues gives
	// it); then insertLaneWaitingSQL inserts it waiting for its lane, only if the first
	// did not. One row version either way: inserted waiting and then claimed by an update
	// (laneClaimSQL, laneDueSQL), each ordered delivery's row was two versions there, with
	// an entry in each of its indexes twice, the first left dead until vacuum. SQLite
	// updates the row in place, and the update costs it less than the two inserts' checks
	// (the ordered load's gateway CPU per delivery, three pairs: 193 µs with the update,
	// 217 µs with the inserts): it keeps the update.
	insertLaneHeadSQL = `INSERT INTO deliveries (` + deliveryColumns + `) SELECT ` + laneValues + `
WHERE NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.webhook_id = ? AND e.lane = ? AND e.lane IS NOT NULL
AND e.status = 'pending' AND e.lane_seq < (SELECT seq FROM webhook_sequences WHERE webhook_id = ?) - ?)`
	insertLaneWaitingSQL = `INSERT INTO deliveries (` + deliveryColumns + `) SELECT ` + laneValues + `
WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE id = ?)`
	// laneClaimSQL claims and laneDueSQL makes due a delivery if it heads its lane.
	laneClaimSQL = `UPDATE deliveries SET claimed_until = ?, claimed_by = ? WHERE id = ? AND ` + laneHead
	laneDueSQL   = `UPDATE deliveries SET next_attempt_at = ? WHERE id = ? AND ` + laneHead
	// promoteSQL makes due the head of a lane when it waits for its lane.
	promoteSQL = `UPDATE deliveries SET next_attempt_at = created_at WHERE id = (SELECT e.id FROM deliveries e
WHERE e.webhook_id = ? AND e.lane = ? AND e.lane IS NOT NULL AND e.status = 'pending' ORDER BY e.lane_seq LIMIT 1)
AND next_attempt_at IS NULL AND claimed_until IS NULL AND held_at IS NULL`
)

// laneStatements appends to sts the statements that insert deliveries, those in lanes
// numbered from their webhooks' sequences (taken first, in webhook order), and returns
// for each lane delivery asked to be claimed or due the index of the statement that
// inserts it so (or, with update, claims it or makes it due) only if the delivery heads
// its lane: it changes no row otherwise. update is SQLite's way (see insertLaneHeadSQL).
func laneStatements(sts []statement, deliveries []Delivery, update bool) ([]statement, map[int]int) {
	counts := map[string]int{}
	for i := range deliveries {
		if deliveries[i].Lane != nil {
			counts[deliveries[i].WebhookID]++
		}
	}
	if len(counts) == 0 {
		for i := range deliveries {
			sts = append(sts, insertDelivery(&deliveries[i]))
		}
		return sts, nil
	}
	ws := make([]string, 0, len(counts))
	for w := range counts {
		ws = append(ws, w)
	}
	slices.Sort(ws)
	seqs := make([]statement, 0, len(ws))
	for _, w := range ws {
		seqs = append(seqs, statement{sequenceSQL, []any{w, counts[w]}})
	}
	sts = append(seqs, sts...)
	heads := map[int]int{}
	taken := map[string]int{}
	for i := range deliveries {
		d := &deliveries[i]
		if d.Lane == nil {
			sts = append(sts, insertDelivery(d))
			continue
		}
		taken[d.WebhookID]++
		back := counts[d.WebhookID] - taken[d.WebhookID]
		lane := func(query string, row *Delivery, more ...any) statement {
			st := insertDelivery(row)
			st.query = query
			st.args = append(append(st.args[:len(st.args)-1], d.WebhookID, back), more...)
			return st
		}
		if d.HeldAt != nil || (d.ClaimedUntil == nil && d.NextAttemptAt == nil) {
			sts = append(sts, lane(insertLaneDeliverySQL, d))
			continue
		}
		// Claimed, or else due, if it heads its lane; waiting for its lane otherwise.
		waiting := *d
		waiting.ClaimedUntil, waiting.ClaimedBy, waiting.NextAttemptAt = nil, "", nil
		if update {
			sts = append(sts, lane(insertLaneDeliverySQL, &waiting))
			heads[i] = len(sts)
			if d.ClaimedUntil != nil {
				sts = append(sts, statement{laneClaimSQL, []any{d.ClaimedUntil, d.ClaimedBy, d.ID}})
			} else {
				sts = append(sts, statement{laneDueSQL, []any{d.NextAttemptAt, d.ID}})
			}
			continue
		}
		head := waiting
		if d.ClaimedUntil != nil {
			head.ClaimedUntil, head.ClaimedBy = d.ClaimedUntil, d.ClaimedBy
		} else {
			head.NextAttemptAt = d.NextAttemptAt
		}
		heads[i] = len(sts)
		sts = append(sts, lane(insertLaneHeadSQL, &head, d.WebhookID, *d.Lane, d.WebhookID, back),
			lane(insertLaneWaitingSQL, &waiting, d.ID))
	}
	return sts, heads
}

// promotions returns the statements that make due the next delivery of the lanes of ds
// that finished for good, once each.
func promotions(ds []*Delivery) []statement {
	var sts []statement
	seen := map[[2]string]bool{}
	for _, d := range ds {
		if d.Lane == nil || d.Status == DeliveryPending || d.HeldAt != nil {
			continue
		}
		k := [2]string{d.WebhookID, *d.Lane}
		if !seen[k] {
			seen[k] = true
			sts = append(sts, statement{promoteSQL, []any{d.WebhookID, *d.Lane}})
		}
	}
	return sts
}

// PromoteLaneHeads makes due every lane's head that waits for its lane, due since it was
// published, and returns how many: a promotion the recording missed (see lanes above),
// or lanes left waiting by an older version. It reads only the lanes' index.
func (db *DB) PromoteLaneHeads(ctx context.Context) (int64, error) {
	res := db.gorm.WithContext(ctx).Exec(`UPDATE deliveries SET next_attempt_at = created_at
WHERE lane IS NOT NULL AND status = 'pending' AND next_attempt_at IS NULL AND claimed_until IS NULL AND held_at IS NULL AND ` + laneHead)
	return res.RowsAffected, db.err(res.Error)
}

// requeueLane puts a finished delivery of a lane back to pending at the end of its lane,
// due at at if it heads it (it is then the lane's only pending delivery), waiting for its
// lane otherwise: a retried delivery never goes before those published after it that
// still wait, nor beside one in flight.
func (db *DB) requeueLane(ctx context.Context, d *Delivery, at time.Time) (int64, error) {
	var n int64
	err := db.InTx(ctx, func(tx *DB) error {
		g := tx.gorm.WithContext(ctx)
		if err := g.Exec(sequenceSQL, d.WebhookID, 1).Error; err != nil {
			return err
		}
		res := g.Exec(`UPDATE deliveries SET status = ?, next_attempt_at = NULL, updated_at = ?,
lane_seq = (SELECT seq FROM webhook_sequences WHERE webhook_id = ?) WHERE id = ? AND status <> ?`,
			DeliveryPending, db.Now(), d.WebhookID, d.ID, DeliveryPending)
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		return g.Exec(laneDueSQL, at, d.ID).Error
	})
	return n, db.err(err)
}
