// Command quickstart subscribes an endpoint to user.created through the native API,
// publishes one such event, waits until it is delivered, sends it again with a retry and
// prints what happened as JSON.
//
//	POLYHOOK_URL=http://127.0.0.1:8080 POLYHOOK_ADMIN_TOKEN=phk_... \
//		go run ./quickstart https://receiver.example.com/hooks
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/polyhook/polyhook/client"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: quickstart <receiver URL>")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Getenv("POLYHOOK_URL"), os.Getenv("POLYHOOK_ADMIN_TOKEN"), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, baseURL, token, receiver string) error {
	c, err := client.New(baseURL, token)
	if err != nil {
		return err
	}
	// Subscribe: the answer holds the secret the deliveries are signed with.
	hook, err := c.CreateWebhookWithResponse(ctx, client.NewWebhook{
		Url:         receiver,
		Events:      []string{"user.created"},
		Description: ptr("quickstart"),
	})
	if err != nil {
		return err
	}
	if hook.JSON201 == nil {
		return fmt.Errorf("subscribe: %s %s", hook.Status(), hook.Body)
	}
	// Publish.
	ev, err := c.PublishEventWithResponse(ctx, client.PublishRequest{
		Type: "user.created",
		Data: map[string]any{"user": map[string]any{"id": "u-1", "email": "ada@example.com"}},
	})
	if err != nil {
		return err
	}
	if ev.JSON201 == nil {
		return fmt.Errorf("publish: %s %s", ev.Status(), ev.Body)
	}
	// Wait for the delivery to succeed.
	d, err := waitDelivered(ctx, c, ev.JSON201.Id)
	if err != nil {
		return err
	}
	// Send it again.
	retried, err := c.RetryDeliveryWithResponse(ctx, d.Id)
	if err != nil {
		return err
	}
	if retried.JSON202 == nil {
		return fmt.Errorf("retry: %s %s", retried.Status(), retried.Body)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"webhookId":  hook.JSON201.Id,
		"secret":     hook.JSON201.Secret,
		"eventId":    ev.JSON201.Id,
		"deliveryId": d.Id,
		"status":     d.Status,
		"retried":    retried.JSON202.Status,
	})
}

func waitDelivered(ctx context.Context, c *client.ClientWithResponses, eventID string) (*client.Delivery, error) {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		list, err := c.ListDeliveriesWithResponse(ctx, &client.ListDeliveriesParams{EventId: &eventID})
		if err != nil {
			return nil, err
		}
		if list.JSON200 == nil {
			return nil, fmt.Errorf("list deliveries: %s %s", list.Status(), list.Body)
		}
		for _, d := range list.JSON200.Deliveries {
			if d.Status == client.DeliveryStatusSucceeded {
				return &d, nil
			}
		}
	}
	return nil, errors.New("the event was not delivered within 20s")
}

func ptr[T any](v T) *T { return &v }
