// iceberg_e2e.mjs ENVFILE LAKEHOUSE WORKDIR NODEDIR — every dataset an Iceberg
// table, committed with the catalog record (docs/iceberg.md "Commit").
//
// The real `lakehouse ingest` reads a table of the PostgreSQL test server
// (tests/servers/pg.sh) through overwrite, incremental and append runs, an
// ALTER TABLE DROP/ADD COLUMN between runs, and retention (keep 2); icebird
// (npm, an independent Iceberg reader) reads the current snapshot and older
// metadata versions (metadataFileName), value by value against the rows the
// server held at each version. The metadata is checked against the v2
// spec's required fields and the catalog record (metadata_location,
// version-hint.text, snapshot ids = catalog versions). Then:
//   - kill: LAKEHOUSE_FAULT_COMMIT_STEP ends the ingest at each commit step
//     in turn (as kill -9 would); after `lakehouse serve` starts once
//     (its start-up repair), catalog and Iceberg agree and icebird reads the
//     catalog's current version value by value; no staged file is left;
//   - migration: a dataset published before Iceberg metadata (its metadata
//     removed, its record stripped of metadata_location) gets its table at
//     daemon start-up, every kept version a snapshot, parts not rewritten;
//     a second one gets it from the next CLI publish;
//   - S3: overwrite + append on s3rver, read by icebird from s3:// URIs.
// Prints "ICEBERG E2E OK" and exits 0 when everything matched.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const [envFile, bin, work, nodeDir] = process.argv.slice(2);
if (!nodeDir) { console.error('usage: iceberg_e2e.mjs ENV LAKEHOUSE WORKDIR NODEDIR'); process.exit(2); }
const here = path.dirname(fileURLToPath(import.meta.url));
const env = Object.fromEntries(fs.readFileSync(envFile, 'utf8').split('\n').filter((l) => l.includes('='))
  .map((l) => { const i = l.indexOf('='); return [l.slice(0, i), l.slice(i + 1).replace(/^'|'$/g, '')]; }));
const icebirdMain = JSON.parse(fs.readFileSync(path.join(nodeDir, 'node_modules/icebird/package.json'), 'utf8'))
  .exports['.'].import ?? 'src/index.js';
const { icebergRead, icebergManifests } = await import(pathToFileURL(path.join(nodeDir, 'node_modules/icebird', icebirdMain)).href);

let failures = 0, checked = 0;
const fail = (m) => { failures++; if (failures < 40) console.log(`FAIL ${m}`); };
const check = (ok, m) => { checked++; if (!ok) fail(m); };

// file:// served from disk; icebird's S3 URLs sent to the local s3rver.
let s3Endpoint = null;
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init = {}) => {
  const u = String(url);
  const aws = /^https:\/\/([^./]+)\.s3\.amazonaws\.com\/(.*)$/.exec(u);
  if (aws) return realFetch(`${s3Endpoint}/${aws[1]}/${aws[2]}`, init);
  if (u.startsWith('http://127.0.0.1')) return realFetch(u, init);
  if (!u.startsWith('file://')) throw new Error(`unexpected URL ${u}`);
  const p = fileURLToPath(u);
  let size;
  try { size = fs.statSync(p).size; } catch { return new Response('not found', { status: 404 }); }
  if ((init.method || 'GET') === 'HEAD') return new Response(null, { status: 200, headers: { 'content-length': String(size) } });
  const range = new Headers(init.headers || {}).get('range');
  if (range) {
    const m = /bytes=(\d+)-(\d*)/.exec(range);
    const start = Number(m[1]);
    const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    const buf = Buffer.alloc(end - start + 1);
    const fd = fs.openSync(p, 'r');
    fs.readSync(fd, buf, 0, buf.length, start);
    fs.closeSync(fd);
    return new Response(buf, { status: 206, headers: { 'content-length': String(buf.length) } });
  }
  return new Response(fs.readFileSync(p), { status: 200 });
};

