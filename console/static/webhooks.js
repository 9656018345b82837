// Webhooks: the list, one webhook with its figures and actions, and the form that makes
// or changes a native subscription.

import { api, query, PORTAL } from './api.js';
import { h, fill, uid, when, field, table, dl, badge } from './dom.js';
import { say, alertBox, showError, heading, link, code, plural, pager, confirmDialog, copyButton, localInput } from './ui.js';
import { deliveryTable } from './deliveries.js';

// NATIVE is the dialect of the subscriptions made at /v1/webhooks.
export const NATIVE = 'standard';
const PAGE = 50;

let catalogue = null;
export async function eventTypes() {
  if (!catalogue) catalogue = (await api('GET', '/v1/event-types')).eventTypes;
  return catalogue;
}

let registry = null;
// dialects lists the gateway's dialects ({name, api}) as GET /v1/dialects answers.
export async function dialects() {
  if (!registry) registry = (await api('GET', '/v1/dialects')).dialects;
  return registry;
}

export function health(w) {
  if (w.disabledAt || !w.enabled) return 'disabled';
  if (w.failingSince) return 'failing';
  return 'healthy';
}

// circuitText says what the endpoint's breaker, shared by every replica, lets through.
function circuitText(c) {
  if (c.state === 'open') {
    return [c.state, ' until ', when(c.until), ' \u2014 it failed 5 attempts in a row; no attempt is made until then'];
  }
  if (c.state === 'half-open') return [c.state, ' \u2014 one probe attempt goes first; its success closes it'];
  return c.state;
}

function scopeText(w) {
  const s = w.scope;
  const parts = [];
  if (s.global) parts.push('every tenant');
  if (s.tenantIds && s.tenantIds.length) parts.push(`tenants ${s.tenantIds.join(', ')}`);
  if (s.owner) parts.push(`tenant ${s.owner}`);
  return parts.join('; ') || 'no tenant';
}

export function webhookTable(hooks, caption, empty) {
  return table(caption, ['Health', 'Dialect', 'Endpoint', 'Events', 'Scope'], hooks.map((w) => [
    badge(health(w)),
    w.dialect,
    [link(`#/webhooks/${encodeURIComponent(w.id)}`, w.url, { class: 'wrap' }), w.description || w.name ? h('div', { class: 'muted', text: w.description || w.name }) : null,
      w.ordered ? h('div', { class: 'muted', text: 'ordered' }) : null],
    w.events.length ? w.events.join(', ') : h('span', { class: 'muted', text: 'none' }),
    scopeText(w),
  ]), empty);
}

