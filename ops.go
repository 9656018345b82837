package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/gateway"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/native"
	"github.com/polyhook/polyhook/store"
)

// The operator commands talk to a running gateway over its native API, so they work
// against a remote deployment as well as a local one. Only credentials create --offline
// and admin-token open the database themselves: they are how the first credential and a
// lost admin token are made when no gateway can be asked.

// api is a client of the native API.
type api struct {
	base  string
	token string
	http  *http.Client
}

// api returns a client of the gateway the global flags, the environment or the stored
// login name.
func (g *globals) api() (*api, error) {
	base, token := g.flags.URL, g.flags.Token
	if base == "" || token == "" {
		stored, err := readLogin()
		if err != nil {
			return nil, err
		}
		if base == "" {
			base = stored.URL
		}
		if token == "" && (g.flags.URL == "" || g.flags.URL == stored.URL) {
			token = stored.Token // a stored token goes only to its own gateway
		}
	}
	if base == "" {
		base = defaultURL
	}
	if token == "" {
		return nil, usageError{errors.New("no admin token: pass --token, set POLYHOOK_ADMIN_TOKEN, or run polyhook login once")}
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Errorf("--url (POLYHOOK_URL) %q is not an http(s) URL", base)}
	}
	return &api{base: strings.TrimSuffix(base, "/"), token: token, http: &http.Client{Timeout: time.Minute}}, nil
}

// json reports whether -o json was asked for.
func (g *globals) json() bool { return g.flags.Output == "json" }

// call sends one request and returns the answer's body when its status is one of want;
// any other status is an error carrying the gateway's message.
func (a *api) call(ctx context.Context, method, path string, query url.Values, in any, want ...int) ([]byte, int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, 0, err
		}
		body = bytes.NewReader(b)
	}
	u := a.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot reach the gateway at %s (is it running? --url or POLYHOOK_URL says where): %w", a.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, resp.StatusCode, err
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return b, resp.StatusCode, nil
		}
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		return nil, resp.StatusCode, fmt.Errorf("%s (%d %s)", e.Error.Message, resp.StatusCode, e.Error.Code)
	}
	return nil, resp.StatusCode, fmt.Errorf("the gateway answered %d: %.200s", resp.StatusCode, b)
}

