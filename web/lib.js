// lib.js — pure helpers of the dashboard: no DOM, no network, so node's
// test runner checks them directly (tests/web/lib.test.mjs).

const UNITS = [
  [86400, 'day'],
  [3600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// 3600 -> "every 1 hour", 90 -> "every 90 seconds", 5400 -> "every 90 minutes".
export function intervalWords(secs) {
  const s = Number(secs);
  if (!Number.isFinite(s) || s <= 0 || !Number.isInteger(s)) return 'invalid interval';
  for (const [size, word] of UNITS) {
    if (s % size === 0) return `every ${plural(s / size, word)}`;
  }
  return `every ${plural(s, 'second')}`;
}

// The largest exact unit of an interval, for the form: 5400 -> {n: 90, unit: 60}.
export function splitInterval(secs) {
  const s = Number(secs);
  for (const [size] of UNITS) {
    if (s > 0 && s % size === 0) return { n: s / size, unit: size };
  }
  return { n: s || 0, unit: 1 };
}

const DOW = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const DOW_NAMES = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'];
const MONTH_NAMES = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8,
  sep: 9, oct: 10, nov: 11, dec: 12 };

const pad2 = (n) => String(n).padStart(2, '0');

function num(field, max) {
  if (!/^\d{1,2}$/.test(field)) return null;
  const n = Number(field);
  return n <= max ? n : null;
}

function dowNum(f) {
  const k = f.toLowerCase();
  if (k in DOW_NAMES) return DOW_NAMES[k];
  const n = num(f, 7);
  return n === null ? null : n % 7;
}

function ordinal(n) {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] || 'th';
  return `${n}${s}`;
}