export async function webhookList(page, params) {
  const list = h('div');
  const count = h('p', { class: 'muted' });
  const paging = h('div');
  const offset = Math.max(0, Number(params.get('offset')) || 0);
  const create = link('#/webhooks/new', 'New webhook', { class: 'button' });
  if (PORTAL) {
    fill(page, h('div', { class: 'titlebar' }, heading('Webhooks'), create), count, list, paging);
    // The portal's list is the tenant's own, answered whole; it is paged here.
    const load = async () => {
      const r = await api('GET', '/v1/webhooks');
      const shown = r.webhooks.slice(offset, offset + PAGE);
      fill(count, r.total ? `${plural(r.total, 'webhook')}${r.total > PAGE ? `; ${offset + 1}\u2013${offset + shown.length} shown` : ''}.` : '');
      fill(list, webhookTable(shown, '!Webhooks', 'No webhook yet. Make one to receive events.'));
      const at = (o) => `#/webhooks${query({ offset: o || undefined })}`;
      fill(paging, pager('Pages of webhooks', offset > 0 ? at(Math.max(0, offset - PAGE)) : null, offset + PAGE < r.total ? at(offset + PAGE) : null));
    };
    await load();
    return { refresh: load };
  }
  const ds = await dialects();
  const dialect = h('select', { name: 'dialect' },
    h('option', { value: '', text: 'Every dialect' }), ds.map((d) => h('option', { value: d.name, text: d.name })));
  const healthSel = h('select', { name: 'health' },
    h('option', { value: '', text: 'Any' }), ['healthy', 'failing', 'disabled'].map((s) => h('option', { value: s, text: s })));
  dialect.value = params.get('dialect') || '';
  healthSel.value = params.get('health') || '';
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter webhooks' },
    field('Dialect', dialect), field('Health', healthSel), h('button', { type: 'submit', text: 'Filter' }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = `#/webhooks${query({ dialect: dialect.value, health: healthSel.value })}`;
  });
  fill(page, h('div', { class: 'titlebar' }, heading('Webhooks'), create), form, count, list, paging);
  async function load() {
    const f = { dialect: params.get('dialect'), health: params.get('health') };
    const r = await api('GET', `/v1/webhooks${query({ ...f, limit: PAGE, offset })}`);
    const to = offset + r.webhooks.length;
    fill(count, r.total ? `${plural(r.total, 'webhook')}${r.total > r.webhooks.length ? `; ${offset + 1}\u2013${to} shown` : ''}.` : '');
    fill(list, webhookTable(r.webhooks, '!Webhooks', 'No webhook matches.'));
    const at = (o) => `#/webhooks${query({ ...f, offset: o || undefined })}`;
    fill(paging, pager('Pages of webhooks', offset > 0 ? at(Math.max(0, offset - PAGE)) : null, to < r.total ? at(to) : null));
  }
  await load();
  return { refresh: load };
}

function findWebhook(id) {
  return api('GET', `/v1/webhooks/${encodeURIComponent(id)}`);
}

function pct(x) {
  return x === undefined ? '\u2014' : `${(x * 100).toFixed(x === 1 || x === 0 ? 0 : 1)} %`;
}

function statsTable(s) {
  const row = (label, w) => [label, String(w.attempts), pct(w.successRate),
    w.p50Ms === undefined ? '\u2014' : `${w.p50Ms} ms`, w.p95Ms === undefined ? '\u2014' : `${w.p95Ms} ms`];
  return table('!Attempts, success rate and latency', ['Window', 'Attempts', 'Succeeded', 'Latency p50', 'Latency p95'],
    [row('Last hour', s.hour), row('Last day', s.day)], '');
}

