package pgdriver_test

import (
	"context"
	"os"
	"testing"

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
