// Drives @polyhook/client (the built package) against a running gateway: subscribe,
// publish, list deliveries until the event is delivered, retry it, and manage a webhook
// through a dialect's client. Run by TestTypeScriptSDK with POLYHOOK_URL,
// POLYHOOK_ADMIN_TOKEN and RECEIVER_URL set; prints what it saw as JSON.
import assert from "node:assert/strict";

import { createClient, createFusionAuthClient } from "../dist/index.js";

const baseUrl = process.env.POLYHOOK_URL;
const receiver = process.env.RECEIVER_URL;
const ph = createClient({ baseUrl, token: process.env.POLYHOOK_ADMIN_TOKEN });

// Subscribe.
const sub = await ph.POST("/v1/webhooks", {
  body: { url: `${receiver}/ts`, events: ["user.created"], description: "typescript" },
});
assert.equal(sub.response.status, 201, JSON.stringify(sub.error));
assert.match(sub.data.secret, /^whsec_/);

// A bad request answers the native error envelope, typed.
const bad = await ph.POST("/v1/webhooks", { body: { url: "nope", events: ["user.created"] } });
assert.equal(bad.response.status, 400);
assert.equal(bad.error.error.code, "invalid");

// Publish.
const pub = await ph.POST("/v1/events", {
  body: { type: "user.created", data: { user: { id: "u-ts", email: "grace@example.com" } } },
});
assert.equal(pub.response.status, 201, JSON.stringify(pub.error));

// List deliveries until it is delivered.
let delivery;
for (let i = 0; i < 200 && !delivery; i++) {
  const list = await ph.GET("/v1/deliveries", { params: { query: { eventId: pub.data.id } } });
  assert.equal(list.response.status, 200);
  delivery = list.data.deliveries.find((d) => d.status === "succeeded");
  if (!delivery) await new Promise((r) => setTimeout(r, 100));
}
assert.ok(delivery, "the event was not delivered");

// Retry.
const retried = await ph.POST("/v1/deliveries/{deliveryId}/retry", { params: { path: { deliveryId: delivery.id } } });
assert.equal(retried.response.status, 202, JSON.stringify(retried.error));

// A dialect's client: mint a FusionAuth key, create a webhook with it.
const cred = await ph.POST("/v1/credentials", { body: { dialect: "fusionauth" } });
assert.equal(cred.response.status, 201);
const fa = createFusionAuthClient({ baseUrl, apiKey: cred.data.apiKey });
const created = await fa.POST("/api/webhook", {
  body: { webhook: { url: `${receiver}/fa`, connectTimeout: 1000, readTimeout: 2000, global: true, eventsEnabled: { "user.create": true } } },
});
assert.equal(created.response.status, 200, JSON.stringify(created.error));
const all = await ph.GET("/v1/webhooks", {});

console.log(
  JSON.stringify({
    webhookId: sub.data.id,
    secret: sub.data.secret,
    eventId: pub.data.id,
    deliveryId: delivery.id,
    retried: retried.data.status,
    fusionauthId: created.data.webhook.id,
    webhooks: all.data.total,
  }),
);
