// Deliveries: the filtered list with cursor paging and bulk retry, and one delivery with
// every attempt (what was sent, and what came back).

import { api, query, PORTAL } from './api.js';
import { h, fill, uid, when, field, table, dl, badge } from './dom.js';
import { say, alertBox, showError, heading, link, code, plural, localInput, cursorTrail, cursorPager } from './ui.js';
import { eventTypes, dialects } from './webhooks.js';

const PAGE = 50;
// At most this many deliveries are retried by one bulk retry.
const BULK_MAX = 10000;
const STATUSES = ['pending', 'succeeded', 'failed', 'cancelled'];

export function deliveryTable(ds, caption, empty, withWebhook = false) {
  return table(caption, ['Status', 'Delivery', 'Event', withWebhook ? 'Webhook' : 'Dialect', 'Attempts', 'Last answer', 'Created'], ds.map((d) => [
    badge(d.status),
    link(`#/deliveries/${encodeURIComponent(d.id)}`, d.id, { class: 'mono wrap' }),
    [PORTAL ? h('span', { class: 'mono wrap', text: d.eventId }) : link(`#/events/${encodeURIComponent(d.eventId)}`, d.eventId, { class: 'mono wrap' }),
      h('div', { class: 'muted', text: d.eventName })],
    withWebhook ? link(`#/webhooks/${encodeURIComponent(d.webhookId)}`, `${d.dialect} webhook`) : d.dialect,
    String(d.attempts),
    d.lastStatus ? String(d.lastStatus) : (d.lastError ? h('span', { class: 'muted', text: d.lastError }) : '\u2014'),
    when(d.createdAt),
  ]), empty);
}

// The pages of the list shown so far, for "Previous page".
const trail = cursorTrail();

