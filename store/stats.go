package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Webhook health, as the native API filters and counts it.
const (
	// HealthDisabled: the gateway stopped delivering to it, or its dialect has it off.
	HealthDisabled = "disabled"
	// HealthFailing: delivered to, and its current run of attempts has failed.
	HealthFailing = "failing"
	// HealthHealthy: neither.
	HealthHealthy = "healthy"
)

// whereHealth limits q to webhooks of the given health; "" does not filter.
func whereHealth(q *gorm.DB, health string) (*gorm.DB, error) {
	switch health {
	case "":
		return q, nil
	case HealthDisabled:
		return q.Where("(disabled_at IS NOT NULL OR enabled = ?)", false), nil
	case HealthFailing:
		return q.Where("disabled_at IS NULL AND enabled = ? AND failing_since IS NOT NULL", true), nil
	case HealthHealthy:
		return q.Where("disabled_at IS NULL AND enabled = ? AND failing_since IS NULL", true), nil
	}
	return nil, Errorf(EINVALID, "health must be healthy, failing or disabled.")
}

// Minute is one minute of activity.
type Minute struct {
	Start time.Time
	// Published counts the events created in the minute; Succeeded and Failed the delivery
	// attempts started in it that got a 2xx, and that did not.
	Published, Succeeded, Failed int64
}

// Activity returns one Minute for each of the n minutes up to and including the one
// holding until, oldest first, quiet minutes included: the counts kept as events and
// attempts were written (ActivityMinute), one row per minute to read.
func (db *DB) Activity(ctx context.Context, until time.Time, n int) ([]Minute, error) {
	out, start, end := minutesUntil(until, n)
	var rows []struct {
		Minute                       int64
		Published, Succeeded, Failed int64
	}
	err := db.gorm.WithContext(ctx).Model(&ActivityMinute{}).
		Select("minute, SUM(published) AS published, SUM(succeeded) AS succeeded, SUM(failed) AS failed").
		Where("minute >= ? AND minute < ?", minuteOf(start), minuteOf(end)).Group("minute").Scan(&rows).Error
	if err != nil {
		return nil, db.err(err)
	}
	first := minuteOf(start)
	for _, r := range rows {
		if i := r.Minute - first; i >= 0 && i < int64(n) {
			out[i].Published, out[i].Succeeded, out[i].Failed = r.Published, r.Succeeded, r.Failed
		}
	}
	return out, nil
}

// minutesUntil returns the n minutes up to and including the one holding until, oldest
// first and empty, with the start of the first and the end of the last.
func minutesUntil(until time.Time, n int) (out []Minute, start, end time.Time) {
	end = until.UTC().Truncate(time.Minute).Add(time.Minute)
	start = end.Add(-time.Duration(n) * time.Minute)
	out = make([]Minute, n)
	for i := range out {
		out[i].Start = start.Add(time.Duration(i) * time.Minute)
	}
	return out, start, end
}

// scanActivity is Activity counted from the events and attempts themselves, reading
// every one of the window: what an older version wrote without counting it
// (backfillActivity).
func (db *DB) scanActivity(ctx context.Context, until time.Time, n int) ([]Minute, error) {
	out, start, end := minutesUntil(until, n)
	at := func(key string) *Minute {
		t, err := time.Parse("2006-01-02T15:04", key)
		if err != nil {
			return nil
		}
		i := int(t.Sub(start) / time.Minute)
		if i < 0 || i >= n {
			return nil
		}
		return &out[i]
	}
	g := db.gorm.WithContext(ctx)
	var events []struct {
		M string
		N int64
	}
	err := g.Model(&Event{}).Select(db.minuteOf("created_at")+" AS m, COUNT(*) AS n").
		Where("created_at >= ? AND created_at < ?", start, end).Group("m").Scan(&events).Error
	if err != nil {
		return nil, db.err(err)
	}
	for _, r := range events {
		if m := at(r.M); m != nil {
			m.Published = r.N
		}
	}
	var attempts []struct {
		M    string
		Ok   int64
		Fail int64
	}
	err = g.Model(&Attempt{}).
		Select(db.minuteOf("started_at")+" AS m, "+
			"SUM(CASE WHEN response_status BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok, "+
			"SUM(CASE WHEN response_status BETWEEN 200 AND 299 THEN 0 ELSE 1 END) AS fail").
		Where("started_at >= ? AND started_at < ?", start, end).Group("m").Scan(&attempts).Error
	if err != nil {
		return nil, db.err(err)
	}
	for _, r := range attempts {
		if m := at(r.M); m != nil {
			m.Succeeded, m.Failed = r.Ok, r.Fail
		}
	}
	return out, nil
}

// minuteOf is an SQL expression naming the UTC minute of a time column as
// "2006-01-02T15:04".
func (db *DB) minuteOf(col string) string {
	if db.backend == BackendPostgres {
		return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI')"
	}
	// SQLite holds times as microseconds since the Unix epoch (see openSQLite).
	return "strftime('%Y-%m-%dT%H:%M', " + col + " / 1000000, 'unixepoch')"
}

// OldestPending returns the pending delivery created first, nil when none is pending.
func (db *DB) OldestPending(ctx context.Context) (*Delivery, error) {
	var ds []Delivery
	err := db.gorm.WithContext(ctx).Where(notSucceeded).Where("status = ?", DeliveryPending).
		Order("created_at ASC, id ASC").Limit(1).Find(&ds).Error
	if err != nil || len(ds) == 0 {
		return nil, db.err(err)
	}
	return &ds[0], nil
}

// WebhookHealth counts the webhooks of every dialect, and those failing and disabled.
func (db *DB) WebhookHealth(ctx context.Context) (total, failing, disabled int64, err error) {
	var row struct{ Total, Failing, Disabled int64 }
	err = db.gorm.WithContext(ctx).Model(&Webhook{}).Select(
		"COUNT(*) AS total, "+
			"SUM(CASE WHEN disabled_at IS NULL AND enabled = ? AND failing_since IS NOT NULL THEN 1 ELSE 0 END) AS failing, "+
			"SUM(CASE WHEN disabled_at IS NOT NULL OR enabled = ? THEN 1 ELSE 0 END) AS disabled", true, false).
		Scan(&row).Error
	return row.Total, row.Failing, row.Disabled, db.err(err)
}
