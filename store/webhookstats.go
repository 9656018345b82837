package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// A webhook's attempt statistics (WebhookAttempts, behind its stats in the API, the
// console and the tenants' portal, which asks every few seconds) are counted per minute
// as attempts are recorded, in webhook_minutes: how many, how many got a 2xx, and their
// durations in buckets. Counted from the attempts themselves, each look read every
// attempt the webhook ever had (a million rows for a busy one, on the connection every
// publish waits for); now it reads at most one row per minute of its window.
//
// On PostgreSQL each replica adds to a row of its own (shard, see webhookMinuteShard), so
// that replicas' transactions do not queue for one row's lock.

// durationBounds are the upper bounds, in milliseconds, of the buckets attempt durations
// are counted in; a last bucket holds the longer ones. A percentile is the bound of the
// bucket holding its rank, or the longest duration counted if that is shorter: exact to
// 5 ms, less than half above the true one to 30 s.
var durationBounds = [...]int64{0, 1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 40, 50, 70, 100, 150, 200, 300, 400, 500, 700,
	1000, 1500, 2000, 3000, 4000, 5000, 7000, 10000, 15000, 20000, 30000, 60000}

const durationBuckets = len(durationBounds) + 1

// webhookMinutesKeep is how long a webhook's minutes are kept: the longest window
// WebhookAttempts is asked for (a day), and one hour more.
const webhookMinutesKeep = 25 * time.Hour

// bucketColumns are the buckets' columns: d00, d01, ...
var bucketColumns = func() []string {
	out := make([]string, durationBuckets)
	for i := range out {
		out[i] = fmt.Sprintf("d%02d", i)
	}
	return out
}()

// webhookMinutesTable makes the table; SQLite keeps its rows in their key's order, with
// no second copy of the key.
func webhookMinutesTable(backend string) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE webhook_minutes (webhook_id varchar(64) NOT NULL, minute bigint NOT NULL, shard integer NOT NULL, " +
		"attempts bigint NOT NULL DEFAULT 0, succeeded bigint NOT NULL DEFAULT 0, max_ms bigint NOT NULL DEFAULT 0")
	for _, c := range bucketColumns {
		b.WriteString(", " + c + " integer NOT NULL DEFAULT 0")
	}
	b.WriteString(", PRIMARY KEY (webhook_id, minute, shard))")
	if backend == BackendSQLite {
		b.WriteString(" WITHOUT ROWID")
	}
	return b.String()
}

// webhookMinuteSQL adds one webhook's counts to a minute.
var webhookMinuteSQL = func() string {
	cols := "webhook_id, minute, shard, attempts, succeeded, max_ms, " + strings.Join(bucketColumns, ", ")
	args := strings.Repeat(", ?", durationBuckets+5)[2:]
	var set strings.Builder
	set.WriteString("attempts = webhook_minutes.attempts + excluded.attempts, succeeded = webhook_minutes.succeeded + excluded.succeeded, " +
		"max_ms = CASE WHEN excluded.max_ms > webhook_minutes.max_ms THEN excluded.max_ms ELSE webhook_minutes.max_ms END")
	for _, c := range bucketColumns {
		set.WriteString(", " + c + " = webhook_minutes." + c + " + excluded." + c)
	}
	conflict := " ON CONFLICT (webhook_id, minute, shard) DO UPDATE SET " + set.String()
	return "INSERT INTO webhook_minutes (" + cols + ") VALUES (?, " + args + ")" + conflict
}()

// webhookCounts are one webhook's counts in one minute.
type webhookCounts struct {
	attempts, succeeded, maxMS int64
	buckets                    [durationBuckets]int64
}

func (c *webhookCounts) add(durationMS int64, ok bool) {
	c.attempts++
	if ok {
		c.succeeded++
	}
	c.maxMS = max(c.maxMS, durationMS)
	i, _ := slices.BinarySearch(durationBounds[:], durationMS)
	c.buckets[i]++
}

// webhookMinute names a webhook's minute.
type webhookMinute struct {
	webhookID string
	minute    int64
}

// webhookMinuteCounts are the counts of attempts by webhook and minute.
type webhookMinuteCounts map[webhookMinute]*webhookCounts