export async function webhookView(page, id) {
  let w = await findWebhook(id);
  const native = w.dialect === NATIVE;
  const writable = !PORTAL || native; // a vendor dialect's webhook is read-only in the portal
  const props = h('div');
  const stats = h('div');
  const toggleBox = h('div', { class: 'action first' });
  const deliveries = h('div');
  const error = alertBox();
  const tools = h('div', { class: 'toolbar' },
    native ? link(`#/webhooks/${encodeURIComponent(id)}/edit`, 'Edit', { class: 'button secondary' }) : null,
    link(`#/deliveries${query({ webhookId: id })}`, 'Its deliveries', { class: 'button secondary' }),
    writable ? deleteButton(w, error, stopRefreshing) : null);
  fill(page,
    heading('Webhook'),
    h('p', { class: 'lead' }, code(w.url)),
    tools, error,
    props,
    h('section', { class: 'card', 'aria-labelledby': 'stats-title' }, h('h2', { id: 'stats-title', text: 'Attempts, success rate and latency' }), stats),
    h('section', { class: 'card', 'aria-labelledby': 'act-title' },
      h('h2', { id: 'act-title', text: 'Actions' }),
      writable ? toggleBox : null,
      testSendForm(w),
      secretForm(w, writable),
      recoverForm(w)),
    h('section', { class: 'card' }, h('h2', { text: 'Recent deliveries' }), deliveries,
      h('p', {}, link(`#/deliveries${query({ webhookId: id })}`, 'Every delivery to this webhook'))));

  function render() {
    const state = health(w);
    fill(props, dl([
      ['Health', [badge(state), w.disabledAt ? [' since ', when(w.disabledAt), w.disabledReason ? ` \u2014 ${w.disabledReason}` : ''] : null,
        !w.disabledAt && !w.enabled ? ' (switched off in its dialect\u2019s API)' : null,
        w.failingSince && !w.disabledAt ? [' since ', when(w.failingSince)] : null]],
      w.pausedAt ? ['Paused', ['since ', when(w.pausedAt), ' \u2014 its deliveries wait, unsent, until it is resumed']] : null,
      w.circuit ? ['Circuit', circuitText(w.circuit)] : null,
      w.ordered ? ['Order', 'ordered \u2014 one lane per event ordering key; in each, one attempt at a time, in publish order'] : null,
      w.rateLimit ? ['Rate limit', `${w.rateLimit} a second, across every replica \u2014 deliveries over it wait, spending no attempt`] : null,
      ['Dialect', w.dialect],
      PORTAL ? null : ['Id in its dialect', code(w.externalId)],
      ['Id', code(w.id)],
      w.name ? ['Name', w.name] : null,
      w.description ? ['Description', w.description] : null,
      ['Events', w.events.length ? h('ul', { class: 'tags' }, w.events.map((e) => h('li', {}, code(e)))) : 'none'],
      native || hasFilter(w) ? ['Filter', hasFilter(w)
        ? h('pre', { class: 'filter', text: JSON.stringify(w.filter, null, 2) })
        : 'none \u2014 every event it subscribes to'] : null,
      ['Scope', scopeText(w)],
      ['Custom headers', w.headerNames && w.headerNames.length
        ? [h('ul', { class: 'tags' }, w.headerNames.map((n) => h('li', {}, code(n)))), h('span', { class: 'hint', text: 'Their values are kept sealed and not shown.' })]
        : 'none'],
      ['Created', when(w.createdAt)],
      ['Changed', when(w.updatedAt)],
    ]));
    if (!writable) return;
    const terror = alertBox();
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
        showError(terror, err);
      }
    });
    fill(toggleBox, h('h3', { text: disabled ? 'Disabled' : 'Enabled' }),
      h('p', { class: 'hint', text: disabled ? 'Enabling sends its pending deliveries again.' : 'Disabling stops deliveries; pending ones wait until it is enabled again.' }),
      button, terror, PORTAL ? null : pauseAction());
  }

  // The pause keeps new events too: they wait with the pending ones until it is resumed.
  function pauseAction() {
    const perror = alertBox();
    const paused = Boolean(w.pausedAt);
    const button = h('button', { type: 'button', class: 'secondary', text: paused ? 'Resume deliveries' : 'Pause deliveries' });
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await api('POST', `/v1/webhooks/${encodeURIComponent(w.id)}/${paused ? 'resume' : 'pause'}`);
        w = await findWebhook(id);
        shownW = JSON.stringify(w);
        render();
        say(paused ? 'Deliveries resumed.' : 'Deliveries paused.');
      } catch (err) {
        button.disabled = false;
        showError(perror, err);
      }
    });
    return h('div', { class: 'action' }, h('h3', { text: paused ? 'Paused' : 'Not paused' }),
      h('p', { class: 'hint', text: paused ? 'Resuming sends what waited.' : 'Pausing keeps new events and pending deliveries, unsent and spending no attempt, until it is resumed.' }),
      button, perror);
  }

  async function load() {
    const [r, s] = await Promise.all([
      api('GET', `/v1/deliveries${query({ webhookId: w.id, limit: 10 })}`),
      api('GET', `/v1/webhooks/${encodeURIComponent(w.id)}/stats`),
    ]);
    fill(deliveries, deliveryTable(r.deliveries, '!Recent deliveries', 'No delivery yet.'));
    fill(stats, statsTable(s));
  }
  let shownW = JSON.stringify(w);
  // A delete stops the refreshes first and waits for one in flight, so that none asks for
  // the webhook after it is gone.
  let deleting = false;
  let inFlight = Promise.resolve();
  async function stopRefreshing(stop = true) {
    deleting = stop;
    await inFlight.catch(() => {});
  }
  async function refresh() {
    if (deleting) return;
    inFlight = (async () => {
      const fresh = await findWebhook(id);
      if (JSON.stringify(fresh) !== shownW) {
        w = fresh;
        shownW = JSON.stringify(w);
        render();
      }
      await load();
    })();
    await inFlight;
  }
  render();
  await load();
  return { refresh };
}

