// api.js — the dashboard's only way to the server: the public HTTP API.
// A 401 opens the sign-in dialog; the token goes to sessionStorage
// ("lakehouse.token") and the request is retried with
// Authorization: Bearer <token>. Concurrent 401s share one dialog.
// Every state-changing request carries X-Lakehouse-Client (docs/http.md,
// "Browsers": the daemon refuses one without it or a JSON body).
import { errorLine } from './lib.js';

const TOKEN_KEY = 'lakehouse.token';

export class ApiError extends Error {
  constructor(status, body) {
    super(errorLine(status, body));
    this.status = status;
    this.field = body && typeof body === 'object' ? body.field || null : null;
    this.body = body;
  }
}

export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function logout() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: nothing stored */ }
  authChanged();
}

let onAuthChange = () => {};
export function setAuthListener(fn) {
  onAuthChange = fn;
}
function authChanged() {
  onAuthChange(!!token());
}

let pendingLogin = null;

// Shows the sign-in dialog; resolves when a token was entered.
function login(message) {
  if (pendingLogin) return pendingLogin;
  const dlg = document.getElementById('login');
  const input = document.getElementById('login-token');
  const err = document.getElementById('login-error');
  pendingLogin = new Promise((resolve) => {
    err.hidden = !message;
    err.textContent = message || '';
    input.value = '';
    const done = () => {
      const t = input.value.trim();
      if (dlg.returnValue !== 'ok' || !t) {
        // closed without a token (Escape): ask again on the next 401
        dlg.removeEventListener('close', done);
        pendingLogin = null;
        resolve(false);
        return;
      }
      try {
        sessionStorage.setItem(TOKEN_KEY, t);
      } catch { /* ignore */ }
      dlg.removeEventListener('close', done);
      pendingLogin = null;
      authChanged();
      resolve(true);
    };
    dlg.returnValue = '';
    dlg.addEventListener('close', done);
    if (!dlg.open) dlg.showModal();
    input.focus();
  });
  return pendingLogin;
}

async function parse(res) {
  if (res.status === 204) return null;
  const text = await res.text();
  const ct = res.headers.get('content-type') || '';
  if (ct.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

// api('GET', '/api/schedules') -> parsed JSON body; throws ApiError for a
// non-2xx answer (after the sign-in dance for 401).
export async function api(method, path, body, opts = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { Accept: 'application/json' };
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    // the daemon refuses a POST/PUT/DELETE without a JSON body unless it
    // carries this header, which a page on another site cannot send
    if (method !== 'GET' && method !== 'HEAD') headers['X-Lakehouse-Client'] = 'dashboard';
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, { error: `cannot reach the server: ${e.message}` });
    }
    const data = await parse(res);
    if (res.status === 401 && !opts.noLogin && attempt < 5) {
      const ok = await login(attempt > 0 || t ? 'That token was not accepted.' : '');
      if (ok) continue;
    }
    if (res.ok) return data;
    throw new ApiError(res.status, data);
  }
}
