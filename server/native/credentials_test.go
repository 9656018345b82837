package native_test

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server/servertest"
	"github.com/polyhook/polyhook/store"
	"github.com/polyhook/polyhook/store/storetest"
)

// A credential's fields are its dialect's: the request's extra fields go to the dialect,
// which refuses those it does not take, and the answer carries the dialect's own names.
func TestCredentialFieldsAreTheDialects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		url := startGateway(t, db)
		spec, err := api.GetSwagger()
		if err != nil {
			t.Fatal(err)
		}
		contract := servertest.NewContract(t, spec, url)
		mint := func(body string) (int, map[string]any) {
			t.Helper()
			resp, b := contract.Do(t, servertest.Request(t, "POST", url+"/v1/credentials", body, "Authorization", "Bearer "+token))
			var out map[string]any
			_ = json.Unmarshal(b, &out)
			return resp.StatusCode, out
		}
		const project = "a1b2c3d4-0000-4000-8000-00000000000a"
		for _, tc := range []struct {
			body   string
			status int
			keys   string // the answer's keys besides id, dialect, name and createdAt
			errs   string // in the error message
		}{
			{`{"dialect":"fusionauth"}`, 201, "apiKey", ""},
			{`{"dialect":"nursa","name":"n"}`, 201, "clientId clientSecret", ""},
			{`{"dialect":"authing"}`, 201, "accessKeyId accessKeySecret userPoolId", ""},
			{`{"dialect":"xsolla","projectIds":["` + project + `"]}`, 201, "clientId clientSecret projectIds", ""},
			{`{"dialect":"fusionauth","projectIds":["` + project + `"]}`, 400, "", "takes no projectIds"},
			{`{"dialect":"nursa","scope":"x"}`, 400, "", "takes no scope"},
			{`{"dialect":"xsolla"}`, 400, "", "needs projectIds"},
			{`{"dialect":"xsolla","projectIds":"` + project + `"}`, 400, "", "projectIds must be an array"},
			{`{"dialect":"xsolla","projectIds":["nope"]}`, 400, "", "not a UUID"},
			{`{"dialect":"acme"}`, 400, "", `Unknown dialect "acme"`},
		} {
			status, out := mint(tc.body)
			if status != tc.status {
				t.Errorf("%s: %d %v", tc.body, status, out)
				continue
			}
			if tc.errs != "" {
				if msg, _ := out["error"].(map[string]any)["message"].(string); !strings.Contains(msg, tc.errs) {
					t.Errorf("%s: %v, want %q", tc.body, out, tc.errs)
				}
				continue
			}
			var keys []string
			for k := range out {
				switch k {
				case "id", "dialect", "name", "createdAt":
				default:
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			if got := strings.Join(keys, " "); got != tc.keys {
				t.Errorf("%s: answered %s, want %s", tc.body, got, tc.keys)
			}
		}
	})
}
