// meta.test.mjs — describing a dataset on the dashboard (issue 15
// "Descriptions and tags"), in a real headless Chromium against a real
// daemon and a real PostgreSQL.
//
// On the dataset page's About section: a description is added; tags are
// added (Enter and the button) and one removed; a bad tag and a
// description too long are refused by the API and the error shows at that
// field (aria-invalid, nothing saved); per column a mark set by hand
// (email: not sensitive, city: PII) and a description are saved together,
// and a column description too long shows its error on its row. The API
// then says so, the page shows "set by hand", and none of it made a
// version; a later ingest (a column added) keeps every mark and text.
//
// The dataset list: each dataset's tags as chips and its description's
// first line (a long one cut with "…"); a click on a chip shows only the
// datasets with that tag (#/datasets?tag=T, the count says "1 of 3"), the
// chip marked; "Show every dataset" and the marked chip lead back; a tag
// no dataset has says so.
// Screenshots go to LH_SCREENSHOT_DIR.
import assert from 'node:assert/strict';
import {
  psql, launch, newPage, shot, until, getJSON, setup, serveFor, finish,
} from './harness.mjs';

const t = setup('web_meta');
const { SHOTS, pg, log } = t;

psql(pg.PG_SUPER_DSN, `DROP TABLE IF EXISTS web_meta;
CREATE TABLE web_meta (id integer PRIMARY KEY, email text, city text, total_spent numeric(10,2));
INSERT INTO web_meta SELECT g, 'u' || g || '@example.org', 'city ' || g, g * 1.5 FROM generate_series(1, 7) g;
GRANT SELECT ON web_meta TO PUBLIC;`);

const daemon = await serveFor(t, 'c4');
const API = daemon.url;
const { post } = daemon;
const record = async () => (await getJSON(`${API}/api/datasets/web_meta`)).body;
const col = (rec, n) => rec.columns.find((c) => c.name === n);
const kind = { type: 'postgres', dsn: pg.PG_USER_DSN, table: 'web_meta', dataset_name: 'web_meta' };

