// Small DOM helpers: every text goes in as text, never as markup, so what receivers
// answer cannot inject anything into the page.

export function h(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') n.addEventListener(k.slice(2), v);
    else if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else if (v === true) n.setAttribute(k, '');
    else n.setAttribute(k, String(v));
  }
  append(n, children);
  return n;
}

function append(n, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(n, c);
    else n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const FOCUSABLE = 'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])';

// fill replaces n's children. Where the focus was on one of them (a page refreshing itself
// every few seconds re-renders the links a keyboard user is on), it goes to the one in
// the same place among the new children, rather than back to the start of the page.
export function fill(n, ...children) {
  const active = document.activeElement;
  const at = active && active !== n && n.contains(active) ? [...n.querySelectorAll(FOCUSABLE)].indexOf(active) : -1;
  n.replaceChildren();
  append(n, children);
  if (at >= 0) {
    const again = n.querySelectorAll(FOCUSABLE)[at];
    if (again) again.focus({ preventScroll: true });
  }
  return n;
}

let ids = 0;
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

// when renders a time as its local date and time, with "3 min ago" beside it.
export function when(iso) {
  if (!iso) return h('span', { class: 'muted', text: '\u2014' });
  const d = new Date(iso);
  return h('span', { class: 'when' }, h('time', { datetime: iso }, absolute(d)), ' ', h('span', { class: 'muted' }, `(${relative(d)})`));
}

// absolute renders d as "2026-12-06 14:03:07" in the browser's time zone.
export function absolute(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function relative(d) {
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  let text;
  if (a < 5) return 'just now';
  if (a < 60) text = `${a} s`;
  else if (a < 3600) text = `${Math.round(a / 60)} min`;
  else if (a < 86400) text = `${Math.round(a / 3600)} h`;
  else text = `${Math.round(a / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

// field is a labelled control: label, then the control, then an optional hint.
export function field(label, control, hint) {
  const id = control.id || uid('f');
  control.id = id;
  const parts = [h('label', { for: id, text: label }), control];
  if (hint) {
    const hid = `${id}-hint`;
    control.setAttribute('aria-describedby', hid);
    parts.push(h('span', { class: 'hint', id: hid, text: hint }));
  }
  return h('div', { class: 'field' }, parts);
}

// table renders rows with a caption and header cells; an empty list shows `empty`.
export function table(caption, headers, rows, empty) {
  if (!rows.length) return h('p', { class: 'empty', text: empty });
  return h('table', {},
    h('caption', { class: caption.startsWith('!') ? 'sr-only' : '', text: caption.replace(/^!/, '') }),
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) => h('td', { 'data-label': headers[i] }, c))))));
}

// dl renders [term, value] pairs.
export function dl(pairs) {
  return h('dl', { class: 'props' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
}

export function badge(state) {
  return h('span', { class: `badge b-${state}`, text: state });
}
