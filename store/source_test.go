package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

func TestDB_Sources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		src := &store.Source{ID: "src_1", Dialect: "acme", Name: "n", Tenant: "client-1", Secrets: []string{"s-new", "s-old"}, PublicKeys: "-----BEGIN PUBLIC KEY-----"}
		if err := db.CreateSource(ctx, src); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSource(ctx, &store.Source{ID: "src_1", Dialect: "acme"}); store.ErrorCode(err) != store.ECONFLICT {
			t.Errorf("a taken id: %v", err)
		}
		// Secrets are sealed at rest.
		var raw string
		if err := db.SQL().QueryRowContext(ctx, "SELECT secrets || public_keys FROM sources WHERE id = 'src_1'").Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, "s-new") || strings.Contains(raw, "s-old") || strings.Contains(raw, "BEGIN") {
			t.Errorf("secrets in clear at rest: %s", raw)
		}
		got, err := db.GetSource(ctx, "src_1")
		if err != nil || !reflect.DeepEqual(got.Secrets, src.Secrets) || got.PublicKeys != src.PublicKeys || got.Tenant != "client-1" {
			t.Fatalf("get: %+v %v", got, err)
		}
		got.Secrets, got.Name, got.PublicKeys = []string{"s-newer"}, "renamed", ""
		if err := db.UpdateSource(ctx, got); err != nil {
			t.Fatal(err)
		}
		all, err := db.Sources(ctx)
		if err != nil || len(all) != 1 || all[0].Name != "renamed" || !reflect.DeepEqual(all[0].Secrets, []string{"s-newer"}) || all[0].PublicKeys != "" {
			t.Errorf("list after update: %+v %v", all, err)
		}
		if err := db.UpdateSource(ctx, &store.Source{ID: "nope"}); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("update an unknown source: %v", err)
		}
		if err := db.DeleteSource(ctx, "src_1"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetSource(ctx, "src_1"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("get a deleted source: %v", err)
		}
		if err := db.DeleteSource(ctx, "src_1"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("delete twice: %v", err)
		}
	})
}
