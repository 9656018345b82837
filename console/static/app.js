// The operator console and, in its tenant mode, the portal: a hash-routed page per view,
// each refreshing itself every few seconds, everything through the native API.

import { api, query, session, ApiError, PORTAL } from './api.js';
import { activityChart } from './chart.js';
import { h, fill, uid, when, field, table, dl } from './dom.js';
import { say, alertBox, showError, heading, link, code, plural, cursorTrail, cursorPager, onUnauthorized } from './ui.js';
import { eventTypes, webhookTable, webhookList, webhookView, webhookForm } from './webhooks.js';
import { deliveryTable, deliveryList, deliveryView } from './deliveries.js';
import { credentialList } from './credentials.js';

const REFRESH_MS = 2000;
const PRODUCT = PORTAL ? 'Webhooks portal' : 'Polyhook console';
let product = PRODUCT;

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signoutButton = document.getElementById('signout');
const live = document.getElementById('live');

let current = { refresh: null };
let refreshing = false;
let stale = false; // the last refresh failed

let portalSession = null;

function signOut(message) {
  if (!PORTAL) session.clear();
  portalSession = null;
  current = { refresh: null };
  if (PORTAL) showPortalEnded(message);
  else showSignIn(message);
}

onUnauthorized(() => signOut(PORTAL
  ? 'Your portal session has ended. Open the portal again with a new link.'
  : 'The gateway refused the admin token. Sign in again.'));

signoutButton.addEventListener('click', async () => {
  if (PORTAL) {
    try { await api('DELETE', '/v1/session'); } catch { /* ended already */ }
    signOut('Signed out. Open the portal again with a new link.');
  } else {
    signOut('Signed out.');
  }
});