function sql(text) {
  return execFileSync('/usr/lib/postgresql/15/bin/psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', env.PG_SUPER_DSN],
    { input: text, encoding: 'utf8', env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning -c extra_float_digits=3' } });
}
// The rows the server holds now, in id order, each value as text (NULL: null).
function rowsNow(table) {
  // values as the server's own text (a bigint past 2^53 stays exact)
  const out = sql(`SELECT coalesce(json_agg((SELECT json_object_agg(key, value) FROM json_each_text(row_to_json(t))) ORDER BY id), '[]') FROM ${table} t`);
  return JSON.parse(out);
}
const norm = (v) => (v === null || v === undefined ? null : typeof v === 'bigint' ? v.toString() : String(v));

function ingest(args, extraEnv = {}) {
  return spawnSync(bin, ['ingest', 'postgres', '--dsn', env.PG_USER_DSN, '--order-by', 'id', '--batch-size', '3', '--json', ...args],
    { encoding: 'utf8', env: { ...process.env, ...extraEnv } });
}
function mustIngest(what, args, extraEnv) {
  const r = ingest(args, extraEnv);
  if (r.status !== 0) { console.log(r.stdout, r.stderr); fail(`${what}: lakehouse ingest exited ${r.status}`); }
  return r;
}

async function compare(what, tableUrl, want, opts = {}) {
  let rows;
  try {
    rows = await icebergRead({ tableUrl, ...opts });
  } catch (e) {
    fail(`${what}: icebird: ${e.message}`);
    return;
  }
  check(rows.length === want.length, `${what}: ${rows.length} rows, want ${want.length}`);
  for (let i = 0; i < Math.min(rows.length, want.length); i++) {
    const keys = new Set([...Object.keys(want[i]), ...Object.keys(rows[i])]);
    for (const k of keys) {
      const g = norm(rows[i][k]), w = want[i][k] ?? null;
      check(g === w, `${what} row ${i} ${k}: got ${g} want ${w}`);
    }
  }
  console.log(`${what}: ${rows.length} rows compared`);
}

// v2 required table-metadata fields (apache/iceberg format/spec.md).
function checkSpec(what, m) {
  for (const f of ['format-version', 'table-uuid', 'location', 'last-sequence-number', 'last-updated-ms',
    'last-column-id', 'schemas', 'current-schema-id', 'partition-specs', 'default-spec-id',
    'last-partition-id', 'sort-orders', 'default-sort-order-id']) check(m[f] !== undefined, `${what}: no ${f}`);
  check(m['format-version'] === 2, `${what}: format-version ${m['format-version']}`);
  for (const s of m.snapshots ?? []) {
    for (const f of ['snapshot-id', 'sequence-number', 'timestamp-ms', 'manifest-list', 'summary'])
      check(s[f] !== undefined, `${what}: snapshot without ${f}`);
    check(s['snapshot-id'] === s['sequence-number'], `${what}: snapshot ${s['snapshot-id']} has sequence ${s['sequence-number']}`);
    check(['append', 'overwrite'].includes(s.summary?.operation), `${what}: operation ${s.summary?.operation}`);
  }
  for (const sc of m.schemas) for (const f of sc.fields) {
    check(f.id <= m['last-column-id'], `${what}: field ${f.name} id ${f.id} past last-column-id`);
    check(typeof f.required === 'boolean', `${what}: field ${f.name} without required`);
  }
}

// Catalog record, Iceberg metadata and version hint of a local dataset.
function localState(data, ds) {
  const rec = JSON.parse(fs.readFileSync(path.join(data, 'primary/_catalog', `${ds}.json`), 'utf8'));
  const cur = rec.versions.find((v) => v.version === rec.current_version);
  const mdir = path.join(data, 'primary/datasets', ds, 'metadata');
  let hint = null;
  try { hint = Number(fs.readFileSync(path.join(mdir, 'version-hint.text'), 'utf8')); } catch { /* none */ }
  return { rec, cur, mdir, hint, files: fs.existsSync(mdir) ? fs.readdirSync(mdir).sort() : [] };
}

// Catalog and Iceberg agree: the current version's metadata_location is
// the table's current metadata, v{N}.metadata.json has its bytes, the hint
// says N, the current snapshot is N.
function checkAgree(what, data, ds) {
  const s = localState(data, ds);
  const N = s.rec.current_version;
  check(typeof s.cur.metadata_location === 'string', `${what}: version ${N} has no metadata_location`);
  if (typeof s.cur.metadata_location !== 'string') return s;
  const staged = fs.readFileSync(path.join(data, 'primary', s.cur.metadata_location));
  let vN = null;
  try { vN = fs.readFileSync(path.join(s.mdir, `v${N}.metadata.json`)); } catch { /* checked below */ }
  check(vN !== null && staged.equals(vN), `${what}: v${N}.metadata.json is not the catalog's metadata`);
  check(s.hint === N, `${what}: version-hint.text says ${s.hint}, the catalog ${N}`);
  const m = JSON.parse(staged);
  checkSpec(what, m);
  check(m['current-snapshot-id'] === N, `${what}: current snapshot ${m['current-snapshot-id']}, catalog version ${N}`);
  const kept = s.rec.versions.map((v) => v.version).sort((a, b) => a - b);
  const snaps = m.snapshots.map((x) => x['snapshot-id']).sort((a, b) => a - b);
  check(JSON.stringify(kept) === JSON.stringify(snaps), `${what}: snapshots ${snaps}, catalog versions ${kept}`);
  return { ...s, meta: m };
}

const tableUrl = (data, ds) => pathToFileURL(path.join(data, 'primary/datasets', ds)).href;

// ------------------------------------------------------------ modes, evolution, retention
const data = path.join(work, 'data-iceberg');
fs.rmSync(data, { recursive: true, force: true });
sql(`DROP TABLE IF EXISTS ice_t;
CREATE TABLE ice_t (id int4 PRIMARY KEY, name text, qty int8, price float8, flag bool);
INSERT INTO ice_t VALUES (1, 'a', 10, 1.5, true), (2, NULL, -3, NULL, false), (3, 'ç', 9007199254740993, -0.25, NULL);`);
const want = {};
const base = ['--table', 'ice_t', '--dataset', 'ice', '--data', data];
mustIngest('v1 incremental, first run', [...base, '--mode', 'incremental', '--cursor-column', 'id']);
want[1] = rowsNow('ice_t');
sql(`INSERT INTO ice_t VALUES (4, 'd', 4, 4.5, true), (5, 'e', 5, 5.5, false);`);
mustIngest('v2 incremental', [...base, '--mode', 'incremental', '--cursor-column', 'id']);
want[2] = rowsNow('ice_t');
mustIngest('v3 append', [...base, '--mode', 'append']);
want[3] = [...want[2], ...rowsNow('ice_t')];
let st = checkAgree('v3', data, 'ice');
const ops = Object.fromEntries(st.meta.snapshots.map((s) => [s['snapshot-id'], s.summary.operation]));
check(ops[1] === 'overwrite' && ops[2] === 'append' && ops[3] === 'append', `operations ${JSON.stringify(ops)}`);
// append snapshots reuse the manifests: snapshot 3's list names snapshot 1's and 2's
const nManifests = st.files.filter((f) => f.startsWith('manifest-')).length;
check(nManifests === 3, `3 manifests for 3 snapshots, found ${nManifests}`);
for (const v of [1, 2, 3]) await compare(`v${v}`, tableUrl(data, 'ice'), want[v], v === 3 ? {} : { metadataFileName: `v${v}.metadata.json` });

// schema evolution: price dropped, note added (ids 1..5 first; note 6)
sql(`ALTER TABLE ice_t DROP COLUMN price; ALTER TABLE ice_t ADD COLUMN note text; UPDATE ice_t SET note = 'n' || id WHERE id % 2 = 1;`);
// a dropped column is refused by the default schema policy (evolve), nothing published
{
  const r = ingest(base);
  check(r.status === 1 && /schema policy evolve refuses \(dropped price\)/.test(r.stderr),
    `v4 under evolve: exit ${r.status}: ${r.stderr}`);
}
mustIngest('v4 overwrite, columns changed', [...base, '--schema-policy', 'replace']);
want[4] = rowsNow('ice_t');
st = checkAgree('v4', data, 'ice');
const ids = (m) => Object.fromEntries(m.schemas.find((s) => s['schema-id'] === m['current-schema-id']).fields.map((f) => [f.name, f.id]));
check(JSON.stringify(ids(st.meta)) === JSON.stringify({ id: 1, name: 2, qty: 3, flag: 5, note: 6 }), `v4 field ids ${JSON.stringify(ids(st.meta))}`);
check(st.meta.schemas.length === 2, `v4: ${st.meta.schemas.length} schemas`);
await compare('v4', tableUrl(data, 'ice'), want[4]);
await compare('v3 after evolution', tableUrl(data, 'ice'), want[3], { metadataFileName: 'v3.metadata.json' });

// price back (a new column: id 7, never 4 again), and retention keeps 2 of 5
sql(`ALTER TABLE ice_t ADD COLUMN price float8; UPDATE ice_t SET price = id * 0.5;`);
mustIngest('v5 overwrite, keep 2', [...base, '--keep-versions', '2']);
want[5] = rowsNow('ice_t');
st = checkAgree('v5', data, 'ice');
check(JSON.stringify(ids(st.meta)) === JSON.stringify({ id: 1, name: 2, qty: 3, flag: 5, note: 6, price: 7 }), `v5 field ids ${JSON.stringify(ids(st.meta))}`);
check(st.meta['last-column-id'] === 7, `last-column-id ${st.meta['last-column-id']}`);
for (const f of st.files) {
  const m = /^(?:manifest|snap)-(\d+)-|^v(\d+)\.metadata\.json$|^(\d{5})-/.exec(f);
  const v = m ? Number(m[1] ?? m[2] ?? m[3]) : null;
  check(v === null || v >= 4, `expired version ${v}'s file ${f} is still there`);
}
check(st.files.includes('v4.metadata.json') && st.files.includes('v5.metadata.json'), `kept metadata files: ${st.files}`);
const parts = fs.readdirSync(path.join(data, 'primary/datasets/ice'), { recursive: true }).filter((f) => f.endsWith('.parquet'));
check(parts.length === 2, `parts left after retention: ${parts}`);
await compare('v5', tableUrl(data, 'ice'), want[5]);
await compare('v4 after retention', tableUrl(data, 'ice'), want[4], { metadataFileName: 'v4.metadata.json' });

// column statistics in snapshot 5's manifest, from the writer's footer
{
  const lists = await icebergManifests(st.meta);
  const entries = lists.flatMap((l) => l.entries);
  check(entries.length === 1, `v5: ${entries.length} manifest entries`);
  const df = entries[0]?.data_file ?? {};
  const asMap = (m) => new Map((Array.isArray(m) ? m.map((e) => [e.key, e.value]) : Object.entries(m ?? {}))
    .map(([k, v]) => [Number(k), v]));
  const le32 = (b) => (b ? Buffer.from(b).readInt32LE(0) : null);
  const vc = asMap(df.value_counts), nc = asMap(df.null_value_counts);
  const lo = asMap(df.lower_bounds), hi = asMap(df.upper_bounds);
  check(Number(df.record_count) === want[5].length, `v5 record_count ${df.record_count}`);
  check(Number(vc.get(1)) === want[5].length, `v5 value count of id: ${vc.get(1)}`);
  const nullNames = want[5].filter((r) => r.name === null).length;
  check(Number(nc.get(2)) === nullNames, `v5 null count of name: ${nc.get(2)}, want ${nullNames}`);
  check(le32(lo.get(1)) === 1 && le32(hi.get(1)) === want[5].length, `v5 id bounds ${le32(lo.get(1))}..${le32(hi.get(1))}`);
  check(lo.has(6) && !lo.has(4), 'v5 bounds keyed by the current field ids');
}

// Parquet field ids in the newest part (DuckDB reads the footer)
{
  const require = createRequire(path.join(nodeDir, 'x.js'));
  const { DuckDBInstance } = require('@duckdb/node-api');
  const cur = st.rec.versions.find((v) => v.version === 5);
  const part = path.join(data, 'primary', cur.objects[0].key);
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const r = await con.runAndReadAll(`SELECT name, field_id FROM parquet_schema('${part}') WHERE name <> 'schema' AND name <> 'duckdb_schema'`);
  const got = Object.fromEntries(r.getRows().map(([n, id]) => [n, id === null ? null : Number(id)]));
  check(JSON.stringify(got) === JSON.stringify({ id: 1, name: 2, qty: 3, flag: 5, note: 6, price: 7 }), `part field ids ${JSON.stringify(got)}`);
  const kv = await con.runAndReadAll(`SELECT decode(key)::text, decode(value)::text FROM parquet_kv_metadata('${part}')`);
  const schemaKv = kv.getRows().find(([k]) => k === 'iceberg.schema');
  check(schemaKv && JSON.parse(schemaKv[1]).fields.length === 6, 'iceberg.schema key/value in the part');
  check(schemaKv && JSON.parse(schemaKv[1])['schema-id'] === st.meta['current-schema-id'],
    `iceberg.schema schema-id ${schemaKv && JSON.parse(schemaKv[1])['schema-id']}, table ${st.meta['current-schema-id']}`);
}

// ------------------------------------------------------------ daemon start-up
async function serveOnce(dataDir, extraArgs = []) {
  const p = spawn(bin, ['serve', '--data', dataDir, '--listen', '127.0.0.1:0', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LAKEHOUSE_LOG_LEVEL: 'info' } });
  let out = '', err = '';
  p.stderr.on('data', (d) => { err += d; });
  const ok = await new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), 30000);
    p.stdout.on('data', (d) => { out += d; if (out.includes('listening on')) { clearTimeout(t); resolve(true); } });
    p.on('exit', () => { clearTimeout(t); resolve(false); });
  });
  if (!ok) fail(`lakehouse serve did not start: ${out} ${err}`);
  const m = /listening on (http:\/\/\S+)/.exec(out);
  p.kill('SIGTERM');
  await new Promise((resolve) => (p.exitCode !== null ? resolve() : p.on('exit', resolve)));
  return { url: m ? m[1] : null, log: err };
}