function deleteButton(w, error, stopRefreshing) {
  const b = h('button', { type: 'button', class: 'danger', text: 'Delete' });
  b.addEventListener('click', async () => {
    const sure = await confirmDialog('Delete this webhook?',
      `${w.url} stops receiving events at once and its pending deliveries are cancelled. This cannot be undone.`, 'Delete webhook');
    if (!sure) return;
    b.disabled = true;
    await stopRefreshing();
    try {
      await api('DELETE', `/v1/webhooks/${encodeURIComponent(w.id)}`);
      say('Webhook deleted.');
      location.hash = '#/webhooks';
    } catch (err) {
      await stopRefreshing(false);
      b.disabled = false;
      showError(error, err);
    }
  });
  return b;
}

function testSendForm(w) {
  const select = h('select', { name: 'eventName' }, w.events.map((e) => h('option', { value: e, text: e })));
  const custom = h('input', { type: 'text', name: 'customEvent', spellcheck: 'false', placeholder: w.events[0] || '' });
  const out = h('div', { class: 'result', 'aria-live': 'polite' });
  const error = alertBox();
  const button = h('button', { type: 'submit', text: 'Send test event' });
  const form = h('form', { class: 'action', 'aria-label': 'Send a test event' },
    h('h3', { text: 'Test' }),
    h('p', { class: 'hint', text: 'Sends a sample event to the endpoint now and shows its answer. Nothing is recorded.' }),
    w.events.length ? field('Event', select) : null,
    field('Or another event name', custom, 'A name this webhook\u2019s dialect uses; leave empty to use the one above.'),
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

// secretForm reveals the signing secrets on request, and rotates them.
function secretForm(w, writable) {
  const out = h('div', { class: 'result', 'aria-live': 'polite' });
  const error = alertBox();
  const reveal = h('button', { type: 'button', class: 'secondary', text: 'Reveal signing secret' });
  const showSecrets = (secrets) => {
    const [fresh, ...old] = secrets;
    fill(out, h('p', { class: 'secret' }, code(fresh.secret), ' ', copyButton(fresh.secret, 'Copy secret')),
      old.length ? h('p', { class: 'hint' }, `${plural(old.length, 'older secret')} still signing until `, when(old[0].expiresAt), '.') : null);
  };
  reveal.addEventListener('click', async () => {
    fill(error);
    try {
      showSecrets((await api('GET', `/v1/webhooks/${encodeURIComponent(w.id)}/secrets`)).secrets);
      say('Signing secret shown.');
    } catch (err) {
      showError(error, err);
    }
  });
  const grace = h('input', { type: 'number', name: 'graceSeconds', min: '0', max: '604800', value: '86400', inputmode: 'numeric' });
  const button = h('button', { type: 'submit', text: 'Rotate signing secret' });
  const form = h('form', { class: 'action', 'aria-label': 'Signing secret' },
    h('h3', { text: 'Signing secret' }),
    h('p', { class: 'hint', text: 'Receivers check the Standard Webhooks signature (webhook-signature) with it.' }),
    h('div', { class: 'buttons' }, reveal), out,
    writable ? [field('Grace period when rotating (seconds)', grace, 'The old secret keeps signing this long, 0 to 604800 (7 days), so receivers can switch over.'), button] : null,
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(error);
    button.disabled = true;
    try {
      const r = await api('POST', `/v1/webhooks/${encodeURIComponent(w.id)}/secrets/rotate`, { graceSeconds: Number(grace.value) });
      showSecrets(r.secrets);
      say('New signing secret made; give it to the receiver.');
    } catch (err) {
      showError(error, err);
    } finally {
      button.disabled = false;
    }
  });
  return form;
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
        // The same words as the command line's: attempted is not succeeded.
        const p = r.progress || { attempted: 0, succeeded: 0, failedAgain: 0, waitingForRetry: 0 };
        const over = r.status === 'done' && p.attempted >= r.total;
        progress.max = String(Math.max(r.total, 1));
        progress.value = String(over && r.total === 0 ? 1 : p.attempted);
        const line = `attempted ${p.attempted} of ${r.total}: ${p.succeeded} succeeded, ${p.failedAgain} failed again, ${p.waitingForRetry} waiting for a retry.`;
        fill(out, over ? `Done: ${line}` : `Recovering: ${line}`);
        if (over || !document.body.contains(form)) break;
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

// --- the form of a native subscription -------------------------------------------------

function headerRow(rows, name = '', value = '') {
  const n = h('input', { type: 'text', name: 'headerName', spellcheck: 'false', value: name, autocomplete: 'off' });
  const v = h('input', { type: 'text', name: 'headerValue', spellcheck: 'false', value, autocomplete: 'off' });
  const i = rows.children.length + 1;
  const remove = h('button', { type: 'button', class: 'secondary small', text: 'Remove', 'aria-label': `Remove header ${i}` });
  const row = h('div', { class: 'header-row' }, field(`Header ${i} name`, n), field(`Header ${i} value`, v), remove);
  remove.addEventListener('click', () => {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    if (next) next.querySelector('input').focus();
  });
  rows.append(row);
  return n;
}

// hasFilter reports whether a webhook has a payload filter (an empty one matches every event).
function hasFilter(w) {
  return Boolean(w.filter && typeof w.filter === 'object' && Object.keys(w.filter).length);
}

// webhookForm makes (id null) or changes a native subscription.
export async function webhookForm(page, id) {
  const types = await eventTypes();
  const w = id ? await findWebhook(id) : null;
  if (w && w.dialect !== NATIVE) {
    fill(page, heading('Edit webhook'), h('p', { text: `This webhook belongs to the ${w.dialect} dialect; change it through that API.` }),
      h('p', {}, link(`#/webhooks/${encodeURIComponent(id)}`, 'Back to the webhook')));
    return {};
  }
  const url = h('input', { type: 'url', name: 'url', required: true, spellcheck: 'false', maxlength: '2048', value: w ? w.url : '' });
  const chosen = new Set(w ? w.events : []);
  const legendId = uid('events');
  const boxes = types.map((t) => {
    const cb = h('input', { type: 'checkbox', name: 'events', value: t.type, checked: chosen.has(t.type) });
    return h('label', { class: 'check' }, cb, ' ', code(t.type), h('span', { class: 'muted', text: ` \u2014 ${t.description}` }));
  });
  const events = h('fieldset', { class: 'events', 'aria-describedby': legendId },
    h('legend', { text: 'Events' }), h('p', { class: 'hint', id: legendId, text: 'Choose at least one.' }), h('div', { class: 'checks' }, boxes));
  const tenant = h('input', { type: 'text', name: 'tenant', spellcheck: 'false', maxlength: '128', value: w && w.scope.owner ? w.scope.owner : '' });
  const description = h('input', { type: 'text', name: 'description', maxlength: '255', value: w && w.description ? w.description : '' });
  const filter = h('textarea', { name: 'filter', rows: '4', spellcheck: 'false', placeholder: '{"tenant": "acme", "data.user.email": {"$startsWith": "vip."}}' });
  filter.value = w && hasFilter(w) ? JSON.stringify(w.filter, null, 2) : '';
  const rows = h('div', { class: 'header-rows' });
  const addHeader = h('button', { type: 'button', class: 'secondary', text: 'Add a header' });
  addHeader.addEventListener('click', () => headerRow(rows).focus());
  const replace = h('input', { type: 'checkbox', name: 'replaceHeaders' });
  const headerBox = h('div', { hidden: Boolean(w && w.headerNames && w.headerNames.length) }, rows, addHeader);
  if (w && w.headerNames) for (const n of w.headerNames) headerRow(rows, n, '');
  replace.addEventListener('change', () => { headerBox.hidden = !replace.checked; });
  const headers = h('fieldset', { class: 'headers' }, h('legend', { text: 'Custom headers' }),
    h('p', { class: 'hint', text: 'Sent with every delivery, for the receiver\u2019s own checks. Their values are kept sealed and never shown again.' }),
    w && w.headerNames && w.headerNames.length
      ? h('label', { class: 'check' }, replace, ` Replace the headers (${w.headerNames.join(', ')}); every value must be entered again`)
      : null,
    headerBox);
  const error = alertBox();
  const out = h('div', { class: 'result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', text: w ? 'Save changes' : 'Create webhook' });
  const form = h('form', { class: 'card', 'aria-label': w ? 'Edit webhook' : 'New webhook', novalidate: true },
    field('Endpoint URL', url, 'Where events are sent, http or https.'),
    events,
    w || PORTAL ? null : field('Tenant (optional)', tenant, 'Receive only the events published with this tenant; every tenant\u2019s when empty.'),
    field('Description (optional)', description),
    field('Filter (optional)', filter, 'A JSON object: only the events it matches are delivered (see the event catalogue\u2019s filters). Empty: every event chosen above.'),
    headers,
    error, button, out);
  url.addEventListener('input', () => {
    if (url.getAttribute('aria-invalid')) {
      url.removeAttribute('aria-invalid');
      fill(error);
    }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(error);
    const picked = [...form.querySelectorAll('input[name=events]:checked')].map((c) => c.value);
    url.removeAttribute('aria-invalid');
    if (!url.value.trim()) {
      url.setAttribute('aria-invalid', 'true');
      fill(error, h('p', { text: 'Enter the endpoint\u2019s URL.' }));
      url.focus();
      return;
    }
    if (!picked.length) {
      fill(error, h('p', { text: 'Choose at least one event.' }));
      form.querySelector('input[name=events]').focus();
      return;
    }
    const body = { url: url.value.trim(), events: picked, description: description.value };
    filter.removeAttribute('aria-invalid');
    if (filter.value.trim()) {
      try {
        body.filter = JSON.parse(filter.value);
      } catch {
        filter.setAttribute('aria-invalid', 'true');
        fill(error, h('p', { text: 'The filter is not JSON: write an object such as {"tenant": "acme"}.' }));
        filter.focus();
        return;
      }
    } else if (w && hasFilter(w)) {
      body.filter = {}; // removes it
    }
    if (!w || replace.checked || !(w.headerNames && w.headerNames.length)) {
      const hs = {};
      for (const row of rows.children) {
        const [n, v] = row.querySelectorAll('input');
        if (n.value.trim()) hs[n.value.trim()] = v.value;
      }
      if (w || Object.keys(hs).length) body.headers = hs;
    }
    if (!w && !PORTAL && tenant.value.trim()) body.tenant = tenant.value.trim();
    button.disabled = true;
    try {
      if (w) {
        await api('PATCH', `/v1/webhooks/${encodeURIComponent(w.id)}`, body);
        say('Webhook saved.');
        location.hash = `#/webhooks/${encodeURIComponent(w.id)}`;
        return;
      }
      const made = await api('POST', '/v1/webhooks', body);
      fill(form, h('h2', { text: 'Webhook created' }),
        h('p', { text: 'Deliveries are signed with this secret (Standard Webhooks). Give it to the receiver; you can reveal it again on the webhook\u2019s page.' }),
        h('p', { class: 'secret' }, code(made.secret), ' ', copyButton(made.secret, 'Copy secret')),
        h('p', {}, link(`#/webhooks/${encodeURIComponent(made.id)}`, 'Open the webhook')));
      say('Webhook created.');
      form.querySelector('a').focus();
    } catch (err) {
      button.disabled = false;
      showError(error, err);
    }
  });
  fill(page, heading(w ? 'Edit webhook' : 'New webhook'), form);
  return {};
}
