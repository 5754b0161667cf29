// sources.test.mjs — what a schedule copies and where a dataset came from,
// on the dashboard (issue 15), in a real headless Chromium against a real
// daemon and a real PostgreSQL.
//
//   1. The form creates a schedule with a query source (multi-line text):
//      the stored schedule (GET /api/schedules/ID) has exactly that query,
//      no table, the dataset name and schema_policy fail; its page shows
//      the query and the policy.
//   2. A 400 lands at its field: a query without a dataset name is refused
//      by the API (kind.dataset_name), shown next to "Dataset name"; an
//      empty query is caught before sending, next to "Query".
//   3. Edit round trip of a table schedule: columns "id, v", a where, policy
//      replace, parallel 4 are stored as kind.columns "id,v", kind.where,
//      kind.schema_policy, kind.parallel 4; the form opened again shows them;
//      then parallel auto, policy evolve and no columns are stored so
//      (columns absent, evolve not written). Changing the table shows the
//      "source changed" notice; "Replace source" is stored as
//      kind.replace_source true and shown on the schedule page. "Always load
//      from zero" is stored as kind.no_resume true (shown "off" on the
//      schedule page, checked when the form opens again); cleared, the
//      field is absent (resume "on").
//   4. The dataset page after real ingests: v1 from table web_src_a (api),
//      v2 by a schedule's run after ALTER TABLE ADD COLUMN (schema change
//      "added note Utf8", allowed by evolve), v3 from a query on web_src_b
//      with replace_source (source change, "dropped note"): the Source
//      section shows the current query, who made it, never the password;
//      the history marks v3's row as a source change and v2's and v3's
//      schema changes as added / dropped chips. An incremental load of
//      some columns and rows shows them, its cursor column and watermark.
//      Each version records its schema policy: v1 ran with replace, v2
//      with evolve, v3 with evolve and replaced the source; the record
//      (API) says so per version and the history's Policy column and the
//      current facts show it. A version written before policies were
//      recorded (a record without them) shows "not recorded" and the
//      making schedule's setting today.
// Screenshots go to LH_SCREENSHOT_DIR.
import path from 'node:path';
import fs from 'node:fs';
import assert from 'node:assert/strict';
import {
  psql, launch, newPage, shot, until, getJSON, setup, serveFor, finish,
} from './harness.mjs';

const t = setup('web_sources');
const { SHOTS, pg, log, DATA } = t;

psql(pg.PG_SUPER_DSN, `DROP TABLE IF EXISTS web_src_a, web_src_b;
CREATE TABLE web_src_a (id integer PRIMARY KEY, v integer NOT NULL);
INSERT INTO web_src_a SELECT g, g FROM generate_series(1, 6) g;
CREATE TABLE web_src_b (id integer PRIMARY KEY, v integer NOT NULL, region text NOT NULL);
INSERT INTO web_src_b SELECT g, 10 * g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END FROM generate_series(1, 9) g;
GRANT SELECT ON web_src_a, web_src_b TO PUBLIC;`);

const daemon = await serveFor(t, 'c4');
const API = daemon.url;
const { post } = daemon;
const getSched = async (id) => (await getJSON(`${API}/api/schedules/${id}`)).body;
const dsnNoPw = pg.PG_USER_DSN.replace(/:[^:@/]*@/, '@');
const QUERY = `SELECT id, v * 2 AS doubled, region
FROM web_src_b
WHERE region = 'eu'   -- a comment, and a long line that has to wrap on the schedule page without widening it, however long the operator made it`;

