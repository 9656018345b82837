// Drives @fusionauth/typescript-client@1.69.0, unchanged, against a Polyhook gateway.
// GATEWAY_URL and API_KEY come from the Go test (TestOfficialClient), which also checks
// the JSON this prints.
import assert from 'node:assert/strict';
import pkg from '@fusionauth/typescript-client';

const { FusionAuthClient } = pkg;
const client = new FusionAuthClient(process.env.API_KEY, process.env.GATEWAY_URL);
const fixedId = '00000000-0000-4000-8000-00000000c11e';
const tenantA = '7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80';
const tenantB = '1e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f81';
const out = {};

// createWebhook without an id: the server generates one.
let r = await client.createWebhook(null, {
  webhook: {
    url: 'https://sdk.example.com/b', connectTimeout: 1000, readTimeout: 2000,
    description: 'from the SDK', eventsEnabled: { 'user.create': true, 'user.delete': false },
    global: true, headers: { 'X-Sdk': 'yes' }, data: { team: 'games' },
  },
});
assert.equal(r.statusCode, 200);
const generated = r.response.webhook;
assert.match(generated.id, /^[0-9a-f-]{36}$/);
assert.equal(generated.url, 'https://sdk.example.com/b');
assert.equal(generated.connectTimeout, 1000);
assert.equal(generated.readTimeout, 2000);
assert.equal(generated.description, 'from the SDK');
assert.deepEqual(generated.eventsEnabled, { 'user.create': true, 'user.delete': false });
assert.equal(generated.global, true);
assert.deepEqual(generated.tenantIds, []);
assert.deepEqual(generated.headers, { 'X-Sdk': 'yes' });
assert.deepEqual(generated.data, { team: 'games' });
assert.equal(typeof generated.insertInstant, 'number');
assert.equal(generated.insertInstant, generated.lastUpdateInstant);
out.generatedId = generated.id;

// createWebhook with an id.
r = await client.createWebhook(fixedId, {
  webhook: { url: 'https://sdk.example.com/a', connectTimeout: 500, readTimeout: 600, tenantIds: [tenantA] },
});
assert.equal(r.statusCode, 200);
assert.equal(r.response.webhook.id, fixedId);
assert.deepEqual(r.response.webhook.tenantIds, [tenantA]);
const insertInstant = r.response.webhook.insertInstant;

// retrieveWebhook and retrieveWebhooks (sorted by URL).
r = await client.retrieveWebhook(fixedId);
assert.equal(r.statusCode, 200);
assert.equal(r.response.webhook.url, 'https://sdk.example.com/a');
assert.equal(r.response.webhook.global, false);
r = await client.retrieveWebhooks();
assert.deepEqual(r.response.webhooks.map((w) => w.url), ['https://sdk.example.com/a', 'https://sdk.example.com/b']);

// updateWebhook replaces; insertInstant survives.
await new Promise((res) => setTimeout(res, 5));
r = await client.updateWebhook(fixedId, {
  webhook: { url: 'https://sdk.example.com/a2', connectTimeout: 700, readTimeout: 800, tenantIds: [tenantA], description: 'updated' },
});
assert.equal(r.statusCode, 200);
assert.equal(r.response.webhook.url, 'https://sdk.example.com/a2');
assert.equal(r.response.webhook.connectTimeout, 700);
assert.equal(r.response.webhook.insertInstant, insertInstant);
assert.ok(r.response.webhook.lastUpdateInstant > insertInstant);

// patchWebhook sends application/json: fields merge, arrays append.
r = await client.patchWebhook(fixedId, { webhook: { description: 'patched', tenantIds: [tenantB] } });
assert.equal(r.statusCode, 200);
assert.equal(r.response.webhook.description, 'patched');
assert.deepEqual(r.response.webhook.tenantIds, [tenantA, tenantB]);
assert.equal(r.response.webhook.url, 'https://sdk.example.com/a2');

