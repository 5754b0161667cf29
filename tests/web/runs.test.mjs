// runs.test.mjs — runs on the dashboard, in a real headless Chromium
// against a real daemon and a real PostgreSQL (issue 14).
//
// Counters and messages (no runs API needed): a schedule whose password is
// wrong fails three times; the schedules page shows 0 succeeded, 3 failed,
// 3 in all (never "-3 / 3"), the schedule page "3 runs: 0 succeeded, 3
// failed"; the error shows in full, as the API gives it, wrapping, and
// never "***" for a word; a long one is cut with a "show all" toggle that
// opens it whole. Paused, the schedule shows no next run.
//
// Live runs (GET /api/runs, POST /api/runs/{id}/cancel, GET
// /api/runs/{id}/log): a slow table (a row-level security policy that
// sleeps per row, read by a role the policy applies to; ANALYZEd, so the
// source gives an estimate) makes a run that lasts. The schedules page shows
// it running — phase, rows, rate, elapsed, % and ETA — and the rows grow
// without a reload; Cancel asks first ("Keep running" keeps it), then reads
// cancelling… and cancelled, and the API says cancelled. On the schedule
// page the live run row opens its log, which follows the run; Cancel there
// too; the history row of the cancelled run reads cancelled and keeps its
// log. The page never has two requests for the running list in flight.
// Screenshots go to LH_SCREENSHOT_DIR.
//
// Exit 77 (skipped) when the daemon has no /api/runs: every step that does
// not need it has passed by then.
import path from 'node:path';
import assert from 'node:assert/strict';
import {
  psql, serve, stopDaemon, launch, newPage, shot, until, getJSON, setup, finish,
} from './harness.mjs';

const t = setup('web_runs');
const { WORK, SHOTS, pg, log, DATA, LAKEHOUSE } = t;

/* ------------------------------------------------------------ source tables */

const SLOW = 'web_slow';
const SLOW_ROWS = 50000; // 2 ms a row or more: 100 s at least, far longer than the steps need
const limitedUser = new URL(pg.PG_LIMITED_DSN).username;
psql(pg.PG_SUPER_DSN, `DROP TABLE IF EXISTS ${SLOW};
CREATE TABLE ${SLOW} (id integer PRIMARY KEY, label text NOT NULL);
INSERT INTO ${SLOW} SELECT g, 'row ' || g FROM generate_series(1, ${SLOW_ROWS}) g;
ANALYZE ${SLOW};
CREATE OR REPLACE FUNCTION web_slow_row() RETURNS boolean LANGUAGE plpgsql VOLATILE AS
  $$ BEGIN PERFORM pg_sleep(0.002); RETURN true; END $$;
ALTER TABLE ${SLOW} ENABLE ROW LEVEL SECURITY;
CREATE POLICY slow_read ON ${SLOW} FOR SELECT TO ${limitedUser} USING (web_slow_row());
GRANT SELECT ON ${SLOW} TO ${limitedUser};
GRANT EXECUTE ON FUNCTION web_slow_row() TO ${limitedUser};`);

/* ------------------------------------------------------------ daemon */

const daemonEnv = {
  ...process.env,
  HOME: WORK,
  XDG_CONFIG_HOME: path.join(WORK, 'config'),
  LAKEHOUSE_SECRET_KEY: 'b2'.repeat(32),
};
const daemon = await serve(LAKEHOUSE, DATA, daemonEnv, [], 'web_runs');
const API = daemon.url;
log(`daemon at ${API}`);
const have = {
  runs: (await getJSON(`${API}/api/runs?state=running`)).status !== 404,
};
log('routes:', JSON.stringify(have));

const post = (p, body) => getJSON(`${API}${p}`, {
  method: 'POST', headers: { 'content-type': 'application/json', 'x-lakehouse-client': 'dashboard' },
  body: body === undefined ? undefined : JSON.stringify(body),
});
const put = (p, body) => getJSON(`${API}${p}`, {
  method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});
const sched = async (id) => (await getJSON(`${API}/api/schedules/${id}`)).body;

const badDsn = pg.PG_USER_DSN.replace(/:([^:@/]*)@/, ':not-the-password@');
const FAILING = 'orders-bad-password';

