package fusionauth

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	api "github.com/polyhook/polyhook/gen/fusionauthapi"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/store"
)

// FusionAuth's event results and the store's outcomes.
var eventResults = map[string]string{"Failed": store.OutcomeFailed, "Running": store.OutcomeRunning, "Succeeded": store.OutcomeSucceeded}

func (h handlers) RetrieveWebhookEventLog(c echo.Context, id string) error {
	ctx := c.Request().Context()
	ev, err := h.db.GetEvent(ctx, id)
	if err != nil {
		return err
	}
	logs, err := h.eventLogs(c, []store.Event{*ev})
	if err != nil {
		return err
	}
	if len(logs) == 0 {
		return store.Errorf(store.ENOTFOUND, "No FusionAuth webhook received this event.")
	}
	return c.JSON(http.StatusOK, map[string]any{"webhookEventLog": logs[0]})
}

func (h handlers) RetrieveWebhookAttemptLog(c echo.Context, id string) error {
	ctx := c.Request().Context()
	a, d, err := h.db.GetAttempt(ctx, id)
	if err != nil {
		return err
	}
	if d.Dialect != Name {
		return store.Errorf(store.ENOTFOUND, "Not found.")
	}
	w, err := h.db.WebhookByID(ctx, d.WebhookID)
	externalID := ""
	if err == nil {
		externalID = w.ExternalID
	}
	return c.JSON(http.StatusOK, map[string]any{"webhookAttemptLog": attemptLog(*a, d.EventID, externalID)})
}

func (h handlers) SearchWebhookEventLogsByParameters(c echo.Context, p api.SearchWebhookEventLogsByParametersParams) error {
	return h.searchEventLogs(c, eventLogCriteria{p.Start, p.End, p.Event, p.EventResult, p.EventType,
		criteria{numberOfResults: p.NumberOfResults, startRow: p.StartRow, orderBy: p.OrderBy}}, "")
}

func (h handlers) SearchWebhookEventLogs(c echo.Context) error {
	body, err := server.ReadBody(c)
	if err != nil {
		return err
	}
	var req struct {
		Search *struct {
			Start, End                    *int64
			Event, EventResult, EventType *string
			NumberOfResults, StartRow     *int32
			OrderBy                       *string
		} `json:"search"`
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			return err
		}
	}
	var cr eventLogCriteria
	if s := req.Search; s != nil {
		str := func(n any) *string { b, _ := json.Marshal(n); v := string(b); return &v }
		if s.Start != nil {
			cr.start = str(*s.Start)
		}
		if s.End != nil {
			cr.end = str(*s.End)
		}
		if s.NumberOfResults != nil {
			cr.numberOfResults = str(*s.NumberOfResults)
		}
		if s.StartRow != nil {
			cr.startRow = str(*s.StartRow)
		}
		cr.event, cr.eventResult, cr.eventType, cr.orderBy = s.Event, s.EventResult, s.EventType, s.OrderBy
	}
	return h.searchEventLogs(c, cr, "search.")
}

type eventLogCriteria struct {
	start, end, event, eventResult, eventType *string
	criteria
}

func (h handlers) searchEventLogs(c echo.Context, cr eventLogCriteria, prefix string) error {
	var s errorSet
	f := store.EventLogFilter{Dialect: Name, Limit: defaultNumberOfResults}
	for _, t := range []struct {
		name string
		v    *string
		into *time.Time
	}{{"start", cr.start, &f.Since}, {"end", cr.end, &f.Until}} {
		if absent(t.v) {
			continue
		}
		ms, err := strconv.ParseInt(*t.v, 10, 64)
		if err != nil {
			s.field(prefix+t.name, "couldNotConvert", "Invalid ["+t.name+"]: it must be an instant in epoch milliseconds.")
			continue
		}
		*t.into = time.UnixMilli(ms).UTC()
	}
	if !absent(cr.eventResult) {
		if f.Outcome = eventResults[*cr.eventResult]; f.Outcome == "" {
			s.field(prefix+"eventResult", "couldNotConvert", "Invalid [eventResult]: it must be Failed, Running or Succeeded.")
		}
	}
	if !absent(cr.eventType) {
		if !eventTypes[*cr.eventType] {
			s.field(prefix+"eventType", "couldNotConvert", "Invalid [eventType]: not a FusionAuth event type.")
		}
		f.EventName = *cr.eventType
	}
	if !absent(cr.event) && s.searchTerm(prefix+"event", *cr.event) {
		f.DataLike = likePattern(*cr.event)
	}
	paging, err := cr.criteria.filter(prefix)
	if err != nil {
		return err
	}
	f.Limit, f.Offset = paging.Limit, paging.Offset
	if !absent(cr.orderBy) {
		switch strings.ToUpper(strings.Join(strings.Fields(*cr.orderBy), " ")) {
		case "INSERTINSTANT ASC":
			f.Ascending = true
		case "INSERTINSTANT", "INSERTINSTANT DESC":
		default:
			s.field(prefix+"orderBy", "invalid", "Event logs sort by [insertInstant] ASC or DESC.")
		}
	}
	if err := s.err(); err != nil {
		return err
	}
	evs, total, err := h.db.EventLog(c.Request().Context(), f)
	if err != nil {
		return err
	}
	logs, err := h.eventLogs(c, evs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"total": total, "webhookEventLogs": logs})
}

