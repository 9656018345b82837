// Page pieces every view shares: headings, links, alerts, the status line, paging and
// the confirmation dialog.

import { ApiError } from './api.js';
import { h, fill } from './dom.js';

const statusRegion = document.getElementById('status');
let unauthorized = () => {};

// onUnauthorized sets what a 401 from the gateway does (sign out).
export function onUnauthorized(fn) { unauthorized = fn; }

// say announces a short message to screen readers and shows it under the header.
export function say(text, warn = false) {
  fill(statusRegion, text ? h('p', { text, class: warn ? 'warn' : '' }) : null);
}

export function alertBox() {
  return h('div', { class: 'alert', role: 'alert' });
}

export function showError(box, err) {
  if (err instanceof ApiError && err.status === 401) return unauthorized();
  fill(box, h('p', { text: err.message || String(err) }));
  return undefined;
}

export function heading(text) {
  return h('h1', { tabindex: '-1', text });
}

export function link(href, text, attrs = {}) {
  return h('a', { href, ...attrs }, text);
}

export function code(text) {
  return h('code', { text });
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

// pager renders "Previous" and "Next" links to the pages around the current one.
export function pager(label, prev, next) {
  if (!prev && !next) return null;
  return h('nav', { class: 'pager', 'aria-label': label },
    prev ? link(prev, 'Previous page', { rel: 'prev' }) : h('span', { class: 'muted', text: 'First page' }),
    next ? link(next, 'Next page', { rel: 'next' }) : h('span', { class: 'muted', text: 'Last page' }));
}

// cursorTrail follows a list paged by cursor: the cursors of the pages shown since its
// first page, for "Previous page" and for the number of the page shown, kept while the
// list's filters stay the same. Moving back by the browser's history finds the page in
// the trail; a page reached by a link of its own starts a trail whose pages before it are
// not known.
export function cursorTrail() {
  let key = null;
  let pages = [''];
  let next = null;
  let known = true;
  return {
    // at takes the page of cursor among the list's pages with filters filters; it
    // returns the page's number from 0 (null when not known) and the cursor of the page
    // before it ('' for the first; null on the first).
    at(filters, cursor) {
      if (filters !== key) {
        key = filters;
        pages = [''];
        known = true;
        next = null;
      }
      let i = pages.indexOf(cursor);
      if (i < 0 && cursor === next) {
        pages.push(cursor);
        i = pages.length - 1;
      } else if (i < 0) {
        pages = ['', cursor];
        known = false;
        i = 1;
      }
      if (i === 0) known = true;
      pages = pages.slice(0, i + 1);
      next = null;
      return { number: known ? i : null, prev: i > 0 ? pages[i - 1] : null, first: !known && i === 1 };
    },
    // shown says the cursor of the page after the one shown ('' when it is the last).
    shown(nextCursor) { next = nextCursor || null; },
  };
}

// cursorPager renders the links of a list paged by cursor around the page at (cursorTrail's
// at): href(cursor) is the hash of the page of a cursor ('' for the first).
export function cursorPager(label, at, nextCursor, href) {
  const prev = at.prev !== null ? link(href(at.prev), at.first ? 'First page' : 'Previous page', { rel: 'prev' }) : null;
  const next = nextCursor ? link(href(nextCursor), 'Next page', { rel: 'next' }) : null;
  if (!prev && !next) return null;
  return h('nav', { class: 'pager', 'aria-label': label }, prev, next);
}

// confirmDialog asks before something that cannot be undone; it resolves true when the
// person confirms. Escape and Cancel resolve false; the focus returns where it was.
export function confirmDialog(title, text, action) {
  const back = document.activeElement;
  const ok = h('button', { type: 'button', class: 'danger', text: action });
  const cancel = h('button', { type: 'button', class: 'secondary', text: 'Cancel' });
  const titleId = `dlg-${Date.now()}`;
  const dlg = h('dialog', { 'aria-labelledby': titleId, class: 'confirm' },
    h('h2', { id: titleId, text: title }), h('p', { text }), h('div', { class: 'buttons' }, cancel, ok));
  document.body.append(dlg);
  return new Promise((resolve) => {
    const done = (v) => {
      dlg.close();
      dlg.remove();
      if (back && back.focus) back.focus();
      resolve(v);
    };
    ok.addEventListener('click', () => done(true));
    cancel.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (ev) => { ev.preventDefault(); done(false); });
    dlg.showModal();
    cancel.focus();
  });
}

// copyButton copies text to the clipboard and says so.
export function copyButton(text, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'secondary small', text: label });
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      say('Copied to the clipboard.');
    } catch {
      say('The browser did not allow copying; select the text and copy it.', true);
    }
  });
  return b;
}

// localInput renders d for an <input type="datetime-local">.
export function localInput(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
