package native

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	api "github.com/polyhook/polyhook/gen/polyhookapi"
	"github.com/polyhook/polyhook/store"
)

// ListDialects names the registered dialects: those with their own API, and those the
// engine only delivers for (the native subscriptions').
func (h handlers) ListDialects(c echo.Context) error {
	out := []api.DialectInfo{}
	seen := map[string]bool{}
	for _, n := range h.srv.DialectNames() {
		out = append(out, api.DialectInfo{Name: n, Api: true})
		seen[n] = true
	}
	for _, n := range h.engine.Dialects() {
		if !seen[n] {
			out = append(out, api.DialectInfo{Name: n})
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"dialects": out})
}

// GetWebhookStats answers a webhook's attempts over the last hour and day.
func (h handlers) GetWebhookStats(c echo.Context, id string) error {
	ctx := c.Request().Context()
	if _, err := h.db.WebhookByID(ctx, id); err != nil {
		return err
	}
	now := h.db.Now()
	var out api.WebhookStats
	for _, win := range []struct {
		d   time.Duration
		out *api.AttemptWindow
	}{{time.Hour, &out.Hour}, {24 * time.Hour, &out.Day}} {
		w, err := h.db.WebhookAttempts(ctx, id, now.Add(-win.d))
		if err != nil {
			return err
		}
		*win.out = attemptWindowWire(w)
	}
	return c.JSON(http.StatusOK, out)
}

func attemptWindowWire(w store.AttemptWindow) api.AttemptWindow {
	out := api.AttemptWindow{Since: w.Since, Attempts: w.Attempts, Succeeded: w.Succeeded}
	if w.Attempts > 0 {
		rate := float32(w.Succeeded) / float32(w.Attempts)
		out.SuccessRate = &rate
		out.P50Ms, out.P95Ms = &w.P50, &w.P95
	}
	return out
}
