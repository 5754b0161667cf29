// ui.js — small DOM helpers: element building without innerHTML (every
// value from the API becomes a text node), times, badges, dialogs.
import { relTime, messageHead } from './lib.js';

// h('a', {href: '#/x', class: 'c', onclick: fn}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const LOCAL = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  second: '2-digit', hour12: false,
});

// "2026-11-24 04:12:03" in the browser's zone.
export function localTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = Object.fromEntries(LOCAL.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour === '24' ? '00' : p.hour}:${p.minute}:${p.second}`;
}

function utcTitle(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : `${d.toISOString().replace('.000Z', 'Z')} (UTC)`;
}

// <time> with local time as text and UTC in the tooltip.
// relative: 'ago' style ("in 4 min", "4 min ago"); 'next': a due time, so
// a past one reads "due now".
function relText(iso, mode) {
  if (mode === 'next' && Date.parse(iso) <= Date.now()) return 'due now';
  return relTime(iso);
}
export function timeEl(iso, { relative = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const mode = relative === true ? 'ago' : relative || null;
  const text = mode ? relText(iso, mode) : localTime(iso);
  return h('time', { datetime: iso, title: utcTitle(iso), 'data-rel': mode }, text);
}

// Refreshes every relative <time> under root (called by the poll timer).
export function refreshRelative(root) {
  for (const t of root.querySelectorAll('time[data-rel]')) t.textContent = relText(t.dateTime, t.dataset.rel);
}

export function badge(kind, text, title) {
  return h('span', { class: `badge ${kind}`, title }, text);
}

export function errorBox(msg) {
  return h('p', { class: 'error-line', role: 'alert' }, msg);
}

// A message from the server (a run's outcome, an error) in full: the text
// wraps; a long or multi-line one shows its head and a "show all" toggle
// (<details>), so nothing is cut for good and nothing is hidden in a tooltip.
// `key` names it for replaceKeepingFocus, which keeps an opened one open
// across a live refresh.
export function messageEl(text, { cls = '', max = 160, key = null } = {}) {
  const s = String(text ?? '');
  const { head, more } = messageHead(s, max);
  if (!more) return h('span', { class: `msg ${cls}`.trim() }, s);
  return h('details', { class: `msg ${cls}`.trim(), 'data-keep': key },
    h('summary', {}, h('span', { class: 'msg-head' }, `${head} …`),
      h('span', { class: 'msg-more' }, ` show all (${s.length} characters)`)),
    h('div', { class: 'msg-full' }, s));
}

// Confirmation dialog; resolves true for OK.
export function confirmDialog(text, okLabel = 'Delete', cancelLabel = 'Cancel') {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  document.getElementById('confirm-cancel').textContent = cancelLabel;
  dlg.returnValue = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

export function pageHead(title, sub, ...right) {
  return h('div', { class: 'pagehead' },
    h('div', { class: 'grow' }, h('h1', {}, title), sub ? h('div', { class: 'sub' }, sub) : null),
    ...right);
}

// Replaces the children of el, keeping focus on the element with the same
// data-focus key if one had it (live refresh must not steal the keyboard),
// and keeping open the <details data-keep=K> that were open.
export function replaceKeepingFocus(el, ...children) {
  const key = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.focus : null;
  const open = [...el.querySelectorAll('details[data-keep][open]')].map((d) => d.dataset.keep);
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  for (const k of open) {
    const d = el.querySelector(`details[data-keep="${CSS.escape(k)}"]`);
    if (d) d.open = true;
  }
  if (key) {
    const again = el.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}
