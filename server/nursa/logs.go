package nursa

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	api "github.com/polyhook/polyhook/gen/nursaapi"
	"github.com/polyhook/polyhook/store"
)

// maxOffset is the deepest page the logs API serves: a page reads the rows it skips, so
// an offset of 2³⁰ would read a client's whole history on every request. Nursa documents
// no bound; a client paging that deep narrows the dates instead.
const maxOffset = 10000

// GetWebhookLogs lists the calling client's deliveries as Nursa's logs API does: each
// delivery's first attempt, with the later ones as its retries; "success" when any of
// them succeeded. Validation follows class-validator's messages.
func (h handlers) GetWebhookLogs(c echo.Context, p api.GetWebhookLogsParams) error {
	f := store.OwnedDeliveryFilter{Dialect: Name, Owner: clientOf(c), Limit: 10}
	var msgs []string
	if p.EventType != nil && *p.EventType != "all" {
		if !isEvent(*p.EventType) {
			msgs = append(msgs, "eventType must be one of the following values: "+strings.Join(eventNames, ", "))
		}
		f.EventNames = []string{*p.EventType}
	}
	for _, d := range []struct {
		name string
		v    *string
		into *time.Time
	}{{"startDate", p.StartDate, &f.Since}, {"endDate", p.EndDate, &f.Until}} {
		if d.v == nil {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, *d.v)
		if err != nil {
			msgs = append(msgs, d.name+" must be a valid ISO 8601 date string")
			continue
		}
		*d.into = t
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		msgs = append(msgs, "startDate must be before endDate")
	}
	for _, n := range []struct {
		name    string
		v       *string
		into    *int
		min, mx int
	}{{"limit", p.Limit, &f.Limit, 0, 100}, {"offset", p.Offset, &f.Offset, 0, maxOffset}} {
		if n.v == nil {
			continue
		}
		v, err := strconv.Atoi(*n.v)
		switch {
		case err != nil:
			msgs = append(msgs, n.name+" must be an integer number")
		case v < n.min:
			msgs = append(msgs, n.name+" must not be less than "+strconv.Itoa(n.min))
		case v > n.mx:
			msgs = append(msgs, n.name+" must not be greater than "+strconv.Itoa(n.mx))
		default:
			*n.into = v
		}
	}
	if p.SortDirection != nil {
		switch *p.SortDirection {
		case "ASC":
			f.Ascending = true
		case "DESC":
		default:
			msgs = append(msgs, "sortDirection must be one of the following values: ASC, DESC")
		}
	}
	if len(msgs) > 0 {
		return validationError(msgs)
	}
	if p.FacilitiesIds != nil {
		// The database filters and pages: a request reads one page of rows, however many
		// the client has. The facility is the event's data.facilityId, which Encode puts
		// in the envelope's data verbatim. The ids go as one parameter, so the list is
		// bounded only by the request's size, as at Nursa, which documents no bound.
		f.DataKey, f.DataIn = "facilityId", *p.FacilitiesIds
	}
	ctx := c.Request().Context()
	ds, urls, err := h.db.OwnedDeliveries(ctx, f)
	if err != nil {
		return err
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	attempts, err := h.db.AttemptsOf(ctx, ids)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, d := range ds {
		as := attempts[d.ID]
		if len(as) == 0 {
			continue
		}
		first := logEntry(d, urls[d.ID], as[0])
		retries := []map[string]any{}
		status := "failure"
		for i, a := range as {
			if a.ResponseStatus >= 200 && a.ResponseStatus < 300 {
				status = "success"
			}
			if i > 0 {
				r := logEntry(d, urls[d.ID], a)
				r["retryAttempt"] = i
				retries = append(retries, r)
			}
		}
		first["retries"], first["status"] = retries, status
		out = append(out, first)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

func logEntry(d store.Delivery, url string, a store.Attempt) map[string]any {
	payload := map[string]any{}
	_ = json.Unmarshal([]byte(a.RequestBody), &payload)
	e := map[string]any{
		"id": a.ID, "eventType": d.EventName, "requestPayload": payload,
		"responseStatus": a.ResponseStatus, "responseBody": a.ResponseBody, "url": url,
	}
	if data, ok := payload["data"].(map[string]any); ok {
		if fid, ok := data["facilityId"].(string); ok {
			e["facilityId"] = fid
		}
	}
	if a.ResponseStatus == 0 && a.Error != "" {
		e["responseBody"] = a.Error
	}
	return e
}
