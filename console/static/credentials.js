// Credentials of the dialect APIs: the list, minting one (its secret shown once) and
// revoking one.

import { api, query } from './api.js';
import { h, fill, when, field, table, dl } from './dom.js';
import { say, alertBox, showError, heading, code, plural, pager, confirmDialog, copyButton } from './ui.js';
import { dialects } from './webhooks.js';

const PAGE = 50;
const FIXED = ['id', 'dialect', 'name', 'createdAt'];

function extra(c) {
  return Object.entries(c).filter(([k]) => !FIXED.includes(k))
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('; ');
}

export async function credentialList(page, params) {
  const ds = (await dialects()).filter((d) => d.api);
  const dialect = h('select', { name: 'dialect', required: true }, ds.map((d) => h('option', { value: d.name, text: d.name })));
  const name = h('input', { type: 'text', name: 'name', maxlength: '255' });
  const fields = h('textarea', { name: 'fields', rows: '2', spellcheck: 'false', placeholder: '{"projectIds": ["<uuid>"]}' });
  const error = alertBox();
  const minted = h('div', { class: 'result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', text: 'Mint credential' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'mint-title' },
    h('h2', { id: 'mint-title', text: 'Mint a credential' }),
    field('Dialect', dialect),
    field('Name (optional)', name, 'A label for operators.'),
    field('The dialect\u2019s own fields (optional JSON object)', fields, 'xsolla requires {"projectIds": [...]}, the Login projects the credential may manage.'),
    error, button, minted);
  const list = h('div');
  const count = h('p', { class: 'muted' });
  const paging = h('div');
  const listError = alertBox();
  const offset = Math.max(0, Number(params.get('offset')) || 0);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(error);
    fill(minted);
    let body = {};
    if (fields.value.trim()) {
      try {
        body = JSON.parse(fields.value);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error();
      } catch {
        fields.setAttribute('aria-invalid', 'true');
        fill(error, h('p', { text: 'The dialect\u2019s fields must be a JSON object.' }));
        fields.focus();
        return;
      }
    }
    fields.removeAttribute('aria-invalid');
    body = { ...body, dialect: dialect.value };
    if (name.value.trim()) body.name = name.value.trim();
    button.disabled = true;
    try {
      const c = await api('POST', '/v1/credentials', body);
      const secrets = Object.entries(c).filter(([k]) => !FIXED.includes(k));
      fill(minted, h('h3', { text: 'Credential minted' }),
        h('p', { class: 'warn-text', text: 'Copy it now: its secret is not shown again.' }),
        dl([['Id', code(c.id)], ['Dialect', c.dialect],
          ...secrets.map(([k, v]) => [k, h('span', { class: 'secret' }, code(Array.isArray(v) ? v.join(', ') : String(v)), ' ',
            copyButton(Array.isArray(v) ? v.join(',') : String(v), `Copy ${k}`))])]));
      say('Credential minted; its secret is shown once.');
      name.value = '';
      fields.value = '';
      await load();
    } catch (err) {
      showError(error, err);
    } finally {
      button.disabled = false;
    }
  });
  const links = h('div');
  const linksPaging = h('div');
  const linksError = alertBox();
  const linksOffset = Math.max(0, Number(params.get('linksOffset')) || 0);
  fill(page, heading('Credentials and portal links'), form,
    h('section', { class: 'card' }, h('h2', { text: 'Credentials' }), listError, count, list, paging),
    portalLinkForm(() => loadLinks()),
    h('section', { class: 'card' }, h('h2', { text: 'Portal links in force' }), linksError, links, linksPaging));
  async function loadLinks() {
    const r = await api('GET', `/v1/portal-links${query({ limit: PAGE, offset: linksOffset || undefined })}`);
    fill(links, table('!Portal links in force', ['Tenant', 'Title', 'Opened', 'Expires', 'Revoke'], r.portalLinks.map((l) => [
      h('span', { class: 'mono wrap', text: l.tenant }), l.name || h('span', { class: 'muted', text: '\u2014' }),
      l.redeemedAt ? when(l.redeemedAt) : h('span', { class: 'muted', text: 'not yet' }), when(l.expiresAt),
      revokeLinkButton(l.id, linksError, loadLinks, `Revoke the portal link of ${l.tenant}`),
    ]), 'No portal link in force.'));
    const at = (o) => `#/credentials${query({ offset: offset || undefined, linksOffset: o || undefined })}`;
    fill(linksPaging, pager('Pages of portal links', linksOffset > 0 ? at(Math.max(0, linksOffset - PAGE)) : null,
      linksOffset + PAGE < r.total ? at(linksOffset + PAGE) : null));
  }
  await loadLinks();
  async function load() {
    const r = await api('GET', '/v1/credentials');
    const all = r.credentials;
    const shown = all.slice(offset, offset + PAGE);
    fill(count, all.length ? `${plural(all.length, 'credential')}, newest first${all.length > PAGE ? `; ${offset + 1}\u2013${offset + shown.length} shown` : ''}.` : '');
    fill(list, table('!Credentials', ['Dialect', 'Name', 'Id', 'Scope', 'Created', 'Revoke'], shown.map((c) => [
      c.dialect, c.name || h('span', { class: 'muted', text: '\u2014' }), h('span', { class: 'mono wrap', text: c.id }),
      extra(c) || h('span', { class: 'muted', text: '\u2014' }), when(c.createdAt), revokeButton(c, listError, load),
    ]), 'No credential yet.'));
    const at = (o) => `#/credentials${query({ offset: o || undefined })}`;
    fill(paging, pager('Pages of credentials', offset > 0 ? at(Math.max(0, offset - PAGE)) : null,
      offset + PAGE < all.length ? at(offset + PAGE) : null));
  }
  await load();
  return {};
}

