package store

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"time"
)

// ActivityMinute counts what happened in one minute: the events created, and the attempts
// started that got a 2xx and that did not. The statements that write events and attempts
// (CreateEvents, SettleAndClaim) add to it in their own transaction, so that the
// dashboard's chart (Activity) reads one row per minute rather than every event and
// attempt of its window: over the rows of an hour at a thousand deliveries a second that
// read took seconds, on the connection every publish waits for.
//
// On PostgreSQL a minute's counts are spread over a few rows (Shard), so that replicas'
// transactions do not queue for one row's lock; SQLite has one writer and one row.
type ActivityMinute struct {
	// Minute is the minute's start, in minutes since the Unix epoch (UTC).
	Minute    int64 `gorm:"primaryKey;autoIncrement:false"`
	Shard     int   `gorm:"primaryKey;autoIncrement:false"`
	Published int64 `gorm:"not null;default:0"`
	Succeeded int64 `gorm:"not null;default:0"`
	Failed    int64 `gorm:"not null;default:0"`
}

// activityShards is how many rows a minute's counts are spread over on PostgreSQL.
const activityShards = 8

const activitySQL = `INSERT INTO activity_minutes (minute, shard, published, succeeded, failed) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (minute, shard) DO UPDATE SET published = activity_minutes.published + excluded.published,
succeeded = activity_minutes.succeeded + excluded.succeeded, failed = activity_minutes.failed + excluded.failed`

// activityKeep is how long minutes are kept: the longest window Activity is asked for
// (a day), and one more.
const activityKeep = 48 * time.Hour

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

// activityCounts adds up counts per minute.
type activityCounts map[int64]*[3]int64 // published, succeeded, failed

func (c activityCounts) add(at time.Time, i int) {
	m := minuteOf(at)
	x := c[m]
	if x == nil {
		x = new([3]int64)
		c[m] = x
	}
	x[i]++
}

// countShard is the row of a minute's counts a transaction adds to: one of
// activityShards on PostgreSQL, the one row on SQLite.
func (db *DB) countShard() int {
	if db.backend == BackendPostgres {
		return rand.IntN(activityShards)
	}
	return 0
}

// activityStatements returns the statements adding the counts, one per minute.
func (db *DB) activityStatements(c activityCounts) []statement {
	if len(c) == 0 {
		return nil
	}
	shard := db.countShard()
	// In order of minute, so that two transactions spanning the same two minutes lock
	// their rows in the same order and cannot deadlock on PostgreSQL.
	out := make([]statement, 0, len(c))
	for _, m := range slices.Sorted(maps.Keys(c)) {
		x := c[m]
		out = append(out, statement{activitySQL, []any{m, shard, x[0], x[1], x[2]}})
	}
	return out
}

func eventActivity(evs []*Event) activityCounts {
	c := activityCounts{}
	for _, ev := range evs {
		c.add(ev.CreatedAt, 0)
	}
	return c
}

// succeeded reports whether an attempt answered with status succeeded: a 2xx.
func succeeded(status int) bool { return status >= 200 && status <= 299 }

func attemptActivity(as []*Attempt) activityCounts {
	c := activityCounts{}
	for _, a := range as {
		if a == nil {
			continue
		}
		if succeeded(a.ResponseStatus) {
			c.add(a.StartedAt, 1)
		} else {
			c.add(a.StartedAt, 2)
		}
	}
	return c
}

// PruneActivity forgets the minutes older than the longest window Activity shows, and
// the webhooks' minutes older than WebhookAttempts's.
func (db *DB) PruneActivity(ctx context.Context, now time.Time) error {
	err := db.gorm.WithContext(ctx).Where("minute < ?", minuteOf(now.Add(-activityKeep))).Delete(&ActivityMinute{}).Error
	if err != nil {
		return db.err(err)
	}
	return db.pruneWebhookMinutes(ctx, now)
}

// backfillActivity counts, once, when the table is new, the minutes of the last day from
// the events and attempts an older version wrote without counting them.
func (db *DB) backfillActivity(ctx context.Context) error {
	var n int64
	if err := db.gorm.WithContext(ctx).Model(&ActivityMinute{}).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	now := time.Now().UTC()
	ms, err := db.scanActivity(ctx, now, int(activityKeep/time.Minute))
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Published+m.Succeeded+m.Failed == 0 {
			continue
		}
		if err := db.gorm.WithContext(ctx).Exec(activitySQL, minuteOf(m.Start), 0, m.Published, m.Succeeded, m.Failed).Error; err != nil {
			return err
		}
	}
	return nil
}