// get decodes the answer of a GET into out and returns its raw body.
func (a *api) get(ctx context.Context, path string, query url.Values, out any) ([]byte, error) {
	b, _, err := a.call(ctx, http.MethodGet, path, query, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return b, json.Unmarshal(b, out)
}

// printJSON writes an API answer indented.
func printJSON(w io.Writer, b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// table writes rows under a header, aligned.
func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// count writes n with its noun: "1 delivery", "2 deliveries".
func count[N int | int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// checkLimit checks a --limit before any request is made.
func checkLimit(n int) error {
	if n < 1 || n > 1000 {
		return fmt.Errorf("--limit must be from 1 to 1000, not %d", n)
	}
	return nil
}

func ts(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// The native API's shapes, as far as the commands show them.
type (
	credential struct {
		ID         string    `json:"id"`
		Dialect    string    `json:"dialect"`
		Name       string    `json:"name"`
		CreatedAt  time.Time `json:"createdAt"`
		ProjectIDs []string  `json:"projectIds"`
		UserPoolID string    `json:"userPoolId"`
	}
	event struct {
		ID           string      `json:"id"`
		Type         string      `json:"type"`
		Tenant       string      `json:"tenant"`
		Deliveries   int         `json:"deliveries"`
		CreatedAt    time.Time   `json:"createdAt"`
		DeliveryList []delivery_ `json:"deliveryList"`
	}
	delivery_ struct {
		ID          string     `json:"id"`
		EventID     string     `json:"eventId"`
		WebhookID   string     `json:"webhookId"`
		Dialect     string     `json:"dialect"`
		EventName   string     `json:"eventName"`
		Status      string     `json:"status"`
		Attempts    int        `json:"attempts"`
		LastStatus  int        `json:"lastStatus"`
		LastError   string     `json:"lastError"`
		NextAttempt *time.Time `json:"nextAttemptAt"`
		CreatedAt   time.Time  `json:"createdAt"`
		AttemptList []struct {
			Number         int       `json:"number"`
			StartedAt      time.Time `json:"startedAt"`
			DurationMS     int64     `json:"durationMs"`
			ResponseStatus int       `json:"responseStatus"`
			Error          string    `json:"error"`
		} `json:"attemptList"`
	}
	webhook struct {
		ID             string     `json:"id"`
		Dialect        string     `json:"dialect"`
		ExternalID     string     `json:"externalId"`
		URL            string     `json:"url"`
		Events         []string   `json:"events"`
		DisabledAt     *time.Time `json:"disabledAt"`
		DisabledReason string     `json:"disabledReason"`
		FailingSince   *time.Time `json:"failingSince"`
		PausedAt       *time.Time `json:"pausedAt"`
		HeaderNames    []string   `json:"headerNames"`
		// Filter is a native subscription's payload filter, as stored.
		Filter json.RawMessage `json:"filter"`
		// RateLimit is a native subscription's deliveries a second, 0 when it has none.
		RateLimit int `json:"rateLimit"`
		// Ordered is whether a native subscription delivers in lanes, per ordering key.
		Ordered bool `json:"ordered"`
		// Circuit is the endpoint's breaker, shared by every replica.
		Circuit *circuit `json:"circuit"`
	}
	circuit struct {
		State string     `json:"state"`
		Until *time.Time `json:"until"`
	}
	recovery struct {
		ID        string           `json:"id"`
		WebhookID string           `json:"webhookId"`
		Total     int64            `json:"total"`
		Done      int64            `json:"done"`
		Retrying  int64            `json:"retrying"`
		Status    string           `json:"status"`
		Progress  recoveryProgress `json:"progress"`
		CreatedAt time.Time        `json:"createdAt"`
	}
	recoveryProgress struct {
		Attempted       int64 `json:"attempted"`
		Succeeded       int64 `json:"succeeded"`
		FailedAgain     int64 `json:"failedAgain"`
		WaitingForRetry int64 `json:"waitingForRetry"`
	}
)

func (d delivery_) outcome() string {
	switch {
	case d.LastError != "":
		return d.LastError
	case d.LastStatus != 0:
		return strconv.Itoa(d.LastStatus)
	}
	return ""
}

func deliveryRows(ds []delivery_) [][]string {
	rows := make([][]string, len(ds))
	for i, d := range ds {
		rows[i] = []string{d.ID, d.EventID, d.WebhookID, d.Dialect, d.Status, strconv.Itoa(d.Attempts), d.outcome()}
	}
	return rows
}

const deliveryHeader = "ID\tEVENT\tWEBHOOK\tDIALECT\tSTATUS\tATTEMPTS\tLAST"

// --- credentials

type credentialsCmd struct {
	Create credCreateCmd `cmd:"" help:"Mint a credential; its secret is shown once."`
	List   credListCmd   `cmd:"" help:"List credentials, without secrets."`
	Revoke credRevokeCmd `cmd:"" help:"Revoke a credential: requests made with it are refused from now on."`
}

type credCreateCmd struct {
	Dialect string   `name:"dialect" required:"" enum:"${dialects}" help:"${dialects_or}."`
	Name    string   `name:"name" help:"A label for operators."`
	Project []string `name:"project" help:"xsolla: a Login project id the credential may manage (repeat for several)."`
	Offline bool     `name:"offline" help:"Mint on the database (--db, --secret-key) instead of through a gateway: for the first credential, or when no gateway runs."`
	Create  bool     `name:"create" help:"With --offline: make a new database when --db names no existing file."`
	storeFlags
}

func (c *credCreateCmd) Run(g *globals) error {
	if c.Offline {
		return c.offline(g)
	}
	a, err := g.api()
	if err != nil {
		return err
	}
	in := map[string]any{"dialect": c.Dialect}
	if c.Name != "" {
		in["name"] = c.Name
	}
	if len(c.Project) > 0 {
		in["projectIds"] = c.Project
	}
	b, _, err := a.call(g.ctx, http.MethodPost, "/v1/credentials", nil, in, http.StatusCreated)
	if err != nil {
		return inFlagWords(err)
	}
	return printMinted(g, b)
}

// printMinted prints a new credential: its id, dialect and name, then each of the
// dialect's fields (the secrets among them), which are shown this once.
func printMinted(g *globals, b []byte) error {
	if g.json() {
		return printJSON(g.stdout, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	name, _ := m["name"].(string)
	if err := table(g.stdout, "ID\tDIALECT\tNAME", [][]string{{fmt.Sprint(m["id"]), fmt.Sprint(m["dialect"]), name}}); err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		switch k {
		case "id", "dialect", "name", "createdAt":
		default:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	fmt.Fprintln(g.stdout, "Shown once, keep them:")
	for _, k := range keys {
		v := m[k]
		if l, ok := v.([]any); ok {
			parts := make([]string, len(l))
			for i, x := range l {
				parts[i] = fmt.Sprint(x)
			}
			v = strings.Join(parts, ",")
		}
		fmt.Fprintf(g.stdout, "  %s: %v\n", k, v)
	}
	return nil
}

func (c *credCreateCmd) offline(g *globals) error {
	db, keys, err := c.open(g.ctx, !c.Create)
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.DiscardHandler)
	engine, err := delivery.New(drivers.For(db), delivery.Config{Log: log})
	if err != nil {
		return err
	}
	srv := gateway.New(gateway.Config{Deps: server.Deps{DB: db, Keys: keys, Log: log, Limiter: server.NewLimiter(0, 0)}, Engine: engine, Dialects: registered})
	d, ok := srv.Dialect(c.Dialect)
	if !ok {
		return fmt.Errorf("--dialect must be one of %s", strings.Join(srv.DialectNames(), ", "))
	}
	req := server.CredentialRequest{Name: c.Name}
	if len(c.Project) > 0 { // the --project flags are the request's projectIds
		ids, _ := json.Marshal(c.Project)
		req.Fields = map[string]json.RawMessage{"projectIds": ids}
	}
	m, err := d.MintCredential(g.ctx, req)
	if err != nil {
		return inFlagWords(errors.New(store.ErrorMessage(err)))
	}
	out, err := native.MarshalMinted(m)
	if err != nil {
		return err
	}
	return printMinted(g, out)
}

// inFlagWords names the request field a refusal speaks of by the flag that sets it.
func inFlagWords(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "projectIds") {
		return err
	}
	return errors.New(strings.ReplaceAll(msg, "projectIds", "--project"))
}

type credListCmd struct {
	Dialect string `name:"dialect" help:"Only this dialect's (${dialects_all})."`
}

func (c *credListCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	q := url.Values{}
	if c.Dialect != "" {
		q.Set("dialect", c.Dialect)
	}
	var out struct{ Credentials []credential }
	b, err := a.get(g.ctx, "/v1/credentials", q, &out)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	rows := make([][]string, len(out.Credentials))
	for i, cr := range out.Credentials {
		scope := strings.Join(cr.ProjectIDs, ",")
		if cr.UserPoolID != "" {
			scope = cr.UserPoolID
		}
		rows[i] = []string{cr.ID, cr.Dialect, cr.Name, scope, cr.CreatedAt.UTC().Format(time.RFC3339)}
	}
	return table(g.stdout, "ID\tDIALECT\tNAME\tSCOPE\tCREATED", rows)
}

type credRevokeCmd struct {
	ID string `arg:"" help:"The credential's id."`
}

func (c *credRevokeCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	if _, _, err := a.call(g.ctx, http.MethodDelete, "/v1/credentials/"+url.PathEscape(c.ID), nil, nil, http.StatusNoContent); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "revoked %s\n", c.ID)
	return err
}

// --- admin-token

type adminTokenCmd struct {
	Reset adminTokenResetCmd `cmd:"" help:"Generate a new admin token and store its hash; print it once. Running gateways keep the old one until they restart."`
}

type adminTokenResetCmd struct {
	storeFlags
	Create bool `name:"create" help:"Make a new database when --db names no existing file."`
}

func (c *adminTokenResetCmd) Run(g *globals) error {
	db, err := openDB(g.ctx, c.DB, !c.Create)
	if err != nil {
		return err
	}
	defer db.Close()
	token, err := native.ResetAdminToken(g.ctx, db)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "Admin token (shown once; restart the gateway to use it): %s\n", token)
	return err
}

// --- publish

type publishCmd struct {
	Type   string `name:"type" required:"" help:"Canonical event type, or <dialect>:<native name>."`
	Tenant string `name:"tenant" help:"Tenant, project, client or user pool the event belongs to."`
	ID     string `name:"id" help:"Idempotency key; publishing it again creates nothing."`
	Data   string `name:"data" default:"{}" help:"The event's data, a JSON object."`
	// OrderingKey is the event's lane in ordered webhooks.
	OrderingKey string `name:"ordering-key" help:"The event's lane in ordered webhooks (at most 128 characters): each lane is delivered in publish order."`
}

func (c *publishCmd) Run(g *globals) error {
	var data map[string]any
	if err := json.Unmarshal([]byte(c.Data), &data); err != nil || data == nil {
		return usageError{fmt.Errorf("--data must be a JSON object")}
	}
	a, err := g.api()
	if err != nil {
		return err
	}
	in := map[string]any{"type": c.Type, "data": data}
	if c.ID != "" {
		in["id"] = c.ID
	}
	if c.Tenant != "" {
		in["tenant"] = c.Tenant
	}
	if c.OrderingKey != "" {
		in["orderingKey"] = c.OrderingKey
	}
	b, status, err := a.call(g.ctx, http.MethodPost, "/v1/events", nil, in, http.StatusCreated, http.StatusOK)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	var ev event
	if err := json.Unmarshal(b, &ev); err != nil {
		return err
	}
	state := "published"
	if status == http.StatusOK {
		state = "already published"
	}
	_, err = fmt.Fprintf(g.stdout, "%s %s: %s\n", state, ev.ID, count(ev.Deliveries, "delivery", "deliveries"))
	return err
}

// --- events

type eventsCmd struct {
	List eventsListCmd `cmd:"" help:"Events, newest first."`
	Show eventsShowCmd `cmd:"" help:"One event and its deliveries."`
}

type eventsListCmd struct {
	Type   string `name:"type" help:"Only this type."`
	Tenant string `name:"tenant" help:"Only this tenant's."`
	Since  string `name:"since" help:"Only those created since: a duration back from now (24h, 7d) or an RFC 3339 time."`
	Limit  int    `name:"limit" default:"50" help:"Rows to show (1-1000)."`
}

// Validate checks the flags before any request; kong calls it.
func (c *eventsListCmd) Validate() error { return checkLimit(c.Limit) }

func (c *eventsListCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(c.Limit)}}
	setIf(q, "type", c.Type)
	setIf(q, "tenant", c.Tenant)
	if err := setSince(q, c.Since, false); err != nil {
		return err
	}
	var out struct {
		Total       int64
		TotalCapped bool
		Events      []event
	}
	b, err := a.get(g.ctx, "/v1/events", q, &out)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	rows := make([][]string, len(out.Events))
	for i, e := range out.Events {
		rows[i] = []string{e.ID, e.Type, e.Tenant, strconv.Itoa(e.Deliveries), e.CreatedAt.UTC().Format(time.RFC3339)}
	}
	if err := table(g.stdout, "ID\tTYPE\tTENANT\tDELIVERIES\tCREATED", rows); err != nil {
		return err
	}
	return showing(g.stdout, len(rows), out.Total, out.TotalCapped)
}

type eventsShowCmd struct {
	ID string `arg:"" help:"The event's id."`
}

func (c *eventsShowCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	var e event
	b, err := a.get(g.ctx, "/v1/events/"+url.PathEscape(c.ID), nil, &e)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	fmt.Fprintf(g.stdout, "event %s (%s, tenant %q) created %s: %s\n", e.ID, e.Type, e.Tenant, e.CreatedAt.UTC().Format(time.RFC3339), count(e.Deliveries, "delivery", "deliveries"))
	return table(g.stdout, deliveryHeader, deliveryRows(e.DeliveryList))
}

// showing says how many rows matched when a page shows fewer, or that more than total did
// where the gateway stopped counting (capped).
func showing(w io.Writer, shown int, total int64, capped bool) error {
	if capped {
		_, err := fmt.Fprintf(w, "(%d of more than %d shown; --limit shows more)\n", shown, total)
		return err
	}
	if int64(shown) >= total {
		return nil
	}
	_, err := fmt.Fprintf(w, "(%d of %d shown; --limit shows more)\n", shown, total)
	return err
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// setSince puts --since into q as an RFC 3339 time.
func setSince(q url.Values, s string, required bool) error {
	if s == "" && !required {
		return nil
	}
	t, err := parseSince(s)
	if err != nil {
		return err
	}
	q.Set("since", t.UTC().Format(time.RFC3339Nano))
	return nil
}

// parseSince reads "24h" or "7d" (back from now) or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, usageError{errors.New("--since is required: a duration back from now (24h, 7d) or an RFC 3339 time")}
	}
	if d, err := parseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--since %q: not a duration (24h, 7d) or an RFC 3339 time", s)}
	}
	return t, nil
}