function revokeButton(c, error, reload) {
  const b = h('button', { type: 'button', class: 'danger small', text: 'Revoke', 'aria-label': `Revoke ${c.dialect} credential ${c.name || c.id}` });
  b.addEventListener('click', async () => {
    const sure = await confirmDialog('Revoke this credential?',
      `Requests made with the ${c.dialect} credential ${c.name || c.id} are refused from now on. This cannot be undone.`, 'Revoke credential');
    if (!sure) return;
    b.disabled = true;
    try {
      await api('DELETE', `/v1/credentials/${encodeURIComponent(c.id)}`);
      say('Credential revoked.');
      await reload();
    } catch (err) {
      b.disabled = false;
      showError(error, err);
    }
  });
  return b;
}

// portalLinkForm makes a one-time link into the tenant portal, shown once to copy.
export function portalLinkForm(changed) {
  const tenant = h('input', { type: 'text', name: 'tenant', required: true, maxlength: '128', spellcheck: 'false' });
  const expires = h('input', { type: 'text', name: 'expiresIn', value: '1h', spellcheck: 'false' });
  const name = h('input', { type: 'text', name: 'portalName', maxlength: '64' });
  const accent = h('input', { type: 'color', name: 'accent', value: '#2f5fd0' });
  const error = alertBox();
  const out = h('div', { class: 'result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', text: 'Make portal link' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'portal-title', novalidate: true },
    h('h2', { id: 'portal-title', text: 'Tenant portal link' }),
    h('p', { class: 'hint', text: 'A link that opens the tenant portal once, signed in as one tenant, for your customer to manage its own webhooks.' }),
    field('Tenant', tenant, 'A native subscription\u2019s tenant, an Xsolla project, a Nursa client, an Authing user pool or a FusionAuth tenant id.'),
    field('Expires in', expires, 'From 1m to 720h, like 30m or 24h: when the link and its session end.'),
    field('Portal title (optional)', name),
    field('Accent colour', accent),
    error, button, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fill(error);
    fill(out);
    if (!tenant.value.trim()) {
      tenant.setAttribute('aria-invalid', 'true');
      fill(error, h('p', { text: 'Enter the tenant.' }));
      tenant.focus();
      return;
    }
    tenant.removeAttribute('aria-invalid');
    button.disabled = true;
    try {
      const body = { tenant: tenant.value.trim(), expiresIn: expires.value.trim() || undefined, accent: accent.value };
      if (name.value.trim()) body.name = name.value.trim();
      const l = await api('POST', '/v1/portal-links', body);
      fill(out, h('p', { class: 'warn-text', text: 'Copy it now: the link is not shown again. It works once.' }),
        dl([['Link', h('span', { class: 'secret' }, code(l.url), ' ', copyButton(l.url, 'Copy link'))],
          ['Id (to revoke it)', code(l.id)], ['Expires', when(l.expiresAt)]]),
        revokeLinkButton(l.id, error, changed));
      say('Portal link made.');
      await changed();
    } catch (err) {
      showError(error, err);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function revokeLinkButton(id, error, changed, label) {
  const b = h('button', { type: 'button', class: label ? 'danger small' : 'danger', text: label ? 'Revoke' : 'Revoke this link', 'aria-label': label });
  b.addEventListener('click', async () => {
    if (!(await confirmDialog('Revoke this portal link?', 'The link stops working and the session opened with it ends at once.', 'Revoke link'))) return;
    b.disabled = true;
    try {
      await api('DELETE', `/v1/portal-links/${encodeURIComponent(id)}`);
      say('Portal link revoked.');
      b.textContent = 'Revoked';
      await changed();
    } catch (err) {
      b.disabled = false;
      showError(error, err);
    }
  });
  return b;
}