const browser = await launch();
const { page, errors } = await newPage(browser);
try {
  const r = await post('/api/ingest?wait=true', kind);
  assert.equal(r.status, 200, r.text);
  await page.goto(`${API}/#/datasets/web_meta`);
  const about = page.locator('#dataset-meta');
  await about.waitFor();
  assert.match(await about.textContent(), /No description yet/);

  /* ------------------------------------------------ description */
  await page.locator('#meta-description-edit').click();
  await page.locator('#meta-description').fill('Customers of the web shop.\nOne row per customer.');
  await page.locator('#meta-description-save').click();
  await page.locator('#dataset-flash').getByText('Description saved.').waitFor();
  await page.locator('#meta-description-text').getByText('One row per customer.').waitFor();
  assert.equal((await record()).description, 'Customers of the web shop.\nOne row per customer.');

  // too long (bytes: 3000 two-byte characters, under the textarea's 4096
  // characters): the API's 400 shows at the field, nothing saved
  await page.locator('#meta-description-edit').click();
  await page.locator('#meta-description').fill('é'.repeat(3000));
  await page.locator('#meta-description-save').click();
  const derr = page.locator('#meta-description-err');
  await derr.waitFor({ state: 'visible' });
  assert.match(await derr.textContent(), /at most 4096/);
  assert.equal(await page.locator('#meta-description').getAttribute('aria-invalid'), 'true');
  assert.equal((await record()).description, 'Customers of the web shop.\nOne row per customer.');
  await page.goto(`${API}/#/datasets`);
  await page.goto(`${API}/#/datasets/web_meta`);
  await about.waitFor();

  /* ------------------------------------------------ tags */
  await page.locator('#meta-tag').fill('gdpr');
  await page.locator('#meta-tag').press('Enter');
  await page.locator('#meta-tags li[data-tag="gdpr"]').waitFor();
  await page.locator('#meta-tag').fill('team:growth');
  await page.locator('#meta-tag-add').click();
  await page.locator('#meta-tags li[data-tag="team:growth"]').waitFor();
  await page.locator('#meta-tag').fill('tier-1');
  await page.locator('#meta-tag-add').click();
  await page.locator('#meta-tags li[data-tag="tier-1"]').waitFor();
  await page.getByRole('button', { name: 'Remove tag tier-1' }).click();
  await until('tier-1 gone', async () => (await page.locator('#meta-tags li[data-tag="tier-1"]').count()) === 0 &&
    (await page.locator('#meta-tags li[data-tag="gdpr"]').count()) === 1);
  assert.deepEqual((await record()).tags, ['gdpr', 'team:growth']);
  await page.locator('#meta-tag').fill('Not A Tag');
  await page.locator('#meta-tag-add').click();
  const terr = page.locator('#meta-tag-err');
  await terr.waitFor({ state: 'visible' });
  assert.match(await terr.textContent(), /lowercase letters/);
  assert.equal(await page.locator('#meta-tag').getAttribute('aria-invalid'), 'true');
  assert.deepEqual((await record()).tags, ['gdpr', 'team:growth']);
  await about.scrollIntoViewIfNeeded();
  await shot(page, SHOTS, 'dataset-about-error', log);
  await page.goto(`${API}/#/datasets`);
  await page.goto(`${API}/#/datasets/web_meta`);
  await about.waitFor();

  /* ------------------------------------------------ two routes at once */
  // a save re-renders the page (a hashchange) while another route may be
  // on its way: the older one, still reading the record, must not append
  // its copy of the page under the newer one's
  let read = 0;
  const bothRead = new Promise((res) => page.on('requestfinished', (r) => {
    if (new URL(r.url()).pathname === '/api/datasets/web_meta' && ++read === 2) res();
  }));
  await page.evaluate(() => {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  });
  await bothRead;
  await about.waitFor();
  await page.evaluate(() => new Promise((r) => setTimeout(r, 200))); // both continuations ran
  assert.equal(await page.locator('#dataset-meta').count(), 1, 'one page after two quick routes');
  assert.equal(await page.locator('#meta-columns tr[data-column="email"]').count(), 1);

  /* ------------------------------------------------ columns */
  const row = (n) => page.locator(`#meta-columns tr[data-column="${n}"]`);
  assert.equal(await row('email').locator('select').inputValue(), 'auto');
  assert.match(await row('email').locator('select option[value="auto"]').textContent(), /name rule: PII/);
  const save = page.locator('#meta-columns-save');
  assert.equal(await save.isDisabled(), true, 'nothing changed yet');
  await row('email').locator('select').selectOption('none');
  await row('city').locator('select').selectOption('pii');
  await row('email').locator('input').fill('hashed before export');
  // a column description too long: its own row shows the error
  await row('id').locator('input').evaluate((el) => {
    el.value = 'x'.repeat(1100);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await save.click();
  const rowErr = page.locator('#meta-col-id-derr');
  await rowErr.waitFor({ state: 'visible' });
  assert.match(await rowErr.textContent(), /at most 1024/);
  assert.equal(await row('id').locator('input').getAttribute('aria-invalid'), 'true');
  assert.equal(col(await record(), 'email').sensitivity_override, false, 'a bad row saves nothing');
  await row('id').locator('input').fill('customer number');
  await save.click();
  await page.locator('#dataset-flash').getByText('Columns saved.').waitFor();
  let rec = await record();
  assert.equal(rec.current_version, 1, 'no new version');
  assert.equal(col(rec, 'email').sensitivity, null);
  assert.equal(col(rec, 'email').sensitivity_override, true);
  assert.equal(col(rec, 'email').description, 'hashed before export');
  assert.equal(col(rec, 'city').sensitivity, 'pii');
  assert.equal(col(rec, 'id').description, 'customer number');
  await row('city').locator('.badge.hand').waitFor();
  await row('email').locator('.badge.hand').waitFor();
  assert.equal(await row('email').locator('select').inputValue(), 'none');
  assert.equal(await row('id').locator('.badge.hand').count(), 0);
  await page.locator('#schema tr[data-column="email"]').getByText('hashed before export').waitFor();
  await about.scrollIntoViewIfNeeded();
  await shot(page, SHOTS, 'dataset-about', log);

  /* ------------------------------------------------ kept by a later version */
  psql(pg.PG_SUPER_DSN, 'ALTER TABLE web_meta ADD COLUMN phone text;');
  const r2 = await post('/api/ingest?wait=true', kind);
  assert.equal(r2.status, 200, r2.text);
  rec = await record();
  assert.equal(rec.current_version, 2);
  assert.equal(col(rec, 'email').sensitivity_override, true);
  assert.equal(col(rec, 'city').sensitivity, 'pii');
  assert.equal(col(rec, 'phone').sensitivity, 'pii', 'the new column is detected');
  assert.deepEqual(rec.tags, ['gdpr', 'team:growth']);
  assert.match(rec.description, /web shop/);
  await page.goto(`${API}/#/datasets`);
  await page.goto(`${API}/#/datasets/web_meta`);
  await row('phone').waitFor();
  await row('email').locator('.badge.hand').waitFor();

  /* ------------------------------------------------ the list: tags and descriptions */
  const patch = (name, body) => getJSON(`${API}/api/datasets/${name}`, {
    method: 'PATCH', headers: { 'content-type': 'application/json', 'x-lakehouse-client': 'test' },
    body: JSON.stringify(body),
  });
  const LONG = 'Orders of the web shop as the finance team reconciles them every night, one row per order line and currency';
  for (const n of ['web_meta_b', 'web_meta_c']) {
    const ri = await post('/api/ingest?wait=true', { ...kind, dataset_name: n });
    assert.equal(ri.status, 200, ri.text);
  }
  let rp = await patch('web_meta_b', { description: `${LONG}\nsecond line`, tags: ['gdpr', 'tier-1'] });
  assert.equal(rp.status, 200, rp.text);
  await page.goto(`${API}/#/datasets`);
  const dsRow = (n) => page.locator(`#datasets tr[data-name="${n}"]`);
  await dsRow('web_meta_c').waitFor();
  assert.deepEqual(await dsRow('web_meta').locator('a.tag-chip').allTextContents(), ['gdpr', 'team:growth']);
  assert.deepEqual(await dsRow('web_meta_b').locator('a.tag-chip').allTextContents(), ['gdpr', 'tier-1']);
  assert.equal(await dsRow('web_meta_c').locator('a.tag-chip').count(), 0);
  assert.equal(await dsRow('web_meta').locator('.ds-desc').textContent(), 'Customers of the web shop.',
    'the first line only');
  const cut = await dsRow('web_meta_b').locator('.ds-desc').textContent();
  assert.ok(cut.endsWith('…') && cut.length <= 91 && LONG.startsWith(cut.slice(0, -1).trimEnd()), `cut: ${cut}`);
  assert.equal(await dsRow('web_meta_c').locator('.ds-desc').count(), 0, 'no description, no line');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the list does not scroll sideways (${overflow}px)`);
  await shot(page, SHOTS, 'datasets-tags', log);

  await dsRow('web_meta').locator('a.tag-chip', { hasText: 'team:growth' }).click();
  await page.waitForURL(/#\/datasets\?tag=team%3Agrowth$/);
  await page.locator('#tag-filter').waitFor({ state: 'visible' });
  await until('one dataset listed', async () => (await page.locator('#datasets tbody tr').count()) === 1);
  assert.equal(await page.locator('#datasets tbody tr').getAttribute('data-name'), 'web_meta');
  assert.match(await page.locator('.pagehead').textContent(), /1 of 3 datasets tagged team:growth/);
  assert.match(await dsRow('web_meta').locator('a.tag-chip.on').textContent(), /^team:growth$/);
  await shot(page, SHOTS, 'datasets-tag-filter', log);
  // another chip of the filtered list: that tag's datasets
  await dsRow('web_meta').locator('a.tag-chip', { hasText: 'gdpr' }).click();
  await page.waitForURL(/#\/datasets\?tag=gdpr$/);
  await until('two datasets listed', async () => (await page.locator('#datasets tbody tr').count()) === 2);
  assert.deepEqual(await page.locator('#datasets tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.name)),
    ['web_meta', 'web_meta_b']);
  // the marked chip leads back to every dataset, so does the filter line
  await dsRow('web_meta_b').locator('a.tag-chip.on').click();
  await page.waitForURL(/#\/datasets$/);
  await until('three datasets listed', async () => (await page.locator('#datasets tbody tr').count()) === 3);
  assert.equal(await page.locator('#tag-filter').isVisible(), false);
  await page.goto(`${API}/#/datasets?tag=nobody`);
  await page.getByText('No dataset is tagged').waitFor();
  await page.locator('#tag-filter-clear').click();
  await page.waitForURL(/#\/datasets$/);
  await dsRow('web_meta_c').waitFor();
  assert.deepEqual(errors, [], 'no uncaught errors in the page');
} catch (e) {
  await finish(t, { browser, page, daemon, error: e, fullPage: true });
}
await finish(t, { browser, page, daemon });