// --- deliveries

type deliveriesCmd struct {
	List  deliveriesListCmd  `cmd:"" help:"Deliveries, newest first."`
	Show  deliveriesShowCmd  `cmd:"" help:"One delivery and every attempt."`
	Retry deliveriesRetryCmd `cmd:"" help:"Send a finished delivery again now."`
}

type deliveriesListCmd struct {
	Event   string `name:"event" help:"Only this event's."`
	Webhook string `name:"webhook" help:"Only this webhook's."`
	Dialect string `name:"dialect" help:"Only this dialect's (${dialects_all})."`
	Status  string `name:"status" enum:"pending,succeeded,failed,cancelled," default:"" help:"pending, succeeded, failed or cancelled."`
	Since   string `name:"since" help:"Only those created since: a duration back from now (24h, 7d) or an RFC 3339 time."`
	Limit   int    `name:"limit" default:"50" help:"Rows to show (1-1000)."`
}

// Validate checks the flags before any request; kong calls it.
func (c *deliveriesListCmd) Validate() error { return checkLimit(c.Limit) }

func (c *deliveriesListCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(c.Limit)}}
	setIf(q, "eventId", c.Event)
	setIf(q, "webhookId", c.Webhook)
	setIf(q, "dialect", c.Dialect)
	setIf(q, "status", c.Status)
	if err := setSince(q, c.Since, false); err != nil {
		return err
	}
	var out struct {
		Total       int64
		TotalCapped bool
		Deliveries  []delivery_
	}
	b, err := a.get(g.ctx, "/v1/deliveries", q, &out)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	if err := table(g.stdout, deliveryHeader, deliveryRows(out.Deliveries)); err != nil {
		return err
	}
	return showing(g.stdout, len(out.Deliveries), out.Total, out.TotalCapped)
}

