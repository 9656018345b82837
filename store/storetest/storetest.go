// Package storetest opens real databases for tests: an SQLite file in a temporary
// directory always, and a fresh PostgreSQL schema when TEST_DATABASE_URL is set.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/polyhook/polyhook/store"
)

// Backend opens one kind of database for a test.
type Backend struct {
	Name string
	// DSN returns a connection string for a database of its own, dropped when the test
	// ends.
	DSN func(t testing.TB) string
}

// Backends lists SQLite, and PostgreSQL when TEST_DATABASE_URL is set.
func Backends() []Backend {
	bs := []Backend{{Name: store.BackendSQLite, DSN: SQLiteDSN}}
	if os.Getenv("TEST_DATABASE_URL") != "" {
		bs = append(bs, Backend{Name: store.BackendPostgres, DSN: PostgresDSN})
	}
	return bs
}

// Each runs fn as a subtest once per backend, each with a store of its own.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, OpenDSN(t, b.DSN(t)))
		})
	}
}

// Open opens a migrated SQLite store in a temporary directory.
func Open(t testing.TB) *store.DB {
	return OpenDSN(t, SQLiteDSN(t))
}

// OpenDSN opens a migrated store on dsn, sealing webhook secrets with Sealer, and closes
// it when the test ends.
func OpenDSN(t testing.TB, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(db.Close)
	if err := db.SealSecrets(context.Background(), Sealer(t)); err != nil {
		t.Fatalf("seal secrets: %v", err)
	}
	return db
}

// Sealer returns the sealer every store the package opens seals webhook secrets with.
func Sealer(t testing.TB) *store.Sealer {
	t.Helper()
	key := sha256.Sum256([]byte("storetest sealing key"))
	s, err := store.NewSealer(key[:])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// SQLiteDSN returns the path of an SQLite file in a temporary directory.
func SQLiteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "polyhook.db")
}

// PostgresDSN creates a schema of its own in the TEST_DATABASE_URL database, returns a URL
// whose search_path selects it, and drops it when the test ends. The test fails when
// TEST_DATABASE_URL is unset.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Fatal("TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect to drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
