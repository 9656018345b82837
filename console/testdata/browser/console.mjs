// Drives the console in headless Chromium; run by TestBrowser (console_test.go), which
// starts the gateway and the receiver and passes them in the environment.
import { chromium } from 'playwright-core';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const { BASE, TOKEN, RECEIVER, EMBED, CHROMIUM, ARTIFACTS, SECRET, USER_DATA } = process.env;
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const heal = async (path) => check((await fetch(`${RECEIVER}/control/heal?path=${path}`)).ok, `the receiver heals ${path}`);
// admin calls the native API as the product's backend would.
async function admin(method, path, body) {
  const r = await fetch(BASE + path, {
    method, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  check(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
const T = 15000;

function check(ok, message) {
  if (!ok) throw new Error(message);
}

const context = await chromium.launchPersistentContext(USER_DATA, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
const outside = [];
await context.route((url) => !url.href.startsWith(BASE) && !url.href.startsWith(`${EMBED}/embed`), (route) => {
  outside.push(route.request().url());
  return route.abort();
});
// axe-core, served from the test's own route on the gateway's origin: the pages' CSP
// (script-src 'self') lets it load like the pages' own scripts, and nothing else.
await context.route(`${BASE}/__axe.js`, (route) => route.fulfill({ body: AXE, contentType: 'text/javascript' }));
const problems = [];
// The only error answers expected: the refused sign-in, the search for a missing event,
// an id that is not there, and the portal's session once it has ended.
const expected = (status, method, path) => (status === 401 && path === '/v1/stats?minutes=1')
  || (status === 404 && /^\/v1\/(events\/nope|webhooks\/nope)$/.test(path))
  || (status === 404 && /^\/portal\/v1\/webhooks\/[^/]+(\/stats)?$/.test(path) && method === 'GET' && expectMissing)
  || (status === 401 && path === '/portal/v1/session' && expectEnded);
let expectMissing = false;
let expectEnded = false;
function watch(p) {
  p.setDefaultTimeout(T);
  p.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  p.on('console', (msg) => {
    // Failed requests are checked below, by address.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console: ${msg.text()}`);
  });
  p.on('response', (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400 && !expected(r.status(), r.request().method(), u.pathname + u.search)) {
      problems.push(`${r.status()} from ${r.request().method()} ${u.pathname}${u.search}`);
    }
  });
  return p;
}
let page = watch(context.pages()[0] || await context.newPage());
const shots = [];
async function shot(name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  shots.push(`${name}.png`);
}

// visit checks the page as it stands: axe-core finds no serious or critical violation,
// nothing scrolls sideways at 360 px, and it is screenshot at 1280 and 360 px.
const axeSummary = {};
async function visit(name) {
  await page.waitForTimeout(150); // let a refresh in flight land
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.addScriptTag({ url: `${BASE}/__axe.js` });
  }
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
  });
  const bad = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  axeSummary[name] = found.map((v) => `${v.id}:${v.impact}`);
  check(bad.length === 0, `axe on ${name}: ${JSON.stringify(bad)}`);
  await shot(`${name}-1280`);
  await page.setViewportSize({ width: 360, height: 780 });
  await page.waitForTimeout(100);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(wide <= 0, `${name} scrolls sideways by ${wide} px at 360 px`);
  await shot(`${name}-360`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

// Every visible control must have a name a screen reader can announce.
async function labelled(where) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('input, select, textarea, button, a[href], summary')) {
      if (!el.getClientRects().length) continue;
      let name = el.getAttribute('aria-label') || '';
      if (!name && el.getAttribute('aria-labelledby')) {
        name = el.getAttribute('aria-labelledby').split(' ').map((id) => document.getElementById(id)?.textContent || '').join(' ');
      }
      if (!name && el.labels && el.labels.length) name = [...el.labels].map((l) => l.textContent).join(' ');
      if (!name && ['BUTTON', 'A', 'SUMMARY'].includes(el.tagName)) name = el.textContent;
      if (!name.trim()) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
  check(bad.length === 0, `unlabelled controls on ${where}: ${bad.join(' | ')}`);
}

// heading waits for the page titled text and checks where the focus went: to the heading,
// so that a screen reader announces the new page (the sign-in page focuses its field).
async function heading(text, focus = 'H1') {
  await page.getByRole('heading', { level: 1, name: text }).waitFor();
  try {
    await page.waitForFunction((tag) => document.activeElement && document.activeElement.tagName === tag, focus, { timeout: 5000 });
  } catch {
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.tagName);
    throw new Error(`after navigating to "${text}" the focus is on ${focused}, not ${focus}`);
  }
}


// --- sign in -------------------------------------------------------------------------
await page.goto(`${BASE}/`);
check(page.url() === `${BASE}/console/`, `/ should lead to /console/, got ${page.url()}`);
await heading('Sign in', 'INPUT');
await labelled('sign in');
await visit('01-sign-in');
const tokenBox = page.getByLabel('Admin token');
await tokenBox.fill('not-the-token');
await tokenBox.press('Enter');
const refusal = page.getByRole('alert').filter({ hasText: 'not the gateway\u2019s admin token' });
await refusal.waitFor();
check(await tokenBox.getAttribute('aria-invalid') === 'true', 'a refused token marks the field invalid');
check(await page.evaluate(() => sessionStorage.length) === 0, 'a refused token must not be kept');
await visit('02-sign-in-refused');
await tokenBox.fill(TOKEN);
await tokenBox.press('Enter');
await heading('Overview');
check(await page.evaluate((k) => sessionStorage.getItem('polyhook.adminToken') === k && localStorage.length === 0, TOKEN),
  'the token is kept in session storage only');

// --- overview: the chart renders -------------------------------------------------------
const chart = page.locator('svg.chart');
await chart.waitFor();
check(await chart.locator('g.minute').count() === 60, 'the chart has one slot per minute of the hour');
check(await chart.locator('polyline.published').count() === 1, 'the chart draws the published line');
const chartName = await page.evaluate(() => {
  const svg = document.querySelector('svg.chart');
  return document.getElementById(svg.getAttribute('aria-labelledby')).textContent;
});
check(/per minute/.test(chartName), `the chart is labelled: ${chartName}`);
await labelled('overview');

// --- keyboard: from the heading back to the sections and the skip link ---------------
const shiftTabTo = async (want) => {
  for (let i = 1; i <= 15; i++) {
    await page.keyboard.press('Shift+Tab');
    if (await page.evaluate(() => document.activeElement.textContent.trim()) === want) return;
  }
  throw new Error(`Shift+Tab never reached "${want}"`);
};
await shiftTabTo('Skip to content');
await page.keyboard.press('Enter');
check(await page.evaluate(() => document.activeElement.id) === 'main' && page.url().endsWith('#/overview'), 'the skip link moves the focus to the content and stays on the page');
await page.keyboard.press('Tab');
check(await page.evaluate(() => document.getElementById('main').contains(document.activeElement)), 'Tab after the skip link lands in the content');
// The page refreshes every two seconds and re-renders that link: the focus stays on it.
const focused = await page.evaluateHandle(() => document.activeElement);
const focusedText = await page.evaluate((el) => el.textContent.trim(), focused);
await page.waitForFunction((el) => !el.isConnected, focused, { timeout: T });
check(await page.evaluate((want) => document.getElementById('main').contains(document.activeElement)
  && document.activeElement.textContent.trim() === want, focusedText), `the focus stays on "${focusedText}" when the page refreshes`);
await page.getByRole('heading', { level: 1 }).focus();
await shiftTabTo('Publish a test event');
await page.keyboard.press('Enter');
await heading('Publish a test event');
check(page.url().endsWith('#/publish'), `Enter on the nav link opens the page: ${page.url()}`);
await labelled('publish');

// --- publish, with the keyboard only ---------------------------------------------------
const types = await page.getByLabel('Event type').locator('option').allTextContents();
check(types.some((t) => t.startsWith('user.created')), `the catalogue's types are offered: ${types.slice(0, 5)}`);
await page.getByLabel('Event type').selectOption('user.created');
await page.getByLabel('Event id (optional)').fill('evt-console-1');
await page.getByLabel('Data (a JSON object)').fill('{"user": {"id": "u-1", "email": "ada@example.com"}}');
await page.getByRole('button', { name: 'Publish' }).focus();
await page.keyboard.press('Enter');
const opened = page.getByRole('link', { name: 'open event evt-console-1' });
await opened.waitFor();
await visit('03-publish');
await page.keyboard.press('Enter'); // the link has the focus
await heading('Event evt-console-1');

// --- the failing delivery appears without a reload -------------------------------------
await page.evaluate(() => { window.stillHere = true; });
const deliveries = page.locator('table').filter({ hasText: 'Deliveries of this event' });
await deliveries.getByText('pending', { exact: true }).waitFor();
check((await fetch(`${RECEIVER}/control/release`)).ok, 'the receiver answers from now on');
await deliveries.getByText('failed', { exact: true }).waitFor({ timeout: 20000 });
check(await page.evaluate(() => window.stillHere === true), 'the event page updated without a reload');
await labelled('event');
await visit('04-event-failed');

// --- the overview shows the endpoint failing and the delivery failed ----------------------
await page.getByRole('link', { name: 'Overview' }).click();
await heading('Overview');
const troubled = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Failing and disabled endpoints' }) });
await troubled.getByRole('row').filter({ hasText: '127.0.0.1' }).getByText('failing', { exact: true }).waitFor();
const lost = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Recent failed deliveries' }) });
await lost.getByRole('link', { name: 'evt-console-1' }).waitFor();
await page.locator('svg.chart rect.fail').first().waitFor({ state: 'attached' });
await visit('05-overview-failing');
await page.goBack();
await heading('Event evt-console-1');

// --- the delivery: its attempt, secrets hidden, retry -----------------------------------
await deliveries.locator('a.mono').first().click();
await heading('Delivery');
await page.getByRole('heading', { name: /Attempt 1: answered 500/ }).waitFor();
await page.getByText('receiver is down').waitFor();
await page.getByText('Request headers', { exact: true }).first().click();
await page.getByText('[redacted]').first().waitFor();
const text = await page.locator('main').innerText();
check(!text.includes(SECRET) && !text.includes(Buffer.from(`ops:${SECRET}`).toString('base64')), 'a webhook\u2019s secret is shown');
check(!text.includes(TOKEN) && !page.url().includes(TOKEN), 'the admin token is shown or in the address');
await labelled('delivery');
await visit('06-delivery-failed');
await page.evaluate(() => { window.stillHere = true; });
await heal('/hook');
await page.getByRole('button', { name: 'Retry now' }).click();
await page.getByRole('heading', { name: /Attempt 2: answered 200/ }).waitFor({ timeout: 20000 });
await page.locator('dl.props').first().getByText('succeeded', { exact: true }).waitFor();
check(await page.evaluate(() => window.stillHere === true), 'the delivery page updated without a reload');
await visit('07-delivery-succeeded');

// --- overview again: the chart shows the failure and the success ------------------------
await page.getByRole('link', { name: 'Overview' }).click();
await heading('Overview');
await chart.locator('rect.fail').first().waitFor({ state: 'attached' });
await chart.locator('rect.ok').first().waitFor({ state: 'attached' });
await page.getByRole('row').filter({ hasText: 'authing.example.com' }).waitFor();
await visit('08-overview');

// --- webhooks of every dialect, and the actions ------------------------------------------
await page.getByRole('link', { name: 'Webhooks' }).click();
await heading('Webhooks');
for (const d of ['fusionauth', 'xsolla', 'nursa', 'authing']) {
  await page.getByRole('cell', { name: d, exact: true }).waitFor();
}
await labelled('webhooks');
await page.getByLabel('Health').selectOption('disabled');
await page.getByRole('button', { name: 'Filter' }).click();
await page.getByText('1 webhook.', { exact: true }).waitFor(); // the filtered list, not the one before
await page.getByRole('row').filter({ hasText: 'authing.example.com' }).waitFor();
check(await page.getByRole('row').filter({ hasText: 'nursa.example.com' }).count() === 0, 'the health filter keeps healthy webhooks out');
await visit('09-webhooks');
await page.getByLabel('Health').selectOption('');
await page.getByRole('button', { name: 'Filter' }).click();
await page.getByRole('link', { name: /\/hook$/ }).filter({ hasText: '127.0.0.1' }).click();
await heading('Webhook');
await labelled('webhook');
await page.getByRole('button', { name: 'Send test event' }).click();
await page.locator('.result').getByText('succeeded', { exact: true }).waitFor();
await page.getByRole('button', { name: 'Disable deliveries' }).click();
await page.getByRole('button', { name: 'Enable deliveries' }).waitFor();
await page.locator('dl.props').getByText('disabled', { exact: true }).waitFor();
await page.getByRole('button', { name: 'Enable deliveries' }).click();
await page.getByRole('button', { name: 'Disable deliveries' }).waitFor();
await page.getByRole('button', { name: 'Rotate signing secret' }).click();
await page.getByText(/^whsec_/).waitFor();
await page.getByRole('button', { name: 'Recover' }).click();
await page.getByText(/^Done: attempted \d+ of \d+: \d+ succeeded, \d+ failed again, \d+ waiting for a retry\.$/).waitFor({ timeout: 20000 });
await visit('10-webhook');

// --- events: search by id, type and tenant -----------------------------------------------
await page.getByRole('link', { name: 'Events' }).click();
await heading('Events');
await labelled('events');
await page.getByLabel('Type').selectOption('user.created');
await page.getByRole('button', { name: 'Search' }).click();
await page.waitForURL(/#\/events\?type=user\.created$/);
await page.getByRole('link', { name: 'evt-console-1' }).waitFor();
await page.getByLabel('Tenant').fill('7e3f4a0c-1b5d-4c8e-9f2a-3d4b5c6e7f80');
await page.getByRole('button', { name: 'Search' }).click();
await page.getByText('No event matches.').waitFor();
await page.getByLabel('Tenant').fill('');
await page.getByLabel('Event id').fill('nope');
await page.getByRole('button', { name: 'Search' }).click();
await page.getByRole('alert').filter({ hasText: 'No event has the id' }).waitFor();
await page.getByLabel('Event id').fill('evt-console-1');
await page.getByLabel('Event id').press('Enter');
await heading('Event evt-console-1');
await page.getByRole('link', { name: 'Events' }).click();
await heading('Events');
await visit('11-events');

// --- lists page on: 55 events of a type no webhook takes ---------------------------------
for (let i = 0; i < 55; i++) await admin('POST', '/v1/events', { id: `evt-page-${i}`, type: 'user.deleted', data: {} });
await page.goto(`${BASE}/console/#/events?type=user.deleted`);
await heading('Events');
await page.getByText('55 events, newest first; 1\u201350 shown.').waitFor();
await page.getByRole('navigation', { name: 'Pages of events' }).getByRole('link', { name: 'Next page' }).click();
await page.waitForURL(/#\/events\?type=user\.deleted&cursor=/);
const secondPage = page.url();
await page.getByText('55 events, newest first; 51\u201355 shown.').waitFor();
await page.getByRole('link', { name: 'evt-page-0', exact: true }).waitFor();
await page.getByRole('link', { name: 'Previous page' }).click();
await page.getByText('55 events, newest first; 1\u201350 shown.').waitFor();
// Pages are by cursor: events published meanwhile do not shift the second page, the
// browser's history moves through the pages as the links do, and a bookmarked page
// offers the first.
for (let i = 55; i < 58; i++) await admin('POST', '/v1/events', { id: `evt-page-${i}`, type: 'user.deleted', data: {} });
await page.goto(secondPage);
await page.reload();
await page.getByText('58 events, newest first; a later page shown.').waitFor();
check(await page.getByRole('row').filter({ hasText: 'evt-page-' }).count() === 5, 'the bookmarked second page still holds the 5 oldest events');
await page.getByRole('link', { name: 'First page' }).click();
await page.getByText('58 events, newest first; 1\u201350 shown.').waitFor();
await page.getByRole('link', { name: 'evt-page-57', exact: true }).waitFor();
await page.getByRole('navigation', { name: 'Pages of events' }).getByRole('link', { name: 'Next page' }).click();
await page.getByText('58 events, newest first; 51\u201358 shown.').waitFor();
await page.goBack();
await page.getByText('58 events, newest first; 1\u201350 shown.').waitFor();
check(await page.getByRole('link', { name: 'Previous page' }).count() === 0, 'the first page offers no previous page');

// --- the overview in the dark colour scheme ---------------------------------------------
await page.emulateMedia({ colorScheme: 'dark' });
await page.getByRole('link', { name: 'Overview' }).click();
await heading('Overview');
await page.locator('svg.chart').waitFor();
await visit('12-overview-dark');
await page.emulateMedia({ colorScheme: 'light' });

// --- a native webhook: made, changed, its secret revealed --------------------------------
await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
await heading('Webhooks');
await page.getByRole('link', { name: 'New webhook' }).click();
await heading('New webhook');
await labelled('new webhook');
await page.getByRole('button', { name: 'Create webhook' }).click();
await page.getByRole('alert').filter({ hasText: 'Enter the endpoint' }).waitFor();
await page.getByLabel('Endpoint URL').fill(`${RECEIVER}/native`);
await page.getByRole('checkbox', { name: /^user\.created/ }).check();
await page.getByLabel('Tenant (optional)').fill('acme');
await page.getByLabel('Description (optional)').fill('Acme game server');
await page.getByRole('button', { name: 'Add a header' }).click();
check(await page.evaluate(() => document.activeElement.name === 'headerName'), 'Add a header moves the focus to the new name');
await page.keyboard.type('X-Team');
await page.getByLabel('Header 1 value').fill('red-team-secret');
await visit('13-webhook-new');
await page.getByRole('button', { name: 'Create webhook' }).click();
await page.getByRole('heading', { name: 'Webhook created' }).waitFor();
check(/^whsec_/.test(await page.locator('.secret code').textContent()), 'the new webhook\u2019s secret is shown');
await page.getByRole('link', { name: 'Open the webhook' }).click();
await heading('Webhook');
const nativeId = page.url().split('/').pop();
await page.locator('dl.props').getByText('X-Team', { exact: true }).waitFor();
await page.locator('dl.props').getByText('Circuit', { exact: true }).waitFor(); // the breaker every replica shares
check(!(await page.locator('main').innerText()).includes('red-team-secret'), 'a custom header\u2019s value is shown');
await page.getByRole('link', { name: 'Edit' }).click();
await heading('Edit webhook');
await page.getByLabel('Description (optional)').fill('Acme game server, EU');
await page.getByLabel('Filter (optional)').fill('{"tenant": "acme"');
await page.getByRole('button', { name: 'Save changes' }).click();
await page.getByRole('alert').filter({ hasText: 'The filter is not JSON' }).waitFor();
await page.getByLabel('Filter (optional)').fill('{"tenant": "acme"}');
await page.getByRole('button', { name: 'Save changes' }).click();
await heading('Webhook');
await page.locator('dl.props').getByText('Acme game server, EU').waitFor();
await page.locator('dl.props pre.filter').filter({ hasText: '"tenant": "acme"' }).waitFor();
await page.getByRole('button', { name: 'Reveal signing secret' }).click();
await page.locator('.secret code').filter({ hasText: /^whsec_/ }).waitFor();
await page.getByRole('table', { name: 'Attempts, success rate and latency' }).getByRole('cell', { name: 'Last hour' }).waitFor();

// --- an ordered webhook: marked in the list and on its page ---------------------------
const ordered = await admin('POST', '/v1/webhooks', { url: `${RECEIVER}/ordered`, events: ['user.created'], tenant: 'ordered-only', ordered: true });
await page.goto(`${BASE}/console/#/webhooks?dialect=standard`);
await heading('Webhooks');
const orderedRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: `${RECEIVER}/ordered` }) });
await orderedRow.getByText('ordered', { exact: true }).waitFor();
check(!(await page.getByRole('row').filter({ has: page.getByRole('link', { name: `${RECEIVER}/native` }) }).innerText()).includes('ordered'), 'an unordered webhook is listed as ordered');
await orderedRow.getByRole('link', { name: `${RECEIVER}/ordered` }).click();
await heading('Webhook');
await page.locator('dl.props').getByText('Order', { exact: true }).waitFor();
await page.locator('dl.props').getByText(/^ordered \u2014 one lane per event ordering key/).waitFor();
// Away from its page first: a refresh of that page in flight would ask for it once it is gone.
await page.goto(`${BASE}/console/#/webhooks/${nativeId}`);
await heading('Webhook');
await page.locator('dl.props').getByText(/^ordered \u2014/).waitFor({ state: 'detached' });
await page.getByRole('table', { name: 'Attempts, success rate and latency' }).getByRole('cell', { name: 'Last hour' }).waitFor();
await admin('DELETE', `/v1/webhooks/${ordered.id}`);
check(!(await page.locator('dl.props').innerText()).includes('ordered'), 'an unordered webhook\u2019s page says ordered');

