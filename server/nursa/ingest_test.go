package nursa_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/nursa"
	"github.com/polyhook/polyhook/store"
)

func TestVerify_SecretsAndTolerance(t *testing.T) {
	t.Parallel()
	d := nursa.New(server.Deps{})
	body := []byte(`{"data":{"facilityId":"NUR-1"},"eventType":"facility.creation.accepted"}`)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	src := &store.Source{Secrets: []string{"new-secret", "old-secret"}}
	for _, c := range []struct {
		name   string
		header string
		ok     bool
	}{
		{"signed with the new secret", nursa.Signature(now.Unix(), body, []string{"new-secret"}), true},
		{"signed with the old secret only", nursa.Signature(now.Unix(), body, []string{"old-secret"}), true},
		{"both, the vendor's rotation", nursa.Signature(now.Unix(), body, []string{"x", "old-secret"}), true},
		{"no separator blank", "t=" + itoa(now.Unix()) + ",v1=" + nursa.Signature(now.Unix(), body, []string{"new-secret"})[len("t=1765022400, v1="):], true},
		{"within tolerance", nursa.Signature(now.Add(-4*time.Minute).Unix(), body, []string{"new-secret"}), true},
		{"too old", nursa.Signature(now.Add(-6*time.Minute).Unix(), body, []string{"new-secret"}), false},
		{"from the future", nursa.Signature(now.Add(6*time.Minute).Unix(), body, []string{"new-secret"}), false},
		{"another secret", nursa.Signature(now.Unix(), body, []string{"theirs"}), false},
		{"no v1", "t=" + itoa(now.Unix()), false},
		{"garbage", "v1=zz, t=abc", false},
		{"missing", "", false},
	} {
		err := d.Verify(src, http.Header{"Nursa-Signature": {c.header}}, body, now)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && store.ErrorCode(err) != store.EUNAUTHORIZED {
			t.Errorf("%s: verified (%v)", c.name, err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
