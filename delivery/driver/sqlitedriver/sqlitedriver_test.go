package sqlitedriver_test

import (
	"testing"

	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/delivery/driver/drivertest"
	"github.com/polyhook/polyhook/delivery/driver/sqlitedriver"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

func TestContract(t *testing.T) {
	drivertest.Exercise(t, func(t *testing.T) (driver.Driver, *store.DB) {
		db := storetest.Open(t)
		return sqlitedriver.New(db), db
	})
}