// eventLogs builds FusionAuth's WebhookEventLog of each event from its FusionAuth
// deliveries and their attempts; events none of whose deliveries is FusionAuth's are
// left out.
func (h handlers) eventLogs(c echo.Context, evs []store.Event) ([]map[string]any, error) {
	ctx := c.Request().Context()
	out := []map[string]any{}
	for _, ev := range evs {
		ds, err := h.db.DeliveriesOfEvent(ctx, ev.ID)
		if err != nil {
			return nil, err
		}
		var ids []string
		var fa []store.Delivery
		for _, d := range ds {
			if d.Dialect == Name {
				fa, ids = append(fa, d), append(ids, d.ID)
			}
		}
		if len(fa) == 0 {
			continue
		}
		attempts, err := h.db.AttemptsOf(ctx, ids)
		if err != nil {
			return nil, err
		}
		result, updated := "Succeeded", ev.CreatedAt
		var lastAttempt time.Time
		failed, succeeded := 0, 0
		var event map[string]any
		list := []map[string]any{}
		for _, d := range fa {
			switch d.Status {
			case store.DeliveryPending:
				result = "Running"
			case store.DeliveryFailed, store.DeliveryCancelled:
				if result != "Running" {
					result = "Failed"
				}
			}
			if d.UpdatedAt.After(updated) {
				updated = d.UpdatedAt
			}
			w, err := h.db.WebhookByID(ctx, d.WebhookID)
			externalID := ""
			if err == nil {
				externalID = w.ExternalID
			}
			for _, a := range attempts[d.ID] {
				if event == nil {
					// The EventRequest as sent: {"event": {...}}.
					var sent map[string]any
					if json.Unmarshal([]byte(a.RequestBody), &sent) == nil {
						event = sent
					}
				}
				if a.ResponseStatus >= 200 && a.ResponseStatus < 300 {
					succeeded++
				} else {
					failed++
				}
				if a.StartedAt.After(lastAttempt) {
					lastAttempt = a.StartedAt
				}
				list = append(list, attemptLog(a, ev.ID, externalID))
			}
		}
		if event == nil { // nothing sent yet: the event as it will be sent
			event = map[string]any{"event": map[string]any{"type": fa[0].EventName, "id": EventID(ev.ID), "createInstant": ev.OccurredAt.UnixMilli()}}
		}
		l := map[string]any{
			"id": ev.ID, "event": event, "eventType": fa[0].EventName, "eventResult": result,
			"failedAttempts": failed, "successfulAttempts": succeeded, "attempts": list,
			"insertInstant": ev.CreatedAt.UnixMilli(), "lastUpdateInstant": updated.UnixMilli(),
		}
		if !lastAttempt.IsZero() {
			l["lastAttemptInstant"] = lastAttempt.UnixMilli()
		}
		out = append(out, l)
	}
	return out, nil
}

func attemptLog(a store.Attempt, eventID, webhookID string) map[string]any {
	result := "Failure"
	if a.ResponseStatus >= 200 && a.ResponseStatus < 300 {
		result = "Success"
	}
	call := map[string]any{"url": a.URL}
	if a.ResponseStatus != 0 {
		call["statusCode"] = a.ResponseStatus
	}
	if a.Error != "" {
		call["exception"] = a.Error
	}
	return map[string]any{
		"id": a.ID, "webhookEventLogId": eventID, "webhookId": webhookID,
		"startInstant": a.StartedAt.UnixMilli(), "endInstant": a.StartedAt.UnixMilli() + a.DurationMS,
		"attemptResult": result, "webhookCallResponse": call, "data": map[string]any{},
	}
}
