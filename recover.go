package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

type webhooksRecoverCmd struct {
	ID              string        `arg:"" help:"The webhook's id."`
	Since           string        `name:"since" required:"" help:"Re-send failed deliveries created since: a duration back from now (24h, 7d) or an RFC 3339 time."`
	IncludeRetrying bool          `name:"include-retrying" help:"Also send now the deliveries still retrying, instead of leaving them to their schedule."`
	NoFollow        bool          `name:"no-follow" help:"Start the recovery and return; follow it later at GET /v1/recoveries/<id>."`
	Every           time.Duration `name:"poll" default:"500ms" hidden:""`
}

// Run starts the recovery on the gateway, says what it leaves out, and, unless
// --no-follow, follows it until each of its deliveries has had an attempt, telling those
// that succeeded from those that failed again and those waiting for a retry, as the API's
// progress and the console do.
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
	expected := r.Total
	switch {
	case r.Retrying > 0 && c.IncludeRetrying:
		fmt.Fprintf(out, "and %s still pending: those waiting for a retry are sent now too\n", count(r.Retrying, "delivery", "deliveries"))
		expected += r.Retrying
	case r.Retrying > 0:
		fmt.Fprintf(out, "skipped %s still retrying: they keep their own schedule (--include-retrying sends them now)\n", count(r.Retrying, "delivery", "deliveries"))
	}
	if c.NoFollow {
		_, err := fmt.Fprintf(out, "not following; its progress is at GET /v1/recoveries/%s\n", r.ID)
		return err
	}
	p := newProgress(out, int(expected))
	var cur recovery
	for {
		if _, err := a.get(ctx, "/v1/recoveries/"+url.PathEscape(r.ID), nil, &cur); err != nil {
			return err
		}
		p.set(cur.Progress)
		if cur.Status == "done" && cur.Progress.Attempted >= expected {
			break
		}
		if sleep(ctx, c.Every) {
			p.done()
			fmt.Fprintf(out, "stopped following %s at %s; the gateway goes on sending\n", r.ID, cur.Progress.line(expected))
			return nil
		}
	}
	p.done()
	fmt.Fprintf(out, "recovery %s done: %s\n", r.ID, cur.Progress.line(expected))
	if cur.Progress.WaitingForRetry > 0 {
		fmt.Fprintf(out, "those waiting for a retry follow the retry schedule: polyhook deliveries list --webhook %s --status pending\n", c.ID)
	}
	return nil
}

// line tells what became of a recovery's deliveries, in the words the console uses.
func (p recoveryProgress) line(total int64) string {
	return fmt.Sprintf("attempted %d of %d: %d succeeded, %d failed again, %d waiting for a retry",
		p.Attempted, total, p.Succeeded, p.FailedAgain, p.WaitingForRetry)
}

func sleep(ctx context.Context, d time.Duration) (stopped bool) {
	select {
	case <-ctx.Done():
		return true
	case <-time.After(d):
		return false
	}
}

// progress shows a recovery's progress: a bar of the deliveries attempted on a terminal,
// plain lines otherwise (one whenever a count changes), so that pipes and logs get no
// animation frames.
type progress struct {
	w     io.Writer
	total int
	bar   *progressbar.ProgressBar
	last  recoveryProgress
	shown bool
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && total > 0 {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("attempted"),
			progressbar.OptionShowCount(), progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
	}
	return p
}

func (p *progress) set(now recoveryProgress) {
	if p.shown && now == p.last {
		return
	}
	p.last, p.shown = now, true
	if p.bar != nil {
		_ = p.bar.Set(int(now.Attempted))
		return
	}
	fmt.Fprintln(p.w, now.line(int64(p.total)))
}

func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
