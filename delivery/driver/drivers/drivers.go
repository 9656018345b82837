// Package drivers picks the delivery engine's driver for a store: where the wiring
// (package gateway, the commands, tests) turns an opened store into a delivery.Engine.
package drivers

import (
	"github.com/polyhook/polyhook/delivery/driver"
	"github.com/polyhook/polyhook/delivery/driver/pgdriver"
	"github.com/polyhook/polyhook/delivery/driver/sqlitedriver"
	"github.com/polyhook/polyhook/store"
)

// For returns the driver for db's database.
func For(db *store.DB) driver.Driver {
	if db.Backend() == store.BackendPostgres {
		return pgdriver.New(db)
	}
	return sqlitedriver.New(db)
}
