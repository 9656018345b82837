package native

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// Sources are where vendors post their own webhooks (see ingest.go); these handlers
// manage them.

const (
	maxSourceName   = 255
	maxSourceTenant = 128
	maxSourceSecret = 512
	maxPublicKeys   = 64 << 10
)

// CreateSource makes a source for one dialect that takes in its vendor's webhooks.
func (h handlers) CreateSource(c echo.Context) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req api.SourceRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return store.Errorf(store.EINVALID, "The body must be a JSON object: {\"dialect\", \"name\"?, \"tenant\"?, \"secret\"?, \"publicKeys\"?}.")
	}
	d, err := h.ingester(req.Dialect)
	if err != nil {
		return err
	}
	src := &store.Source{ID: "src_" + randomString(18), Dialect: d.Name()}
	secret := randomString(32)
	if req.Secret != nil {
		secret = *req.Secret
	}
	if err := h.applySource(d, src, req.Name, req.Tenant, &secret, nil, req.PublicKeys); err != nil {
		return err
	}
	if err := h.db.CreateSource(c.Request().Context(), src); err != nil {
		return err
	}
	w := sourceWire(src)
	return c.JSON(http.StatusCreated, api.NewSource{Id: w.Id, Dialect: w.Dialect, Url: w.Url, Name: w.Name, Tenant: w.Tenant,
		PublicKeys: w.PublicKeys, Rotating: w.Rotating, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Secret: src.Secrets[0]})
}

// ingester returns the registered dialect named name that takes in its vendor's webhooks.
func (h handlers) ingester(name string) (server.Ingester, error) {
	d, ok := h.srv.Dialect(name)
	in, ingests := d.(server.Ingester)
	if !ok || !ingests {
		var names []string
		for _, n := range h.srv.DialectNames() {
			if d, _ := h.srv.Dialect(n); d != nil {
				if _, ok := d.(server.Ingester); ok {
					names = append(names, n)
				}
			}
		}
		return nil, store.Errorf(store.EINVALID, "dialect must be one of %s.", strings.Join(names, ", "))
	}
	return in, nil
}

// applySource validates the given fields and sets them on src; a nil field is left as it
// is. A new secret keeps the one it replaces as the previous one; previous, when given,
// replaces that ("" drops it).
func (h handlers) applySource(d server.Ingester, src *store.Source, name, tenant, secret, previous, keys *string) error {
	if name != nil {
		if len(*name) > maxSourceName {
			return store.Errorf(store.EINVALID, "name is longer than %d characters.", maxSourceName)
		}
		src.Name = *name
	}
	if tenant != nil {
		if len(*tenant) > maxSourceTenant {
			return store.Errorf(store.EINVALID, "tenant is longer than %d characters.", maxSourceTenant)
		}
		src.Tenant = *tenant
	}
	checkSecret := func(field, s string) error {
		if len(s) > maxSourceSecret || strings.ContainsAny(s, "\r\n") {
			return store.Errorf(store.EINVALID, "%s must be at most %d characters, on one line.", field, maxSourceSecret)
		}
		return nil
	}
	if secret != nil {
		if *secret == "" {
			return store.Errorf(store.EINVALID, "secret must not be empty.")
		}
		if err := checkSecret("secret", *secret); err != nil {
			return err
		}
		if len(src.Secrets) == 0 || src.Secrets[0] != *secret {
			old := src.Secrets
			src.Secrets = []string{*secret}
			if len(old) > 0 {
				src.Secrets = append(src.Secrets, old[0])
			}
		}
	}
	if previous != nil {
		if err := checkSecret("previousSecret", *previous); err != nil {
			return err
		}
		src.Secrets = src.Secrets[:1]
		if *previous != "" {
			src.Secrets = append(src.Secrets, *previous)
		}
	}
	if keys != nil {
		if len(*keys) > maxPublicKeys {
			return store.Errorf(store.EINVALID, "publicKeys is longer than %d bytes.", maxPublicKeys)
		}
		if *keys != "" {
			if err := d.CheckPublicKeys(*keys); err != nil {
				return err
			}
		}
		src.PublicKeys = *keys
	}
	return nil
}

// ListSources lists every source, without secrets.
func (h handlers) ListSources(c echo.Context) error {
	srcs, err := h.db.Sources(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]api.Source, 0, len(srcs))
	for i := range srcs {
		out = append(out, sourceWire(&srcs[i]))
	}
	return c.JSON(http.StatusOK, map[string]any{"sources": out})
}

// GetSource returns one source, without its secret.
func (h handlers) GetSource(c echo.Context, id string) error {
	src, err := h.db.GetSource(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sourceWire(src))
}

// GetSourceSecret returns a source's secrets.
func (h handlers) GetSourceSecret(c echo.Context, id string) error {
	src, err := h.db.GetSource(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := api.SourceSecret{Secret: src.Secrets[0]}
	if len(src.Secrets) > 1 {
		out.PreviousSecret = &src.Secrets[1]
	}
	return c.JSON(http.StatusOK, out)
}

// UpdateSource changes a source's name, tenant, secrets or public keys.
func (h handlers) UpdateSource(c echo.Context, id string) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req api.SourceUpdate
	if err := json.Unmarshal(body, &req); err != nil {
		return store.Errorf(store.EINVALID, "The body must be a JSON object: {\"name\"?, \"tenant\"?, \"secret\"?, \"previousSecret\"?, \"publicKeys\"?}.")
	}
	ctx := c.Request().Context()
	src, err := h.db.GetSource(ctx, id)
	if err != nil {
		return err
	}
	d, err := h.ingester(src.Dialect)
	if err != nil {
		return err
	}
	if err := h.applySource(d, src, req.Name, req.Tenant, req.Secret, req.PreviousSecret, req.PublicKeys); err != nil {
		return err
	}
	if err := h.db.UpdateSource(ctx, src); err != nil {
		return err
	}
	h.sources.forget(id)
	return c.JSON(http.StatusOK, sourceWire(src))
}

// DeleteSource deletes a source.
func (h handlers) DeleteSource(c echo.Context, id string) error {
	if err := h.db.DeleteSource(c.Request().Context(), id); err != nil {
		return err
	}
	h.sources.forget(id)
	return c.NoContent(http.StatusNoContent)
}

// IngestPath is the path of a source's ingest URL.
func IngestPath(id string) string { return "/ingest/" + id }

func sourceWire(src *store.Source) api.Source {
	w := api.Source{Id: src.ID, Dialect: src.Dialect, Url: IngestPath(src.ID), Name: nonEmpty(src.Name), Tenant: nonEmpty(src.Tenant),
		CreatedAt: src.CreatedAt, UpdatedAt: src.UpdatedAt}
	if src.PublicKeys != "" {
		t := true
		w.PublicKeys = &t
	}
	if len(src.Secrets) > 1 {
		t := true
		w.Rotating = &t
	}
	return w
}

// randomString is n random bytes, base64url.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
