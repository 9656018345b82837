package main

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/store"
)

// The scale group: what the data kept costs. The store is filled with -rows delivered
// events (rows copied from deliveries the gateway made in the same run, written through
// the store's own statements, so that their shape is production's), then it measures
// the bytes each delivered event takes, the sustained throughput with them stored
// against the same figure on the empty store, pruning them all while a healthy endpoint
// gets 500 events/s, and whether the space the prune frees is reused.

// filledAge is how old the rows filled in are: older than the retention of the prune's
// gateway (scalePruneRetention), younger than the default one.
const (
	filledAge           = 48 * time.Hour
	scalePruneRetention = "24h"
)

func (b *bench) scaleRun(r int) error {
	ctx := context.Background()
	b.measureCeiling()
	if err := b.startGateways(fmt.Sprintf("scale-%d", r)); err != nil {
		return err
	}
	key := b.mint()
	b.hook(key, "/ok/1", 30000)

	// The empty store's figure, which also leaves real rows to copy.
	rate, _, _ := b.window(b.gateways, 1, "")
	b.section = "scale: sustained, 1 webhook per event, empty store"
	b.add("deliveries/s", rate, "/s", "", true)
	empty := rate
	b.add("share of the ceiling", 100*rate/b.ceiling, "%", "", true)
	b.killGateways()

	// Fill.
	t0 := time.Now()
	if err := b.fill(ctx, b.rows); err != nil {
		return fmt.Errorf("fill: %w", err)
	}
	b.section = fmt.Sprintf("scale: %d delivered events stored", b.rows)
	fillTime := time.Since(t0).Seconds()
	b.add("fill: rows per second (event, delivery, attempt each)", float64(b.rows)/fillTime, "/s", "", true)
	size, err := b.storeSize(ctx, true)
	if err != nil {
		return err
	}
	b.section = fmt.Sprintf("scale: %d delivered events stored", b.rows)
	b.add("bytes per delivered event (events, deliveries, attempts, their indexes)", size.perEvent, "B", "≤ 600 B", size.perEvent <= 600)
	b.add("bytes per delivered event (the whole database, less free pages)", size.wholePerEvent, "B", "", true)

	// Throughput with them stored, then a baseline p99 for the prune.
	t0 = time.Now()
	if err := b.launch(b.runDB); err != nil {
		return err
	}
	b.add("gateway start, until it answers", time.Since(t0).Seconds(), "s", "", true)
	rate, _, _ = b.window(b.gateways, 1, "")
	b.section = fmt.Sprintf("scale: sustained, 1 webhook per event, %d delivered events stored", b.rows)
	b.add("deliveries/s", rate, "/s", "", true)
	b.add("share of the ceiling", 100*rate/b.ceiling, "%", "", true)
	share := 100 * rate / empty
	b.add("share of the empty store's figure", share, "%", "≥ 80 %", share >= 80)
	b.section = "scale: prune of the rows filled in, while a healthy endpoint gets 500/s"
	base := b.latency("baseline (no prune)", 500, b.n(5000))
	b.killGateways()

	// Prune them all while delivering: a gateway whose retention has them expired prunes
	// when it starts.
	b.gwArgs = []string{"--retention", scalePruneRetention}
	b.lastJob = b.maxJob(ctx)
	start := time.Now()
	if err := b.launch(b.runDB); err != nil {
		return err
	}
	b.gwArgs = nil
	p99, took, done := b.whilePruning(ctx, start, b.n(5000), 15*time.Minute)
	moved := 100 * (p99 - base) / base
	b.section = "scale: prune of the rows filled in, while a healthy endpoint gets 500/s"
	b.add("while pruning p99", p99, "ms", "", true)
	b.add("healthy p99 moved", moved, "%", "< 20 %", moved < 20)
	b.add("prune time", took.Seconds(), "s", "≤ 600 s", done && took <= 10*time.Minute)

	// Space reuse: the load that follows must fill the freed space rather than grow the
	// store.
	before, err := b.storeSize(ctx, false)
	if err != nil {
		return err
	}
	b.reset()
	rate, _, _ = b.window(b.gateways, 1, "")
	after, err := b.storeSize(ctx, false)
	if err != nil {
		return err
	}
	b.section = "scale: after the prune, sustained load"
	b.add("deliveries/s", rate, "/s", "", true)
	b.add("share of the ceiling", 100*rate/b.ceiling, "%", "", true)
	b.add("free space after the prune", float64(before.free)/1e6, "MB", "", true)
	written := float64(after.delivered-before.delivered) * size.perEvent
	grew := float64(after.total - before.total)
	b.add("rows written by the load", written/1e6, "MB", "", true)
	b.add("store growth over the load", grew/1e6, "MB", "", true)
	if written > 0 {
		// What the freed space could not hold has to grow the store: only growth beyond
		// it says that the freed space was not reused (at 1,000,000 rows the prune frees
		// more than the load writes, and this is all the growth).
		beyond := max(0, grew-max(0, written-float64(before.free)))
		g := 100 * beyond / written
		b.add("store growth beyond what the freed space holds, share of the rows written", g, "%", "≤ 10 % (free space reused)", g <= 10)
	}
	b.stopGateways()
	b.section = "memory"
	b.add("gateway peak RSS (largest of the run)", b.rss, "MB", "≤ 150 MB", b.rss <= 150)
	b.rss = 0
	return nil
}