function toISO(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export async function deliveryList(page, params) {
  const [types, ds] = await Promise.all([eventTypes(), PORTAL ? [] : dialects()]);
  const sel = (name, first, values) => {
    const s = h('select', { name }, h('option', { value: '', text: first }), values.map((v) => h('option', { value: v, text: v })));
    s.value = params.get(name) || '';
    if (params.get(name) && s.value !== params.get(name)) {
      s.append(h('option', { value: params.get(name), text: params.get(name) }));
      s.value = params.get(name);
    }
    return s;
  };
  const status = sel('status', 'Any status', STATUSES);
  const dialect = PORTAL ? null : sel('dialect', 'Every dialect', ds.map((d) => d.name));
  const eventType = sel('eventType', 'Any event type', types.map((t) => t.type));
  const webhookId = h('input', { type: 'search', name: 'webhookId', spellcheck: 'false', value: params.get('webhookId') || '' });
  const since = h('input', { type: 'datetime-local', name: 'since', value: params.get('since') ? localInput(new Date(params.get('since'))) : '' });
  const until = h('input', { type: 'datetime-local', name: 'until', value: params.get('until') ? localInput(new Date(params.get('until'))) : '' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter deliveries' },
    field('Status', status), dialect ? field('Dialect', dialect) : null, field('Event type', eventType),
    field('Webhook id', webhookId), field('Created from (local time)', since), field('Created before (local time)', until),
    h('button', { type: 'submit', text: 'Filter' }));
  const filters = {
    status: params.get('status'), dialect: PORTAL ? undefined : params.get('dialect'), eventType: params.get('eventType'),
    webhookId: params.get('webhookId'), since: params.get('since'), until: params.get('until'),
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = `#/deliveries${query({
      status: status.value, dialect: dialect ? dialect.value : undefined, eventType: eventType.value,
      webhookId: webhookId.value.trim(), since: toISO(since.value), until: toISO(until.value),
    })}`;
  });
  const key = query(filters);
  const cursor = params.get('cursor') || '';
  const at = trail.at(key, cursor);
  const count = h('p', { class: 'muted' });
  const list = h('div');
  const paging = h('div');
  const error = alertBox();
  const bulk = bulkRetry(filters);
  fill(page, heading('Deliveries'), form, error, h('div', { class: 'toolbar' }, count, bulk), list, paging);
  async function load() {
    const r = await api('GET', `/v1/deliveries${query({ ...filters, limit: PAGE, cursor })}`);
    const matched = plural(r.total, 'delivery', 'deliveries');
    fill(count, r.total ? `${r.totalCapped ? `More than ${matched}` : matched} match, newest first.` : '');
    fill(list, deliveryTable(r.deliveries, '!Deliveries', 'No delivery matches.', true));
    trail.shown(r.nextCursor);
    fill(paging, cursorPager('Pages of deliveries', at, r.nextCursor, (c) => `#/deliveries${query({ ...filters, cursor: c || undefined })}`));
  }
  await load();
  return { refresh: load };
}

// bulkRetry retries every finished delivery the filters select, a few at a time, showing
// its progress.
function bulkRetry(filters) {
  const box = h('div', { class: 'bulk' });
  if (filters.status === 'pending') return box;
  const button = h('button', { type: 'button', class: 'secondary', text: 'Retry all that match' });
  const progress = h('progress', { max: '1', value: '0', hidden: true, 'aria-label': 'Bulk retry progress' });
  const out = h('p', { class: 'result', 'aria-live': 'polite' });
  const error = alertBox();
  button.addEventListener('click', async () => {
    fill(error);
    button.disabled = true;
    try {
      fill(out, 'Finding the deliveries\u2026');
      const ids = [];
      let cursor = '';
      do {
        const r = await api('GET', `/v1/deliveries${query({ ...filters, limit: 1000, cursor })}`);
        for (const d of r.deliveries) if (d.status !== 'pending') ids.push(d.id);
        cursor = r.nextCursor || '';
      } while (cursor && ids.length < BULK_MAX);
      ids.splice(BULK_MAX);
      progress.max = String(Math.max(ids.length, 1));
      progress.value = '0';
      progress.hidden = false;
      let done = 0;
      let refused = 0;
      const work = ids.slice();
      const worker = async () => {
        while (work.length && document.body.contains(box)) {
          const id = work.shift();
          try {
            await api('POST', `/v1/deliveries/${encodeURIComponent(id)}/retry`);
          } catch (err) {
            if (err.status === 401) throw err;
            refused += 1;
          }
          done += 1;
          progress.value = String(done);
          fill(out, `Retrying: ${done} of ${ids.length}\u2026`);
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      const text = `Done: ${done - refused} of ${plural(ids.length, 'delivery', 'deliveries')} queued again${refused ? `; ${refused} refused (pending already, or gone)` : ''}.`;
      fill(out, text);
      say(text);
    } catch (err) {
      showError(error, err);
    } finally {
      button.disabled = false;
    }
  });
  fill(box, button, progress, out, error);
  return box;
}

function headerTable(caption, headers) {
  const names = Object.keys(headers || {}).sort((a, b) => a.localeCompare(b));
  return table(caption, ['Header', 'Value'], names.map((n) => [code(n), h('span', { class: 'mono wrap', text: headers[n] })]), 'None.');
}

function prettyBody(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function attemptSection(a) {
  const title = uid('attempt');
  const outcome = a.responseStatus ? `answered ${a.responseStatus}` : `no answer${a.errorKind ? ` (${a.errorKind})` : ''}`;
  return h('section', { class: 'card attempt', 'aria-labelledby': title },
    h('h3', { id: title }, `Attempt ${a.number}: `, outcome, ` in ${a.durationMs} ms`),
    dl([
      ['Started', when(a.startedAt)],
      ['URL', code(a.url)],
      ['Response status', a.responseStatus ? String(a.responseStatus) : '\u2014'],
      a.error ? ['Error', a.error] : null,
      ['Duration', `${a.durationMs} ms`],
      a.omittedHeaders && a.omittedHeaders.length ? ['Headers left out', a.omittedHeaders.join(', ')] : null,
    ]),
    h('details', {}, h('summary', { text: 'Request headers' }), headerTable('Request headers (secrets redacted)', a.requestHeaders)),
    h('details', {}, h('summary', { text: 'Request body' }),
      a.requestBody ? h('pre', { class: 'body', text: prettyBody(a.requestBody) }) : h('p', { class: 'muted', text: 'Empty.' })),
    a.responseHeaders ? h('details', {}, h('summary', { text: 'Response headers' }), headerTable('Response headers', a.responseHeaders)) : null,
    h('details', { open: true }, h('summary', { text: 'Response body' }),
      a.responseBody ? h('pre', { class: 'body', text: a.responseBody }) : h('p', { class: 'muted', text: 'Empty.' })));
}

export async function deliveryView(page, id) {
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
      ['Event', PORTAL ? code(d.eventId) : link(`#/events/${encodeURIComponent(d.eventId)}`, d.eventId)],
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
