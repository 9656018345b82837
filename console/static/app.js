// The operator console: a hash-routed page per view, each refreshing itself every few
// seconds, everything through the native API.

import { api, query, session, ApiError } from './api.js';
import { activityChart } from './chart.js';
import { h, fill, uid, when, field, table, dl, badge } from './dom.js';

const REFRESH_MS = 2000;
const DIALECTS = ['fusionauth', 'xsolla', 'nursa', 'authing'];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signoutButton = document.getElementById('signout');
const live = document.getElementById('live');
const statusRegion = document.getElementById('status');

let current = { refresh: null };
let refreshing = false;
let stale = false; // the last refresh failed
let catalogue = null;

// say announces a short message to screen readers and shows it under the header.
function say(text, warn = false) {
  fill(statusRegion, text ? h('p', { text, class: warn ? 'warn' : '' }) : null);
}

function alertBox() {
  return h('div', { class: 'alert', role: 'alert' });
}

function showError(box, err) {
  if (err instanceof ApiError && err.status === 401) return signOut('The gateway refused the admin token. Sign in again.');
  fill(box, h('p', { text: err.message || String(err) }));
  return undefined;
}

function signOut(message) {
  session.clear();
  current = { refresh: null };
  showSignIn(message);
}

signoutButton.addEventListener('click', () => signOut('Signed out.'));

// The skip link moves the focus without touching the address, which holds the route.
document.querySelector('.skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

// --- sign in -----------------------------------------------------------------------

function showSignIn(message) {
  nav.hidden = true;
  signoutButton.hidden = true;
  live.hidden = true;
  document.title = 'Sign in · Polyhook console';
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true });
  const error = h('div', { class: 'alert', role: 'alert', id: 'signin-error' });
  if (message) fill(error, h('p', { text: message }));
  const button = h('button', { type: 'submit', text: 'Sign in' });
  const form = h('form', { class: 'card signin', novalidate: true },
    h('h1', { tabindex: '-1', text: 'Sign in' }),
    h('p', { text: 'Operate the gateway with its admin token. It is kept in this browser tab only, until you sign out or close the tab.' }),
    field('Admin token', input, 'Printed once on the gateway\u2019s first start, or the value of POLYHOOK_ADMIN_TOKEN.'),
    error,
    button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    fill(error);
    input.removeAttribute('aria-invalid');
    if (!token) {
      input.setAttribute('aria-invalid', 'true');
      fill(error, h('p', { text: 'Enter the admin token.' }));
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      await api('GET', '/v1/stats?minutes=1', undefined, token);
    } catch (err) {
      button.disabled = false;
      input.setAttribute('aria-invalid', 'true');
      const text = err.status === 401
        ? 'That token is not the gateway\u2019s admin token. Check it and try again.'
        : err.message;
      fill(error, h('p', { text }));
      input.select();
      input.focus();
      return;
    }
    session.set(token);
    if (!location.hash || location.hash === '#/' || location.hash === '#') location.hash = '#/overview';
    else route();
  });
  fill(main, form);
  input.focus();
}

// --- routing -----------------------------------------------------------------------

const routes = [
  [/^\/overview$/, overview, 'overview'],
  [/^\/webhooks$/, webhookList, 'webhooks'],
  [/^\/webhooks\/([^/]+)$/, webhookView, 'webhooks'],
  [/^\/events$/, eventList, 'events'],
  [/^\/events\/([^/]+)$/, eventView, 'events'],
  [/^\/deliveries\/([^/]+)$/, deliveryView, 'events'],
  [/^\/publish$/, publishView, 'publish'],
];

