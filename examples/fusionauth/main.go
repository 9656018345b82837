// Command fusionauth mints a FusionAuth API key with the native client and creates a
// webhook with the FusionAuth dialect's client, as an application written against
// FusionAuth would; then it lists the gateway's webhooks through the native API.
//
//	POLYHOOK_URL=http://127.0.0.1:8080 POLYHOOK_ADMIN_TOKEN=phk_... \
//		go run ./fusionauth https://receiver.example.com/fusionauth
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/polyhook/polyhook/client"
	"github.com/polyhook/polyhook/client/fusionauth"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fusionauth <receiver URL>")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Getenv("POLYHOOK_URL"), os.Getenv("POLYHOOK_ADMIN_TOKEN"), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "fusionauth:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, baseURL, token, receiver string) error {
	admin, err := client.New(baseURL, token)
	if err != nil {
		return err
	}
	minted, err := admin.CreateCredentialWithResponse(ctx, client.CredentialRequest{Dialect: "fusionauth"})
	if err != nil {
		return err
	}
	var apiKey string
	if minted.JSON201 != nil {
		apiKey, _ = minted.JSON201.AdditionalProperties["apiKey"].(string)
	}
	if apiKey == "" {
		return fmt.Errorf("mint: %s %s", minted.Status(), minted.Body)
	}
	fa, err := fusionauth.New(baseURL, apiKey)
	if err != nil {
		return err
	}
	global, connect, read := true, int32(1000), int32(2000)
	created, err := fa.CreateWebhookWithResponse(ctx, fusionauth.WebhookRequest{Webhook: &fusionauth.Webhook{
		Url:            &receiver,
		Global:         &global,
		ConnectTimeout: &connect,
		ReadTimeout:    &read,
		EventsEnabled:  &map[string]bool{"user.create": true},
	}})
	if err != nil {
		return err
	}
	if created.JSON200 == nil {
		return fmt.Errorf("create webhook: %s %s", created.Status(), created.Body)
	}
	dialect := "fusionauth"
	list, err := admin.ListWebhooksWithResponse(ctx, &client.ListWebhooksParams{Dialect: &dialect})
	if err != nil {
		return err
	}
	if list.JSON200 == nil {
		return fmt.Errorf("list webhooks: %s %s", list.Status(), list.Body)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"fusionauthId": created.JSON200.Webhook.Id, "webhooks": list.JSON200.Total})
}