// --- publish for the tenant: the delivery fails, a bulk retry from the deliveries page ---
await page.getByRole('link', { name: 'Publish a test event' }).click();
await heading('Publish a test event');
await page.getByLabel('Event type').selectOption('user.created');
await page.getByLabel('Tenant').fill('acme');
await page.getByLabel('Event id (optional)').fill('evt-console-2');
await page.getByRole('button', { name: 'Publish' }).click();
await page.getByRole('link', { name: 'open event evt-console-2' }).click();
await heading('Event evt-console-2');
await deliveries.getByText('failed', { exact: true }).first().waitFor({ timeout: 20000 });
await heal('/native');
await page.getByRole('link', { name: 'Deliveries', exact: true }).click();
await heading('Deliveries');
await labelled('deliveries');
await page.getByLabel('Status').selectOption('failed');
await page.getByLabel('Webhook id').fill(nativeId);
await page.getByRole('button', { name: 'Filter' }).click();
await page.waitForURL(/status=failed/);
await page.getByText('1 delivery match, newest first.').waitFor();
await visit('14-deliveries-failed');
await page.getByRole('button', { name: 'Retry all that match' }).click();
await page.getByText('Done: 1 of 1 delivery queued again.', { exact: true }).first().waitFor({ timeout: 20000 });
await page.getByText('No delivery matches.').waitFor({ timeout: 20000 });
await page.getByLabel('Status').selectOption('succeeded');
await page.getByRole('button', { name: 'Filter' }).click();
await page.getByText('1 delivery match, newest first.').waitFor({ timeout: 20000 });
// Cursor pages: one delivery a page is not offered, so page the unfiltered list of 50.
await page.getByLabel('Status').selectOption('');
await page.getByLabel('Webhook id').fill('');
await page.getByRole('button', { name: 'Filter' }).click();
await page.waitForURL(/#\/deliveries$/);
await visit('15-deliveries');
await page.getByRole('table', { name: 'Deliveries' }).getByRole('link', { name: /^standard webhook$/ }).first().waitFor();

// --- the attempt shows what was sent ------------------------------------------------------
await page.goto(`${BASE}/console/#/webhooks/${nativeId}`);
await heading('Webhook');
const recent = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Recent deliveries' }) });
await recent.getByText('succeeded', { exact: true }).first().waitFor({ timeout: 20000 });
await visit('16-webhook-native');
await recent.locator('a.mono').first().click();
await heading('Delivery');
await page.getByText('Request body', { exact: true }).first().click();
await page.locator('pre.body').filter({ hasText: '"type": "user.created"' }).first().waitFor();
await page.locator('time').first().waitFor();
check(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(await page.locator('dl.props time').first().textContent()), 'absolute times are shown');
await visit('17-delivery-request');

// --- credentials: minted (secret shown once), revoked after a confirmation ---------------
await page.getByRole('link', { name: 'Access', exact: true }).click();
await heading('Credentials and portal links');
await labelled('credentials');
const dialectOptions = await page.getByLabel('Dialect', { exact: true }).locator('option').allTextContents();
check(dialectOptions.join(',') === 'authing,fusionauth,nursa,xsolla', `the dialects come from the gateway: ${dialectOptions}`);
await page.getByLabel('Dialect', { exact: true }).selectOption('nursa');
await page.getByLabel('Name (optional)').fill('billing');
await page.getByRole('button', { name: 'Mint credential' }).click();
await page.getByRole('heading', { name: 'Credential minted' }).waitFor();
await page.getByRole('button', { name: 'Copy clientSecret' }).waitFor();
await visit('18-credentials');
const revokeBilling = page.getByRole('button', { name: /^Revoke nursa credential billing$/ });
await revokeBilling.click();
const dialog = page.getByRole('dialog', { name: 'Revoke this credential?' });
await dialog.waitFor();
await page.keyboard.press('Escape');
await dialog.waitFor({ state: 'detached' });
check(await page.evaluate(() => document.activeElement.getAttribute('aria-label')) === 'Revoke nursa credential billing', 'Escape closes the dialog and the focus returns');
await revokeBilling.click();
await dialog.getByRole('button', { name: 'Revoke credential' }).click();
await revokeBilling.waitFor({ state: 'detached' });

// A portal link for the tenant, made in the console; the portal below opens it.
await page.getByRole('button', { name: 'Make portal link' }).click();
await page.getByRole('alert').filter({ hasText: 'Enter the tenant.' }).waitFor();
await page.getByLabel('Tenant', { exact: true }).fill('acme');
await page.getByLabel('Expires in').fill('30m');
await page.getByLabel('Portal title (optional)').fill('Acme Games');
await page.getByLabel('Accent colour').fill('#7a1fa2');
await page.getByRole('button', { name: 'Make portal link' }).click();
const portalURL = await page.locator('.secret code').filter({ hasText: '/portal/#token=' }).textContent();
await page.getByRole('button', { name: 'Copy link' }).waitFor();
const inForce = page.getByRole('table', { name: 'Portal links in force' });
await inForce.getByRole('row').filter({ hasText: 'acme' }).filter({ hasText: 'not yet' }).waitFor();
check(!(await inForce.innerText()).includes(portalURL.split('#token=')[1]), 'a listed portal link shows its token');
await visit('18b-portal-link');

// --- a webhook deleted after a confirmation --------------------------------------------------
await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
await heading('Webhooks');
await page.getByRole('link', { name: 'https://xsolla.example.com/hook' }).click();
await heading('Webhook');
await page.getByRole('button', { name: 'Delete' }).click();
await page.getByRole('dialog', { name: 'Delete this webhook?' }).getByRole('button', { name: 'Delete webhook' }).click();
await heading('Webhooks');
check(await page.getByRole('link', { name: 'https://xsolla.example.com/hook' }).count() === 0, 'the deleted webhook is gone');

// --- a real not-found page ---------------------------------------------------------------------
await page.goto(`${BASE}/console/#/nowhere`);
await heading('Page not found');
await visit('19-not-found');
await page.goto(`${BASE}/console/#/webhooks/nope`);
await heading('Page not found');
await page.getByRole('link', { name: 'Go to the overview' }).click();
await heading('Overview');

// --- sign out ------------------------------------------------------------------------
await page.getByRole('button', { name: 'Sign out' }).click();
await heading('Sign in', 'INPUT');
check(await page.evaluate(() => sessionStorage.length) === 0, 'signing out forgets the token');


// --- the tenant portal, opened with a one-time link, with no admin token in the browser ---
const others = await admin('GET', '/v1/webhooks?dialect=nursa');
const otherId = others.webhooks[0].id;
const link = { url: portalURL };
check(link.url.startsWith(`${BASE}/portal/#token=`), `the link opens the portal: ${link.url}`);
page = watch(await context.newPage());
await page.goto(link.url);
await heading('Webhooks');
check(!page.url().includes('token='), 'the token is taken out of the address');
check(await page.evaluate(() => sessionStorage.length === 0 && localStorage.length === 0 && document.cookie === ''),
  'the portal keeps nothing readable by scripts: no token, and an HttpOnly session cookie');
check(await page.locator('#brand-name').textContent() === 'Acme Games', 'the link\u2019s name is the portal\u2019s title');
check(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()) === '#7a1fa2', 'the link\u2019s accent colour');
await page.getByRole('link', { name: `${RECEIVER}/native` }).waitFor();
check(await page.getByRole('link', { name: /example\.com/ }).count() === 0, 'another tenant\u2019s webhooks are listed');
await labelled('portal webhooks');
await visit('20-portal-webhooks');
await page.getByRole('link', { name: 'New webhook' }).click();
await heading('New webhook');
check(await page.getByLabel('Tenant (optional)').count() === 0, 'a tenant cannot choose another tenant');
await page.getByLabel('Endpoint URL').fill(`${RECEIVER}/portal`);
await page.getByRole('checkbox', { name: /^user\.created/ }).check();
await visit('21-portal-webhook-new');
await page.getByRole('button', { name: 'Create webhook' }).click();
await page.getByRole('link', { name: 'Open the webhook' }).click();
await heading('Webhook');
await page.getByRole('button', { name: 'Send test event' }).click();
await page.locator('.result').getByText('failed', { exact: true }).waitFor({ timeout: 20000 });
await visit('22-portal-webhook');