func (m webhookMinuteCounts) add(k webhookMinute, durationMS int64, status int) {
	c := m[k]
	if c == nil {
		c = new(webhookCounts)
		m[k] = c
	}
	c.add(durationMS, succeeded(status))
}

// attemptWebhooks returns the webhook of each attempt as[i] of delivery ds[i] ("" for
// none), and its delivery's dialect. Where ds[i] is missing or does not give both (a
// caller recording attempts alone, or with only the deliveries' new state), both are read
// from the deliveries, in one query for the batch; an attempt of no delivery has none.
// The engine's settles give both: its deliveries are whole rows.
func (db *DB) attemptWebhooks(ctx context.Context, ds []*Delivery, as []*Attempt) (webhooks, dialects []string, err error) {
	webhooks, dialects = make([]string, len(as)), make([]string, len(as))
	type owner struct{ webhookID, dialect string }
	var read map[string]owner // by delivery id, where not given
	for i, a := range as {
		switch {
		case a == nil:
		case i < len(ds) && ds[i] != nil && ds[i].WebhookID != "" && ds[i].Dialect != "":
			webhooks[i], dialects[i] = ds[i].WebhookID, ds[i].Dialect
		default:
			if read == nil {
				read = map[string]owner{}
			}
			read[a.DeliveryID] = owner{}
		}
	}
	if len(read) == 0 {
		return webhooks, dialects, nil
	}
	for chunk := range slices.Chunk(slices.Collect(maps.Keys(read)), 500) {
		var rows []struct{ ID, WebhookID, Dialect string }
		if err := db.gorm.WithContext(ctx).Model(&Delivery{}).Select("id, webhook_id, dialect").Where("id IN ?", chunk).Scan(&rows).Error; err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			read[r.ID] = owner{r.WebhookID, r.Dialect}
		}
	}
	for i, a := range as {
		if a != nil && webhooks[i] == "" {
			o := read[a.DeliveryID]
			webhooks[i], dialects[i] = o.webhookID, o.dialect
		}
	}
	return webhooks, dialects, nil
}

// webhookAttemptCounts counts attempts as[i] of webhooks[i] (attemptWebhooks); an attempt
// of no webhook is not counted.
func webhookAttemptCounts(as []*Attempt, webhooks []string) webhookMinuteCounts {
	m := webhookMinuteCounts{}
	for i, a := range as {
		if a != nil && webhooks[i] != "" {
			m.add(webhookMinute{webhookID: webhooks[i], minute: minuteOf(a.StartedAt)}, a.DurationMS, a.ResponseStatus)
		}
	}
	return m
}

// webhookMinuteShard is the row of a webhook's minute that a settle of ds adds to: on
// PostgreSQL the one named by the replica holding their claims, so that replicas never
// wait for each other's row and a minute has a row per replica that settled in it (a row
// drawn at random for each settle, as the activity's, would make eight per busy webhook
// and minute); SQLite has one.
func (db *DB) webhookMinuteShard(ds []*Delivery) int {
	holder := ""
	for _, d := range ds {
		if holder = d.ClaimedBy; holder != "" {
			break
		}
	}
	if db.backend != BackendPostgres || holder == "" {
		return db.countShard()
	}
	h := fnv.New32a()
	h.Write([]byte(holder))
	return int(h.Sum32() % activityShards)
}

// webhookMinuteStatements returns the statements adding counts, one per webhook and
// minute, in order of both (on PostgreSQL, two transactions thus lock the rows they
// share in the same order).
func (db *DB) webhookMinuteStatements(counts webhookMinuteCounts, shard int) []statement {
	if len(counts) == 0 {
		return nil
	}
	keys := slices.SortedFunc(maps.Keys(counts), cmpWebhookMinute)
	out := make([]statement, 0, len(keys))
	for _, k := range keys {
		c := counts[k]
		args := make([]any, 0, durationBuckets+6)
		args = append(args, k.webhookID, k.minute, shard, c.attempts, c.succeeded, c.maxMS)
		for _, n := range c.buckets {
			args = append(args, n)
		}
		out = append(out, statement{webhookMinuteSQL, args})
	}
	return out
}

func cmpWebhookMinute(a, b webhookMinute) int {
	if c := strings.Compare(a.webhookID, b.webhookID); c != 0 {
		return c
	}
	return int(a.minute - b.minute)
}

