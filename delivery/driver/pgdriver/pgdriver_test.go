package pgdriver_test

import (
	"os"
	"testing"

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
