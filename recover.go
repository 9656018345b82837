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
)

type webhooksRecoverCmd struct {
	ID    string        `arg:"" help:"The webhook's id."`
	Since string        `name:"since" required:"" help:"Re-send failed deliveries created since: a duration back from now (24h, 7d) or an RFC 3339 time."`
	Every time.Duration `name:"poll" default:"500ms" hidden:""`
	clientFlags
}

// window is the deliveries a recovery is about: the webhook's, created in [since, until).
type window struct {
	webhook      string
	since, until time.Time
}

// ids lists the ids of the window's deliveries in one status, every page.
func (a *api) ids(ctx context.Context, w window, status string) (map[string]bool, error) {
	out := map[string]bool{}
	for offset := 0; ; {
		q := url.Values{"webhookId": {w.webhook}, "status": {status}, "limit": {"1000"}, "offset": {strconv.Itoa(offset)},
			"since": {w.since.UTC().Format(time.RFC3339Nano)}, "until": {w.until.UTC().Format(time.RFC3339Nano)}}
		var page struct {
			Total      int64
			Deliveries []delivery_
		}
		if _, err := a.get(ctx, "/v1/deliveries", q, &page); err != nil {
			return nil, err
		}
		for _, d := range page.Deliveries {
			out[d.ID] = true
		}
		offset += len(page.Deliveries)
		if len(page.Deliveries) == 0 || int64(offset) >= page.Total {
			return out, nil
		}
	}
}

// Run starts the recovery on the gateway, says what it leaves out, and follows the
// re-sent deliveries until each has been sent (succeeded, or failed again).
func (c *webhooksRecoverCmd) Run(g *globals) error {
	since, err := parseSince(c.Since)
	if err != nil {
		return err
	}
	a, err := c.api()
	if err != nil {
		return err
	}
	ctx := g.ctx
	// Which deliveries are failed (to be re-sent) and which still retrying (left to
	// their own schedule), as of now.
	w := window{webhook: c.ID, since: since, until: time.Now().Add(time.Second)}
	failed, err := a.ids(ctx, w, "failed")
	if err != nil {
		return err
	}
	retrying, err := a.ids(ctx, w, "pending")
	if err != nil {
		return err
	}
	b, _, err := a.call(ctx, http.MethodPost, "/v1/webhooks/"+url.PathEscape(c.ID)+"/recover", nil,
		map[string]any{"since": since.UTC().Format(time.RFC3339Nano)}, http.StatusAccepted)
	if err != nil {
		return err
	}
	var r recovery
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	out := g.stdout
	fmt.Fprintf(out, "recovery %s: %d failed deliveries of webhook %s since %s to re-send\n", r.ID, len(failed), c.ID, since.UTC().Format(time.RFC3339))
	if n := len(retrying); n > 0 {
		fmt.Fprintf(out, "skipped %d deliveries still retrying: they keep their own schedule (deliveries list --webhook %s --status pending)\n", n, c.ID)
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
		if stop := sleep(ctx, c.Every); stop {
			fmt.Fprintf(out, "stopped following %s; it goes on in the gateway\n", r.ID)
			return nil
		}
	}
	p := newProgress(out, len(failed))
	for {
		pending, err := a.ids(ctx, w, "pending")
		if err != nil {
			return err
		}
		sent := 0
		for id := range failed {
			if !pending[id] {
				sent++
			}
		}
		p.set(sent)
		if sent == len(failed) {
			break
		}
		if stop := sleep(ctx, c.Every); stop {
			p.done()
			fmt.Fprintf(out, "stopped following %s at %d of %d sent; the gateway goes on sending\n", r.ID, sent, len(failed))
			return nil
		}
	}
	p.done()
	again, err := a.ids(ctx, w, "failed")
	if err != nil {
		return err
	}
	n := 0
	for id := range failed {
		if again[id] {
			n++
		}
	}
	_, err = fmt.Fprintf(out, "recovery %s done: %d re-sent, %d succeeded, %d failed again\n", r.ID, len(failed), len(failed)-n, n)
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
