// app.js — the dashboard's entry: hash routing, live refresh, sign-in state.
//
// Routes: #/schedules, #/schedules/new, #/schedules/{id}, #/schedules/{id}/edit,
// #/datasets, #/datasets/{name}, #/sql (optionally ?q=SQL).
// A page is a function (main, params, ctx) that draws into main; ctx.poll
// registers a refresh that runs every few seconds while the tab is visible
// and stops when the page changes.
import { api, logout, token, setAuthListener } from './api.js';
import { h } from './ui.js';
import * as schedules from './schedules.js';
import * as datasets from './datasets.js';
import * as sql from './sql.js';

const main = document.getElementById('main');
let current = null; // { polls: [], alive: bool }

const routes = [
  [/^\/schedules\/?$/, schedules.list, 'schedules'],
  [/^\/schedules\/new$/, schedules.form, 'schedules'],
  [/^\/schedules\/([^/]+)\/edit$/, schedules.form, 'schedules'],
  [/^\/schedules\/([^/]+)$/, schedules.detail, 'schedules'],
  [/^\/datasets\/?$/, datasets.list, 'datasets'],
  [/^\/datasets\/([^/]+)$/, datasets.detail, 'datasets'],
  [/^\/sql\/?$/, sql.page, 'sql'],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/schedules';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  return { path, query };
}

function stopPage() {
  if (!current) return;
  current.alive = false;
  for (const p of current.polls) clearTimeout(p.timer);
  current = null;
}

function makeCtx() {
  const page = { polls: [], alive: true };
  current = page;
  return {
    get alive() {
      return page.alive;
    },
    // fn runs every `ms` while the tab is visible (and once at once when the
    // tab becomes visible again); errors are the page's business. ms may be
    // a function, asked before each wait (a fast pace while a run is live).
    // One call of fn at a time; the returned handle's kick() runs it now.
    poll(fn, ms = 5000) {
      const delay = () => (typeof ms === 'function' ? ms() : ms);
      const p = { fn, ms, timer: null, running: false, again: false };
      const tick = async () => {
        if (!page.alive || p.stopped) return;
        if (!document.hidden && !p.running) {
          p.running = true;
          try {
            await fn();
          } finally {
            p.running = false;
          }
        }
        if (page.alive && !p.stopped && !document.hidden) {
          clearTimeout(p.timer);
          const again = p.again;
          p.again = false;
          p.timer = setTimeout(tick, again ? 0 : delay());
        }
      };
      p.kick = () => {
        if (p.running) {
          p.again = true; // after the call in flight, not beside it
          return;
        }
        clearTimeout(p.timer);
        tick();
      };
      p.stop = () => {
        p.stopped = true;
        clearTimeout(p.timer);
      };
      p.timer = setTimeout(tick, delay());
      page.polls.push(p);
      return p;
    },
  };
}

document.addEventListener('visibilitychange', () => {
  if (!current || document.hidden) return;
  for (const p of current.polls) if (!p.stopped) p.kick();
});

async function route() {
  stopPage();
  const { path, query } = parseHash();
  let page = null;
  let params = [];
  let nav = '';
  for (const [re, fn, n] of routes) {
    const m = re.exec(path);
    if (m) {
      page = fn;
      params = m.slice(1).map(decodeURIComponent);
      nav = n;
      break;
    }
  }
  for (const a of document.querySelectorAll('header nav a')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  if (!page) {
    main.append(h('h1', {}, 'Not found'),
      h('p', {}, 'No page at ', h('code', {}, path), '. ', h('a', { href: '#/schedules' }, 'Go to schedules')));
    return;
  }
  const ctx = makeCtx();
  ctx.query = query;
  document.title = `${nav.charAt(0).toUpperCase()}${nav.slice(1)} · lakehouse`;
  await page(main, params, ctx);
}

function showAuth(signedIn) {
  document.getElementById('logout').hidden = !signedIn;
}

async function serverLine() {
  const el = document.getElementById('server');
  try {
    const hl = await api('GET', '/api/health', undefined, { noLogin: true });
    el.textContent = `lakehouse ${hl.version || ''}`.trim() +
      (typeof hl.running === 'number' ? ` · ${hl.running} running` : '');
    el.title = `status ${hl.status}` + (hl.build ? `, build ${hl.build}` : '');
  } catch {
    el.textContent = 'server unreachable';
  }
}

document.getElementById('logout').addEventListener('click', () => {
  logout();
  const b = document.getElementById('banner');
  b.hidden = false;
  b.className = 'info';
  b.textContent = 'Signed out. The next request will ask for the token again.';
  setTimeout(() => {
    b.hidden = true;
  }, 4000);
  route();
});

// a page watching runs saw one start or end: the header's "N running" follows
document.addEventListener('lh:runs-changed', () => serverLine());

setAuthListener(showAuth);
showAuth(!!token());
window.addEventListener('hashchange', route);
serverLine();
setInterval(() => {
  if (!document.hidden) serverLine();
}, 15000);
route();