// fill writes n delivered events, each with its delivery and one attempt, copies of the
// latest the gateway delivered, with ids of their own, made filledAge ago.
func (b *bench) fill(ctx context.Context, n int) error {
	db, err := store.Open(ctx, b.runDB)
	if err != nil {
		return err
	}
	defer db.Close()
	ds, _, err := db.FindDeliveries(ctx, store.DeliveryFilter{Status: store.DeliverySucceeded, Limit: 1})
	if err != nil || len(ds) == 0 {
		return fmt.Errorf("no delivery to copy: %v", err)
	}
	d0 := ds[0]
	ev0, err := db.GetEvent(ctx, d0.EventID)
	if err != nil {
		return err
	}
	as, err := db.Attempts(ctx, d0.ID)
	if err != nil || len(as) == 0 {
		return fmt.Errorf("no attempt to copy: %v", err)
	}
	a0 := as[0]
	const chunk = 1000
	t0 := time.Now().UTC().Add(-filledAge).Truncate(time.Millisecond)
	for done := 0; done < n; done += chunk {
		m := min(chunk, n-done)
		evs := make([]*store.Event, m)
		dls := make([]store.Delivery, m)
		ats := make([]*store.Attempt, m)
		for i := range m {
			at := t0.Add(time.Duration(done+i) * time.Millisecond / 10)
			ev := *ev0
			ev.ID, ev.OccurredAt, ev.CreatedAt = delivery.NewID("evt_"), at, at
			d := d0
			d.ID, d.EventID, d.CreatedAt = delivery.NewID("msg_"), ev.ID, at
			delivered := at.Add(2 * time.Millisecond)
			d.UpdatedAt, d.DeliveredAt = delivered, &delivered
			a := a0
			a.ID, a.DeliveryID, a.StartedAt = delivery.NewID("att_"), d.ID, at.Add(time.Millisecond)
			a.EventData = ev.Data // as the engine gives it
			// The copy's headers say its own delivery and start, as the engine's would.
			a.RequestHeaders = map[string]string{}
			for k, v := range a0.RequestHeaders {
				switch v {
				case d0.ID:
					v = d.ID
				case strconv.FormatInt(a0.StartedAt.Unix(), 10):
					v = strconv.FormatInt(a.StartedAt.Unix(), 10)
				}
				a.RequestHeaders[k] = v
			}
			// And the answer's Date is as far from its start as the original's.
			if t, err := time.Parse(http.TimeFormat, a0.ResponseHeaders["Date"]); err == nil {
				a.ResponseHeaders = maps.Clone(a0.ResponseHeaders)
				a.ResponseHeaders["Date"] = t.Add(a.StartedAt.Sub(a0.StartedAt)).UTC().Format(http.TimeFormat)
			}
			evs[i], dls[i], ats[i] = &ev, d, &a
		}
		if err := db.InTx(ctx, func(tx *store.DB) error {
			if err := tx.CreateEvents(ctx, evs, dls); err != nil {
				return err
			}
			_, err := tx.Settle(ctx, nil, ats)
			return err
		}); err != nil {
			return err
		}
		if done%(100*chunk) == 0 && done > 0 {
			fmt.Printf("  filled %d of %d\n", done, n)
		}
	}
	return nil
}

// storeSize is what the store holds.
type storeSize struct {
	delivered     int64   // delivered events
	total, free   int64   // bytes: the database's, and free within it (SQLite's free pages)
	perEvent      float64 // bytes of events, deliveries, attempts and their indexes per delivered event
	wholePerEvent float64 // the whole database less its free space, per delivered event
}