// searchWebhooks (body) and searchWebhooksByParameters (unset arguments arrive as "undefined").
r = await client.searchWebhooks({ search: { url: 'SDK.example', numberOfResults: 1, orderBy: 'url ASC' } });
assert.equal(r.statusCode, 200);
assert.equal(r.response.total, 2);
assert.deepEqual(r.response.webhooks.map((w) => w.id), [fixedId]);
r = await client.searchWebhooksByParameters('patch', undefined, undefined, undefined, undefined, undefined);
assert.equal(r.response.total, 1);
assert.equal(r.response.webhooks[0].id, fixedId);
r = await client.searchWebhooksByParameters(undefined, undefined, undefined, undefined, tenantB, undefined);
assert.deepEqual(r.response.webhooks.map((w) => w.id).sort(), [fixedId, generated.id].sort()); // tenant's + global
out.searchTotal = r.response.total;

// deleteWebhook: 200 with no body must resolve, not fail on JSON parsing.
r = await client.deleteWebhook(fixedId);
assert.equal(r.statusCode, 200);
assert.equal(r.exception, undefined);

// Not found and unauthorized reject with the status and no body.
await assert.rejects(client.retrieveWebhook(fixedId), (e) => e.statusCode === 404 && e.exception === undefined);
await assert.rejects(client.deleteWebhook(fixedId), (e) => e.statusCode === 404);
const stranger = new FusionAuthClient('not-a-key', process.env.GATEWAY_URL);
await assert.rejects(stranger.retrieveWebhooks(), (e) => e.statusCode === 401);

// A validation error arrives as FusionAuth's Errors object.
await assert.rejects(client.createWebhook(null, { webhook: { url: 'nope', connectTimeout: 1, readTimeout: 1 } }), (e) => {
  assert.equal(e.statusCode, 400);
  assert.equal(e.exception.fieldErrors['webhook.url'][0].code, '[invalid]webhook.url');
  return true;
});

// Delivery logs where FusionAuth puts them (the Go test stored an event sent to the
// generated webhook: one failed attempt, then a successful one).
const logId = process.env.EVENT_LOG_ID;
for (let i = 0; ; i++) { // the Go test attaches the event as soon as the webhook exists
  try {
    r = await client.retrieveWebhookEventLog(logId);
    if (r.response.webhookEventLog.attempts.length === 2) break;
  } catch (e) {
    if (i > 200) throw e;
  }
  await new Promise((res) => setTimeout(res, 10));
}
assert.equal(r.statusCode, 200);
const log = r.response.webhookEventLog;
assert.equal(log.id, logId);
assert.equal(log.eventType, 'user.create');
assert.equal(log.eventResult, 'Succeeded');
assert.equal(log.failedAttempts, 1);
assert.equal(log.successfulAttempts, 1);
assert.equal(log.event.event.type, 'user.create');
assert.equal(log.attempts.length, 2);
assert.equal(log.attempts[0].webhookId, generated.id);
assert.equal(log.attempts[0].attemptResult, 'Failure');
assert.equal(log.attempts[0].webhookCallResponse.statusCode, 500);
r = await client.retrieveWebhookAttemptLog(log.attempts[1].id);
assert.equal(r.response.webhookAttemptLog.attemptResult, 'Success');
assert.equal(r.response.webhookAttemptLog.webhookEventLogId, logId);
r = await client.searchWebhookEventLogs({ search: { eventResult: 'Succeeded', eventType: 'user.create', numberOfResults: 10 } });
assert.equal(r.response.total, 1);
assert.equal(r.response.webhookEventLogs[0].id, logId);
r = await client.searchWebhookEventLogs({ search: { eventResult: 'Failed' } });
assert.equal(r.response.total, 0);
await assert.rejects(client.retrieveWebhookEventLog('00000000-0000-4000-8000-000000000000'), (e) => e.statusCode === 404);

r = await client.retrieveWebhooks();
out.remaining = r.response.webhooks.map((w) => w.id);
console.log(JSON.stringify(out));