type deliveriesShowCmd struct {
	ID string `arg:"" help:"The delivery's id."`
}

func (c *deliveriesShowCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	var d delivery_
	b, err := a.get(g.ctx, "/v1/deliveries/"+url.PathEscape(c.ID), nil, &d)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	fmt.Fprintf(g.stdout, "delivery %s of event %s to webhook %s (%s, %s): %s after %s\n", d.ID, d.EventID, d.WebhookID, d.Dialect, d.EventName, d.Status, count(d.Attempts, "attempt", "attempts"))
	if d.NextAttempt != nil && d.Status == store.DeliveryPending {
		fmt.Fprintf(g.stdout, "next attempt at %s\n", ts(d.NextAttempt))
	}
	rows := make([][]string, len(d.AttemptList))
	for i, at := range d.AttemptList {
		rows[i] = []string{strconv.Itoa(at.Number), at.StartedAt.UTC().Format(time.RFC3339), strconv.FormatInt(at.DurationMS, 10), strconv.Itoa(at.ResponseStatus), at.Error}
	}
	return table(g.stdout, "#\tSTARTED\tMS\tSTATUS\tERROR", rows)
}

type deliveriesRetryCmd struct {
	ID string `arg:"" help:"The delivery's id."`
}

func (c *deliveriesRetryCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	if _, _, err := a.call(g.ctx, http.MethodPost, "/v1/deliveries/"+url.PathEscape(c.ID)+"/retry", nil, nil, http.StatusAccepted); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "queued %s again; the gateway sends it now\n", c.ID)
	return err
}