// The skip link moves the focus without touching the address, which holds the route.
document.querySelector('.skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

function chrome(visible) {
  nav.hidden = !visible;
  signoutButton.hidden = !visible;
  live.hidden = !visible;
}

// --- sign in (console) and the portal's session -------------------------------------

function showSignIn(message) {
  chrome(false);
  document.title = `Sign in \u00b7 ${product}`;
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

function showPortalEnded(message) {
  chrome(false);
  document.title = `Signed out \u00b7 ${product}`;
  fill(main, h('section', { class: 'card signin' },
    h('h1', { tabindex: '-1', text: 'Signed out' }),
    h('p', { text: message || 'Open the portal with the link you were given. A link works once, until it expires.' })));
  main.querySelector('h1').focus();
}

// theme applies a link's name and accent colour; the text on the accent is black or
// white, whichever contrasts more.
function theme(s) {
  if (s.name) {
    product = s.name;
    document.getElementById('brand-name').textContent = s.name;
  }
  if (s.accent && /^#[0-9a-f]{6}$/i.test(s.accent)) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(s.accent.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const root = document.documentElement.style;
    root.setProperty('--accent', s.accent);
    root.setProperty('--accent-fg', lum > 0.179 ? '#000' : '#fff');
  }
}

// portalStart exchanges a link's token (in the address's fragment, which never reaches a
// server) for the session cookie, then takes the token out of the address and history.
async function portalStart() {
  const m = location.hash.match(/^#token=([A-Za-z0-9_-]{1,128})$/);
  try {
    if (m) {
      history.replaceState(null, '', `${location.pathname}#/webhooks`);
      portalSession = await api('POST', '/v1/session', { token: m[1] });
    } else {
      portalSession = await api('GET', '/v1/session');
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      showPortalEnded(m ? err.message : undefined);
      return;
    }
    fill(main, heading('Something went wrong'), h('div', { class: 'alert', role: 'alert' }, h('p', { text: err.message })));
    return;
  }
  theme(portalSession);
  route();
}

// --- routing -----------------------------------------------------------------------

// The webhook and delivery pages are the console's and the portal's alike.
const sharedRoutes = [
  [/^\/webhooks$/, webhookList, 'webhooks'],
  [/^\/webhooks\/new$/, (page, params) => webhookForm(page, null, params), 'webhooks'],
  [/^\/webhooks\/([^/]+)\/edit$/, webhookForm, 'webhooks'],
  [/^\/webhooks\/([^/]+)$/, webhookView, 'webhooks'],
  [/^\/deliveries$/, deliveryList, 'deliveries'],
  [/^\/deliveries\/([^/]+)$/, deliveryView, 'deliveries'],
];

const routes = PORTAL
  ? [...sharedRoutes, [/^\/event-types$/, eventTypeList, 'event-types']]
  : [
    [/^\/overview$/, overview, 'overview'],
    ...sharedRoutes,
    [/^\/events$/, eventList, 'events'],
    [/^\/events\/([^/]+)$/, eventView, 'events'],
    [/^\/credentials$/, credentialList, 'credentials'],
    [/^\/publish$/, publishView, 'publish'],
  ];

const HOME = PORTAL ? '/webhooks' : '/overview';

async function route() {
  if (!PORTAL && !session.token) return showSignIn();
  if (PORTAL && !portalSession) return portalStart();
  const hash = location.hash.replace(/^#/, '') || HOME;
  if (hash === '/' || hash === '') {
    location.replace(`#${HOME}`);
    return undefined;
  }
  const [path, qs] = hash.split('?');
  const params = new URLSearchParams(qs || '');
  const found = routes.find(([re]) => re.test(path));
  const [re, view, section] = found || [/.*/, notFound, ''];
  const args = found ? path.match(re).slice(1).map(decodeURIComponent) : [];
  chrome(true);
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
    if (err instanceof ApiError && err.status === 401) return showError(null, err);
    if (current === mine) {
      if (err.status === 404) notFound(page, err.message);
      else fill(page, heading('Something went wrong'), h('div', { class: 'alert', role: 'alert' }, h('p', { text: err.message })));
    }
  }
  if (current !== mine) return undefined; // another page was opened meanwhile
  const h1 = page.querySelector('h1');
  if (h1) {
    document.title = `${h1.textContent} \u00b7 ${product}`;
    h1.focus();
  }
  return undefined;
}

function notFound(page, message) {
  fill(page, heading('Page not found'),
    h('p', { text: typeof message === 'string' && message ? message : `Nothing is at \u201c${location.hash.slice(1)}\u201d.` }),
    h('p', {}, link(`#${HOME}`, PORTAL ? 'Go to your webhooks' : 'Go to the overview')));
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
    if (err instanceof ApiError && err.status === 401) showError(null, err);
    else if (current === mine) {
      stale = true;
      say(`Not updated: ${err.message} Trying again.`, true);
    }
  } finally {
    refreshing = false;
  }
}, REFRESH_MS);

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
    h('section', { class: 'card' }, h('h2', { text: 'Recent failed deliveries' }), failed,
      h('p', {}, link('#/deliveries?status=failed', 'Every failed delivery'))));

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
        h('p', {}, link('#/deliveries?status=pending', b.pending === 1 ? 'delivery pending' : 'deliveries pending')),
        b.oldestPendingId
          ? h('p', {}, link(`#/deliveries/${encodeURIComponent(b.oldestPendingId)}`, 'The oldest'), ' was created ', when(b.oldestPendingAt), '.')
          : h('p', { class: 'muted', text: 'Nothing waiting.' })),
      h('section', { class: 'card stat', 'aria-label': 'Webhooks' },
        h('h2', { text: 'Webhooks' }),
        h('p', { class: 'big' }, String(stats.webhooks.total)),
        h('p', {}, link('#/webhooks?health=failing', `${stats.webhooks.failing} failing`), ' \u00b7 ',
          link('#/webhooks?health=disabled', `${stats.webhooks.disabled} disabled`))));
    const sum = (k) => stats.minutes.reduce((a, m) => a + m[k], 0);
    fill(chartBox, activityChart(stats.minutes, { titleId: chartTitle, descId: chartDesc }));
    fill(summary, `In the last hour: ${plural(sum('published'), 'event')} published, ${plural(sum('succeeded'), 'attempt')} succeeded, ${sum('failed')} failed.`);
    const hooks = [...failing.webhooks, ...disabled.webhooks];
    fill(troubled, webhookTable(hooks, '!Failing and disabled endpoints', 'Every endpoint is healthy.'));
    fill(failed, deliveryTable(lost.deliveries, '!Recent failed deliveries', 'No delivery has failed for good.'));
    fill(error);
  }
  await load();
  return { refresh: load };
}

