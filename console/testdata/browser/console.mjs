// Drives the console in headless Chromium; run by TestBrowser (console_test.go), which
// starts the gateway and the receiver and passes them in the environment.
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const { BASE, TOKEN, HEAL, CHROMIUM, ARTIFACTS, SECRET, USER_DATA } = process.env;
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
const problems = [];
await context.route((url) => !url.href.startsWith(BASE), (route) => {
  outside.push(route.request().url());
  return route.abort();
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(T);
page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
page.on('console', (msg) => {
  // Failed requests are checked below, by address.
  if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console: ${msg.text()}`);
});
// The only error answers expected: the refused sign-in, and the search for a missing event.
const expected = [[401, '/v1/stats?minutes=1'], [404, '/v1/events/nope']];
page.on('response', (r) => {
  const u = new URL(r.url());
  if (r.status() >= 400 && !expected.some(([s, p]) => s === r.status() && u.pathname + u.search === p)) {
    problems.push(`${r.status()} from ${r.request().method()} ${u.pathname}${u.search}`);
  }
});
const shots = [];
async function shot(name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  shots.push(`${name}.png`);
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
await shot('01-sign-in');
const tokenBox = page.getByLabel('Admin token');
await tokenBox.fill('not-the-token');
await tokenBox.press('Enter');
const refusal = page.getByRole('alert').filter({ hasText: 'not the gateway\u2019s admin token' });
await refusal.waitFor();
check(await tokenBox.getAttribute('aria-invalid') === 'true', 'a refused token marks the field invalid');
check(await page.evaluate(() => sessionStorage.length) === 0, 'a refused token must not be kept');
await shot('02-sign-in-refused');
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
await shot('03-publish');
await page.keyboard.press('Enter'); // the link has the focus
await heading('Event evt-console-1');

// --- the failing delivery appears without a reload -------------------------------------
await page.evaluate(() => { window.stillHere = true; });
const deliveries = page.locator('table').filter({ hasText: 'Deliveries of this event' });
await deliveries.getByText('pending', { exact: true }).waitFor();
await deliveries.getByText('failed', { exact: true }).waitFor({ timeout: 20000 });
check(await page.evaluate(() => window.stillHere === true), 'the event page updated without a reload');
await labelled('event');
await shot('04-event-failed');

// --- the overview shows the endpoint failing and the delivery failed ----------------------
await page.getByRole('link', { name: 'Overview' }).click();
await heading('Overview');
const troubled = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Failing and disabled endpoints' }) });
await troubled.getByRole('row').filter({ hasText: '127.0.0.1' }).getByText('failing', { exact: true }).waitFor();
const lost = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Recent failed deliveries' }) });
await lost.getByRole('link', { name: 'evt-console-1' }).waitFor();
await page.locator('svg.chart rect.fail').first().waitFor({ state: 'attached' });
await shot('05-overview-failing');
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
await shot('06-delivery-failed');
await page.evaluate(() => { window.stillHere = true; });
const healed = await fetch(HEAL);
check(healed.ok, 'the receiver heals');
await page.getByRole('button', { name: 'Retry now' }).click();
await page.getByRole('heading', { name: /Attempt 2: answered 200/ }).waitFor({ timeout: 20000 });
await page.locator('dl.props').first().getByText('succeeded', { exact: true }).waitFor();
check(await page.evaluate(() => window.stillHere === true), 'the delivery page updated without a reload');
await shot('07-delivery-succeeded');

// --- overview again: the chart shows the failure and the success ------------------------
await page.getByRole('link', { name: 'Overview' }).click();
await heading('Overview');
await chart.locator('rect.fail').first().waitFor({ state: 'attached' });
await chart.locator('rect.ok').first().waitFor({ state: 'attached' });
await page.getByRole('row').filter({ hasText: 'authing.example.com' }).waitFor();
await shot('08-overview');

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
await shot('09-webhooks');
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
await page.getByText(/^Done: \d+ of \d+ failed deliveries sent again\.$/).waitFor({ timeout: 20000 });
await shot('10-webhook');

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
await shot('11-events');

// --- the overview in the dark colour scheme ---------------------------------------------
await page.emulateMedia({ colorScheme: 'dark' });
await page.getByRole('link', { name: 'Overview' }).click();
await heading('Overview');
await page.locator('svg.chart').waitFor();
await shot('12-overview-dark');
await page.emulateMedia({ colorScheme: 'light' });

// --- sign out ------------------------------------------------------------------------
await page.getByRole('button', { name: 'Sign out' }).click();
await heading('Sign in', 'INPUT');
check(await page.evaluate(() => sessionStorage.length) === 0, 'signing out forgets the token');

check(outside.length === 0, `requests outside the gateway: ${outside.join(', ')}`);
check(problems.length === 0, problems.join('\n'));
await context.close();
console.log(JSON.stringify({ ok: true, screenshots: shots }));