async function route() {
  if (!session.token) return showSignIn();
  const hash = location.hash.replace(/^#/, '') || '/overview';
  const [path, qs] = hash.split('?');
  const params = new URLSearchParams(qs || '');
  const found = routes.find(([re]) => re.test(path));
  if (!found) {
    location.replace('#/overview');
    return undefined;
  }
  const [re, view, section] = found;
  const args = path.match(re).slice(1).map(decodeURIComponent);
  nav.hidden = false;
  signoutButton.hidden = false;
  live.hidden = false;
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  say('');
  current = { refresh: null };
  const page = h('div', { class: 'page' });
  fill(main, page);
  const mine = {};
  current = mine;
  try {
    const v = await view(page, ...args, params);
    if (current === mine) mine.refresh = v && v.refresh;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signOut('The gateway refused the admin token. Sign in again.');
    if (current === mine) {
      fill(page, heading(err.status === 404 ? 'Not found' : 'Something went wrong'),
        h('div', { class: 'alert', role: 'alert' }, h('p', { text: err.message })));
    }
  }
  if (current !== mine) return undefined; // another page was opened meanwhile
  const h1 = page.querySelector('h1');
  if (h1) {
    document.title = `${h1.textContent} · Polyhook console`;
    h1.focus();
  }
  return undefined;
}

window.addEventListener('hashchange', route);

setInterval(async () => {
  const mine = current;
  if (!mine.refresh || refreshing || document.hidden) return;
  refreshing = true;
  try {
    await mine.refresh();
    if (stale) {
      stale = false;
      say('Up to date again.');
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) signOut('The gateway refused the admin token. Sign in again.');
    else if (current === mine) {
      stale = true;
      say(`Not updated: ${err.message} Trying again.`, true);
    }
  } finally {
    refreshing = false;
  }
}, REFRESH_MS);

function heading(text) {
  return h('h1', { tabindex: '-1', text });
}

function link(href, text, attrs = {}) {
  return h('a', { href, ...attrs }, text);
}

function code(text) {
  return h('code', { text });
}

async function eventTypes() {
  if (!catalogue) catalogue = (await api('GET', '/v1/event-types')).eventTypes;
  return catalogue;
}

// --- overview ----------------------------------------------------------------------

async function overview(page) {
  const chartTitle = uid('chart-title');
  const chartDesc = uid('chart-desc');
  const chartBox = h('div', { class: 'chart-box' });
  const summary = h('p', { id: chartDesc, class: 'chart-summary' });
  const cards = h('div', { class: 'cards' });
  const troubled = h('div');
  const failed = h('div');
  const error = alertBox();
  fill(page,
    heading('Overview'),
    error,
    cards,
    h('section', { class: 'card', 'aria-labelledby': chartTitle },
      h('h2', { id: chartTitle, text: 'Publishes and delivery attempts per minute, last hour' }),
      h('ul', { class: 'legend', 'aria-label': 'Legend' },
        h('li', {}, h('span', { class: 'swatch ok', 'aria-hidden': 'true' }), 'attempts succeeded'),
        h('li', {}, h('span', { class: 'swatch fail', 'aria-hidden': 'true' }), 'attempts failed'),
        h('li', {}, h('span', { class: 'swatch published', 'aria-hidden': 'true' }), 'events published')),
      chartBox, summary),
    h('section', { class: 'card' }, h('h2', { text: 'Failing and disabled endpoints' }), troubled),
    h('section', { class: 'card' }, h('h2', { text: 'Recent failed deliveries' }), failed));

  async function load() {
    const [stats, failing, disabled, lost] = await Promise.all([
      api('GET', '/v1/stats?minutes=60'),
      api('GET', '/v1/webhooks?health=failing&limit=50'),
      api('GET', '/v1/webhooks?health=disabled&limit=50'),
      api('GET', '/v1/deliveries?status=failed&limit=10'),
    ]);
    const b = stats.backlog;
    fill(cards,
      h('section', { class: 'card stat', 'aria-label': 'Backlog' },
        h('h2', { text: 'Backlog' }),
        h('p', { class: 'big', 'data-testid': 'backlog' }, String(b.pending)),
        h('p', {}, b.pending === 1 ? 'delivery pending' : 'deliveries pending'),
        b.oldestPendingId
          ? h('p', {}, link(`#/deliveries/${encodeURIComponent(b.oldestPendingId)}`, 'The oldest'), ' was created ', when(b.oldestPendingAt), '.')
          : h('p', { class: 'muted', text: 'Nothing waiting.' })),
      h('section', { class: 'card stat', 'aria-label': 'Webhooks' },
        h('h2', { text: 'Webhooks' }),
        h('p', { class: 'big' }, String(stats.webhooks.total)),
        h('p', {}, link('#/webhooks?health=failing', `${stats.webhooks.failing} failing`), ' · ',
          link('#/webhooks?health=disabled', `${stats.webhooks.disabled} disabled`))));
    const sum = (k) => stats.minutes.reduce((a, m) => a + m[k], 0);
    fill(chartBox, activityChart(stats.minutes, { titleId: chartTitle, descId: chartDesc }));
    const count = (n, one) => `${n} ${one}${n === 1 ? '' : 's'}`;
    fill(summary, `In the last hour: ${count(sum('published'), 'event')} published, ${count(sum('succeeded'), 'attempt')} succeeded, ${sum('failed')} failed.`);
    const hooks = [...failing.webhooks, ...disabled.webhooks];
    fill(troubled, webhookTable(hooks, '!Failing and disabled endpoints', 'Every endpoint is healthy.'));
    fill(failed, deliveryTable(lost.deliveries, '!Recent failed deliveries', 'No delivery has failed for good.'));
    fill(error);
  }
  await load();
  return { refresh: load };
}

// --- webhooks ----------------------------------------------------------------------

function health(w) {
  if (w.disabledAt || !w.enabled) return 'disabled';
  if (w.failingSince) return 'failing';
  return 'healthy';
}

function scopeText(w) {
  const s = w.scope;
  const parts = [];
  if (s.global) parts.push('every tenant');
  if (s.tenantIds && s.tenantIds.length) parts.push(`tenants ${s.tenantIds.join(', ')}`);
  if (s.owner) parts.push({ xsolla: 'project ', nursa: 'client ', authing: 'user pool ' }[w.dialect] + s.owner);
  return parts.join('; ') || 'no tenant';
}

function webhookTable(hooks, caption, empty) {
  return table(caption, ['Health', 'Dialect', 'Endpoint', 'Events', 'Scope'], hooks.map((w) => [
    badge(health(w)),
    w.dialect,
    [link(`#/webhooks/${encodeURIComponent(w.id)}`, w.url), w.name ? h('div', { class: 'muted', text: w.name }) : null],
    w.events.length ? w.events.join(', ') : h('span', { class: 'muted', text: 'none' }),
    scopeText(w),
  ]), empty);
}

async function webhookList(page, params) {
  const dialect = h('select', { name: 'dialect' },
    h('option', { value: '', text: 'Every dialect' }), DIALECTS.map((d) => h('option', { value: d, text: d })));
  const healthSel = h('select', { name: 'health' },
    h('option', { value: '', text: 'Any' }), ['healthy', 'failing', 'disabled'].map((s) => h('option', { value: s, text: s })));
  dialect.value = params.get('dialect') || '';
  healthSel.value = params.get('health') || '';
  const list = h('div');
  const count = h('p', { class: 'muted' });
  const error = alertBox();
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter webhooks' },
    field('Dialect', dialect), field('Health', healthSel), h('button', { type: 'submit', text: 'Filter' }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = `#/webhooks${query({ dialect: dialect.value, health: healthSel.value })}`;
  });
  fill(page, heading('Webhooks'), form, error, count, list);
  async function load() {
    const r = await api('GET', `/v1/webhooks${query({ dialect: params.get('dialect'), health: params.get('health'), limit: 500 })}`);
    fill(count, `${r.total} webhook${r.total === 1 ? '' : 's'}${r.total > r.webhooks.length ? `, the first ${r.webhooks.length} shown` : ''}.`);
    fill(list, webhookTable(r.webhooks, '!Webhooks', 'No webhook matches.'));
  }
  await load();
  return { refresh: load };
}