// The product's backend publishes; the tenant sees the delivery fail, then retries it.
await admin('POST', '/v1/events', { id: 'evt-portal-1', type: 'user.created', tenant: 'acme', data: { user: { id: 'u-9' } } });
await page.getByRole('link', { name: 'Deliveries', exact: true }).click();
await heading('Deliveries');
const failedRow = page.getByRole('row').filter({ hasText: 'failed' }).filter({ hasText: 'evt-portal-1' });
await failedRow.waitFor({ timeout: 20000 });
await visit('23-portal-deliveries');
await failedRow.locator('a.mono').first().click();
await heading('Delivery');
await page.getByRole('heading', { name: /Attempt 1: answered 500/ }).waitFor();
await visit('24-portal-delivery-failed');
await heal('/portal');
await page.getByRole('button', { name: 'Retry now' }).click();
await page.getByRole('heading', { name: /Attempt 2: answered 200/ }).waitFor({ timeout: 20000 });
await page.locator('dl.props').first().getByText('succeeded', { exact: true }).waitFor();
await visit('25-portal-delivery-succeeded');
await page.getByRole('link', { name: 'Event types' }).click();
await heading('Event types');
await visit('26-portal-event-types');

// Another tenant's webhook is not there, for the portal.
expectMissing = true;
await page.goto(`${BASE}/portal/#/webhooks/${otherId}`);
await heading('Page not found');
await visit('27-portal-not-found');
expectMissing = false;

