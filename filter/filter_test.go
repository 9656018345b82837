package filter_test

import (
	"strings"
	"testing"
	"time"

	"github.com/polyhook/polyhook/filter"
)

var occurred = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// event is the document every case is matched against.
var event = filter.Document("order.paid", "acme", occurred, []byte(`{
	"order": {"id": "ord_1", "total": 120.5, "count": 3, "code": "42", "tags": ["vip", "eu"], "lines": [{"sku": "A"}]},
	"user": {"email": "ann@example.com", "verified": true, "nick": null},
	"big": 12345678901234567890
}`))

func TestMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		filter string
		want   bool
	}{
		// bare values and $eq
		{`{"type": "order.paid"}`, true},
		{`{"type": "order.refunded"}`, false},
		{`{"tenant": "acme"}`, true},
		{`{"data.order.total": 120.5}`, true},
		{`{"data.order.total": {"$eq": 120.50}}`, true},
		{`{"data.order.count": 3.0}`, true},
		{`{"data.big": 12345678901234567890}`, true},
		{`{"data.big": 12345678901234567891}`, false},
		{`{"data.user.verified": true}`, true},
		{`{"data.user.nick": null}`, true},
		{`{"data.order.tags": ["vip", "eu"]}`, true},
		{`{"data.order.tags": ["eu", "vip"]}`, false},
		{`{"data.order": {"id": "ord_1"}}`, false}, // a bare object is the whole value
		{`{"data.order.lines.0.sku": "A"}`, true},
		{`{"data.order.lines.1.sku": "A"}`, false},
		// numbers vs strings
		{`{"data.order.code": 42}`, false},
		{`{"data.order.code": "42"}`, true},
		{`{"data.order.count": "3"}`, false},
		{`{"data.order.count": {"$gt": "2"}}`, false},
		{`{"data.order.code": {"$gt": 4}}`, false},
		{`{"data.order.code": {"$in": [42]}}`, false},
		// $neq
		{`{"data.order.id": {"$neq": "ord_2"}}`, true},
		{`{"data.order.id": {"$neq": "ord_1"}}`, false},
		{`{"data.missing": {"$neq": 1}}`, true},
		// comparisons
		{`{"data.order.total": {"$gt": 100}}`, true},
		{`{"data.order.total": {"$gt": 120.5}}`, false},
		{`{"data.order.total": {"$gte": 120.5}}`, true},
		{`{"data.order.total": {"$lt": 120.5}}`, false},
		{`{"data.order.total": {"$lte": 120.5}}`, true},
		{`{"data.order.total": {"$gt": 100, "$lt": 200}}`, true},
		{`{"data.order.total": {"$gt": 100, "$lt": 110}}`, false},
		{`{"occurredAt": {"$gte": "2026-12-06T00:00:00Z"}}`, true},
		{`{"occurredAt": {"$lt": "2026-12-06T00:00:00Z"}}`, false},
		{`{"data.order.id": {"$gt": "ord_0"}}`, true},
		{`{"data.missing": {"$lt": 1}}`, false},
		// $in, $nin
		{`{"data.order.id": {"$in": ["ord_1", "ord_2"]}}`, true},
		{`{"data.order.id": {"$in": ["ord_2"]}}`, false},
		{`{"data.order.tags": {"$in": ["eu"]}}`, true},
		{`{"data.order.count": {"$in": [1, 3]}}`, true},
		{`{"data.order.id": {"$nin": ["ord_2"]}}`, true},
		{`{"data.order.id": {"$nin": ["ord_1"]}}`, false},
		{`{"data.missing": {"$nin": ["x"]}}`, true},
		{`{"data.missing": {"$in": ["x"]}}`, false},
		// $exists
		{`{"data.user.email": {"$exists": true}}`, true},
		{`{"data.user.nick": {"$exists": true}}`, true},
		{`{"data.user.phone": {"$exists": true}}`, false},
		{`{"data.user.phone": {"$exists": false}}`, true},
		{`{"data.user.email.domain": {"$exists": true}}`, false},
		// $startsWith
		{`{"type": {"$startsWith": "order."}}`, true},
		{`{"type": {"$startsWith": "user."}}`, false},
		{`{"data.order.count": {"$startsWith": "3"}}`, false},
		{`{"data.missing": {"$startsWith": ""}}`, false},
		// logic
		{`{"type": "order.paid", "tenant": "acme"}`, true},
		{`{"type": "order.paid", "tenant": "other"}`, false},
		{`{"$and": [{"type": "order.paid"}, {"data.order.total": {"$gt": 100}}]}`, true},
		{`{"$and": [{"type": "order.paid"}, {"data.order.total": {"$gt": 200}}]}`, false},
		{`{"$or": [{"type": "x"}, {"data.user.verified": true}]}`, true},
		{`{"$or": [{"type": "x"}, {"tenant": "y"}]}`, false},
		{`{"$not": {"tenant": "acme"}}`, false},
		{`{"$not": {"tenant": "other"}}`, true},
		{`{"$or": [{"$not": {"type": "order.paid"}}, {"$and": [{"tenant": "acme"}, {"data.order.tags": {"$in": ["vip"]}}]}]}`, true},
		{`{}`, true},
		{`null`, true},
	}
	for _, c := range cases {
		f, err := filter.Compile([]byte(c.filter))
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		if got := f.Match(event); got != c.want {
			t.Errorf("%s: matched %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestMatchWithoutData(t *testing.T) {
	t.Parallel()
	doc := filter.Document("user.created", "", occurred, nil)
	f, err := filter.Compile([]byte(`{"data.user.id": {"$exists": false}, "tenant": ""}`))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Match(doc) {
		t.Error("an event without data should match a filter asking for a missing field")
	}
}

func TestCompileRefuses(t *testing.T) {
	t.Parallel()
	deep := `{"$not":{"$not":{"$not":{"$not":{"$not":{"$not":{"$not":{"$not":{"type":"x"}}}}}}}}}`
	cases := []struct{ filter, path string }{
		{`[]`, "filter"},
		{`"type"`, "filter"},
		{`{"type": {"$regex": "x"}}`, "filter.type.$regex"},
		{`{"$nor": []}`, "filter.$nor"},
		{`{"data.total": {"$gt": true}}`, "filter.data.total.$gt"},
		{`{"data.total": {"$lte": [1]}}`, "filter.data.total.$lte"},
		{`{"data.total": {"$in": 1}}`, "filter.data.total.$in"},
		{`{"data.total": {"$nin": "a"}}`, "filter.data.total.$nin"},
		{`{"data.total": {"$exists": 1}}`, "filter.data.total.$exists"},
		{`{"data.name": {"$startsWith": 1}}`, "filter.data.name.$startsWith"},
		{`{"data.name": {"$eq": 1, "x": 2}}`, "filter.data.name.x"},
		{`{"$and": {}}`, "filter.$and"},
		{`{"$or": []}`, "filter.$or"},
		{`{"$or": [{"type": "a"}, 3]}`, "filter.$or[1]"},
		{`{"$or": [{"type": "a"}, {"data.x": {"$foo": 1}}]}`, "filter.$or[1].data.x.$foo"},
		{`{"$not": [1]}`, "filter.$not"},
		{`{"payload.total": 1}`, "filter.payload.total"},
		{`{"data..total": 1}`, "filter.data..total"},
		{deep, "filter"},
		{`{"data.x": {"$in": ["` + strings.Repeat("a", filter.MaxBytes) + `"]}}`, "filter"},
	}
	for _, c := range cases {
		_, err := filter.Compile([]byte(c.filter))
		fe, ok := err.(*filter.Error)
		if !ok {
			t.Errorf("%.60s: got %v, want a filter error", c.filter, err)
			continue
		}
		if fe.Path != c.path {
			t.Errorf("%.60s: path %q, want %q (%v)", c.filter, fe.Path, c.path, err)
		}
	}
	// Eight levels are allowed.
	ok := `{"$not":{"$not":{"$not":{"$not":{"$not":{"$not":{"$not":{"type":"x"}}}}}}}}`
	if _, err := filter.Compile([]byte(ok)); err != nil {
		t.Errorf("eight levels: %v", err)
	}
}

func BenchmarkMatch(b *testing.B) {
	f, err := filter.Compile([]byte(`{"type": {"$startsWith": "order."}, "data.order.total": {"$gte": 100}}`))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !f.Match(event) {
			b.Fatal("no match")
		}
	}
}
