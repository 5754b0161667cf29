// Unit tests of the dashboard's pure helpers (web/lib.js), table-driven.
// Run: node --test tests/web/lib.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../web/lib.js';

test('trigger in words', () => {
  const cases = [
    [{ type: 'interval', secs: 3600 }, 'every 1 hour'],
    [{ type: 'interval', secs: 7200 }, 'every 2 hours'],
    [{ type: 'interval', secs: 90 }, 'every 90 seconds'],
    [{ type: 'interval', secs: 1 }, 'every 1 second'],
    [{ type: 'interval', secs: 5400 }, 'every 90 minutes'],
    [{ type: 'interval', secs: 86400 }, 'every 1 day'],
    [{ type: 'interval', secs: 0 }, 'invalid interval'],
    [{ type: 'cron', expr: '0 2 * * *', tz: 'Europe/Berlin' }, 'at 02:00 every day (Europe/Berlin)'],
    [{ type: 'cron', expr: '30 14 * * *' }, 'at 14:30 every day (UTC)'],
    [{ type: 'cron', expr: '*/15 * * * *', tz: 'UTC' }, 'every 15 minutes (UTC)'],
    [{ type: 'cron', expr: '* * * * *' }, 'every minute (UTC)'],
    [{ type: 'cron', expr: '0 * * * *' }, 'every hour, on the hour (UTC)'],
    [{ type: 'cron', expr: '5 * * * *' }, 'every hour at minute 5 (UTC)'],
    [{ type: 'cron', expr: '0 */6 * * *' }, 'every 6 hours (UTC)'],
    [{ type: 'cron', expr: '0 9 * * 1-5', tz: 'America/New_York' },
      'at 09:00 on weekdays (Mon–Fri) (America/New_York)'],
    [{ type: 'cron', expr: '0 9 * * mon' }, 'at 09:00 on Monday (UTC)'],
    [{ type: 'cron', expr: '0 9 * * 1,3,5' }, 'at 09:00 on Monday, Wednesday and Friday (UTC)'],
    [{ type: 'cron', expr: '0 0 * * 7' }, 'at 00:00 on Sunday (UTC)'],
    [{ type: 'cron', expr: '15 3 1 * *' }, 'at 03:15 on the 1st of every month (UTC)'],
    [{ type: 'cron', expr: '15 3 22 * *' }, 'at 03:15 on the 22nd of every month (UTC)'],
    [{ type: 'cron', expr: '0 0 1 jan *' }, 'at 00:00 on 1 January every year (UTC)'],
    [{ type: 'cron', expr: '@daily' }, 'at 00:00 every day (UTC)'],
    [{ type: 'cron', expr: '@hourly' }, 'every hour, on the hour (UTC)'],
    // shapes without words fall back to the expression
    [{ type: 'cron', expr: '5 4 1-7 * 1' }, 'cron 5 4 1-7 * 1 (UTC)'],
    [{ type: 'cron', expr: '0 2,14 * * *' }, 'cron 0 2,14 * * * (UTC)'],
    [{ type: 'cron', expr: '61 2 * * *' }, 'cron 61 2 * * * (UTC)'],
    [null, 'no trigger'],
  ];
  for (const [t, want] of cases) assert.equal(L.triggerWords(t), want, JSON.stringify(t));
});

test('trigger as written', () => {
  assert.equal(L.triggerWritten({ type: 'interval', secs: 3600 }), 'interval 3600s');
  assert.equal(L.triggerWritten({ type: 'cron', expr: '0 2 * * *', tz: 'Europe/Berlin' }),
    'cron 0 2 * * * Europe/Berlin');
  assert.equal(L.triggerWritten({ type: 'cron', expr: '0 2 * * *' }), 'cron 0 2 * * *');
});

test('split interval into the largest exact unit', () => {
  const cases = [[3600, 1, 3600], [5400, 90, 60], [45, 45, 1], [172800, 2, 86400]];
  for (const [secs, n, unit] of cases) assert.deepEqual(L.splitInterval(secs), { n, unit });
});

