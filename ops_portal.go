package main

import (
	"fmt"
	"net/http"
	"net/url"
)

// portalLinksCmd makes and revokes the one-time links into the tenant portal.
type portalLinksCmd struct {
	Create portalLinksCreateCmd `cmd:"" help:"Make a one-time link that opens the tenant portal as one tenant; print it as JSON."`
	Revoke portalLinksRevokeCmd `cmd:"" help:"Revoke a portal link and end the session opened with it."`
}

type portalLinksCreateCmd struct {
	Tenant    string `name:"tenant" required:"" help:"The tenant: a native subscription's tenant, an Xsolla project, a Nursa client, an Authing user pool or a FusionAuth tenant id."`
	ExpiresIn string `name:"expires-in" default:"1h" help:"When the link and its session end, from 1m to 720h."`
	Name      string `name:"name" help:"The portal's title."`
	Accent    string `name:"accent" help:"The portal's accent colour, #rrggbb."`
}

func (c *portalLinksCreateCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	in := map[string]any{"tenant": c.Tenant, "expiresIn": c.ExpiresIn}
	if c.Name != "" {
		in["name"] = c.Name
	}
	if c.Accent != "" {
		in["accent"] = c.Accent
	}
	b, _, err := a.call(g.ctx, http.MethodPost, "/v1/portal-links", nil, in, http.StatusCreated)
	if err != nil {
		return err
	}
	return printJSON(g.stdout, b)
}

type portalLinksRevokeCmd struct {
	ID string `arg:"" help:"The link's id."`
}

func (c *portalLinksRevokeCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	if _, _, err := a.call(g.ctx, http.MethodDelete, "/v1/portal-links/"+url.PathEscape(c.ID), nil, nil, http.StatusNoContent); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "revoked %s\n", c.ID)
	return err
}