// AttemptWindow sums up a webhook's attempts since a time.
type AttemptWindow struct {
	Since               time.Time
	Attempts, Succeeded int64
	// P50 and P95 are attempt durations in milliseconds, to a bucket's bound (see
	// durationBounds); zero without attempts.
	P50, P95 int64
}

// WebhookAttempts sums up the attempts to one webhook started since a time, counted by
// whole minutes (the one holding since included): how many, how many answered 2xx, and
// the median and 95th percentile of their durations. It reads one row per minute (a
// few on PostgreSQL), whatever the number of attempts.
func (db *DB) WebhookAttempts(ctx context.Context, webhookID string, since time.Time) (AttemptWindow, error) {
	w := AttemptWindow{Since: since}
	sums := make([]string, 0, durationBuckets)
	for _, c := range bucketColumns {
		sums = append(sums, "COALESCE(SUM("+c+"), 0)")
	}
	row := db.gorm.WithContext(ctx).Raw("SELECT COALESCE(SUM(attempts), 0), COALESCE(SUM(succeeded), 0), COALESCE(MAX(max_ms), 0), "+
		strings.Join(sums, ", ")+" FROM webhook_minutes WHERE webhook_id = ? AND minute >= ?", webhookID, minuteOf(since)).Row()
	var c webhookCounts
	dest := []any{&c.attempts, &c.succeeded, &c.maxMS}
	for i := range c.buckets {
		dest = append(dest, &c.buckets[i])
	}
	if err := row.Scan(dest...); err != nil {
		return w, db.err(err)
	}
	w.Attempts, w.Succeeded = c.attempts, c.succeeded
	w.P50, w.P95 = c.percentile(0.50), c.percentile(0.95)
	return w, nil
}

// percentile is the nearest-rank percentile p of the durations counted: the bound of the
// bucket holding rank ceil(p*n), or the longest duration if that is shorter.
func (c *webhookCounts) percentile(p float64) int64 {
	if c.attempts == 0 {
		return 0
	}
	rank := min(max(int64(p*float64(c.attempts)+0.999999), 1), c.attempts)
	var seen int64
	for i, n := range c.buckets {
		if seen += n; seen >= rank {
			if i < len(durationBounds) {
				return min(durationBounds[i], c.maxMS)
			}
			break
		}
	}
	return c.maxMS
}

// pruneWebhookMinutes forgets the minutes older than the longest window WebhookAttempts
// shows.
func (db *DB) pruneWebhookMinutes(ctx context.Context, now time.Time) error {
	err := db.gorm.WithContext(ctx).Exec("DELETE FROM webhook_minutes WHERE minute < ?", minuteOf(now.Add(-webhookMinutesKeep))).Error
	return db.err(err)
}

// migrateWebhookMinutes makes webhook_minutes where it is missing and, in the same
// transaction, counts into it the attempts an older version recorded in the time kept,
// reading each once, so that a webhook's stats do not start from nothing at the upgrade.
func (db *DB) migrateWebhookMinutes(ctx context.Context, g *gorm.DB) error {
	if g.Migrator().HasTable("webhook_minutes") {
		return nil
	}
	return g.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(webhookMinutesTable(db.backend)).Error; err != nil {
			return err
		}
		rows, err := tx.Raw(`SELECT d.webhook_id, a.started_at, a.duration_ms, a.response_status FROM attempts a
			JOIN deliveries d ON d.id = a.delivery_id WHERE a.started_at >= ?`, db.Now().Add(-webhookMinutesKeep)).Rows()
		if err != nil {
			return err
		}
		counts := webhookMinuteCounts{}
		for rows.Next() {
			var webhookID string
			var at time.Time
			var durationMS int64
			var status int
			if err := rows.Scan(&webhookID, &at, &durationMS, &status); err != nil {
				rows.Close()
				return err
			}
			counts.add(webhookMinute{webhookID: webhookID, minute: minuteOf(at)}, durationMS, status)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, st := range db.webhookMinuteStatements(counts, 0) {
			if err := tx.Exec(st.query, st.args...).Error; err != nil {
				return err
			}
		}
		return nil
	})
}
