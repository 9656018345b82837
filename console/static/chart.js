// activityChart draws GET /v1/stats minutes as an SVG: delivery attempts per minute as
// stacked bars (succeeded below, failed above) and events published as a line.

const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, text) {
  const n = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

function hhmm(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
}

export function activityChart(minutes, { titleId, descId } = {}) {
  const W = 720, H = 220, left = 40, right = 8, top = 12, bottom = 28;
  const plotW = W - left - right, plotH = H - top - bottom;
  const n = Math.max(minutes.length, 1);
  const peak = Math.max(1, ...minutes.map((m) => Math.max(m.succeeded + m.failed, m.published)));
  const step = niceStep(peak);
  const yMax = Math.ceil(peak / step) * step;
  const y = (v) => top + plotH - (v / yMax) * plotH;
  const slot = plotW / n;
  const barW = Math.max(1, slot * 0.7);

  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
  if (titleId) svg.setAttribute('aria-labelledby', titleId);
  if (descId) svg.setAttribute('aria-describedby', descId);

  const grid = el('g', { class: 'grid' });
  for (let v = 0; v <= yMax; v += step) {
    grid.append(el('line', { x1: left, x2: W - right, y1: y(v), y2: y(v) }));
    grid.append(el('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
  }
  svg.append(grid);

  const bars = el('g', { class: 'bars' });
  minutes.forEach((m, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    const g = el('g', { class: 'minute' });
    g.append(el('title', {}, `${hhmm(m.start)}: ${m.published} published, ${m.succeeded} succeeded, ${m.failed} failed`));
    if (m.succeeded > 0) g.append(el('rect', { class: 'ok', x, width: barW, y: y(m.succeeded), height: y(0) - y(m.succeeded) }));
    if (m.failed > 0) g.append(el('rect', { class: 'fail', x, width: barW, y: y(m.succeeded + m.failed), height: y(m.succeeded) - y(m.succeeded + m.failed) }));
    // An invisible full-height target, so the hover title works on quiet minutes too.
    g.append(el('rect', { class: 'hit', x: left + i * slot, width: slot, y: top, height: plotH }));
    bars.append(g);
  });
  svg.append(bars);

  const points = minutes.map((m, i) => `${(left + i * slot + slot / 2).toFixed(1)},${y(m.published).toFixed(1)}`).join(' ');
  svg.append(el('polyline', { class: 'published', points }));

  const axis = el('g', { class: 'axis' });
  minutes.forEach((m, i) => {
    if (i % 10 === 0 || i === n - 1) {
      axis.append(el('text', { x: left + i * slot + slot / 2, y: H - 8, 'text-anchor': 'middle' }, hhmm(m.start)));
    }
  });
  svg.append(axis);
  return svg;
}

function niceStep(peak) {
  const raw = peak / 4;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  for (const f of [1, 2, 5, 10]) if (f * mag >= raw) return Math.max(1, f * mag);
  return Math.max(1, 10 * mag);
}
