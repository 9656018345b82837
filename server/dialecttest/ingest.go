package dialecttest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// Ingest is what a dialect that takes in its vendor's own webhooks (a server.Ingester)
// declares of its vendor's format, for the suite to prove that Decode ∘ Encode is the
// identity on every event of its column of the catalogue, as far as the format carries
// the fields, and that Decode reads the vendor's documented examples.
type Ingest struct {
	// ID is set when the format carries the event's id (as a UUID, for the UUIDs the
	// suite publishes).
	ID bool
	// Time is the precision of the event's time in the format; zero when it carries none.
	Time time.Duration
	// Tenant is set when the format (its body or headers) carries the tenant; the suite
	// publishes a UUID tenant and sets it as the webhook's owner too.
	Tenant bool
	// Signs is set when Encode signs what Verify checks (with the webhook's Secrets as
	// the source's): a vendor's own body, round-tripped, then verifies.
	Signs bool
	// SignsBody is set when that signature covers the body: a changed body fails (a
	// vendor that sends a shared secret in clear signs nothing).
	SignsBody bool
	// Webhook adjusts the webhook the suite encodes for (a content type, say); nil
	// leaves it as the suite makes it.
	Webhook func(w *store.Webhook)
	// Examples are the vendor's documented webhook bodies and what they decode to.
	Examples []Example
}

// Example is one documented webhook body (File, under testdata/) sent with Header, and
// the event it decodes to: its Data compared as JSON.
type Example struct {
	File   string
	Header http.Header
	Want   server.Inbound
}

// goldenData is the data every round trip carries: nested, with a number no float holds
// and a null, to show it is carried unchanged.
const goldenData = `{"user":{"id":"7d3f0b6e-1c2a-4b5d-8e9f-0a1b2c3d4e5f","email":"ada@example.com","roles":["admin"]},` +
	`"count":123456789012345678901234567890,"ratio":0.125,"nested":{"a":[1,2,{"b":null}]},"note":"é\u2028"}`

// ingest runs the round trip and the examples.
func (d *Dialect) ingest(t *testing.T) {
	dl := d.New(server.Deps{DB: storetest.Open(t), Log: servertest.Logger(t)})
	in, ok := dl.(server.Ingester)
	if !ok {
		t.Skip("the dialect takes in no webhooks")
	}
	if d.Ingest == nil {
		t.Fatal("the dialect is an Ingester: describe its vendor's format in Dialect.Ingest")
	}
	f := d.Ingest
	enc := dl.Encoder()
	at := time.Date(2026, 12, 6, 10, 11, 12, 345678000, time.UTC)
	const tenant = "5c2e8f1a-9b7d-4e3c-8a6f-1d2b3c4e5f60"
	names := map[string]bool{}
	for _, ns := range enc.Events() {
		for _, n := range ns {
			names[n] = true
		}
	}
	if len(names) == 0 {
		t.Fatal("the dialect has no event of the catalogue")
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	for _, name := range sorted {
		w := &store.Webhook{ID: uuid.NewString(), Dialect: dl.Name(), Owner: tenant, Events: []string{name}, Secrets: []string{"golden-secret-1", "golden-secret-2"}}
		if f.Webhook != nil {
			f.Webhook(w)
		}
		id := uuid.NewString()
		m := &delivery.Message{DeliveryID: "msg_golden", EventID: id, EventName: name, Tenant: tenant, OccurredAt: at, Data: json.RawMessage(goldenData), Webhook: w, At: time.Now()}
		body, h, err := enc.Encode(m)
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		got, err := in.Decode(h, body)
		if err != nil {
			t.Errorf("%s: decode %s: %v", name, body, err)
			continue
		}
		if got.Name != name {
			t.Errorf("%s: decoded as %q", name, got.Name)
		}
		if !sameJSON(t, got.Data, []byte(goldenData)) {
			t.Errorf("%s: data decoded as %s, want %s", name, got.Data, goldenData)
		}
		if f.ID && got.ID != id {
			t.Errorf("%s: id decoded as %q, want %q", name, got.ID, id)
		}
		if f.Time > 0 && !got.OccurredAt.Equal(at.Truncate(f.Time)) {
			t.Errorf("%s: time decoded as %v, want %v", name, got.OccurredAt, at.Truncate(f.Time))
		}
		if f.Tenant && got.Tenant != tenant {
			t.Errorf("%s: tenant decoded as %q, want %q", name, got.Tenant, tenant)
		}
		if f.Signs {
			src := &store.Source{ID: "src_golden", Dialect: dl.Name(), Secrets: w.Secrets}
			if err := in.Verify(src, h, body, m.At); err != nil {
				t.Errorf("%s: its own signature does not verify: %v", name, err)
			}
			src.Secrets = []string{"another-secret"}
			if err := in.Verify(src, h, body, m.At); store.ErrorCode(err) != store.EUNAUTHORIZED {
				t.Errorf("%s: verified with another secret: %v", name, err)
			}
			if err := in.Verify(&store.Source{Secrets: w.Secrets}, h, append(bytes.Clone(body), ' '), m.At); f.SignsBody && store.ErrorCode(err) != store.EUNAUTHORIZED {
				t.Errorf("%s: a changed body verified: %v", name, err)
			}
		}
	}
	if len(f.Examples) == 0 {
		t.Error("the dialect decodes none of its vendor's documented examples: give it Examples")
	}
	for _, ex := range f.Examples {
		body, err := os.ReadFile(ex.File)
		if err != nil {
			t.Fatal(err)
		}
		got, err := in.Decode(ex.Header, body)
		if err != nil {
			t.Errorf("%s: %v", ex.File, err)
			continue
		}
		want := ex.Want
		if !sameJSON(t, got.Data, want.Data) {
			t.Errorf("%s: data %s, want %s", ex.File, got.Data, want.Data)
		}
		got.Data, want.Data = nil, nil
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("%s: decoded %+v, want %+v", ex.File, *got, want)
		}
	}
	// Bodies that are not the vendor's are EINVALID, never a panic.
	for _, b := range FuzzBodies() {
		if _, err := in.Decode(http.Header{"Content-Type": {"application/json"}}, []byte(b)); err != nil && store.ErrorCode(err) != store.EINVALID {
			t.Errorf("decode %.40q: %v", b, err)
		}
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
