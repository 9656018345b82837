// Drives authing-node-sdk@4.0.1's ManagementClient, unchanged, against a Polyhook gateway
// through every webhook method. GATEWAY_URL, ACCESS_KEY_ID, ACCESS_KEY_SECRET, RECEIVER_URL
// and USER_POOL_ID come from the Go test (TestOfficialSDK), which also checks the JSON
// printed at the end.
const assert = require('node:assert/strict');
const { ManagementClient } = require('authing-node-sdk');

async function main() {
  const client = new ManagementClient({
    accessKeyId: process.env.ACCESS_KEY_ID,
    accessKeySecret: process.env.ACCESS_KEY_SECRET,
    host: process.env.GATEWAY_URL,
  });
  const out = {};

  let r = await client.createWebhook({
    name: 'user created', url: process.env.RECEIVER_URL, contentType: 'application/json',
    events: ['user:created', 'login'], enabled: true, secret: 's3cret',
    retryConfig: { enabled: true, count: 2, delay: 1, delayUnit: 'Second' },
  });
  assert.equal(r.statusCode, 200, JSON.stringify(r));
  const w = r.data;
  assert.match(w.webhookId, /^[0-9a-f]{24}$/);
  assert.equal(w.name, 'user created');
  assert.equal(w.url, process.env.RECEIVER_URL);
  assert.equal(w.contentType, 'application/json');
  assert.equal(w.enabled, true);
  assert.deepEqual(w.events, ['user:created', 'login']);
  assert.equal(w.secret, 's3cret');
  assert.deepEqual(w.retryConfig, { enabled: true, count: 2, delay: 1, delayUnit: 'Second' });
  assert.match(w.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  out.webhookId = w.webhookId;

  r = await client.createWebhook({ name: 'form', url: 'https://example.com/form', contentType: 'application/x-www-form-urlencoded', events: ['test'] });
  assert.equal(r.statusCode, 200, JSON.stringify(r));
  const second = r.data.webhookId;

  r = await client.listWebhooks({ page: 1, limit: 1 });
  assert.equal(r.statusCode, 200);
  assert.equal(r.data.totalCount, 2);
  assert.equal(r.data.list.length, 1);
  assert.equal(r.data.list[0].webhookId, second); // newest first
  r = await client.listWebhooks({}); // the SDK itself fails on listWebhooks() with no argument
  assert.equal(r.data.list.length, 2);

  r = await client.getWebhook({ webhookId: w.webhookId });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.data.events, ['user:created', 'login']);

  r = await client.updateWebhook({ webhookId: w.webhookId, name: 'renamed', events: ['user:created'] });
  assert.equal(r.statusCode, 200, JSON.stringify(r));
  assert.equal(r.data.name, 'renamed');
  assert.deepEqual(r.data.events, ['user:created']);
  assert.equal(r.data.url, process.env.RECEIVER_URL); // untouched fields stay

  r = await client.triggerWebhook({ webhookId: w.webhookId, requestHeaders: { 'x-test': 'yes' }, requestBody: { hello: 'world' } });
  assert.equal(r.statusCode, 200, JSON.stringify(r));
  assert.equal(r.data.response.status, 200);
  assert.deepEqual(r.data.response.data, { received: true });

  r = await client.getWebhookLogs({ webhookId: w.webhookId, page: 1, limit: 10 });
  assert.equal(r.statusCode, 200, JSON.stringify(r));
  out.logs = r.data.totalCount;

  r = await client.getWebhookEventList();
  assert.equal(r.statusCode, 200);
  assert.ok(r.data.events.some((e) => e.value === 'user:created' && e.category === 'user'));
  assert.ok(r.data.categories.some((c) => c.value === 'role'));

  // Errors arrive as envelopes with HTTP 200, so the SDK resolves them.
  r = await client.getWebhook({ webhookId: '000000000000000000000000' });
  assert.equal(r.statusCode, 404);
  assert.ok(r.apiCode && r.requestId);
  r = await client.createWebhook({ name: 'bad', url: 'ftp://example.com', contentType: 'application/json', events: ['user:created'] });
  assert.equal(r.statusCode, 400);
  r = await client.createWebhook({ name: 'bad', url: 'https://example.com', contentType: 'application/json', events: ['user:exploded'] });
  assert.equal(r.statusCode, 400);

  const stranger = new ManagementClient({ accessKeyId: process.env.ACCESS_KEY_ID, accessKeySecret: 'wrong', host: process.env.GATEWAY_URL });
  r = await stranger.listWebhooks({});
  assert.equal(r.statusCode, 401);
  assert.equal(r.apiCode, 1300);

  r = await client.deleteWebhook({ webhookIds: [second, '000000000000000000000000'] });
  assert.equal(r.statusCode, 200);
  assert.equal(r.data.success, true);
  r = await client.listWebhooks({});
  out.remaining = r.data.list.map((x) => x.webhookId);
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