// --- webhooks

type webhooksCmd struct {
	List    webhooksListCmd    `cmd:"" help:"Webhooks of every dialect, oldest first."`
	Create  webhooksCreateCmd  `cmd:"" help:"Subscribe an endpoint to canonical events, delivered in the Standard Webhooks format; its signing secret is shown once."`
	Show    webhooksShowCmd    `cmd:"" help:"One webhook of any dialect."`
	Disable webhooksDisableCmd `cmd:"" help:"Take a webhook of any dialect out of delivery until it is enabled."`
	Delete  webhooksDeleteCmd  `cmd:"" help:"Delete a webhook of any dialect; its pending deliveries are cancelled."`
	Enable  webhooksEnableCmd  `cmd:"" help:"Put a disabled webhook back into delivery."`
	Pause   webhooksPauseCmd   `cmd:"" help:"Pause a webhook of any dialect: its deliveries are kept, unsent, until it is resumed."`
	Resume  webhooksResumeCmd  `cmd:"" help:"End a webhook's pause: what waited is sent."`
	Test    webhooksTestCmd    `cmd:"" help:"Have the gateway send a test event to the webhook now, and show the answer."`
	Recover webhooksRecoverCmd `cmd:"" help:"Re-send the webhook's failed deliveries since a time, and follow them until sent."`
}