test('relative time', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  const cases = [
    ['2026-11-24T12:04:00Z', 'in 4 min'],
    ['2026-11-24T12:04:59Z', 'in 4 min'],
    ['2026-11-24T11:56:00Z', '4 min ago'],
    ['2026-11-24T12:00:30Z', 'in 30 s'],
    ['2026-11-24T11:59:15Z', '45 s ago'],
    ['2026-11-24T12:00:00.400Z', 'now'],
    ['2026-11-24T15:00:00Z', 'in 3 h'],
    ['2026-11-24T13:05:00Z', 'in 1 h 5 min'],
    ['2026-11-24T00:00:00Z', '12 h ago'],
    ['2026-11-26T12:00:00Z', 'in 2 days'],
    ['2026-11-23T11:00:00Z', '1 day ago'],
    [null, ''],
    ['not a time', ''],
  ];
  for (const [t, want] of cases) assert.equal(L.relTime(t, now), want, String(t));
  assert.equal(L.relTime(now + 120e3, now), 'in 2 min');
});

test('byte sizes', () => {
  const cases = [
    [0, '0 B'], [1, '1 B'], [1023, '1023 B'], [1024, '1 KiB'], [1536, '1.5 KiB'],
    [10 * 1024, '10 KiB'], [1048575, '1 MiB'], [10485760, '10 MiB'],
    [5.5 * 1024 ** 3, '5.5 GiB'], [3 * 1024 ** 4, '3 TiB'], [null, '—'], [-1, '—'],
  ];
  for (const [n, want] of cases) assert.equal(L.fmtBytes(n), want, String(n));
});

test('durations and counts', () => {
  const d = [[0.42, '420 ms'], [0, '0 ms'], [1.234, '1.2 s'], [12.6, '13 s'],
    [75, '1 min 15 s'], [120, '2 min'], [3720, '1 h 2 min'], [7200, '2 h'], [null, '—']];
  for (const [s, want] of d) assert.equal(L.fmtDuration(s), want, String(s));
  const c = [[0, '0'], [999, '999'], [1000, '1,000'], [1234567, '1,234,567'], [-4200, '-4,200'],
    [null, '—']];
  for (const [n, want] of c) assert.equal(L.fmtCount(n), want, String(n));
});

test('CSV of results', () => {
  const cols = [{ name: 'id', type: 'INTEGER' }, { name: 'note', type: 'TEXT' }, 'tags'];
  const rows = [
    [1, 'plain', null],
    [2, 'a,b', [1, 2]],
    [3, 'say "hi"', { k: 'v' }],
    [4, 'two\nlines', ''],
    [5, ' padded', 'x'],
  ];
  assert.equal(L.toCSV(cols, rows),
    'id,note,tags\r\n' +
    '1,plain,\r\n' +
    '2,"a,b","[1,2]"\r\n' +
    '3,"say ""hi""","{""k"":""v""}"\r\n' +
    '4,"two\nlines",\r\n' +
    '5," padded",x\r\n');
  assert.equal(L.toCSV(['a'], []), 'a\r\n');
});

test('schedule health', () => {
  const cases = [
    [{ enabled: false, last_outcome: { success: true } }, 'paused'],
    [{ enabled: true, last_outcome: null }, 'never'],
    [{ enabled: true, last_outcome: { success: false } }, 'failing'],
    [{ enabled: true, last_outcome: { success: true }, consecutive_failures: 2 }, 'failing'],
    [{ enabled: true, last_outcome: { success: true } }, 'healthy'],
  ];
  for (const [s, want] of cases) assert.equal(L.scheduleHealth(s).key, want, JSON.stringify(s));
  assert.equal(L.scheduleHealth({ enabled: true, last_outcome: null }).label, 'never run');
});

