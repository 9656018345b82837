package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/polyhook/polyhook/store"
)

// operate runs the operator commands: they work on the database directly, so they need
// the same --db as the gateway (which sends whatever they queue).
//
//	polyhook events list [--type T] [--tenant X] [--limit N]
//	polyhook deliveries list [--event E] [--webhook W] [--status S] [--limit N]
//	polyhook deliveries show ID
//	polyhook deliveries retry ID
//	polyhook webhooks list [--dialect D]
//	polyhook webhooks enable ID
//	polyhook webhooks recover ID --since 24h|RFC3339
//	polyhook webhooks test ID [--event NAME]
func operate(ctx context.Context, noun string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s: missing subcommand", noun)
	}
	verb, args := args[0], args[1:]
	var typ, tenant, event, webhook, status, dialect, since *string
	var limit *int
	c, positional, err := start(ctx, noun+" "+verb, args, stderr, func(fs *flag.FlagSet) {
		typ = fs.String("type", "", "event type")
		tenant = fs.String("tenant", "", "tenant")
		event = fs.String("event", "", "event id (deliveries list) or event name (webhooks test)")
		webhook = fs.String("webhook", "", "webhook id")
		status = fs.String("status", "", "pending, succeeded, failed or cancelled")
		dialect = fs.String("dialect", "", "dialect")
		since = fs.String("since", "", "a duration back from now (24h) or an RFC 3339 time")
		limit = fs.Int("limit", 50, "rows to show")
	})
	if err != nil {
		return err
	}
	defer c.close()
	db, engine := c.deps.DB, c.engine
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	arg := func() (string, error) {
		if len(positional) != 1 {
			return "", fmt.Errorf("%s %s: give one id", noun, verb)
		}
		return positional[0], nil
	}
	coded := func(err error) error {
		if err != nil && store.ErrorCode(err) != store.EINTERNAL {
			return errors.New(store.ErrorMessage(err))
		}
		return err
	}

	switch noun + " " + verb {
	case "events list":
		evs, total, err := db.FindEvents(ctx, store.EventFilter{Type: *typ, Tenant: *tenant, Limit: *limit})
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "ID\tTYPE\tTENANT\tDELIVERIES\tCREATED\t(%d in all)\n", total)
		for _, e := range evs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", e.ID, e.Type, e.Tenant, e.Deliveries, e.CreatedAt.Format(time.RFC3339))
		}
		return nil
	case "deliveries list":
		ds, total, err := db.FindDeliveries(ctx, store.DeliveryFilter{EventID: *event, WebhookID: *webhook, Status: *status, Dialect: *dialect, Limit: *limit})
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "ID\tEVENT\tWEBHOOK\tDIALECT\tSTATUS\tATTEMPTS\tLAST\t(%d in all)\n", total)
		for _, d := range ds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.ID, d.EventID, d.WebhookID, d.Dialect, d.Status, d.Attempts, lastOutcome(d))
		}
		return nil
	case "deliveries show":
		id, err := arg()
		if err != nil {
			return err
		}
		d, err := db.GetDelivery(ctx, id)
		if err != nil {
			return coded(err)
		}
		as, err := db.Attempts(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "delivery %s of event %s to webhook %s (%s, %s): %s after %d attempts\n", d.ID, d.EventID, d.WebhookID, d.Dialect, d.EventName, d.Status, d.Attempts)
		fmt.Fprintln(tw, "#\tSTARTED\tMS\tSTATUS\tERROR")
		for _, a := range as {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\n", a.Number, a.StartedAt.Format(time.RFC3339), a.DurationMS, a.ResponseStatus, a.Error)
		}
		return nil
	case "deliveries retry":
		id, err := arg()
		if err != nil {
			return err
		}
		if _, err := engine.Retry(ctx, id); err != nil {
			return coded(err)
		}
		fmt.Fprintf(stdout, "queued %s again; a running gateway sends it now\n", id)
		return nil
	case "webhooks list":
		ws, total, err := db.FindWebhooks(ctx, store.WebhookFilter{Dialect: *dialect, Limit: *limit})
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "ID\tDIALECT\tEXTERNAL ID\tURL\tSTATE\t(%d in all)\n", total)
		for _, w := range ws {
			state := "active"
			if w.DisabledAt != nil {
				state = "disabled: " + w.DisabledReason
			} else if w.FailingSince != nil {
				state = "failing since " + w.FailingSince.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", w.ID, w.Dialect, w.ExternalID, w.URL, state)
		}
		return nil
	case "webhooks enable":
		id, err := arg()
		if err != nil {
			return err
		}
		if err := db.EnableWebhook(ctx, id); err != nil {
			return coded(err)
		}
		fmt.Fprintf(stdout, "enabled %s\n", id)
		return nil
	case "webhooks recover":
		id, err := arg()
		if err != nil {
			return err
		}
		from, err := parseSince(*since)
		if err != nil {
			return err
		}
		r, err := engine.Recover(ctx, id, from)
		if err != nil {
			return coded(err)
		}
		return follow(ctx, db, r, stderr)
	case "webhooks test":
		id, err := arg()
		if err != nil {
			return err
		}
		w, err := db.WebhookByID(ctx, id)
		if err != nil {
			return coded(err)
		}
		name := *event
		if name == "" && len(w.Events) > 0 {
			name = w.Events[0]
		}
		res, err := engine.TestSend(ctx, w, name, json.RawMessage(`{"test":true}`), nil)
		if err != nil {
			return err
		}
		if res.Err != nil {
			return fmt.Errorf("test %s: %s (%s) after %s", name, res.Err, res.ErrKind, res.Duration.Round(time.Millisecond))
		}
		fmt.Fprintf(stdout, "test %s: %d in %s\n%s\n", name, res.Status, res.Duration.Round(time.Millisecond), res.Body)
		return nil
	}
	return fmt.Errorf("unknown command %q", noun+" "+verb)
}

// parseInterspersed parses flags that may come before or after the positional
// arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func lastOutcome(d store.Delivery) string {
	switch {
	case d.LastError != "":
		return d.LastError
	case d.LastStatus != 0:
		return fmt.Sprint(d.LastStatus)
	}
	return ""
}

// parseSince reads "24h" (back from now) or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("--since is required: a duration back from now (24h) or an RFC 3339 time")
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: not a duration or an RFC 3339 time", s)
	}
	return t, nil
}

// follow shows a recovery's progress until it is done (the gateway carries it out).
func follow(ctx context.Context, db *store.DB, r *store.Recovery, w io.Writer) error {
	bar := progressbar.NewOptions64(max(r.Total, 1), progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("recovering "+strings.TrimPrefix(r.ID, "rec_")[:8]),
		progressbar.OptionShowCount(), progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
	for {
		cur, err := db.GetRecovery(ctx, r.ID)
		if err != nil {
			return err
		}
		_ = bar.Set64(min(cur.Done, max(r.Total, 1)))
		if cur.Status == store.RecoveryDone {
			_ = bar.Finish()
			fmt.Fprintf(w, "recovery %s done: %d deliveries queued again\n", cur.ID, cur.Done)
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(w, "\nstopped following %s; it goes on in the gateway\n", r.ID)
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}