const browser = await launch();
const { page, errors } = await newPage(browser);
try {
  /* ------------------------------------------------ 1. a query schedule through the form */
  await page.goto(`${API}/#/schedules/new`);
  await page.getByLabel('Id', { exact: true }).fill('web-q');
  await page.getByLabel('Connection string (DSN)').fill(dsnNoPw);
  await page.getByLabel('Password').fill(pg.PG_PASSWORD);
  await page.locator('#f-enabled').uncheck();
  assert.equal(await page.locator('#f-query').isVisible(), false, 'the query box is hidden for a table');
  await page.getByLabel('A query').check();
  assert.equal(await page.locator('#f-table').isVisible(), false, 'the table box is hidden for a query');
  assert.equal(await page.locator('#f-where').isVisible(), false, 'no where for a query');

  // 2a. an empty query is caught before anything is sent
  await page.getByRole('button', { name: 'Create schedule' }).click();
  await page.locator('#err-kind-query').waitFor({ state: 'visible' });
  assert.match(await page.locator('#err-kind-query').textContent(), /type the query/);
  assert.equal((await getJSON(`${API}/api/schedules/web-q`)).status, 404);

  await page.getByLabel('Query', { exact: true }).fill(QUERY);
  await page.getByLabel('Schema policy').selectOption('fail');
  assert.match(await page.locator('#policy-help li.on').textContent(), /^fail: any change/);
  await page.locator('#l-source-mode').scrollIntoViewIfNeeded();
  await page.evaluate(() => document.querySelector('#f-dsn').scrollIntoView());
  await shot(page, SHOTS, 'schedule-form-query', log);

  // 2b. the API's 400 (a query needs a dataset name) next to its field
  await page.getByRole('button', { name: 'Create schedule' }).click();
  const dsErr = page.locator('#err-kind-dataset_name');
  await dsErr.waitFor({ state: 'visible' });
  assert.match(await dsErr.textContent(), /required with a query/);
  assert.equal(await page.locator('#f-dataset').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('.field-error[id^="err-"]:visible').count(), 1, 'one field error');
  await shot(page, SHOTS, 'schedule-form-query-error', log);

  await page.getByLabel('Dataset name').fill('web_q');
  await page.getByRole('button', { name: 'Create schedule' }).click();
  await page.waitForURL(/#\/schedules\/web-q$/);
  let s = await getSched('web-q');
  assert.equal(s.kind.query, QUERY, 'the stored query is the typed text');
  assert.ok(!s.kind.table, `no table (${s.kind.table})`);
  assert.equal(s.kind.dataset_name, 'web_q');
  assert.equal(s.kind.schema_policy, 'fail');
  assert.equal(s.kind.parallel, undefined, 'parallel 1 is not written');
  assert.ok(!s.kind.replace_source);
  assert.ok(!s.kind.dsn.includes(pg.PG_PASSWORD), 'no password in the DSN');
  await page.locator('#sched-query').waitFor();
  await page.getByText('No runs yet.').waitFor();
  assert.equal(await page.locator('#sched-query').textContent(), QUERY);
  assert.match(await page.locator('#sched-policy').textContent(), /^fail/);
  // the long query line wraps inside the page
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page does not scroll sideways (${overflow}px)`);
  await shot(page, SHOTS, 'schedule-query', log);

  // editing the query schedule: the form opens in query mode with the text
  await page.goto(`${API}/#/schedules/web-q/edit`);
  await page.locator('#f-query').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#f-query').inputValue(), QUERY);
  assert.equal(await page.locator('#f-policy').inputValue(), 'fail');

  /* ------------------------------------------------ 3. edit round trip of a table schedule */
  let r = await post('/api/schedules', { id: 'web-t', enabled: false,
    kind: { type: 'postgres', dsn: pg.PG_USER_DSN, table: 'web_src_a', dataset_name: 'web_t' },
    trigger: { type: 'interval', secs: 3600 } });
  assert.equal(r.status, 201, r.text);
  await page.goto(`${API}/#/schedules/web-t/edit`);
  await page.locator('#f-columns').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#f-policy').inputValue(), 'evolve', 'evolve by default');
  assert.equal(await page.locator('#f-parallel').inputValue(), '1', 'one connection by default');
  assert.equal(await page.locator('#source-changed').isVisible(), false, 'no source change yet');
  await page.getByLabel('Columns').fill(' id, v ');
  await page.getByLabel('Where').fill("v > 2 AND v <> 5");
  await page.getByLabel('Schema policy').selectOption('replace');
  await page.getByLabel('Parallel connections').selectOption('4');
  assert.equal(await page.locator('#f-no-resume').isChecked(), false, 'resume is on by default');
  await page.getByLabel('Always load from zero (no resume)').check();
  await page.evaluate(() => document.querySelector('#f-password').scrollIntoView());
  await shot(page, SHOTS, 'schedule-form-table', log);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL(/#\/schedules\/web-t$/);
  s = await getSched('web-t');
  assert.equal(s.kind.table, 'web_src_a');
  assert.equal(s.kind.columns, 'id,v');
  assert.equal(s.kind.where, 'v > 2 AND v <> 5');
  assert.equal(s.kind.schema_policy, 'replace');
  assert.equal(s.kind.parallel, 4);
  assert.equal(s.kind.no_resume, true);
  assert.ok(!s.kind.query);
  assert.match(await page.locator('#sched-no-resume').textContent(), /^off every run loads from zero/);
  await page.locator('#sched-parallel').getByText('4 connections').waitFor();
  assert.equal(await page.locator('#sched-columns').textContent(), 'id, v');
  assert.equal(await page.locator('#sched-where').textContent(), 'v > 2 AND v <> 5');
  await shot(page, SHOTS, 'schedule-table-settings', log);

  await page.goto(`${API}/#/schedules/web-t/edit`);
  await page.locator('#f-columns').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#f-columns').inputValue(), 'id,v');
  assert.equal(await page.locator('#f-where').inputValue(), 'v > 2 AND v <> 5');
  assert.equal(await page.locator('#f-policy').inputValue(), 'replace');
  assert.equal(await page.locator('#f-parallel').inputValue(), '4');
  assert.equal(await page.locator('#f-no-resume').isChecked(), true, 'no_resume shown again');
  await page.getByLabel('Always load from zero (no resume)').uncheck();
  await page.getByLabel('Columns').fill('');
  await page.getByLabel('Schema policy').selectOption('evolve');
  await page.getByLabel('Parallel connections').selectOption('auto');
  // another table: the source changes, the form says what that means
  await page.getByLabel('Table', { exact: true }).fill('web_src_b');
  await page.locator('#source-changed').waitFor({ state: 'visible' });
  assert.match(await page.locator('#source-changed').textContent(), /refused unless "Replace source"/);
  await page.getByLabel('Replace source').check();
  assert.match(await page.locator('#source-changed').textContent(), /replaces its source/);
  await page.locator('#f-replace').scrollIntoViewIfNeeded();
  await shot(page, SHOTS, 'schedule-form-replace-source', log);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL(/#\/schedules\/web-t$/);
  s = await getSched('web-t');
  assert.equal(s.kind.table, 'web_src_b');
  assert.equal(s.kind.columns, undefined, 'columns cleared');
  assert.equal(s.kind.where, 'v > 2 AND v <> 5');
  assert.equal(s.kind.schema_policy, undefined, 'evolve is not written');
  assert.equal(s.kind.parallel, 'auto');
  assert.equal(s.kind.replace_source, true);
  assert.equal(s.kind.no_resume, undefined, 'no_resume cleared is not written');
  await page.locator('#sched-replace').getByText('allowed').waitFor();
  assert.match(await page.locator('#sched-no-resume').textContent(), /^on /);
  assert.match(await page.locator('#sched-parallel').textContent(), /^auto/);

  /* ------------------------------------------------ 4. source and schema by version */
  const kindA = { type: 'postgres', dsn: pg.PG_USER_DSN, table: 'web_src_a', dataset_name: 'web_lin' };
  r = await post('/api/ingest?wait=true', { ...kindA, schema_policy: 'replace' });
  assert.equal(r.status, 200, r.text);
  psql(pg.PG_SUPER_DSN, "ALTER TABLE web_src_a ADD COLUMN note text; UPDATE web_src_a SET note = 'n' || id;");
  r = await post('/api/schedules', { id: 'web-lin-hourly', enabled: false, kind: kindA,
    trigger: { type: 'interval', secs: 3600 } });
  assert.equal(r.status, 201, r.text);
  r = await post('/api/schedules/web-lin-hourly/run', {});
  assert.ok(r.status === 200 || r.status === 202, r.text);
  await until('v2 by the schedule', async () => (await getJSON(`${API}/api/datasets/web_lin`)).body.current_version === 2);
  const LONGQ = "SELECT id, v, region FROM web_src_b WHERE region IN ('eu', 'us') AND v BETWEEN 0 AND 1000000 " +
    "AND id NOT IN (SELECT id FROM web_src_a WHERE v > 1000) ORDER BY id";
  r = await post('/api/ingest?wait=true', { type: 'postgres', dsn: pg.PG_USER_DSN, query: LONGQ,
    dataset_name: 'web_lin', replace_source: true });
  assert.equal(r.status, 200, r.text);
  const d = (await getJSON(`${API}/api/datasets/web_lin`)).body;
  assert.equal(d.current_version, 3);
  const byV = Object.fromEntries(d.versions.map((v) => [v.version, v]));
  assert.match(byV[2].schema_change || '', /added note/, 'the record has v2\'s change');
  assert.match(byV[3].schema_change || '', /dropped note/, 'the record has v3\'s change');
  // each version records the policy it ran under, and --replace-source
  assert.equal(byV[1].source.schema_policy, 'replace');
  assert.equal(byV[1].source.replace_source, false);
  assert.equal(byV[2].source.schema_policy, 'evolve');
  assert.equal(byV[3].source.schema_policy, 'evolve');
  assert.equal(byV[3].source.replace_source, true);
  assert.equal(byV[3].source.source_replaced, true);
  assert.equal(byV[2].source.source_replaced, undefined);
  assert.equal(d.source.schema_policy, 'evolve', 'the current source says it too');

  await page.goto(`${API}/#/datasets/web_lin`);
  const cur = page.locator('#source-current');
  await cur.waitFor();
  assert.equal(await cur.locator('[data-k=query]').textContent(), LONGQ);
  assert.match(await cur.locator('[data-k=server]').textContent(), /^127\.0\.0\.1:\d+ \/ lhtest$/);
  assert.match(await cur.locator('[data-k=made_by]').textContent(), /one-shot ingest/);
  assert.equal(await cur.locator('[data-k=mode]').textContent(), 'overwrite');
  const hist = page.locator('#source-history');
  const row = (v) => hist.locator(`tr[data-version="${v}"]`);
  assert.equal(await hist.locator('tr.source-changed').count(), 1, 'one source change');
  assert.match(await row(3).getAttribute('class'), /source-changed/);
  assert.match(await row(3).textContent(), /source changed/);
  assert.match(await row(3).locator('td.schema').textContent(), /dropped/);
  assert.match(await row(3).locator('td.schema').textContent(), /with the new source/);
  assert.match(await row(2).getAttribute('class'), /schema-changed/);
  assert.equal(await row(2).locator('li.chg.added').textContent(), 'added + note Utf8');
  assert.match(await row(2).locator('td.schema').textContent(), /allowed by evolve or replace/);
  assert.match(await row(2).textContent(), /schedule web-lin-hourly/);
  assert.match(await row(2).locator('td.src').textContent(), /public\.web_src_a/);
  assert.match(await row(1).locator('td.schema').textContent(), /first version/);
  assert.equal(await row(1).getAttribute('class'), null, 'v1: nothing to mark');
  assert.equal(await row(1).locator('td.policy').textContent(), 'replace');
  assert.equal(await row(2).locator('td.policy').textContent(), 'evolve');
  assert.equal(await row(3).locator('td.policy').textContent(), 'evolvesource replaced');
  assert.equal(await row(3).locator('td.policy').getAttribute('data-policy'), 'evolve');
  assert.equal(await page.locator('#source-policy').textContent(),
    'evolve (recorded with this version; source replaced)');
  const pageText = await page.locator('main').textContent();
  assert.ok(!pageText.includes(pg.PG_PASSWORD), 'no password on the page');
  assert.equal(await row(3).locator('pre.sql-text').textContent(), LONGQ, 'the whole query, wrapped');
  assert.match(await row(3).locator('.was-text').textContent(), /^was public\.web_src_a on postgres 127\.0\.0\.1:\d+ \/ lhtest$/);
  const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow2 <= 0, `the dataset page does not scroll sideways (${overflow2}px)`);
  // the section itself, not the About section above it
  await page.locator('#h-source').evaluate((e) => {
    e.scrollIntoView({ block: 'start' });
    window.scrollBy(0, -16);
  });
  await shot(page, SHOTS, 'dataset-source', log);
  await page.locator('#h-source').scrollIntoViewIfNeeded();
  await hist.scrollIntoViewIfNeeded();
  await shot(page, SHOTS, 'dataset-source-history', log);

  // an incremental load shows its cursor column and watermark
  r = await post('/api/ingest?wait=true', { type: 'postgres', dsn: pg.PG_USER_DSN, table: 'web_src_b',
    dataset_name: 'web_inc', mode: 'incremental', cursor_column: 'id', columns: 'id,v', where: "region = 'eu'" });
  assert.equal(r.status, 200, r.text);
  const wm = (await getJSON(`${API}/api/datasets/web_inc`)).body.versions.at(-1).watermark;
  assert.ok(wm, 'the version has a watermark');
  await page.goto(`${API}/#/datasets/web_inc`);
  await page.locator('#source-current').waitFor();
  assert.equal(await page.locator('#source-current [data-k=watermark]').textContent(), String(wm));
  assert.equal(await page.locator('#source-current [data-k=mode]').textContent(), 'incremental on id');
  assert.equal(await page.locator('#source-current [data-k=columns]').textContent(), 'id,v');
  assert.equal(await page.locator('#source-current [data-k=where]').textContent(), "region = 'eu'");
  assert.match(await page.locator('#source-history tr[data-version="1"]').textContent(), new RegExp(`≤ ${wm}`));

  // a version written before policies were recorded: "not recorded", and
  // the making schedule's setting today, said as such
  const oldRec = {
    name: 'web_old', schema_fingerprint: 'ab', current_version: 1, row_count: 1, sensitivity: null,
    columns: [{ name: 'id', data_type: 'Int32', sensitivity: null, description: '', is_pii: false }],
    versions: [{ version: 1, created_at: '2026-01-01T00:00:00Z', row_count: 1, run_id: 'r-old',
      schema_fingerprint: 'ab', objects: [],
      source: { system: 'postgres', host: '127.0.0.1', port: 5432, database: 'lhtest', table: 'public.web_src_a',
        mode: 'overwrite', made_by: 'web-t' } }],
    lineage: { source_system: 'postgres', source_file: '', ingest_job: 'r-old',
      ingest_timestamp: '2026-01-01T00:00:00Z', parent_datasets: [] },
    embeddings_stale: false,
  };
  fs.writeFileSync(path.join(DATA, 'primary', '_catalog', 'web_old.json'), JSON.stringify(oldRec));
  await page.goto(`${API}/#/datasets/web_old`);
  await page.locator('#source-history').waitFor();
  assert.equal(await page.locator('#source-history tr[data-version="1"] td.policy').textContent(), 'not recorded');
  await page.locator('#source-policy').getByText('setting today').waitFor();
  assert.match(await page.locator('#source-policy').textContent(),
    /^evolve \(schedule web-t's setting today; this version did not record its own; it may replace the source\)$/);
  assert.deepEqual(errors, [], 'no uncaught errors in the page');
} catch (e) {
  await finish(t, { browser, page, daemon, error: e });
}
await finish(t, { browser, page, daemon });