// --- events ------------------------------------------------------------------------

const EVENTS_PAGE = 50;
// The pages of the events list shown so far, for "Previous page".
const eventsTrail = cursorTrail();

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
  const paging = h('div');
  const filters = { type: params.get('type'), tenant: params.get('tenant') };
  const cursor = params.get('cursor') || '';
  const at = eventsTrail.at(query(filters), cursor);
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
  fill(page, heading('Events'), form, error, count, results, paging);
  async function load() {
    const r = await api('GET', `/v1/events${query({ ...filters, limit: EVENTS_PAGE, cursor })}`);
    const matched = r.totalCapped ? `More than ${plural(r.total, 'event')}` : plural(r.total, 'event');
    // Where the page starts is known when it was reached from the first page; one reached
    // by a link of its own (a bookmarked cursor) is only said to be a later one.
    const from = at.number === null ? null : at.number * EVENTS_PAGE;
    const shown = from === null || !r.events.length ? '' : ` ${from + 1}\u2013${from + r.events.length} shown.`;
    fill(count, r.total ? `${matched}, newest first;${shown || ' a later page shown.'}` : '');
    fill(results, table('!Events', ['Event', 'Type', 'Tenant', 'Occurred', 'Webhooks matched'], r.events.map((e) => [
      link(`#/events/${encodeURIComponent(e.id)}`, e.id, { class: 'mono' }),
      e.type,
      e.tenant || h('span', { class: 'muted', text: '\u2014' }),
      when(e.occurredAt),
      String(e.deliveries),
    ]), 'No event matches.'));
    eventsTrail.shown(r.nextCursor);
    fill(paging, cursorPager('Pages of events', at, r.nextCursor, (c) => `#/events${query({ ...filters, cursor: c || undefined })}`));
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
      ['Tenant', ev.tenant || '\u2014'],
      ['Occurred', when(ev.occurredAt)],
      ['Published', when(ev.createdAt)],
      ['Webhooks matched', String(ev.deliveries)],
    ]),
    h('details', { class: 'card' }, h('summary', { text: 'Data' }), h('pre', { text: JSON.stringify(ev.data, null, 2) })),
    h('section', { class: 'card' }, h('h2', { text: 'Deliveries' }), deliveries));
  function render(e) {
    fill(deliveries, deliveryTable(e.deliveryList, '!Deliveries of this event', 'No webhook matched this event.', true));
  }
  render(ev);
  return { refresh: async () => render(await api('GET', `/v1/events/${encodeURIComponent(id)}`)) };
}

// --- event types (portal) ------------------------------------------------------------

async function eventTypeList(page) {
  const types = await eventTypes();
  fill(page, heading('Event types'),
    h('p', { text: 'The events your endpoints can subscribe to. Each delivery is a JSON body {"type", "timestamp", "data"} signed with the Standard Webhooks headers.' }),
    table('!Event types', ['Type', 'Description'], types.map((t) => [code(t.type), t.description]), 'No event types.'));
  return {};
}

// --- publish -----------------------------------------------------------------------

async function publishView(page) {
  // The gateway's own events (polyhook.*) are published by it alone.
  const types = (await eventTypes()).filter((t) => !t.type.startsWith('polyhook.'));
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
    field('Tenant', tenant, 'Matched against each webhook\u2019s scope (a native subscription\u2019s tenant, a FusionAuth tenant, an Xsolla project, a Nursa client, an Authing user pool). Empty: only global webhooks match.'),
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
      fill(out, h('p', {}, `Published to ${plural(r.deliveries, 'webhook')}: `,
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
