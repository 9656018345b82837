package native

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/store"
)

// GetStats answers what a dashboard shows: activity per minute, the backlog and the
// webhooks' health.
func (h handlers) GetStats(c echo.Context, p api.GetStatsParams) error {
	n := 60
	if p.Minutes != nil {
		n = *p.Minutes
	}
	if n < 1 || n > 1440 {
		return store.Errorf(store.EINVALID, "minutes must be between 1 and 1440.")
	}
	ctx := c.Request().Context()
	minutes, err := h.db.Activity(ctx, h.db.Now(), n)
	if err != nil {
		return err
	}
	var out api.Stats
	out.Since = minutes[0].Start
	out.Until = minutes[len(minutes)-1].Start.Add(time.Minute)
	out.Minutes = make([]struct {
		Failed    int64     `json:"failed"`
		Published int64     `json:"published"`
		Start     time.Time `json:"start"`
		Succeeded int64     `json:"succeeded"`
	}, len(minutes))
	for i, m := range minutes {
		out.Minutes[i].Start, out.Minutes[i].Published, out.Minutes[i].Succeeded, out.Minutes[i].Failed = m.Start, m.Published, m.Succeeded, m.Failed
	}
	if out.Backlog.Pending, _, err = h.db.Backlog(ctx); err != nil {
		return err
	}
	oldest, err := h.db.OldestPending(ctx)
	if err != nil {
		return err
	}
	if oldest != nil {
		out.Backlog.OldestPendingId, out.Backlog.OldestPendingAt = &oldest.ID, &oldest.CreatedAt
	}
	if out.Webhooks.Total, out.Webhooks.Failing, out.Webhooks.Disabled, err = h.db.WebhookHealth(ctx); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