const browser = await launch();
const { page, errors } = await newPage(browser);
// every request for the running list: when it starts and ends, and on which
// visit of a page (go() counts them), so overlap shows
const runListCalls = [];
const apiCalls = [];
let visit = 0;
const go = (url) => {
  visit++;
  return page.goto(url);
};
page.on('request', (r) => {
  apiCalls.push(r.url());
  if (/\/api\/runs\?state=running/.test(r.url())) {
    runListCalls.push({ url: r.url(), visit, start: Date.now(), end: null, req: r });
  }
});
const finishCall = (r) => {
  const c = runListCalls.find((x) => x.req === r && x.end === null);
  if (c) c.end = Date.now();
};
page.on('requestfinished', finishCall);
page.on('requestfailed', finishCall);

try {
  /* ================================================ counters, messages, paused */
  let r = await post('/api/schedules', {
    id: FAILING, kind: { type: 'postgres', dsn: badDsn, table: 'no_such_table', dataset_name: 'orders_bad' },
    trigger: { type: 'interval', secs: 3600 }, enabled: true, retry: { max_attempts: 0 },
  });
  assert.equal(r.status, 201, r.text);
  // the first run is at once; two more by hand, each after the last ended
  await until('the first failure', async () => ((await sched(FAILING)).failure_count || 0) >= 1);
  for (let n = 2; n <= 3; n++) {
    await until('the schedule to be idle', async () => !(await sched(FAILING)).running);
    r = await post(`/api/schedules/${FAILING}/run`);
    assert.ok(r.status === 202 || r.status === 409, r.text);
    await until(`failure ${n}`, async () => ((await sched(FAILING)).failure_count || 0) >= n);
  }
  const failed = await sched(FAILING);
  log(`after three failures: run_count=${failed.run_count} failure_count=${failed.failure_count} ` +
    `message=${JSON.stringify(failed.last_outcome.message)}`);
  assert.equal(failed.failure_count, 3);
  const apiMsg = failed.last_outcome.message;

  await go(`${API}/#/schedules`);
  const row = page.locator(`#schedules tr[data-id="${FAILING}"]`);
  await row.waitFor();
  const counts = row.locator('.counts');
  await until('the counters', async () => /3 ✕/.test(await counts.textContent()));
  const countsText = (await counts.textContent()).replace(/\s+/g, ' ').trim();
  log(`schedules page counters: "${countsText}"`);
  assert.match(countsText, /^0 ✓ 3 ✕ ?of 3$/);
  assert.doesNotMatch(await row.textContent(), /-3/);
  // the message in full, as the API gives it; a word is never "***"
  const outcomeMsg = row.locator('td.outcome .msg');
  await outcomeMsg.waitFor();
  const shownMsg = await outcomeMsg.evaluate((el) => (el.querySelector('.msg-full') || el).textContent);
  assert.equal(shownMsg.trim(), apiMsg.trim(), 'the whole message, as the API returned it');
  assert.match(shownMsg, /password authentication failed/, 'the error names its cause');
  assert.doesNotMatch(shownMsg, /\*\*\*/, 'no word masked');
  // it wraps inside its cell instead of widening the table off screen
  const box = await outcomeMsg.boundingBox();
  assert.ok(box.x + box.width <= 1280, `the message fits the page (${JSON.stringify(box)})`);

  await go(`${API}/#/schedules/${FAILING}`);
  await page.locator('dd.counts').waitFor();
  assert.equal(await page.locator('dd.counts').textContent(), '3 runs: 0 succeeded, 3 failed (3 in a row)');
  await page.locator('#runs tbody#history tr.run').nth(2).waitFor();
  for (const cell of await page.locator('#runs tr.run td.message').all()) {
    const t = await cell.evaluate((el) => (el.querySelector('.msg-full') || el).textContent);
    assert.match(t, /password authentication failed/, 'each run shows its error');
  }

  // a long message: shown cut with "show all", opened whole, kept open by the live refresh
  const LONG = 'orders-long-error';
  const longTable = `no_such_table_${'x'.repeat(150)}`;
  r = await post('/api/schedules', {
    id: LONG, kind: { type: 'postgres', dsn: pg.PG_USER_DSN, table: longTable, dataset_name: 'orders_long' },
    trigger: { type: 'interval', secs: 3600 }, enabled: true, retry: { max_attempts: 0 },
  });
  assert.equal(r.status, 201, r.text);
  const longMsg = (await until('the long failure', async () => {
    const s = await sched(LONG);
    return s.last_outcome && s.last_outcome.message;
  }));
  log(`long message (${longMsg.length} characters): ${longMsg}`);
  await go(`${API}/#/schedules/${LONG}`);
  const firstRun = page.locator('#runs tbody#history tr.run').first();
  await firstRun.waitFor();
  const cell = firstRun.locator('td.message');
  assert.ok(longMsg.length > 200, 'a long message');
  {
    const det = cell.locator('details.msg');
    await det.waitFor();
    assert.match(await det.locator('summary').textContent(), /show all/);
    await det.locator('summary').click();
    assert.equal((await det.locator('.msg-full').textContent()).trim(), longMsg.trim());
    assert.ok(await det.locator('.msg-full').isVisible());
    // the next refreshes (every 4 s) keep it open
    const reads = apiCalls.filter((u) => u.endsWith(`/api/schedules/${LONG}`)).length;
    await until('two refreshes of the page', async () =>
      apiCalls.filter((u) => u.endsWith(`/api/schedules/${LONG}`)).length > reads + 1);
    assert.equal(await cell.locator('details.msg').getAttribute('open'), '');
  }
  await shot(page, SHOTS, 'schedule-error', log);

  // paused: no next run on either page
  const cur = await sched(FAILING);
  r = await put(`/api/schedules/${FAILING}`, {
    id: FAILING, kind: cur.kind, trigger: cur.trigger, enabled: false, retry: cur.retry,
  });
  assert.equal(r.status, 200, r.text);
  await go(`${API}/#/schedules`);
  const pausedNext = page.locator(`#schedules tr[data-id="${FAILING}"] td.next`);
  await pausedNext.waitFor();
  assert.equal((await pausedNext.textContent()).trim(), '— paused');
  await shot(page, SHOTS, 'schedules-failing', log);
  const widths = await page.locator('#schedules').evaluate((t) => [t.scrollWidth, t.parentElement.clientWidth]);
  assert.ok(widths[0] <= widths[1], `the table fits its card, messages wrap (${widths})`);
  await go(`${API}/#/schedules/${FAILING}`);
  await page.locator('dd.next').waitFor();
  assert.match(await page.locator('dd.next').textContent(), /^none while paused/);
  assert.doesNotMatch(await page.locator('dl.facts').textContent(), /due now|in \d+ s/);
  log('counters, full messages and paused schedules read right');

  if (!have.runs) {
    assert.deepEqual(errors, [], 'no uncaught errors in the page');
    console.log('web_runs: SKIPPED the live-run steps: GET /api/runs answers 404 on this daemon. ' +
      'Every other step passed.');
    await browser.close();
    await stopDaemon(daemon);
    process.exit(77);
  }

  /* ================================================ a live run, cancelled from the list */
  const SLOWID = 'slow-orders';
  // paused, so only "Run now" starts it: the scheduler never starts another
  // run of its own behind the cancelled one
  r = await post('/api/schedules', {
    id: SLOWID, kind: { type: 'postgres', dsn: pg.PG_LIMITED_DSN, table: SLOW, dataset_name: 'slow_orders',
      batch_size: 50 },
    trigger: { type: 'interval', secs: 3600 }, enabled: false, retry: { max_attempts: 0 },
  });
  assert.equal(r.status, 201, r.text);
  await go(`${API}/#/schedules`);
  const navs = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navs.push(f.url()); });
  await page.getByRole('button', { name: `Run ${SLOWID} now` }).click();
  const line = page.locator(`#schedules tr.run-line[data-for="${SLOWID}"]`);
  await line.locator('.live-run.is-live').waitFor({ timeout: 60000 });
  // rows grow on the page itself, without a reload
  const rowsAt = async () => Number(((await line.locator('.rows').textContent()) || '0').trim().split(' ')[0]
    .replace(/,/g, ''));
  const firstRows = await until('rows read', async () => {
    const n = await rowsAt();
    return n > 0 ? n : 0;
  });
  await until('the rows to grow', async () => (await rowsAt()) > firstRows);
  const text = (await line.textContent()).replace(/\s+/g, ' ');
  log(`live on the schedules page: ${text}`);
  assert.match(text, /running · (reading|connecting|publishing)/);
  assert.match(text, /rows\/s/);
  assert.match(text, /elapsed/);
  // % and ETA exactly when the source gave an estimate (pg_class.reltuples)
  const apiRun = (await getJSON(`${API}/api/runs?state=running&schedule=${SLOWID}`)).body.runs[0];
  if (apiRun.estimated_rows !== null && apiRun.estimated_rows !== undefined) {
    await until('the estimate on the page', async () => /of ~[\d,]+ rows/.test(await line.textContent()));
    const t = (await line.textContent()).replace(/\s+/g, ' ');
    assert.match(t, /of ~[\d,]+ rows/, 'the estimate');
    assert.match(t, /\d+\.\d %/, 'a percentage');
    assert.match(t, /ETA \d/, 'an ETA');
    assert.equal(await line.locator('progress').count(), 1);
  } else {
    log('note: this daemon gives no estimate for the slow table: no %, no ETA, no bar (checked)');
    assert.doesNotMatch(text, / %|ETA/);
    assert.equal(await line.locator('progress').count(), 0);
  }
  assert.deepEqual(navs, [], 'no reload');
  await line.scrollIntoViewIfNeeded();
  await shot(page, SHOTS, 'schedules-running', log);

  // Cancel asks first; "Keep running" keeps it
  const liveRun = (await getJSON(`${API}/api/runs?state=running&schedule=${SLOWID}`)).body.runs[0];
  assert.ok(liveRun && liveRun.run_id, 'the API lists the run');
  await line.getByRole('button', { name: `Cancel run ${liveRun.run_id}` }).click();
  await page.locator('#confirm').waitFor({ state: 'visible' });
  assert.match(await page.locator('#confirm-text').textContent(), /publishes nothing/);
  await page.locator('#confirm').getByRole('button', { name: 'Keep running' }).click();
  await page.locator('#confirm').waitFor({ state: 'hidden' });
  assert.equal((await getJSON(`${API}/api/runs/${liveRun.run_id}`)).body.state, 'running');
  // every badge the run line shows from now on
  await page.evaluate(() => {
    window.seenStates = [];
    const note = () => {
      for (const b of document.querySelectorAll('tr.run-line .live-run .badge')) {
        if (window.seenStates.at(-1) !== b.textContent) window.seenStates.push(b.textContent);
      }
    };
    new MutationObserver(note).observe(document.getElementById('main'), { subtree: true, childList: true,
      characterData: true });
  });
  await line.getByRole('button', { name: `Cancel run ${liveRun.run_id}` }).click();
  await page.locator('#confirm').getByRole('button', { name: 'Cancel run' }).click();
  await line.locator('.live-run[data-state="cancelled"]').waitFor({ timeout: 30000 });
  const seen = await page.evaluate(() => window.seenStates);
  log(`states shown on the schedules page: ${seen.join(' → ')}`);
  assert.ok(seen.includes('cancelling…'), 'cancelling… was shown');
  assert.equal(seen.at(-1), 'cancelled');
  const after = (await getJSON(`${API}/api/runs/${liveRun.run_id}`)).body;
  assert.equal(after.state, 'cancelled');
  assert.match(await line.textContent(), /nothing published/);
  await page.getByRole('status').filter({ hasText: 'cancelled: nothing published' }).waitFor();
  await line.scrollIntoViewIfNeeded();
  await shot(page, SHOTS, 'schedules-cancelled', log);

  /* ================================================ the schedule page: log panel, cancel */
  r = await post(`/api/schedules/${SLOWID}/run`);
  assert.equal(r.status, 202, r.text);
  const run2 = r.body.run_id;
  await go(`${API}/#/schedules/${SLOWID}`);
  const liveRow = page.locator(`#live-runs tr.live-row[data-run="${run2}"]`);
  await liveRow.locator('.live-run.is-live').waitFor({ timeout: 60000 });
  await liveRow.getByRole('button', { name: `Show the log of run ${run2}` }).click();
  const panel = page.locator(`.log-panel[data-run="${run2}"]`);
  await panel.locator('.log-line').first().waitFor();
  assert.equal(await panel.getAttribute('data-complete'), 'false');
  const lines0 = await panel.locator('.log-line').count();
  log(`log panel open with ${lines0} lines while the run goes on`);
  await until('the live row to move on', async () => {
    const t = await liveRow.locator('.rows').textContent();
    return !/^0 /.test(t);
  });
  await panel.scrollIntoViewIfNeeded();
  await shot(page, SHOTS, 'schedule-log', log);
  await liveRow.getByRole('button', { name: `Cancel run ${run2}` }).click();
  await page.locator('#confirm').getByRole('button', { name: 'Cancel run' }).click();
  await until('the run to end cancelled', async () =>
    (await getJSON(`${API}/api/runs/${run2}`)).body.state === 'cancelled');
  // the history lists it as cancelled, its log still open and now complete
  const histRow = page.locator(`#history tr.run[data-run="${run2}"]`);
  await histRow.waitFor({ timeout: 30000 });
  assert.equal((await histRow.locator('.badge').textContent()).trim(), 'cancelled');
  await page.locator(`.log-panel[data-run="${run2}"][data-complete="true"]`).waitFor();
  assert.ok((await panel.locator('.log-line').count()) >= lines0, 'the log kept its lines');
  assert.match(await panel.textContent(), /cancel/i, 'the log says the run was cancelled');
  assert.equal(await page.locator(`#live-runs tr[data-run="${run2}"]`).count(), 0, 'listed once');
  await page.getByRole('status').filter({ hasText: `Run ${run2} of ${SLOWID} cancelled: nothing published.` })
    .waitFor();
  await histRow.scrollIntoViewIfNeeded();
  await shot(page, SHOTS, 'schedule-cancelled', log);

  /* ================================================ a one-shot ingest, cancelled from the list */
  r = await post('/api/ingest', { type: 'postgres', dsn: pg.PG_LIMITED_DSN, table: SLOW,
    dataset_name: 'slow_once', batch_size: 50 });
  assert.equal(r.status, 202, r.text);
  const once = r.body.run_id;
  await go(`${API}/#/schedules`);
  const onceView = page.locator(`#one-shot-runs .live-run[data-run="${once}"]`);
  await onceView.and(page.locator('.is-live')).waitFor({ timeout: 60000 });
  assert.match(await page.locator('#one-shot-runs').textContent(), /slow_once/);
  await onceView.getByRole('button', { name: `Cancel run ${once}` }).click();
  await page.locator('#confirm').getByRole('button', { name: 'Cancel run' }).click();
  await until('the one-shot run to end cancelled', async () =>
    (await getJSON(`${API}/api/runs/${once}`)).body.state === 'cancelled');
  await page.getByRole('status').filter({ hasText: `Run ${once} cancelled: nothing published.` }).waitFor();
  log('a one-shot ingest shows on the schedules page and is cancelled from there');

  // the running list was never asked twice at once
  const calls = runListCalls.filter((c) => c.end !== null).sort((a, b) => a.start - b.start);
  let overlap = 0;
  for (let i = 1; i < calls.length; i++) {
    const prev = calls.slice(0, i).filter((c) => c.visit === calls[i].visit && c.url === calls[i].url);
    if (prev.some((c) => calls[i].start < c.end)) overlap++;
  }
  const span = (calls.at(-1).end - calls[0].start) / 1000;
  log(`GET /api/runs?state=running: ${calls.length} requests in ${span.toFixed(1)} s, ${overlap} overlapping`);
  assert.equal(overlap, 0, 'one request for the running list at a time');

  assert.deepEqual(errors, [], 'no uncaught errors in the page');
} catch (e) {
  await finish(t, { browser, page, daemon, error: e, quiet: true });
}
await finish(t, { browser, page, daemon });
