// datasets.test.mjs — managing a dataset on the dashboard (issue 15), in a
// real headless Chromium against a real daemon and a real PostgreSQL.
//
// A table ingested twice (v1: 5 rows, v2: 8). On the dataset page, "Roll
// back" on v1 asks first, then the API says v3 is current with v1's 5 rows
// and the page shows v3 as current. With a schedule writing to the dataset,
// Delete asks, the API's 409 makes the page ask again ("Pause and delete"),
// then the dataset is gone (404), the schedule is paused with a reason
// naming the removal, the page is back on the list saying so, and no object
// of the dataset is left in the store. A Delete answered "Cancel" changes
// nothing. Screenshots go to LH_SCREENSHOT_DIR.
import path from 'node:path';
import fs from 'node:fs';
import assert from 'node:assert/strict';
import {
  psql, launch, newPage, shot, until, getJSON, setup, serveFor, finish,
} from './harness.mjs';

const t = setup('web_datasets');
const { SHOTS, pg, log, DATA } = t;

psql(pg.PG_SUPER_DSN, `DROP TABLE IF EXISTS web_ds;
CREATE TABLE web_ds (id integer PRIMARY KEY, v integer NOT NULL);
INSERT INTO web_ds SELECT g, g FROM generate_series(1, 5) g;
GRANT SELECT ON web_ds TO PUBLIC;`);

const daemon = await serveFor(t, 'c3');
const API = daemon.url;
const { post } = daemon;
const kind = { type: 'postgres', dsn: pg.PG_USER_DSN, table: 'web_ds', dataset_name: 'web_ds' };

const browser = await launch();
const { page, errors } = await newPage(browser);
try {
  let r = await post('/api/ingest?wait=true', kind);
  assert.equal(r.status, 200, r.text);
  psql(pg.PG_SUPER_DSN, 'INSERT INTO web_ds SELECT g, g FROM generate_series(6, 8) g;');
  r = await post('/api/ingest?wait=true', kind);
  assert.equal(r.status, 200, r.text);
  assert.equal((await getJSON(`${API}/api/datasets/web_ds`)).body.current_version, 2);

  /* ------------------------------------------------ roll back to v1 */
  await page.goto(`${API}/#/datasets/web_ds`);
  const v1 = page.locator('#versions tr[data-version="1"]');
  await v1.waitFor();
  await v1.getByRole('button', { name: 'Roll back to v1' }).click();
  await page.locator('#confirm').waitFor({ state: 'visible' });
  assert.match(await page.locator('#confirm-text').textContent(), /parts of v1/);
  await page.locator('#confirm').getByRole('button', { name: 'Roll back to v1' }).click();
  const d = await until('v3 current', async () => {
    const x = (await getJSON(`${API}/api/datasets/web_ds`)).body;
    return x.current_version === 3 && x;
  });
  assert.equal(d.row_count, 5, 'v3 has v1 rows');
  await page.locator('#versions tr[data-version="3"]').getByText('current').waitFor();
  await page.locator('#dataset-flash').getByText('Version 3 published with the parts of v1').waitFor();
  const sql = await post('/api/sql', { sql: 'SELECT count(*) AS n, sum(v) AS s FROM web_ds' });
  assert.equal(sql.status, 200, sql.text);
  assert.deepEqual(sql.body.rows[0].map(Number), [5, 15]);
  await shot(page, SHOTS, 'dataset-rolled-back', log);

  /* ------------------------------------------------ delete: cancel, then forced */
  r = await post('/api/schedules', { id: 'web-ds-nightly', kind, trigger: { type: 'cron', expr: '0 3 * * *' } });
  assert.equal(r.status, 201, r.text);
  await page.locator('#dataset-delete').click();
  await page.locator('#confirm').waitFor({ state: 'visible' });
  assert.match(await page.locator('#confirm-text').textContent(), /Delete dataset "web_ds"/);
  await page.locator('#confirm-cancel').click();
  await page.locator('#confirm').waitFor({ state: 'hidden' });
  assert.equal((await getJSON(`${API}/api/datasets/web_ds`)).status, 200, 'Cancel keeps it');

  await page.locator('#dataset-delete').click();
  await page.locator('#confirm').waitFor({ state: 'visible' });
  await page.locator('#confirm-ok').click();
  // the 409: schedules write to it; asked again
  await until('the second question', async () => /web-ds-nightly/.test(await page.locator('#confirm-text').textContent()) &&
    await page.locator('#confirm').isVisible());
  await shot(page, SHOTS, 'dataset-delete-scheduled', log);
  await page.locator('#confirm').getByRole('button', { name: 'Pause and delete' }).click();
  await page.waitForURL(/#\/datasets$/);
  await page.locator('#dataset-flash').getByText('Dataset web_ds deleted; paused web-ds-nightly.').waitFor();
  assert.equal((await getJSON(`${API}/api/datasets/web_ds`)).status, 404);
  const s = (await getJSON(`${API}/api/schedules/web-ds-nightly`)).body;
  assert.equal(s.enabled, false);
  assert.match(s.paused_reason, /datasets rm web_ds/);
  const left = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.name.includes('web_ds') && !p.includes('_runs') && !p.includes('_schedules')) left.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(DATA);
  assert.deepEqual(left, [], 'nothing of the dataset left in the store');
  await shot(page, SHOTS, 'dataset-deleted', log);
  assert.deepEqual(errors, [], 'no uncaught errors in the page');
} catch (e) {
  await finish(t, { browser, page, daemon, error: e });
}
await finish(t, { browser, page, daemon });
