package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/polyhook/polyhook/store"
)

type webhooksRecoverCmd struct {
	ID              string        `arg:"" help:"The webhook's id."`
	Since           string        `name:"since" required:"" help:"Re-send failed deliveries created since: a duration back from now (24h, 7d) or an RFC 3339 time."`
	IncludeRetrying bool          `name:"include-retrying" help:"Also send now the deliveries still retrying, instead of leaving them to their schedule."`
	Every           time.Duration `name:"poll" default:"500ms" hidden:""`
}

// window is the deliveries a recovery is about: the webhook's, created in [since, until).
type window struct {
	webhook      string
	since, until time.Time
}

// deliveries lists the window's deliveries in one status ("" for all), every page.
func (a *api) deliveries(ctx context.Context, w window, status string) (map[string]delivery_, error) {
	out := map[string]delivery_{}
	for offset := 0; ; {
		q := url.Values{"webhookId": {w.webhook}, "limit": {"1000"}, "offset": {strconv.Itoa(offset)},
			"since": {w.since.UTC().Format(time.RFC3339Nano)}, "until": {w.until.UTC().Format(time.RFC3339Nano)}}
		setIf(q, "status", status)
		var page struct {
			Total      int64
			Deliveries []delivery_
		}
		if _, err := a.get(ctx, "/v1/deliveries", q, &page); err != nil {
			return nil, err
		}
		for _, d := range page.Deliveries {
			out[d.ID] = d
		}
		offset += len(page.Deliveries)
		if len(page.Deliveries) == 0 || int64(offset) >= page.Total {
			return out, nil
		}
	}
}

// Run starts the recovery on the gateway, says what it leaves out, and follows the
// deliveries it sends until each has had its attempt: a delivery counts as sent once it
// is no longer pending or has one attempt more than when the recovery started.
func (c *webhooksRecoverCmd) Run(g *globals) error {
	since, err := parseSince(c.Since)
	if err != nil {
		return err
	}
	a, err := g.api()
	if err != nil {
		return err
	}
	ctx := g.ctx
	w := window{webhook: c.ID, since: since, until: time.Now().Add(time.Second)}
	follow, err := a.deliveries(ctx, w, "failed")
	if err != nil {
		return err
	}
	if c.IncludeRetrying {
		retrying, err := a.deliveries(ctx, w, "pending")
		if err != nil {
			return err
		}
		for id, d := range retrying {
			follow[id] = d
		}
	}
	b, _, err := a.call(ctx, http.MethodPost, "/v1/webhooks/"+url.PathEscape(c.ID)+"/recover", nil,
		map[string]any{"since": since.UTC().Format(time.RFC3339Nano), "includeRetrying": c.IncludeRetrying}, http.StatusAccepted)
	if err != nil {
		return err
	}
	var r recovery
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	out := g.stdout
	fmt.Fprintf(out, "recovery %s: %s of webhook %s since %s to re-send\n", r.ID, count(r.Total, "failed delivery", "failed deliveries"), c.ID, since.UTC().Format(time.RFC3339))
	switch {
	case r.Retrying > 0 && c.IncludeRetrying:
		fmt.Fprintf(out, "and %s still pending: those waiting for a retry are sent now too\n", count(r.Retrying, "delivery", "deliveries"))
	case r.Retrying > 0:
		fmt.Fprintf(out, "skipped %s still retrying: they keep their own schedule (--include-retrying sends them now)\n", count(r.Retrying, "delivery", "deliveries"))
	}
	// Wait for the gateway to queue them, then for each to be sent.
	for {
		var cur recovery
		if _, err := a.get(ctx, "/v1/recoveries/"+url.PathEscape(r.ID), nil, &cur); err != nil {
			return err
		}
		if cur.Status == "done" {
			break
		}
		if sleep(ctx, c.Every) {
			fmt.Fprintf(out, "stopped following %s; it goes on in the gateway\n", r.ID)
			return nil
		}
	}
	p := newProgress(out, len(follow))
	var now map[string]delivery_
	for {
		if now, err = a.deliveries(ctx, w, ""); err != nil {
			return err
		}
		sent := 0
		for id, before := range follow {
			if d, ok := now[id]; !ok || d.Status != store.DeliveryPending || d.Attempts > before.Attempts {
				sent++
			}
		}
		p.set(sent)
		if sent == len(follow) {
			break
		}
		if sleep(ctx, c.Every) {
			p.done()
			fmt.Fprintf(out, "stopped following %s at %d of %d sent; the gateway goes on sending\n", r.ID, sent, len(follow))
			return nil
		}
	}
	p.done()
	counts := map[string]int{}
	for id := range follow {
		counts[now[id].Status]++
	}
	_, err = fmt.Fprintf(out, "recovery %s done: %d sent, %d succeeded, %d failed again, %d retrying\n", r.ID, len(follow),
		counts[store.DeliverySucceeded], counts[store.DeliveryFailed], counts[store.DeliveryPending])
	return err
}

func sleep(ctx context.Context, d time.Duration) (stopped bool) {
	select {
	case <-ctx.Done():
		return true
	case <-time.After(d):
		return false
	}
}

// progress shows how many of total are sent: a bar on a terminal, plain lines otherwise
// (one whenever the count changes), so that pipes and logs get no animation frames.
type progress struct {
	w     io.Writer
	total int
	bar   *progressbar.ProgressBar
	last  int
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, last: -1}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && total > 0 {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("sent"),
			progressbar.OptionShowCount(), progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
	}
	return p
}

func (p *progress) set(n int) {
	if n == p.last {
		return
	}
	p.last = n
	if p.bar != nil {
		_ = p.bar.Set(n)
		return
	}
	fmt.Fprintf(p.w, "sent %d of %d\n", n, p.total)
}

func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
