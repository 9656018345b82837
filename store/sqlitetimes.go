package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// SQLite keeps a time as the driver writes it. Versions before this one had it write
// text in Go's time.String layout ("2026-12-06 17:36:38.47 +0000 UTC", 30-odd bytes);
// now it writes microseconds since the Unix epoch (see openSQLite), 8 bytes. A database
// is converted once, when a gateway of this version first opens it, and then marked.
// SQLite orders every integer before every text, so a column holding both would compare
// wrongly: the conversion runs before anything else reads or writes.

// settingTimes marks a SQLite database whose times are all integers.
const settingTimes = "sqlite_times"

const timesInteger = "unix_micro"

// migrateTimes converts the text times of a SQLite database written by an earlier
// version to integers, column by column, each in its own statements: a conversion cut
// short converts what it left at the next start.
func (db *DB) migrateTimes(ctx context.Context) error {
	var marks []Setting
	if err := db.gorm.WithContext(ctx).Where("key = ?", settingTimes).Find(&marks).Error; err != nil {
		return err
	}
	if len(marks) == 1 && marks[0].Value == timesInteger {
		return nil
	}
	cols, err := timeColumns(ctx, db.sql)
	if err != nil {
		return err
	}
	for _, c := range cols {
		if err := convertTimes(ctx, db.sql, c[0], c[1]); err != nil {
			return fmt.Errorf("converting %s.%s to integer times: %w", c[0], c[1], err)
		}
	}
	return db.gorm.WithContext(ctx).Save(&Setting{Key: settingTimes, Value: timesInteger}).Error
}

// timeColumns lists the time columns of the gateway's own tables as [table, column]:
// those GORM declared "datetime". River's tables declare "timestamp" and keep their
// own text format.
func timeColumns(ctx context.Context, q *sql.DB) ([][2]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND lower(p.type) = 'datetime' ORDER BY m.name, p.cid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var c [2]string
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// convertTimes converts one column's text times. Those in UTC to the millisecond, nearly
// all (the gateway writes them), are converted by SQLite itself, whose date functions
// read no finer; the few others (a published event's own occurrence time keeps its
// offset and precision) are parsed here.
func convertTimes(ctx context.Context, q *sql.DB, table, col string) error {
	t, c := quoteIdent(table), quoteIdent(col)
	if _, err := q.ExecContext(ctx, `UPDATE `+t+` SET `+c+` = CAST(round(unixepoch(substr(`+c+`, 1, length(`+c+`) - 10), 'subsec') * 1000000) AS INTEGER)
		WHERE typeof(`+c+`) = 'text' AND `+c+` LIKE '____-__-__ __:__:__% +0000 UTC' AND length(`+c+`) <= 33`); err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT rowid, CAST(`+c+` AS TEXT) FROM `+t+` WHERE typeof(`+c+`) = 'text'`)
	if err != nil {
		return err
	}
	type row struct {
		id int64
		us int64
	}
	var rest []row
	for rows.Next() {
		var r row
		var v string
		if err := rows.Scan(&r.id, &v); err != nil {
			rows.Close()
			return err
		}
		at, ok := parseTextTime(v)
		if !ok {
			continue // unreadable before as after: left as it is
		}
		r.us = at.UnixMicro()
		rest = append(rest, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range rest {
		if _, err := q.ExecContext(ctx, `UPDATE `+t+` SET `+c+` = ? WHERE rowid = ?`, r.us, r.id); err != nil {
			return err
		}
	}
	return nil
}

// textTimeLayouts are the layouts a text time may have: Go's time.String, which the
// driver wrote, then those the driver reads.
var textTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

func parseTextTime(v string) (time.Time, bool) {
	if i := strings.Index(v, " m="); i >= 0 { // a monotonic clock reading
		v = v[:i]
	}
	// time.String names a zone without a name by its offset ("+0200 +0200"), which the
	// layout's MST does not read: the offset is enough.
	if f := strings.Fields(v); len(f) == 4 && (strings.HasPrefix(f[3], "+") || strings.HasPrefix(f[3], "-")) {
		v = strings.Join(f[:3], " ")
	}
	for _, layout := range textTimeLayouts {
		if at, err := time.Parse(layout, v); err == nil {
			return at, true
		}
	}
	return time.Time{}, false
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