test('error lines', () => {
  assert.equal(L.errorLine(400, { error: 'must be at least 1', field: 'trigger.secs' }),
    'trigger.secs: must be at least 1 (HTTP 400)');
  assert.equal(L.errorLine(400, { error: 'trigger.secs: must be at least 1', field: 'trigger.secs' }),
    'trigger.secs: must be at least 1 (HTTP 400)');
  assert.equal(L.errorLine(404, { error: 'no route' }), 'no route (HTTP 404)');
  assert.equal(L.errorLine(502, '<html>\nbad gateway</html>'), '<html> (HTTP 502)');
  assert.equal(L.errorLine(0, null), 'network error');
});

test('version query', () => {
  assert.equal(L.versionQuery('customers', 3), 'SELECT * FROM "customers@3" LIMIT 100');
  assert.equal(L.versionQuery('we"ird', 1), 'SELECT * FROM "we""ird@1" LIMIT 100');
});

test('DSN passwords', () => {
  const p = [
    ['postgresql://u:p%40ss@h:5432/db', 'p@ss'],
    ['postgresql://u:***@h/db', '***'],
    ['postgresql://u@h/db', ''],
    ['mysql://h/db', ''],
    ["host=h user=u password='a b' dbname=d", 'a b'],
    ['host=h password=xyz', 'xyz'],
  ];
  for (const [dsn, want] of p) assert.equal(L.dsnPassword(dsn), want, dsn);
  const w = [
    ['postgresql://u:***@h:5432/db', 'n@w/pw', 'postgresql://u:n%40w%2Fpw@h:5432/db'],
    ['postgresql://u@h/db', 'x', 'postgresql://u:x@h/db'],
    ['mysql://h/db', 'x', 'mysql://h/db'],
    ['host=h user=u password=*** dbname=d', "it's", "host=h user=u password='it\\'s' dbname=d"],
    ['host=h user=u', 'p', "host=h user=u password='p'"],
  ];
  for (const [dsn, pw, want] of w) assert.equal(L.dsnWithPassword(dsn, pw), want, dsn);
  assert.equal(L.dsnIsRedacted('postgresql://u:***@h/db'), true);
  assert.equal(L.dsnIsRedacted('postgresql://u:secret@h/db'), false);
});

const stored = {
  id: 's1',
  kind: { type: 'postgres', dsn: 'postgresql://u:***@h/db', dsn_secret: 'v1:abc', table: 't',
    dataset_name: null, mode: 'overwrite', cursor_column: null, batch_size: 500 },
  trigger: { type: 'interval', secs: 3600, anchor: 'completion' },
  enabled: true, created_by: 'ops', retry: { max_attempts: 3 }, run_count: 7,
  last_outcome: { success: true },
};
const form = (over) => ({
  id: 's1', type: 'postgres', dsn: 'postgresql://u:***@h/db', password: '', table: 't',
  dataset_name: '', mode: 'overwrite', cursor_column: '', trigger_type: 'interval', every: '2',
  unit: '3600', cron_expr: '', tz: '', enabled: true, ...over,
});

test('schedule from the form: passwords on edit', () => {
  // unchanged DSN, no password typed: the redacted DSN and its secret go back
  let r = L.scheduleFromForm(form({}), stored);
  assert.equal(r.body.kind.dsn, 'postgresql://u:***@h/db');
  assert.equal(r.body.kind.dsn_secret, 'v1:abc');
  assert.equal(r.body.kind.batch_size, 500);
  assert.deepEqual(r.body.trigger, { type: 'interval', secs: 7200, anchor: 'completion' });
  assert.equal(r.body.created_by, 'ops');
  assert.equal('run_count' in r.body, false);
  assert.equal('last_outcome' in r.body, false);
  // a new password: inserted into the DSN, the old secret dropped
  r = L.scheduleFromForm(form({ password: 'n3w' }), stored);
  assert.equal(r.body.kind.dsn, 'postgresql://u:n3w@h/db');
  assert.equal('dsn_secret' in r.body.kind, false);
  // a changed host with the redacted password: the browser asks for it
  r = L.scheduleFromForm(form({ dsn: 'postgresql://u:***@other/db' }), stored);
  assert.equal(r.field, 'password');
  // a changed DSN with its own password
  r = L.scheduleFromForm(form({ dsn: 'postgresql://u:pw@other/db' }), stored);
  assert.equal(r.body.kind.dsn, 'postgresql://u:pw@other/db');
  assert.equal('dsn_secret' in r.body.kind, false);
});

