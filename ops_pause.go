package main

import (
	"fmt"
	"net/http"
	"net/url"
)

// webhooks pause and resume: an operator holds a webhook's deliveries, kept and unsent,
// and lets them go.

type webhooksPauseCmd struct {
	ID string `arg:"" help:"The webhook's id (polyhook's, as webhooks list shows)."`
}

func (c *webhooksPauseCmd) Run(g *globals) error {
	return postWebhookAction(g, c.ID, "pause", "paused %s; its deliveries wait until it is resumed\n")
}

type webhooksResumeCmd struct {
	ID string `arg:"" help:"The webhook's id (polyhook's, as webhooks list shows)."`
}

func (c *webhooksResumeCmd) Run(g *globals) error {
	return postWebhookAction(g, c.ID, "resume", "resumed %s\n")
}

// postWebhookAction posts to /v1/webhooks/{id}/{action}, which answers 204, and says so.
func postWebhookAction(g *globals, id, action, done string) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	if _, _, err := a.call(g.ctx, http.MethodPost, "/v1/webhooks/"+url.PathEscape(id)+"/"+action, nil, nil, http.StatusNoContent); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, done, id)
	return err
}