// A day-of-week field in words: "1-5" -> "weekdays (Mon–Fri)", "1,3" ->
// "Monday and Wednesday"; null when the field is not a plain list/range.
function dowWords(f) {
  if (/^(1-5|mon-fri)$/i.test(f)) return 'weekdays (Mon–Fri)';
  if (/^(0,6|6,0|sat,sun|sun,sat)$/i.test(f)) return 'weekends';
  const range = /^(\w+)-(\w+)$/.exec(f);
  if (range) {
    const a = dowNum(range[1]);
    const b = dowNum(range[2]);
    if (a === null || b === null) return null;
    return `${DOW[a]} to ${DOW[b]}`;
  }
  const days = f.split(',').map(dowNum);
  if (days.some((d) => d === null)) return null;
  const names = days.map((d) => DOW[d]);
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

function monthNum(f) {
  const k = f.toLowerCase();
  if (k in MONTH_NAMES) return MONTH_NAMES[k];
  const n = num(f, 12);
  return n === null || n === 0 ? null : n;
}

const MACROS = {
  '@hourly': 'every hour, on the hour',
  '@daily': 'at 00:00 every day',
  '@midnight': 'at 00:00 every day',
  '@weekly': 'at 00:00 every Sunday',
  '@monthly': 'at 00:00 on the 1st of every month',
  '@yearly': 'at 00:00 on 1 January every year',
  '@annually': 'at 00:00 on 1 January every year',
};

// A five-field cron expression in words, or null when it is not one of the
// common shapes (the caller then shows the expression as written).
export function cronWords(expr) {
  const e = String(expr || '').trim().replace(/\s+/g, ' ');
  if (e.toLowerCase() in MACROS) return MACROS[e.toLowerCase()];
  const f = e.split(' ');
  if (f.length !== 5) return null;
  const [mi, hr, dom, mon, dow] = f;
  const anyDay = dom === '*' && mon === '*' && dow === '*';
  if (mi === '*' && hr === '*' && anyDay) return 'every minute';
  let step = /^\*\/(\d+)$/.exec(mi);
  if (step && hr === '*' && anyDay) return `every ${plural(Number(step[1]), 'minute')}`;
  const m = num(mi, 59);
  if (m === null) return null;
  if (hr === '*' && anyDay) return m === 0 ? 'every hour, on the hour' : `every hour at minute ${m}`;
  step = /^\*\/(\d+)$/.exec(hr);
  if (step && anyDay) {
    const n = Number(step[1]);
    return `every ${plural(n, 'hour')}` + (m ? ` at minute ${m}` : '');
  }
  const h = num(hr, 23);
  if (h === null) return null;
  const at = `at ${pad2(h)}:${pad2(m)}`;
  if (anyDay) return `${at} every day`;
  if (dom === '*' && mon === '*') {
    const d = dowWords(dow);
    return d ? `${at} on ${d}` : null;
  }
  const d = num(dom, 31);
  if (d === null || d === 0 || dow !== '*') return null;
  if (mon === '*') return `${at} on the ${ordinal(d)} of every month`;
  const mo = monthNum(mon);
  return mo === null ? null : `${at} on ${d} ${MONTHS[mo - 1]} every year`;
}

// A schedule's trigger in words: "every 1 hour",
// "at 02:00 every day (Europe/Berlin)", "cron 5 4 1-7 * 1 (UTC)".
export function triggerWords(trigger) {
  if (!trigger || typeof trigger !== 'object') return 'no trigger';
  if (trigger.type === 'interval') return intervalWords(trigger.secs);
  if (trigger.type === 'cron') {
    const tz = trigger.tz || 'UTC';
    const w = cronWords(trigger.expr);
    return `${w || `cron ${trigger.expr}`} (${tz})`;
  }
  return `unknown trigger "${trigger.type}"`;
}

// The trigger as written: "interval 3600s", "cron 0 2 * * *".
export function triggerWritten(trigger) {
  if (!trigger || typeof trigger !== 'object') return '';
  if (trigger.type === 'interval') return `interval ${trigger.secs}s`;
  if (trigger.type === 'cron') return `cron ${trigger.expr}` + (trigger.tz ? ` ${trigger.tz}` : '');
  return String(trigger.type);
}

function toMs(t) {
  if (t === null || t === undefined || t === '') return NaN;
  if (typeof t === 'number') return t;
  if (t instanceof Date) return t.getTime();
  return Date.parse(t);
}

// "in 4 min", "12 s ago", "now", "in 3 h", "2 days ago"; "" for no time.
export function relTime(t, now = Date.now()) {
  const ms = toMs(t);
  if (Number.isNaN(ms)) return '';
  const d = ms - toMs(now);
  const a = Math.abs(d);
  let text;
  if (a < 1000) return 'now';
  if (a < 60e3) text = `${Math.floor(a / 1e3)} s`;
  else if (a < 3600e3) text = `${Math.floor(a / 60e3)} min`;
  else if (a < 86400e3) {
    const h = Math.floor(a / 3600e3);
    const m = Math.floor((a % 3600e3) / 60e3);
    text = h < 10 && m ? `${h} h ${m} min` : `${h} h`;
  } else {
    const days = Math.floor(a / 86400e3);
    text = plural(days, 'day');
  }
  return d > 0 ? `in ${text}` : `${text} ago`;
}

// 0 -> "0 B", 1536 -> "1.5 KiB", 10485760 -> "10 MiB".
export function fmtBytes(n) {
  const v = Number(n);
  if (n === null || n === undefined || !Number.isFinite(v) || v < 0) return '—';
  if (v < 1024) return `${v} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let x = v;
  let i = -1;
  do {
    x /= 1024;
    i++;
  } while (x >= 1024 && i < units.length - 1);
  const r = x < 10 ? Math.round(x * 10) / 10 : Math.round(x);
  if (r >= 1024 && i < units.length - 1) return `1 ${units[i + 1]}`;
  return `${r} ${units[i]}`;
}

// 0.42 -> "420 ms", 1.234 -> "1.2 s", 75 -> "1 min 15 s", 3720 -> "1 h 2 min".
export function fmtDuration(secs) {
  const s = Number(secs);
  if (secs === null || secs === undefined || !Number.isFinite(s) || s < 0) return '—';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 10) return `${(Math.round(s * 10) / 10).toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const r = Math.round(s % 60);
    return r ? `${m} min ${r} s` : `${m} min`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

// 1234567 -> "1,234,567" (fixed separators: the output must not depend on
// the browser's locale so tests and screenshots are stable).
export function fmtCount(n) {
  if (n === null || n === undefined || n === '') return '—';
  const v = Number(n);
  if (!Number.isFinite(v)) return String(n);
  const neg = v < 0;
  const s = String(Math.trunc(Math.abs(v)));
  return (neg ? '-' : '') + s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

// One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF,
// or starts/ends with a space; NULL is empty; objects as JSON.
export function csvField(v) {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (/[",\r\n]/.test(s) || /^\s|\s$/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

// A query result as CSV text: a header line, then one line per row, CRLF.
// columns are names or {name, type} objects.
export function toCSV(columns, rows) {
  const names = (columns || []).map((c) => (c && typeof c === 'object' ? c.name : c));
  const lines = [names.map(csvField).join(',')];
  for (const r of rows || []) lines.push(r.map(csvField).join(','));
  return lines.join('\r\n') + '\r\n';
}

// The kind of a schedule's last outcome: 'ok', 'failed', 'cancelled' or
// 'never'. A cancelled run is recorded with success false but is not a
// failure (it counts in no counter); it is told by a status field when the
// API gives one, else by its message ("cancelled ...").
export function outcomeKind(o) {
  if (!o) return 'never';
  const st = o.status || o.outcome || o.state;
  if (st === 'cancelled' || (!st && o.success === false && /^\s*cancel/i.test(o.message || ''))) {
    return 'cancelled';
  }
  if (o.success === true || st === 'success' || st === 'succeeded') return 'ok';
  return 'failed';
}

// The health of a schedule as {key, label}: paused, never run, failing, healthy.
export function scheduleHealth(s) {
  if (!s) return { key: 'unknown', label: 'unknown' };
  if (s.enabled === false) return { key: 'paused', label: 'paused' };
  const o = s.last_outcome;
  if (!o) return { key: 'never', label: 'never run' };
  if ((s.consecutive_failures || 0) > 0) return { key: 'failing', label: 'failing' };
  if (outcomeKind(o) === 'failed') return { key: 'failing', label: 'failing' };
  return { key: 'healthy', label: 'healthy' };
}

const count0 = (n) => {
  const v = Number(n);
  return Number.isFinite(v) && v > 0 ? Math.trunc(v) : 0;
};

// A schedule's counters as the API keeps them: run_count counts the runs
// that succeeded, failure_count those that failed (timeouts included); a
// cancelled run counts in neither. {succeeded, failed, total}.
export function runCounts(s) {
  const succeeded = count0(s && s.run_count);
  const failed = count0(s && s.failure_count);
  return { succeeded, failed, total: succeeded + failed };
}

// "3 runs: 0 succeeded, 3 failed (3 in a row)"; "no runs yet".
export function runCountsText(s) {
  const c = runCounts(s);
  if (!c.total) return 'none succeeded or failed yet';
  const streak = count0(s.consecutive_failures);
  return `${fmtCount(c.total)} run${c.total === 1 ? '' : 's'}: ${fmtCount(c.succeeded)} succeeded, ${fmtCount(c.failed)} failed` +
    (streak > 1 ? ` (${streak} in a row)` : '');
}

// Whether a schedule has a next run to show: a paused one has none (its
// next_run_at is only where it would resume).
export function hasNextRun(s) {
  return !!(s && s.enabled !== false && s.next_run_at);
}

// A message for display: its first line, cut at `max` characters on a word
// boundary when longer, and whether anything was left out. The caller shows
// the whole text on demand.
export function messageHead(text, max = 160) {
  const s = String(text ?? '');
  const nl = s.indexOf('\n');
  let head = nl < 0 ? s : s.slice(0, nl);
  if (head.length > max) {
    const cut = head.lastIndexOf(' ', max);
    head = head.slice(0, cut > max * 0.6 ? cut : max).trimEnd();
  }
  return { head, more: head.length < s.trimEnd().length };
}

/* ------------------------------------------------------------ live runs */

const LIVE_STATES = new Set(['queued', 'running']);
export function runIsLive(r) {
  return !!r && LIVE_STATES.has(r.state);
}

// {key, label} for a run's state badge: a live run whose cancel was asked
// reads "cancelling…"; a running one names its phase.
export function runStateLabel(r) {
  if (!r) return { key: 'idle', label: 'unknown' };
  if (runIsLive(r) && r.cancel_requested) return { key: 'cancelling', label: 'cancelling…' };
  switch (r.state) {
    case 'queued': return { key: 'queued', label: 'queued' };
    case 'running': return { key: 'running', label: r.phase ? `running · ${r.phase}` : 'running' };
    case 'succeeded': return { key: 'ok', label: 'succeeded' };
    case 'cancelled': return { key: 'cancelled', label: 'cancelled' };
    case 'failed': return { key: 'bad', label: r.status === 'timeout' ? 'timed out' : 'failed' };
    default: return { key: 'idle', label: String(r.state || 'unknown') };
  }
}

// 4567.8 -> "4,568 rows/s"; 2.25 -> "2.3 rows/s"; "—" without a rate.
export function fmtRate(perSec) {
  const v = Number(perSec);
  if (perSec === null || perSec === undefined || !Number.isFinite(v) || v < 0) return '—';
  if (v < 10) return `${(Math.round(v * 10) / 10).toFixed(1)} rows/s`;
  return `${fmtCount(Math.round(v))} rows/s`;
}

// Progress of a live run against its estimate: {pct, etaSecs} (pct 0..100,
// one decimal; etaSecs null when unknown), or null without an estimate.
// Past a stale estimate the run reads 100 % with no ETA, never more.
export function runProgress(r) {
  if (!r) return null;
  const est = Number(r.estimated_rows);
  if (r.estimated_rows === null || r.estimated_rows === undefined || !Number.isFinite(est) || est <= 0) {
    return null;
  }
  const rows = Math.max(Number(r.rows) || 0, 0);
  if (rows >= est) return { pct: 100, etaSecs: null };
  const pct = Math.floor((rows / est) * 1000) / 10;
  const rate = Number(r.rows_per_sec);
  const etaSecs = Number.isFinite(rate) && rate > 0 && rows > 0 ? (est - rows) / rate : null;
  return { pct, etaSecs };
}

// One line for a live run: "reading · 12,345 of ~1,000,000 rows (1.2 %) ·
// 4,568 rows/s · 12 s elapsed · about 3 min 36 s left".
export function runLiveText(r) {
  const p = runProgress(r);
  const parts = [];
  if (r.state === 'queued') parts.push('queued');
  else parts.push(r.phase || 'starting');
  parts.push(p ? `${fmtCount(r.rows || 0)} of ~${fmtCount(r.estimated_rows)} rows (${p.pct.toFixed(1)} %)`
    : `${fmtCount(r.rows || 0)} rows`);
  if (r.bytes) parts.push(fmtBytes(r.bytes));
  parts.push(fmtRate(r.rows_per_sec));
  parts.push(`${fmtDuration(r.elapsed_secs || 0)} elapsed`);
  if (p && p.etaSecs !== null) parts.push(`about ${fmtDuration(p.etaSecs)} left`);
  return parts.join(' · ');
}

// One readable line for an API error body {"error","field"} or anything else.
export function errorLine(status, body) {
  let msg = '';
  if (body && typeof body === 'object' && typeof body.error === 'string') {
    msg = body.error;
    if (body.field && !msg.includes(body.field)) msg = `${body.field}: ${msg}`;
  } else if (typeof body === 'string' && body.trim()) {
    msg = body.trim().split('\n')[0].slice(0, 300);
  }
  const head = status ? `HTTP ${status}` : 'network error';
  return msg ? `${msg} (${head})` : head;
}

// SQL for one dataset version: SELECT * FROM "name@N" LIMIT 100.
export function quoteIdent(name) {
  return `"${String(name).replace(/"/g, '""')}"`;
}
export function versionQuery(name, version, limit = 100) {
  return `SELECT * FROM ${quoteIdent(`${name}@${version}`)} LIMIT ${limit}`;
}

// The password of a URL-style DSN: "postgresql://u:p@h/db" -> "p" (decoded),
// "" when there is none; key=value DSNs: the password= value.
export function dsnPassword(dsn) {
  const s = String(dsn || '');
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/@]*)@/i.exec(s);
  if (url) {
    const i = url[1].indexOf(':');
    if (i < 0) return '';
    try {
      return decodeURIComponent(url[1].slice(i + 1));
    } catch {
      return url[1].slice(i + 1);
    }
  }
  const kv = /(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/.exec(s);
  if (!kv) return '';
  const v = kv[1];
  return v.startsWith("'") ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

// The DSN with its password replaced by `password` (percent-encoded in a
// URL; quoted in key=value form). A URL without a user is returned as is.
export function dsnWithPassword(dsn, password) {
  const s = String(dsn || '').trim();
  const url = /^([a-z][a-z0-9+.-]*:\/\/)([^/@]*)@(.*)$/is.exec(s);
  if (url) {
    const user = url[2].split(':')[0];
    return `${url[1]}${user}:${encodeURIComponent(password)}@${url[3]}`;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return s;
  const quoted = `'${password.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const re = /(^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/;
  if (re.test(s)) return s.replace(re, (_, pre) => `${pre}password=${quoted}`);
  return `${s} password=${quoted}`;
}

// True when a DSN shows a redacted password (user:***@host or password=***).
export function dsnIsRedacted(dsn) {
  return dsnPassword(dsn) === '***';
}

// The schedule JSON to send from the form's values (see docs/dashboard.md,
// "Passwords on edit"). `stored` is the schedule as the API returned it
// (edit) or null (create). Returns {body} or {field, error} for a problem
// the browser can name before asking the server.
export function scheduleFromForm(v, stored) {
  const kind = { ...(stored ? stored.kind : {}) };
  kind.type = v.type;
  kind.table = v.table.trim();
  kind.dataset_name = v.dataset_name.trim() || null;
  kind.mode = v.mode || 'overwrite';
  kind.cursor_column = v.cursor_column.trim() || null;
  const dsn = v.dsn.trim();
  const password = v.password || '';
  const storedDsn = stored ? stored.kind.dsn : null;
  if (password) {
    kind.dsn = dsnWithPassword(dsn, password);
    delete kind.dsn_secret;
  } else if (stored && dsn === storedDsn) {
    // unchanged: send it back as it came (redacted) with the sealed secret
    // or password_env the API returned, so the stored password is kept
    kind.dsn = dsn;
  } else if (dsnIsRedacted(dsn)) {
    return {
      field: 'password',
      error: 'type the password again: the stored one is kept only while the connection string is unchanged',
    };
  } else {
    kind.dsn = dsn;
    delete kind.dsn_secret;
  }
  let trigger;
  if (v.trigger_type === 'cron') {
    trigger = { type: 'cron', expr: v.cron_expr.trim() };
    if (v.tz.trim()) trigger.tz = v.tz.trim();
  } else {
    const n = Number(v.every);
    if (!/^\s*\d+\s*$/.test(String(v.every)) || n < 1) {
      return { field: 'trigger.secs', error: 'the interval must be a whole number of at least 1' };
    }
    trigger = { type: 'interval', secs: n * Number(v.unit || 1) };
    if (stored && stored.trigger && stored.trigger.anchor) trigger.anchor = stored.trigger.anchor;
  }
  const body = { id: v.id.trim(), kind, trigger, enabled: !!v.enabled };
  if (stored) {
    for (const k of ['created_by', 'retry', 'timeout_secs', 'catch_up', 'description',
      'auto_pause_after']) {
      if (k in stored) body[k] = stored[k];
    }
  } else {
    body.created_by = 'dashboard';
  }
  return { body };
}

// The same schedule with enabled flipped, for pause/resume (PUT): only the
// user-settable fields, the DSN and its sealed secret as returned.
export function scheduleWithEnabled(stored, enabled) {
  const body = { id: stored.id, kind: { ...stored.kind }, trigger: { ...stored.trigger }, enabled };
  for (const k of ['created_by', 'retry', 'timeout_secs', 'catch_up', 'description',
    'auto_pause_after']) {
    if (k in stored) body[k] = stored[k];
  }
  return body;
}

// Form field a server error names: "kind.dsn" -> "kind.dsn"; a bare "dsn"
// or "secs" is matched against the last segment of the known fields.
export function matchField(field, known) {
  if (!field) return null;
  if (known.includes(field)) return field;
  const tail = field.split('.').at(-1);
  return known.find((k) => k.split('.').at(-1) === tail) || null;
}