// ------------------------------------------------------------ kill during the commit
sql(`DROP TABLE IF EXISTS ice_k; CREATE TABLE ice_k (id int4 PRIMARY KEY, v text);
INSERT INTO ice_k VALUES (1, 'one');`);
const kbase = ['--table', 'ice_k', '--dataset', 'kill', '--data', data];
mustIngest('kill: v1', kbase);
let kwant = { 1: rowsNow('ice_k') };
for (const step of [1, 2, 3]) {
  sql(`UPDATE ice_k SET v = v || '+${step}'; INSERT INTO ice_k VALUES (${step + 1}, 's${step}');`);
  const before = localState(data, 'kill').rec.current_version;
  const r = ingest(kbase, { LAKEHOUSE_FAULT_COMMIT_STEP: String(step), LAKEHOUSE_RUN_LEASE_SECS: '3' });
  check(r.status === 86, `kill at step ${step}: exit ${r.status} ${r.stderr}`);
  const after = localState(data, 'kill');
  const N = after.rec.current_version;
  check(N === (step === 1 ? before : before + 1), `kill at step ${step}: catalog at ${N} (was ${before})`);
  if (N > before) kwant[N] = rowsNow('ice_k');
  if (step === 1) { // the killed run's staged files are there, named by no version
    const refs = new Set(after.rec.versions.map((v) => path.basename(v.metadata_location ?? '')));
    const staged = after.files.filter((f) => f.endsWith('.metadata.json') && !f.startsWith('v') && !refs.has(f));
    check(staged.length === 1, `kill at step 1: staged metadata ${staged}`);
  }
  // the file-based layout is never ahead of the catalog
  check(after.hint === null || after.hint <= N, `kill at step ${step}: hint ${after.hint} ahead of catalog ${N}`);
  // start-up repairs; the lease of the killed run expires meanwhile
  await serveOnce(data);
  checkAgree(`kill at step ${step}, repaired`, data, 'kill');
  await compare(`kill at step ${step}: current`, tableUrl(data, 'kill'), kwant[N]);
}
// a later run sweeps the staged files the step-1 kill left (its lease expired)
await new Promise((resolve) => setTimeout(resolve, 3500));
mustIngest('kill: after', kbase, { LAKEHOUSE_RUN_LEASE_SECS: '3' });
{
  const s = checkAgree('kill: after', data, 'kill');
  const refs = new Set();
  for (const v of s.rec.versions) refs.add(path.basename(v.metadata_location));
  const m = s.meta;
  for (const sn of m.snapshots) refs.add(path.basename(sn['manifest-list']));
  const staged = s.files.filter((f) => /-\d+-[0-9a-f]{8}\.metadata\.json$/.test(f) && !refs.has(f));
  check(staged.length === 0, `staged metadata of killed runs left: ${staged}`);
}