type webhooksListCmd struct {
	Dialect string `name:"dialect" help:"Only this dialect's (${dialects_all})."`
	Limit   int    `name:"limit" default:"100" help:"Rows to show (1-1000)."`
}

// Validate checks the flags before any request; kong calls it.
func (c *webhooksListCmd) Validate() error { return checkLimit(c.Limit) }

func (c *webhooksListCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(c.Limit)}}
	setIf(q, "dialect", c.Dialect)
	var out struct {
		Total    int64
		Webhooks []webhook
	}
	b, err := a.get(g.ctx, "/v1/webhooks", q, &out)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	rows := make([][]string, len(out.Webhooks))
	for i, w := range out.Webhooks {
		rows[i] = []string{w.ID, w.Dialect, w.ExternalID, w.URL, w.state()}
	}
	if err := table(g.stdout, "ID\tDIALECT\tEXTERNAL ID\tURL\tSTATE", rows); err != nil {
		return err
	}
	return showing(g.stdout, len(rows), out.Total, false)
}

type webhooksCreateCmd struct {
	Endpoint    string            `name:"endpoint" required:"" help:"The URL deliveries are sent to (http or https)."`
	Events      []string          `name:"event" required:"" help:"A canonical event name (repeat for several; see the catalogue at GET /v1/event-types)."`
	Tenant      string            `name:"tenant" help:"Only this tenant's events; every tenant's when empty."`
	Description string            `name:"description" help:"A label for the webhook."`
	Headers     map[string]string `name:"header" help:"A custom header sent on every delivery, as NAME=VALUE (repeat for several)."`
	Filter      string            `name:"filter" help:"Deliver only the events matching this JSON filter, e.g. '{\"data.order.total\": {\"$gte\": 100}}'."`
	RateLimit   int               `name:"rate-limit" help:"Send it at most this many deliveries a second, across every replica (0: no limit)."`
	Ordered     bool              `name:"ordered" help:"Deliver in lanes, one per event ordering key (publish --ordering-key), each in publish order, one at a time."`
}

func (c *webhooksCreateCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	in := map[string]any{"url": c.Endpoint, "events": c.Events}
	if c.Tenant != "" {
		in["tenant"] = c.Tenant
	}
	if c.Description != "" {
		in["description"] = c.Description
	}
	if len(c.Headers) > 0 {
		in["headers"] = c.Headers
	}
	if c.Filter != "" {
		if !json.Valid([]byte(c.Filter)) {
			return fmt.Errorf("--filter must be a JSON object")
		}
		in["filter"] = json.RawMessage(c.Filter)
	}
	switch {
	case c.RateLimit < 0:
		return usageError{fmt.Errorf("--rate-limit must be a whole number of deliveries a second, 1 or more (0 for no limit)")}
	case c.RateLimit > 0:
		in["rateLimit"] = c.RateLimit
	}
	if c.Ordered {
		in["ordered"] = true
	}
	b, _, err := a.call(g.ctx, http.MethodPost, "/v1/webhooks", nil, in, http.StatusCreated)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	var out struct {
		webhook
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return err
	}
	if err := table(g.stdout, "ID\tURL\tEVENTS", [][]string{{out.ID, out.URL, strings.Join(out.Events, ",")}}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "Signing secret (shown once; also at GET /v1/webhooks/%s/secrets): %s\n", out.ID, out.Secret)
	return err
}

type webhooksShowCmd struct {
	ID string `arg:"" help:"The webhook's id (polyhook's, as webhooks list shows)."`
}