test('schedule from the form: create, cron, bad interval', () => {
  let r = L.scheduleFromForm(form({ dsn: 'postgresql://u@h/db', password: 'pw',
    trigger_type: 'cron', cron_expr: ' 0 2 * * * ', tz: 'Europe/Berlin', dataset_name: 'd' }), null);
  assert.deepEqual(r.body, {
    id: 's1',
    kind: { type: 'postgres', dsn: 'postgresql://u:pw@h/db', table: 't', dataset_name: 'd',
      mode: 'overwrite', cursor_column: null },
    trigger: { type: 'cron', expr: '0 2 * * *', tz: 'Europe/Berlin' },
    enabled: true,
    created_by: 'dashboard',
  });
  r = L.scheduleFromForm(form({ every: '0', dsn: 'postgresql://u@h/db' }), null);
  assert.equal(r.field, 'trigger.secs');
  r = L.scheduleFromForm(form({ every: '1.5', dsn: 'postgresql://u@h/db' }), null);
  assert.equal(r.field, 'trigger.secs');
});

test('pause/resume body and field matching', () => {
  const b = L.scheduleWithEnabled(stored, false);
  assert.equal(b.enabled, false);
  assert.equal(b.kind.dsn_secret, 'v1:abc');
  assert.equal('run_count' in b, false);
  assert.equal(stored.enabled, true);
  const known = ['id', 'kind.dsn', 'kind.table', 'trigger.secs', 'trigger.expr'];
  assert.equal(L.matchField('kind.dsn', known), 'kind.dsn');
  assert.equal(L.matchField('expr', known), 'trigger.expr');
  assert.equal(L.matchField('nope', known), null);
  assert.equal(L.matchField(undefined, known), null);
});

test('run counters: run_count counts successes only', () => {
  // the reference keeps successes in run_count and failures in failure_count;
  // "run_count - failure_count" read -3 for three failures
  const cases = [
    [{ run_count: 0, failure_count: 3, consecutive_failures: 3 }, { succeeded: 0, failed: 3, total: 3 },
      '3 runs: 0 succeeded, 3 failed (3 in a row)'],
    [{ run_count: 5, failure_count: 1, consecutive_failures: 1 }, { succeeded: 5, failed: 1, total: 6 },
      '6 runs: 5 succeeded, 1 failed'],
    [{ run_count: 1, failure_count: 0 }, { succeeded: 1, failed: 0, total: 1 }, '1 run: 1 succeeded, 0 failed'],
    [{ run_count: 1200, failure_count: 34 }, { succeeded: 1200, failed: 34, total: 1234 },
      '1,234 runs: 1,200 succeeded, 34 failed'],
    [{}, { succeeded: 0, failed: 0, total: 0 }, 'none succeeded or failed yet'],
    [{ run_count: -2, failure_count: null }, { succeeded: 0, failed: 0, total: 0 }, 'none succeeded or failed yet'],
  ];
  for (const [s, want, text] of cases) {
    assert.deepEqual(L.runCounts(s), want, JSON.stringify(s));
    assert.equal(L.runCountsText(s), text, JSON.stringify(s));
  }
});

test('a paused schedule has no next run', () => {
  assert.equal(L.hasNextRun({ enabled: false, next_run_at: '2026-11-24T12:00:00Z' }), false);
  assert.equal(L.hasNextRun({ enabled: true, next_run_at: '2026-11-24T12:00:00Z' }), true);
  assert.equal(L.hasNextRun({ enabled: true, next_run_at: null }), false);
});