// storeSize measures the store of the running gateways (read beside them); with detail
// it also records the bytes of each table and index per delivered event.
func (b *bench) storeSize(ctx context.Context, detail bool) (storeSize, error) {
	driver, dsn := "pgx", b.runDB
	if b.db == "" {
		driver, dsn = "sqlite", "file:"+b.runDB+"?mode=ro&_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return storeSize{}, err
	}
	defer db.Close()
	var s storeSize
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM deliveries WHERE status = 'succeeded'").Scan(&s.delivered); err != nil {
		return s, err
	}
	parts := map[string]int64{}
	if b.db == "" {
		var pages, size, free int64
		if err := db.QueryRowContext(ctx, "SELECT (SELECT page_count FROM pragma_page_count()), (SELECT page_size FROM pragma_page_size()), (SELECT freelist_count FROM pragma_freelist_count())").
			Scan(&pages, &size, &free); err != nil {
			return s, err
		}
		s.total, s.free = pages*size, free*size
		if detail {
			rows, err := db.QueryContext(ctx, `SELECT name, sum(pgsize) FROM dbstat WHERE name IN
				(SELECT name FROM sqlite_master WHERE tbl_name IN ('events', 'deliveries', 'attempts')) GROUP BY name`)
			if err != nil {
				return s, err
			}
			for rows.Next() {
				var name string
				var n int64
				if err := rows.Scan(&name, &n); err != nil {
					rows.Close()
					return s, err
				}
				parts[name] = n
			}
			rows.Close()
		}
	} else {
		if err := db.QueryRowContext(ctx, "SELECT pg_database_size(current_database())").Scan(&s.total); err != nil {
			return s, err
		}
		rows, err := db.QueryContext(ctx, `SELECT c.relname, pg_relation_size(c.oid) + coalesce(pg_total_relation_size(c.reltoastrelid), 0)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND (c.relname IN ('events', 'deliveries', 'attempts')
				OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN ('events'::regclass, 'deliveries'::regclass, 'attempts'::regclass)))`)
		if err != nil {
			return s, err
		}
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				rows.Close()
				return s, err
			}
			parts[name] = n
		}
		rows.Close()
	}
	if s.delivered == 0 {
		return s, nil
	}
	s.wholePerEvent = float64(s.total-s.free) / float64(s.delivered)
	if !detail {
		return s, nil
	}
	names := make([]string, 0, len(parts))
	var sum int64
	for name, n := range parts {
		names = append(names, name)
		sum += n
	}
	s.perEvent = float64(sum) / float64(s.delivered)
	sort.Slice(names, func(i, j int) bool { return parts[names[i]] > parts[names[j]] })
	b.section = "scale: bytes per delivered event, by table and index"
	for _, name := range names {
		b.add(name, float64(parts[name])/float64(s.delivered), "B", "", true)
	}
	return s, nil
}

// whilePruning publishes to the healthy endpoint at 500/s from start until the prune the
// gateways began when they started has finished (at least count events, at most within),
// and returns the p99 of those deliveries and how long the prune took.
func (b *bench) whilePruning(ctx context.Context, start time.Time, count int, within time.Duration) (p99 float64, took time.Duration, done bool) {
	b.reset()
	var stop sync.WaitGroup
	quit := make(chan struct{})
	sent := 0
	stop.Add(1)
	go func() {
		defer stop.Done()
		tick := time.NewTicker(time.Second / 500)
		defer tick.Stop()
		var wg sync.WaitGroup
		defer wg.Wait()
		for i := 0; ; i++ {
			select {
			case <-quit:
				if i >= count {
					sent = i
					return
				}
			default:
			}
			<-tick.C
			wg.Add(1)
			go func(i int) { defer wg.Done(); b.publish(b.gateways, i) }(i)
		}
	}()
	deadline := start.Add(within)
	for time.Now().Before(deadline) {
		if b.pruned(ctx) {
			took, done = time.Since(start), true
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !done {
		took = time.Since(start)
	}
	close(quit)
	stop.Wait()
	b.waitReceived(int64(sent), 60*time.Second)
	return b.stats().percentile(99), took, done
}

// pruned reports whether a prune job that the running gateways started (one after
// b.lastJob) has completed.
func (b *bench) pruned(ctx context.Context) bool {
	var n int
	err := b.query(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, "SELECT count(*) FROM river_job WHERE kind = 'polyhook.prune' AND state = 'completed' AND id > $1", b.lastJob).Scan(&n)
	})
	return err == nil && n > 0
}

// maxJob is the largest River job id in the running gateways' database.
func (b *bench) maxJob(ctx context.Context) int64 {
	var n int64
	if err := b.query(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM river_job").Scan(&n)
	}); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	return n
}

// query runs fn on the running gateways' database, opened beside them.
func (b *bench) query(ctx context.Context, fn func(*sql.DB) error) error {
	driver, dsn := "pgx", b.runDB
	if b.db == "" {
		driver, dsn = "sqlite", "file:"+b.runDB+"?mode=ro&_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}