// ------------------------------------------------------------ migration
// Datasets published before Iceberg metadata: strip what this version wrote.
function makeLegacy(ds) {
  fs.rmSync(path.join(data, 'primary/datasets', ds, 'metadata'), { recursive: true, force: true });
  const f = path.join(data, 'primary/_catalog', `${ds}.json`);
  const rec = JSON.parse(fs.readFileSync(f, 'utf8'));
  for (const v of rec.versions) delete v.metadata_location;
  fs.writeFileSync(f, JSON.stringify(rec, null, 2));
}
sql(`DROP TABLE IF EXISTS ice_m; CREATE TABLE ice_m (id int4 PRIMARY KEY, s text, n int8);
INSERT INTO ice_m VALUES (1, 'x', 1), (2, 'y', NULL);`);
for (const ds of ['mig_daemon', 'mig_cli']) {
  mustIngest(`${ds} v1`, ['--table', 'ice_m', '--dataset', ds, '--data', data, '--mode', 'incremental', '--cursor-column', 'id']);
}
const mwant = { 1: rowsNow('ice_m') };
sql(`INSERT INTO ice_m VALUES (3, 'z', 3);`);
for (const ds of ['mig_daemon', 'mig_cli'])
  mustIngest(`${ds} v2`, ['--table', 'ice_m', '--dataset', ds, '--data', data, '--mode', 'incremental', '--cursor-column', 'id']);