test('outcome kinds and health: a cancelled run is not a failure', () => {
  const cases = [
    [null, 'never'],
    [{ success: true, message: 'rows=3' }, 'ok'],
    [{ success: false, message: 'password authentication failed' }, 'failed'],
    [{ success: false, message: 'cancelled by the API after 12 s' }, 'cancelled'],
    [{ success: false, status: 'cancelled', message: 'stopped' }, 'cancelled'],
    [{ success: false, status: 'timeout', message: 'cancelled: timeout' }, 'failed'],
  ];
  for (const [o, want] of cases) assert.equal(L.outcomeKind(o), want, JSON.stringify(o));
  assert.equal(L.scheduleHealth({ enabled: true, consecutive_failures: 0,
    last_outcome: { success: false, status: 'cancelled' } }).key, 'healthy');
});

test('message head: whole when short, cut on a word with the rest on demand', () => {
  assert.deepEqual(L.messageHead('table t not found'), { head: 'table t not found', more: false });
  const long = `connection failed: ${'word '.repeat(60)}end`;
  const m = L.messageHead(long, 80);
  assert.equal(m.more, true);
  assert.ok(m.head.length <= 80 && long.startsWith(m.head), m.head);
  assert.doesNotMatch(m.head, /\s$/);
  assert.deepEqual(L.messageHead('first line\nsecond line'), { head: 'first line', more: true });
  assert.deepEqual(L.messageHead(''), { head: '', more: false });
  assert.deepEqual(L.messageHead(null), { head: '', more: false });
});

test('live runs: state, rate, progress, ETA', () => {
  const run = { run_id: 'r1', state: 'running', phase: 'reading', rows: 12345, bytes: 678901,
    estimated_rows: 1000000, rows_per_sec: 4567.8, elapsed_secs: 12.3, cancel_requested: false };
  assert.equal(L.runLiveText(run),
    'reading · 12,345 of ~1,000,000 rows (1.2 %) · 663 KiB · 4,568 rows/s · 12 s elapsed · about 3 min 36 s left');
  assert.deepEqual(L.runStateLabel(run), { key: 'running', label: 'running · reading' });
  assert.deepEqual(L.runStateLabel({ ...run, cancel_requested: true }), { key: 'cancelling', label: 'cancelling…' });
  assert.deepEqual(L.runStateLabel({ ...run, state: 'cancelled', cancel_requested: true }),
    { key: 'cancelled', label: 'cancelled' });
  assert.deepEqual(L.runStateLabel({ state: 'failed', status: 'timeout' }), { key: 'bad', label: 'timed out' });
  assert.deepEqual(L.runStateLabel({ state: 'queued' }), { key: 'queued', label: 'queued' });
  assert.equal(L.runIsLive(run), true);
  assert.equal(L.runIsLive({ state: 'succeeded' }), false);
  // no estimate: no %, no ETA
  assert.equal(L.runProgress({ ...run, estimated_rows: null }), null);
  assert.equal(L.runLiveText({ ...run, estimated_rows: null, bytes: 0 }),
    'reading · 12,345 rows · 4,568 rows/s · 12 s elapsed');
  // past a stale estimate: 100 %, no ETA; nothing read yet: no ETA
  assert.deepEqual(L.runProgress({ ...run, rows: 2000000 }), { pct: 100, etaSecs: null });
  assert.deepEqual(L.runProgress({ ...run, rows: 0, rows_per_sec: 0 }), { pct: 0, etaSecs: null });
  assert.equal(L.runProgress({ ...run, rows: 500000, rows_per_sec: 1000 }).etaSecs, 500);
  for (const [v, want] of [[4567.8, '4,568 rows/s'], [2.25, '2.3 rows/s'], [0, '0.0 rows/s'], [null, '—']]) {
    assert.equal(L.fmtRate(v), want);
  }
});
