package pgdriver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/delivery/driver/drivertest"
	"github.com/polyhook/polyhook/delivery/driver/pgdriver"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

func TestContract(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	drivertest.Exercise(t, func(t *testing.T) (driver.Driver, *store.DB) {
		db := storetest.OpenDSN(t, storetest.PostgresDSN(t))
		return pgdriver.New(db), db
	})
}

// Replicas starting together on a fresh database migrate River's tables one at a time:
// each builds its queue.
func TestQueue_ReplicasMigrateTogether(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	dsn := storetest.PostgresDSN(t)
	var ds []*pgdriver.Driver
	for range 4 {
		ds = append(ds, pgdriver.New(storetest.OpenDSN(t, dsn)))
	}
	errs := make(chan error, len(ds))
	for _, d := range ds {
		go func() {
			_, err := d.Queue(context.Background(), &river.Config{})
			errs <- err
		}()
	}
	for range ds {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A queue gathers the statistics of tables the load filled before any analyze, as soon
// as it starts: a job of its own, which the engine need not know of.
func TestQueue_GathersMissingStatistics(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenDSN(t, storetest.PostgresDSN(t))
	at := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 20 {
		ev := &store.Event{ID: fmt.Sprintf("evt_%02d", i), Type: "user.created", Data: json.RawMessage(`{}`), OccurredAt: at, CreatedAt: at}
		if err := storetest.CreateEvent(ctx, db, ev, nil); err != nil {
			t.Fatal(err)
		}
	}
	known := func() bool {
		var ok bool
		if err := db.SQL().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'events')`).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if known() {
		t.Fatal("the events have statistics before the queue started")
	}
	q, err := pgdriver.New(db).Queue(ctx, &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		Workers: river.NewWorkers(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	// River elects its leader, which inserts the periodic jobs, on its own clock.
	for deadline := time.Now().Add(30 * time.Second); !known(); {
		if time.Now().After(deadline) {
			t.Fatal("the events have no statistics 30 s after the queue started")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