func (c *webhooksShowCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	var w webhook
	b, err := a.get(g.ctx, "/v1/webhooks/"+url.PathEscape(c.ID), nil, &w)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, b)
	}
	// Custom headers are shown by name; their values are sealed and never shown.
	if err := table(g.stdout, "ID\tDIALECT\tEXTERNAL ID\tURL\tEVENTS\tHEADERS\tSTATE", [][]string{{w.ID, w.Dialect, w.ExternalID, w.URL, strings.Join(w.Events, ","), strings.Join(w.HeaderNames, ","), w.state()}}); err != nil {
		return err
	}
	if w.RateLimit > 0 {
		if _, err := fmt.Fprintf(g.stdout, "Rate limit: %d a second\n", w.RateLimit); err != nil {
			return err
		}
	}
	if w.Ordered {
		if _, err := fmt.Fprintln(g.stdout, "Ordered: in lanes, one per ordering key"); err != nil {
			return err
		}
	}
	if w.Circuit != nil {
		if _, err := fmt.Fprintf(g.stdout, "Circuit: %s\n", w.Circuit); err != nil {
			return err
		}
	}
	if len(w.Filter) == 0 {
		return nil
	}
	_, err = fmt.Fprintf(g.stdout, "Filter: %s\n", w.Filter)
	return err
}

// String says what the breaker lets through: nothing until the pause ends (open), one
// probe first (half-open), or everything (closed).
func (c *circuit) String() string {
	switch c.State {
	case "open":
		return "open until " + ts(c.Until) + " (no attempt until then)"
	case "half-open":
		return "half-open (one probe attempt goes first)"
	}
	return c.State
}

// state says whether the webhook is in delivery, disabled (and why), paused or failing.
func (w webhook) state() string {
	switch {
	case w.DisabledAt != nil:
		return "disabled: " + w.DisabledReason
	case w.PausedAt != nil:
		return "paused since " + ts(w.PausedAt)
	case w.FailingSince != nil:
		return "failing since " + ts(w.FailingSince)
	}
	return "active"
}

type webhooksDisableCmd struct {
	ID string `arg:"" help:"The webhook's id (polyhook's, as webhooks list shows)."`
}

func (c *webhooksDisableCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	if _, _, err := a.call(g.ctx, http.MethodPost, "/v1/webhooks/"+url.PathEscape(c.ID)+"/disable", nil, nil, http.StatusNoContent); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "disabled %s\n", c.ID)
	return err
}

type webhooksDeleteCmd struct {
	ID string `arg:"" help:"The webhook's id (polyhook's, as webhooks list shows)."`
}

func (c *webhooksDeleteCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	if _, _, err := a.call(g.ctx, http.MethodDelete, "/v1/webhooks/"+url.PathEscape(c.ID), nil, nil, http.StatusNoContent); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "deleted %s\n", c.ID)
	return err
}

type webhooksEnableCmd struct {
	ID string `arg:"" help:"The webhook's id (polyhook's, as webhooks list shows)."`
}

func (c *webhooksEnableCmd) Run(g *globals) error {
	a, err := g.api()
	if err != nil {
		return err
	}
	if _, _, err := a.call(g.ctx, http.MethodPost, "/v1/webhooks/"+url.PathEscape(c.ID)+"/enable", nil, nil, http.StatusNoContent); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "enabled %s\n", c.ID)
	return err
}

type webhooksTestCmd struct {
	ID    string `arg:"" help:"The webhook's id."`
	Event string `name:"event" help:"A native event name of the webhook's dialect; its first subscribed event by default."`
	Data  string `name:"data" default:"{\"test\":true}" help:"The test event's data, a JSON object."`
}

func (c *webhooksTestCmd) Run(g *globals) error {
	var data map[string]any
	if err := json.Unmarshal([]byte(c.Data), &data); err != nil || data == nil {
		return usageError{fmt.Errorf("--data must be a JSON object")}
	}
	a, err := g.api()
	if err != nil {
		return err
	}
	in := map[string]any{"data": data}
	if c.Event != "" {
		in["eventName"] = c.Event
	}
	b, _, err := a.call(g.ctx, http.MethodPost, "/v1/webhooks/"+url.PathEscape(c.ID)+"/test", nil, in, http.StatusOK)
	if err != nil {
		return err
	}
	var res struct {
		Success    bool
		Status     int
		Body       string
		Error      string
		ErrorKind  string
		DurationMs int64
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return err
	}
	if g.json() {
		if err := printJSON(g.stdout, b); err != nil {
			return err
		}
	} else if res.Error == "" {
		fmt.Fprintf(g.stdout, "test: %d in %dms\n%s\n", res.Status, res.DurationMs, res.Body)
	}
	switch {
	case res.Error != "":
		return fmt.Errorf("test: %s (%s) after %dms", res.Error, res.ErrorKind, res.DurationMs)
	case !res.Success:
		return fmt.Errorf("test: the endpoint answered %d", res.Status)
	}
	return nil
}
