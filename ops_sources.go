package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
)

// sourcesCmd manages the sources vendors post their own webhooks to (docs/bridge.md).
type sourcesCmd struct {
	List   sourcesListCmd   `cmd:"" help:"Every source, oldest first."`
	Show   sourcesShowCmd   `cmd:"" help:"One source."`
	Create sourcesCreateCmd `cmd:"" help:"Create a source for one vendor; its URL and secret are shown."`
	Update sourcesUpdateCmd `cmd:"" help:"Change a source's name, tenant, secret (the old one still verifies until --end-rotation) or public keys."`
	Delete sourcesDeleteCmd `cmd:"" help:"Delete a source; its URL answers 404 from then on."`
	Secret sourcesSecretCmd `cmd:"" help:"Show a source's secret (and the previous one during a rotation)."`
}

// source is a source as the native API answers it.
type source struct {
	ID         string `json:"id"`
	Dialect    string `json:"dialect"`
	URL        string `json:"url"`
	Name       string `json:"name"`
	Tenant     string `json:"tenant"`
	PublicKeys bool   `json:"publicKeys"`
	Rotating   bool   `json:"rotating"`
	Secret     string `json:"secret"`
}

func (s source) row() []string {
	keys := "-"
	if s.PublicKeys {
		keys = "yes"
	}
	return []string{s.ID, s.Dialect, s.URL, orNone(s.Name), orNone(s.Tenant), keys}
}

const sourceHeader = "ID\tDIALECT\tURL\tNAME\tTENANT\tPUBLIC KEYS"

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type sourcesListCmd struct {
}

func (c *sourcesListCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	var out struct{ Sources []source }
	b, err := a.get(g.ctx, "/v1/sources", nil, &out)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	rows := make([][]string, len(out.Sources))
	for i, s := range out.Sources {
		rows[i] = s.row()
	}
	return table(g.stdout, sourceHeader, rows)
}

type sourcesShowCmd struct {
	ID string `arg:"" help:"The source's id."`
}

func (c *sourcesShowCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	var s source
	b, err := a.get(g.ctx, "/v1/sources/"+url.PathEscape(c.ID), nil, &s)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	return table(g.stdout, sourceHeader, [][]string{s.row()})
}

type sourcesCreateCmd struct {
	Dialect    string `name:"dialect" required:"" enum:"fusionauth,xsolla,nursa,authing" help:"The vendor: fusionauth, xsolla, nursa or authing."`
	Name       string `name:"name" help:"A label."`
	Tenant     string `name:"tenant" help:"The tenant of events whose body names none."`
	Secret     string `name:"secret" env:"POLYHOOK_SOURCE_SECRET" secret:"" help:"The vendor's signing secret; generated when empty."`
	PublicKeys string `name:"public-keys" type:"path" help:"fusionauth: a file of PEM public keys or a JWKS document."`
}

func (c *sourcesCreateCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	in := map[string]any{"dialect": c.Dialect}
	setJSON(in, "name", c.Name)
	setJSON(in, "tenant", c.Tenant)
	setJSON(in, "secret", c.Secret)
	if c.PublicKeys != "" {
		b, err := os.ReadFile(c.PublicKeys)
		if err != nil {
			return err
		}
		in["publicKeys"] = string(b)
	}
	b, _, err := a.call(g.ctx, http.MethodPost, "/v1/sources", nil, in, http.StatusCreated)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	var s source
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if err := table(g.stdout, sourceHeader, [][]string{s.row()}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "Point the vendor's webhook at <the gateway's public address>%s, signed with: %s\n", s.URL, s.Secret)
	return err
}

type sourcesUpdateCmd struct {
	ID          string  `arg:"" help:"The source's id."`
	Name        *string `name:"name" help:"A new label."`
	Tenant      *string `name:"tenant" help:"A new tenant."`
	Secret      *string `name:"secret" env:"POLYHOOK_SOURCE_SECRET" secret:"" help:"A new secret; the old one verifies too until --end-rotation."`
	EndRotation bool    `name:"end-rotation" help:"Stop accepting the previous secret."`
	PublicKeys  string  `name:"public-keys" type:"path" help:"fusionauth: a file of PEM public keys or a JWKS document."`
}

func (c *sourcesUpdateCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	in := map[string]any{}
	if c.Name != nil {
		in["name"] = *c.Name
	}
	if c.Tenant != nil {
		in["tenant"] = *c.Tenant
	}
	if c.Secret != nil {
		in["secret"] = *c.Secret
	}
	if c.EndRotation {
		in["previousSecret"] = ""
	}
	if c.PublicKeys != "" {
		b, err := os.ReadFile(c.PublicKeys)
		if err != nil {
			return err
		}
		in["publicKeys"] = string(b)
	}
	b, _, err := a.call(g.ctx, http.MethodPatch, "/v1/sources/"+url.PathEscape(c.ID), nil, in, http.StatusOK)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	var s source
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return table(g.stdout, sourceHeader, [][]string{s.row()})
}

type sourcesDeleteCmd struct {
	ID string `arg:"" help:"The source's id."`
}

func (c *sourcesDeleteCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	if _, _, err := a.call(g.ctx, http.MethodDelete, "/v1/sources/"+url.PathEscape(c.ID), nil, nil, http.StatusNoContent); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "Deleted source %s.\n", c.ID)
	return err
}

type sourcesSecretCmd struct {
	ID string `arg:"" help:"The source's id."`
}

func (c *sourcesSecretCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	var out struct{ Secret, PreviousSecret string }
	if _, err := a.get(g.ctx, "/v1/sources/"+url.PathEscape(c.ID)+"/secret", nil, &out); err != nil {
		return err
	}
	fmt.Fprintln(g.stdout, out.Secret)
	if out.PreviousSecret != "" {
		fmt.Fprintf(g.stdout, "previous (still accepted): %s\n", out.PreviousSecret)
	}
	return nil
}

// setJSON sets in[k] to v unless v is empty.
func setJSON(in map[string]any, k, v string) {
	if v != "" {
		in[k] = v
	}
}