mwant[2] = rowsNow('ice_m');
const partsBefore = {};
for (const ds of ['mig_daemon', 'mig_cli']) {
  makeLegacy(ds);
  const rec = localState(data, ds).rec;
  partsBefore[ds] = rec.versions.flatMap((v) => v.objects.map((o) => [o.key, fs.statSync(path.join(data, 'primary', o.key)).mtimeMs]));
}
{
  const { log } = await serveOnce(data);
  check(/Iceberg metadata written or repaired/.test(log), 'serve logs the migration');
}
for (const ds of ['mig_daemon', 'mig_cli']) {
  const s = checkAgree(`${ds} migrated`, data, ds);
  check(s.meta.properties?.['schema.name-mapping.default'] !== undefined, `${ds}: no name mapping`);
  check(s.meta.snapshots.length === 2, `${ds}: ${s.meta.snapshots.length} snapshots`);
  for (const [k, mt] of partsBefore[ds]) check(fs.statSync(path.join(data, 'primary', k)).mtimeMs === mt, `${ds}: part ${k} rewritten`);
  await compare(`${ds} migrated current`, tableUrl(data, ds), mwant[2]);
  // the older snapshot through the same metadata, current pointed at 1
  const m1 = { ...s.meta, 'current-snapshot-id': 1, 'current-schema-id': s.meta.snapshots.find((x) => x['snapshot-id'] === 1)['schema-id'] };
  await compare(`${ds} migrated snapshot 1`, tableUrl(data, ds), mwant[1], { metadata: m1 });
}
// the CLI path: a legacy dataset's next publish writes every kept version
makeLegacy('mig_cli');
sql(`INSERT INTO ice_m VALUES (4, 'w', 4);`);
mustIngest('mig_cli v3', ['--table', 'ice_m', '--dataset', 'mig_cli', '--data', data, '--mode', 'incremental', '--cursor-column', 'id']);
mwant[3] = rowsNow('ice_m');
{
  const s = checkAgree('mig_cli after CLI publish', data, 'mig_cli');
  check(s.meta.snapshots.length === 3, `mig_cli: ${s.meta.snapshots.length} snapshots`);
  await compare('mig_cli v3', tableUrl(data, 'mig_cli'), mwant[3]);
  await compare('mig_cli v3 as snapshot 2', tableUrl(data, 'mig_cli'), mwant[2], { metadata: { ...s.meta, 'current-snapshot-id': 2 } });
}