function findWebhook(id) {
  return api('GET', `/v1/webhooks/${encodeURIComponent(id)}`);
}

async function webhookView(page, id) {
  let w = await findWebhook(id);
  const props = h('div');
  const toggleBox = h('div', { class: 'action first' });
  const deliveries = h('div');
  fill(page,
    heading('Webhook'),
    h('p', { class: 'lead' }, code(w.url)),
    props,
    h('section', { class: 'card', 'aria-labelledby': 'act-title' },
      h('h2', { id: 'act-title', text: 'Actions' }),
      toggleBox,
      testSendForm(w),
      rotateForm(w),
      recoverForm(w)),
    h('section', { class: 'card' }, h('h2', { text: 'Recent deliveries' }), deliveries));

  function render() {
    const state = health(w);
    fill(props, dl([
      ['Health', [badge(state), w.disabledAt ? [' since ', when(w.disabledAt), w.disabledReason ? ` \u2014 ${w.disabledReason}` : ''] : null,
        !w.disabledAt && !w.enabled ? ' (switched off in its dialect\u2019s API)' : null,
        w.failingSince && !w.disabledAt ? [' since ', when(w.failingSince)] : null]],
      ['Dialect', w.dialect],
      ['Id in its dialect', code(w.externalId)],
      ['Polyhook id', code(w.id)],
      w.name ? ['Name', w.name] : null,
      w.description ? ['Description', w.description] : null,
      ['Events', w.events.length ? h('ul', { class: 'tags' }, w.events.map((e) => h('li', {}, code(e)))) : 'none'],
      ['Scope', scopeText(w)],
      ['Created', when(w.createdAt)],
    ]));
    const error = alertBox();
    const disabled = Boolean(w.disabledAt);
    const button = h('button', { type: 'button', class: disabled ? '' : 'danger', text: disabled ? 'Enable deliveries' : 'Disable deliveries' });
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await api('POST', `/v1/webhooks/${encodeURIComponent(w.id)}/${disabled ? 'enable' : 'disable'}`);
        w = await findWebhook(id);
        shownW = JSON.stringify(w);
        render();
        say(disabled ? 'Deliveries enabled.' : 'Deliveries disabled.');
        toggleBox.querySelector('button').focus();
      } catch (err) {
        button.disabled = false;
        showError(error, err);
      }
    });
    fill(toggleBox, h('h3', { text: disabled ? 'Disabled' : 'Enabled' }),
      h('p', { class: 'hint', text: disabled ? 'Enabling sends its pending deliveries again.' : 'Disabling stops deliveries; pending ones wait until it is enabled again.' }),
      button, error);
  }

  async function load() {
    const r = await api('GET', `/v1/deliveries${query({ webhookId: w.id, limit: 20 })}`);
    fill(deliveries, deliveryTable(r.deliveries, '!Recent deliveries', 'No delivery yet.'));
  }
  let shownW = JSON.stringify(w);
  async function refresh() {
    w = await findWebhook(id);
    // Rebuild only on a change, and not under the keyboard focus.
    if (JSON.stringify(w) !== shownW && !toggleBox.contains(document.activeElement)) {
      shownW = JSON.stringify(w);
      render();
    }
    await load();
  }
  render();
  await load();
  return { refresh };
}