// A portal session is not an admin token.
const adminCall = await page.evaluate(async () => (await fetch('/v1/webhooks')).status);
check(adminCall === 401, `the portal's session on /v1: ${adminCall}`);
problems.splice(problems.indexOf('401 from GET /v1/webhooks'), problems.includes('401 from GET /v1/webhooks') ? 1 : 0);

// Signing out ends the session; the link does not open it again.
expectEnded = true;
await page.getByRole('button', { name: 'Sign out' }).click();
await heading('Signed out');
await page.goto(link.url);
await heading('Signed out');
await page.getByText('used already, has expired or was revoked').waitFor();
await visit('28-portal-signed-out');

// --- the portal embedded in another site's page (allowed by --portal-origins) -------------
const embedded = await admin('POST', '/v1/portal-links', { tenant: 'acme', name: 'Acme in a frame' });
page = watch(await context.newPage());
await page.goto(`${EMBED}/embed?src=${encodeURIComponent(embedded.url)}`);
const frame = page.frameLocator('iframe');
try {
  await frame.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
} catch (err) {
  await shot('29-portal-embedded-failed');
  const inner = await frame.locator('body').innerText().catch((e) => `no body: ${e.message}`);
  throw new Error(`the framed portal shows: ${inner}\nproblems: ${problems.join('; ')}`);
}
await frame.getByRole('link', { name: `${RECEIVER}/portal` }).waitFor(); // the session cookie works inside the frame
check(await frame.locator('#brand-name').textContent() === 'Acme in a frame', 'the framed portal\u2019s title');
await shot('29-portal-embedded-1280');

check(outside.length === 0, `requests outside the gateway: ${outside.join(', ')}`);
check(problems.length === 0, problems.join('\n'));
await context.close();
console.log(JSON.stringify({ ok: true, screenshots: shots.length, axe: axeSummary }));
