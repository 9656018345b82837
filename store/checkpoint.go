package store

import (
	"context"
	"database/sql"
	"net/url"
	"sync"
	"time"
)

// SQLite in WAL mode appends every commit to the log and copies the log back into the
// database file at a checkpoint. By default the connection that commits runs the
// checkpoint itself, right after a commit that took the log past 1,000 pages: it copies
// the pages and waits for two fsyncs while every publish, settle and read queues behind
// it on the store's one connection. Under 500 publishes a second that was a stall every
// fraction of a second, and most of the healthy endpoint's p99.
//
// A checkpointer does that work from a connection of its own, a few times a second, in
// the mode that waits for nothing (PASSIVE): the writer goes on appending while it
// copies. The writer keeps a checkpoint of its own for when the log grows past
// writerCheckpointPages, which a checkpointer that keeps up never lets happen but once
// per cycle of the log: a passive checkpoint under constant writes always leaves the last
// few commits behind, so the log is reset (written again from its start) only when the
// writer's own checkpoint, with nothing left to copy but those, catches it up.

// writerCheckpointPages is the log's length, in pages, past which the committing
// connection checkpoints by itself (SQLite's wal_autocheckpoint): about 32 MB.
const writerCheckpointPages = 8000

// checkpointEvery is how often the checkpointer copies the log into the database.
const checkpointEvery = 100 * time.Millisecond

// checkpointer runs the WAL checkpoints of one SQLite file off the writer's path.
type checkpointer struct {
	conn     *sql.DB
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// startCheckpointer opens a connection of its own to the SQLite file at path and
// checkpoints from it every checkpointEvery until closed.
func startCheckpointer(path string) (*checkpointer, error) {
	c, err := newCheckpointer(path)
	if err != nil {
		return nil, err
	}
	t := time.NewTicker(checkpointEvery)
	go func() {
		defer t.Stop()
		c.run(t.C)
	}()
	return c, nil
}

// newCheckpointer opens the checkpointer's connection and checkpoints once.
func newCheckpointer(path string) (*checkpointer, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(1000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	conn, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	c := &checkpointer{conn: conn, stop: make(chan struct{}), done: make(chan struct{})}
	if err := c.checkpoint(); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// run checkpoints at each tick until the checkpointer is closed.
func (c *checkpointer) run(tick <-chan time.Time) {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-tick:
			// A failed checkpoint costs nothing but its turn: the writer's own checkpoint
			// bounds the log whatever happens here.
			_ = c.checkpoint()
		}
	}
}

// checkpoint copies into the database file as much of the log as no reader still needs.
func (c *checkpointer) checkpoint() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.conn.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	return err
}

// close stops the checkpointer and closes its connection. The store's connection closes
// after it, last, and so checkpoints what is left and removes the log.
// Closing it again does nothing.
func (c *checkpointer) close() {
	c.stopOnce.Do(func() {
		close(c.stop)
		<-c.done
		c.conn.Close()
	})
}