function testSendForm(w) {
  const select = h('select', { name: 'eventName' }, w.events.map((e) => h('option', { value: e, text: e })));
  const custom = h('input', { type: 'text', name: 'custom', placeholder: 'e.g. user.create', spellcheck: 'false' });
  const out = h('div', { class: 'result', 'aria-live': 'polite' });
  const error = alertBox();
  const button = h('button', { type: 'submit', text: 'Send test event' });
  const form = h('form', { class: 'action', 'aria-label': 'Test send' },
    h('h3', { text: 'Test send' }),
    h('p', { class: 'hint', text: 'Sends one event now, in the webhook\u2019s format, and shows the answer. Nothing is recorded or retried.' }),
    w.events.length ? field('Event', select) : null,
    field('Or another event name', custom, 'A native name of this dialect; leave empty to use the one above.'),
    button, error, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(error);
    fill(out);
    button.disabled = true;
    try {
      const name = custom.value.trim() || (w.events.length ? select.value : '');
      const r = await api('POST', `/v1/webhooks/${encodeURIComponent(w.id)}/test`, name ? { eventName: name } : {});
      fill(out, dl([
        ['Outcome', badge(r.success ? 'succeeded' : 'failed')],
        r.status ? ['Status', String(r.status)] : null,
        r.error ? ['Error', `${r.error}${r.errorKind ? ` (${r.errorKind})` : ''}`] : null,
        ['Time', `${r.durationMs} ms`],
        r.body ? ['Body', h('pre', { text: r.body })] : null,
      ]));
    } catch (err) {
      showError(error, err);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function rotateForm(w) {
  const grace = h('input', { type: 'number', name: 'graceSeconds', min: '0', max: '604800', value: '86400', inputmode: 'numeric' });
  const out = h('div', { class: 'result', 'aria-live': 'polite' });
  const error = alertBox();
  const button = h('button', { type: 'submit', text: 'Rotate signing secret' });
  const form = h('form', { class: 'action', 'aria-label': 'Rotate the signing secret' },
    h('h3', { text: 'Signing secret' }),
    h('p', { class: 'hint', text: 'Adds a new Standard Webhooks secret; the old ones keep signing during the grace period, so receivers can switch over.' }),
    field('Grace period (seconds)', grace, 'From 0 to 604800 (7 days).'),
    button, error, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(error);
    fill(out);
    button.disabled = true;
    try {
      const r = await api('POST', `/v1/webhooks/${encodeURIComponent(w.id)}/secrets/rotate`, { graceSeconds: Number(grace.value) });
      const [fresh, ...old] = r.secrets;
      fill(out, h('p', {}, 'New secret (give it to the receiver): ', code(fresh.secret)),
        old.length ? h('p', { class: 'hint' }, `${old.length} older secret${old.length === 1 ? '' : 's'} still signing until `, when(old[0].expiresAt), '.') : null);
    } catch (err) {
      showError(error, err);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function localInput(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function recoverForm(w) {
  const since = h('input', { type: 'datetime-local', name: 'since', required: true, value: localInput(new Date(Date.now() - 3600e3)) });
  const progress = h('progress', { max: '1', value: '0', hidden: true, 'aria-label': 'Recovery progress' });
  const out = h('p', { class: 'result', 'aria-live': 'polite' });
  const error = alertBox();
  const button = h('button', { type: 'submit', text: 'Recover' });
  const form = h('form', { class: 'action', 'aria-label': 'Recover deliveries' },
    h('h3', { text: 'Recover' }),
    h('p', { class: 'hint', text: 'Sends again every failed delivery to this webhook created since a time, for a receiver that was down.' }),
    field('Since (your local time)', since),
    button, error, progress, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(error);
    const t = new Date(since.value);
    if (Number.isNaN(t.getTime())) {
      fill(error, h('p', { text: 'Choose a date and time.' }));
      return;
    }
    button.disabled = true;
    try {
      let r = await api('POST', `/v1/webhooks/${encodeURIComponent(w.id)}/recover`, { since: t.toISOString() });
      progress.hidden = false;
      for (;;) {
        progress.max = String(Math.max(r.total, 1));
        progress.value = String(r.status === 'done' && r.total === 0 ? 1 : r.done);
        fill(out, r.status === 'done' ? `Done: ${r.done} of ${r.total} failed deliveries sent again.` : `Recovering: ${r.done} of ${r.total}\u2026`);
        if (r.status === 'done' || !document.body.contains(form)) break;
        await new Promise((res) => setTimeout(res, 1000));
        r = await api('GET', `/v1/recoveries/${encodeURIComponent(r.id)}`);
      }
    } catch (err) {
      showError(error, err);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// --- events and deliveries ---------------------------------------------------------

function deliveryTable(ds, caption, empty) {
  return table(caption, ['Status', 'Delivery', 'Event', 'Dialect', 'Attempts', 'Last answer', 'Updated'], ds.map((d) => [
    badge(d.status),
    link(`#/deliveries/${encodeURIComponent(d.id)}`, d.id, { class: 'mono' }),
    [link(`#/events/${encodeURIComponent(d.eventId)}`, d.eventId, { class: 'mono' }), h('div', { class: 'muted', text: d.eventName })],
    d.dialect,
    String(d.attempts),
    d.lastStatus ? String(d.lastStatus) : (d.lastError ? h('span', { class: 'muted', text: d.lastError }) : '—'),
    when(d.updatedAt),
  ]), empty);
}

async function eventList(page, params) {
  const types = await eventTypes();
  const id = h('input', { type: 'search', name: 'id', spellcheck: 'false', value: params.get('id') || '' });
  const type = h('select', { name: 'type' }, h('option', { value: '', text: 'Any type' }),
    types.map((t) => h('option', { value: t.type, text: t.type })));
  if (params.get('type') && !types.some((t) => t.type === params.get('type'))) {
    type.append(h('option', { value: params.get('type'), text: params.get('type') })); // a <dialect>:<name> type
  }
  type.value = params.get('type') || '';
  const tenant = h('input', { type: 'search', name: 'tenant', spellcheck: 'false', value: params.get('tenant') || '' });
  const error = alertBox();
  const results = h('div');
  const count = h('p', { class: 'muted' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Search events' },
    field('Event id', id), field('Type', type), field('Tenant', tenant), h('button', { type: 'submit', text: 'Search' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(error);
    const wanted = id.value.trim();
    if (wanted) {
      try {
        await api('GET', `/v1/events/${encodeURIComponent(wanted)}`);
        location.hash = `#/events/${encodeURIComponent(wanted)}`;
      } catch (err) {
        showError(error, err.status === 404 ? new Error(`No event has the id \u201c${wanted}\u201d.`) : err);
      }
      return;
    }
    location.hash = `#/events${query({ type: type.value, tenant: tenant.value.trim() })}`;
  });
  fill(page, heading('Events'), form, error, count, results);
  async function load() {
    const r = await api('GET', `/v1/events${query({ type: params.get('type'), tenant: params.get('tenant'), limit: 50 })}`);
    fill(count, `${r.total} event${r.total === 1 ? '' : 's'}${r.total > r.events.length ? `, the newest ${r.events.length} shown` : ''}.`);
    fill(results, table('!Events', ['Event', 'Type', 'Tenant', 'Occurred', 'Webhooks matched'], r.events.map((e) => [
      link(`#/events/${encodeURIComponent(e.id)}`, e.id, { class: 'mono' }),
      e.type,
      e.tenant || h('span', { class: 'muted', text: '—' }),
      when(e.occurredAt),
      String(e.deliveries),
    ]), 'No event matches.'));
  }
  await load();
  return { refresh: load };
}

async function eventView(page, id) {
  const ev = await api('GET', `/v1/events/${encodeURIComponent(id)}`);
  const deliveries = h('div');
  fill(page,
    heading(`Event ${ev.id}`),
    dl([
      ['Type', code(ev.type)],
      ['Tenant', ev.tenant || '—'],
      ['Occurred', when(ev.occurredAt)],
      ['Published', when(ev.createdAt)],
      ['Webhooks matched', String(ev.deliveries)],
    ]),
    h('details', { class: 'card' }, h('summary', { text: 'Data' }), h('pre', { text: JSON.stringify(ev.data, null, 2) })),
    h('section', { class: 'card' }, h('h2', { text: 'Deliveries' }), deliveries));
  function render(e) {
    fill(deliveries, table('!Deliveries of this event', ['Status', 'Delivery', 'Webhook', 'Event name', 'Attempts', 'Last answer', 'Next attempt'], e.deliveryList.map((d) => [
      badge(d.status),
      link(`#/deliveries/${encodeURIComponent(d.id)}`, d.id, { class: 'mono' }),
      [link(`#/webhooks/${encodeURIComponent(d.webhookId)}`, d.dialect)],
      code(d.eventName),
      String(d.attempts),
      d.lastStatus ? String(d.lastStatus) : (d.lastError || '—'),
      d.status === 'pending' ? when(d.nextAttemptAt) : '—',
    ]), 'No webhook matched this event.'));
  }
  render(ev);
  return { refresh: async () => render(await api('GET', `/v1/events/${encodeURIComponent(id)}`)) };
}

function headerTable(caption, headers) {
  const names = Object.keys(headers || {}).sort((a, b) => a.localeCompare(b));
  return table(caption, ['Header', 'Value'], names.map((n) => [code(n), h('span', { class: 'mono wrap', text: headers[n] })]), 'None.');
}

function attemptSection(a) {
  const title = uid('attempt');
  const outcome = a.responseStatus ? `answered ${a.responseStatus}` : `no answer${a.errorKind ? ` (${a.errorKind})` : ''}`;
  return h('section', { class: 'card attempt', 'aria-labelledby': title },
    h('h3', { id: title }, `Attempt ${a.number}: `, outcome, ` in ${a.durationMs} ms`),
    dl([
      ['Started', when(a.startedAt)],
      ['URL', code(a.url)],
      ['Response status', a.responseStatus ? String(a.responseStatus) : '—'],
      a.error ? ['Error', a.error] : null,
      ['Duration', `${a.durationMs} ms`],
      a.omittedHeaders && a.omittedHeaders.length ? ['Headers left out', a.omittedHeaders.join(', ')] : null,
    ]),
    h('details', {}, h('summary', { text: 'Request headers' }), headerTable('Request headers (secrets redacted)', a.requestHeaders)),
    a.responseHeaders ? h('details', {}, h('summary', { text: 'Response headers' }), headerTable('Response headers', a.responseHeaders)) : null,
    h('details', { open: true }, h('summary', { text: 'Response body' }),
      a.responseBody ? h('pre', { class: 'body', text: a.responseBody }) : h('p', { class: 'muted', text: 'Empty.' })));
}

async function deliveryView(page, id) {
  const summary = h('div');
  const retryBox = h('div', { class: 'action' });
  const attempts = h('div', { class: 'attempts' });
  const error = alertBox();
  const retry = h('button', { type: 'button', text: 'Retry now' });
  const retryHint = h('p', { class: 'hint', id: uid('retry-hint') });
  retry.setAttribute('aria-describedby', retryHint.id);
  fill(retryBox, retry, retryHint, error);
  let shown = '';
  fill(page, heading('Delivery'), summary, retryBox, h('h2', { text: 'Attempts' }), attempts);
  async function load() {
    const d = await api('GET', `/v1/deliveries/${encodeURIComponent(id)}`);
    fill(summary, dl([
      ['Status', badge(d.status)],
      ['Id', code(d.id)],
      ['Event', link(`#/events/${encodeURIComponent(d.eventId)}`, d.eventId)],
      ['Webhook', link(`#/webhooks/${encodeURIComponent(d.webhookId)}`, `${d.dialect} webhook`)],
      ['Event name', code(d.eventName)],
      ['Attempts', String(d.attempts)],
      d.lastError ? ['Last error', d.lastError] : null,
      d.status === 'pending' ? ['Next attempt', when(d.nextAttemptAt)] : null,
      d.deliveredAt ? ['Delivered', when(d.deliveredAt)] : null,
      ['Created', when(d.createdAt)],
    ]));
    retry.disabled = d.status === 'pending';
    retryHint.textContent = d.status === 'pending'
      ? 'It is still being tried; retry it once it has failed.'
      : 'Sends it again now, keeping its attempts.';
    // Only rebuild the attempts when they change, so open sections stay open.
    const sig = `${d.attemptList.length}:${d.status}`;
    if (sig !== shown) {
      shown = sig;
      fill(attempts, d.attemptList.length ? [...d.attemptList].reverse().map(attemptSection) : h('p', { class: 'empty', text: 'Not attempted yet.' }));
    }
  }
  retry.addEventListener('click', async () => {
    fill(error);
    retry.disabled = true;
    try {
      await api('POST', `/v1/deliveries/${encodeURIComponent(id)}/retry`);
      say('Retry queued.');
      await load();
    } catch (err) {
      showError(error, err);
      retry.disabled = false;
    }
  });
  await load();
  return { refresh: load };
}

// --- publish -----------------------------------------------------------------------

async function publishView(page) {
  const types = await eventTypes();
  const type = h('select', { name: 'type', required: true }, types.map((t) => h('option', { value: t.type, text: `${t.type} \u2014 ${t.description}` })));
  const tenant = h('input', { type: 'text', name: 'tenant', spellcheck: 'false' });
  const id = h('input', { type: 'text', name: 'id', spellcheck: 'false', maxlength: '128' });
  const data = h('textarea', { name: 'data', rows: '6', spellcheck: 'false' });
  data.value = '{\n  "test": true\n}';
  const error = alertBox();
  const out = h('div', { class: 'result', 'aria-live': 'polite' });
  const names = h('p', { class: 'hint' });
  const showNames = () => {
    const t = types.find((x) => x.type === type.value);
    fill(names, t ? `Delivered as ${Object.entries(t.names).map(([d, n]) => `${d}: ${n[0]}`).join(', ')}.` : '');
  };
  type.addEventListener('change', showNames);
  showNames();
  const button = h('button', { type: 'submit', text: 'Publish' });
  const form = h('form', { class: 'card', 'aria-label': 'Publish a test event' },
    field('Event type', type), names,
    field('Tenant', tenant, 'A FusionAuth tenant id, Xsolla project id, Nursa client id or Authing user pool id. Empty: only FusionAuth global webhooks match.'),
    field('Event id (optional)', id, 'Publishing an id again creates nothing.'),
    field('Data (a JSON object)', data),
    error, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(error);
    fill(out);
    let body;
    try {
      body = JSON.parse(data.value || '{}');
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error();
    } catch {
      data.setAttribute('aria-invalid', 'true');
      fill(error, h('p', { text: 'The data must be a JSON object, like {"user": {"id": "u1"}}.' }));
      data.focus();
      return;
    }
    data.removeAttribute('aria-invalid');
    button.disabled = true;
    try {
      const r = await api('POST', '/v1/events', { type: type.value, tenant: tenant.value.trim() || undefined, id: id.value.trim() || undefined, data: body });
      fill(out, h('p', {}, `Published to ${r.deliveries} webhook${r.deliveries === 1 ? '' : 's'}: `,
        link(`#/events/${encodeURIComponent(r.id)}`, `open event ${r.id}`)));
      out.querySelector('a').focus();
    } catch (err) {
      showError(error, err);
    } finally {
      button.disabled = false;
    }
  });
  fill(page, heading('Publish a test event'), form, out);
  return {};
}

route();