// ------------------------------------------------------------ S3
{
  const s3dir = path.join(work, 's3-iceberg');
  fs.rmSync(s3dir, { recursive: true, force: true });
  fs.mkdirSync(s3dir, { recursive: true });
  const srv = spawn(process.execPath, [path.join(here, '../store/s3rver.mjs'), s3dir, 'lhice'],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NODE_PATH: path.join(nodeDir, 'node_modules') } });
  const port = await new Promise((resolve) => {
    let out = '';
    srv.stdout.on('data', (d) => { out += d; const m = /PORT (\d+)/.exec(out); if (m) resolve(Number(m[1])); });
    srv.on('exit', () => resolve(null));
  });
  if (!port) fail('s3rver did not start');
  s3Endpoint = `http://127.0.0.1:${port}`;
  const s3env = { AWS_ENDPOINT_URL: s3Endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
  const sbase = ['--table', 'ice_m', '--dataset', 's3ds', '--store', 's3://lhice/lh'];
  mustIngest('s3 v1', sbase, s3env);
  const s1 = rowsNow('ice_m');
  mustIngest('s3 v2 append', [...sbase, '--mode', 'append'], s3env);
  const s2 = [...s1, ...rowsNow('ice_m')];
  const get = async (k) => { const r = await realFetch(`${s3Endpoint}/lhice/lh/${k}`); return r.ok ? r.text() : null; };
  const rec = JSON.parse(await get('_catalog/s3ds.json'));
  const cur = rec.versions.find((v) => v.version === rec.current_version);
  check(rec.current_version === 2 && typeof cur.metadata_location === 'string', `s3: record ${rec.current_version} ${cur.metadata_location}`);
  check((await get('datasets/s3ds/metadata/version-hint.text'))?.trim() === '2', 's3: version hint');
  const m = JSON.parse(await get(cur.metadata_location));
  checkSpec('s3', m);
  check(m.location === 's3://lhice/lh/datasets/s3ds', `s3: location ${m.location}`);
  check((await get('datasets/s3ds/metadata/v2.metadata.json')) === JSON.stringify(m, null, 2) || (await get('datasets/s3ds/metadata/v2.metadata.json')) === (await get(cur.metadata_location)), 's3: v2.metadata.json');
  await compare('s3 v2', 's3://lhice/lh/datasets/s3ds', s2);
  await compare('s3 v1', 's3://lhice/lh/datasets/s3ds', s1, { metadataFileName: 'v1.metadata.json' });
  srv.stdin.end();
  srv.kill();
}

if (failures) {
  console.log(`${failures} failed of ${checked}`);
  process.exit(1);
}
console.log(`ICEBERG E2E OK (${checked} checks)`);
