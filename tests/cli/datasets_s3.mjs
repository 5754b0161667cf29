// datasets_s3.mjs — `datasets NAME --files`, `datasets rollback` and
// `datasets rm` on the S3 store (issue 15), against s3rver
// (tests/store/s3rver.mjs) and a real PostgreSQL (tests/servers/pg.sh).
//
// Two overwrite runs make v1 (5 rows) and v2 (8 rows) of ds3; a second
// dataset ds3_other shares the bucket. Then, each read from the bucket's
// own listing (ListObjectsV2), not from lakehouse:
//   - --files --json lists exactly v2's parts (the record's, as stored in
//     the bucket), each key present in the bucket and each uri
//     s3://BUCKET/PREFIX/KEY; none of v1's parts is listed;
//   - rollback ds3 1 publishes v3 whose parts are v1's keys (nothing
//     copied: the bucket holds no new part), and --files now lists them;
//   - rm --yes removes the record (datasets ds3 exits 1, no _catalog key),
//     then the parts: no key of the bucket names ds3 any more, while
//     ds3_other's record and parts are all still there.
// usage: node datasets_s3.mjs LAKEHOUSE PG_ENV WORK_DIR NODE_DIR
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [LH, PG_ENV, WORK_DIR, NODE_DIR] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const BUCKET = 'lhds';
const PREFIX = 'lh';
const STORE = `s3://${BUCKET}/${PREFIX}`;

let fails = 0;
const check = (cond, what) => {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) fails++;
};
const die = (what) => {
  console.log(`FAIL ${what}`);
  process.exit(1);
};

const pg = Object.fromEntries(fs.readFileSync(PG_ENV, 'utf8').split('\n').filter((l) => l.includes('='))
  .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^'(.*)'$/, '$1')]));
const psql = (sql) => execFileSync('/usr/lib/postgresql/15/bin/psql',
  ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', pg.PG_SUPER_DSN, '-c', sql], { stdio: ['ignore', 'ignore', 'inherit'] });

const work = path.join(WORK_DIR, 'datasets_s3');
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
const srv = spawn(process.execPath, [path.join(here, '../store/s3rver.mjs'), path.join(work, 's3'), BUCKET],
  { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NODE_PATH: path.join(NODE_DIR, 'node_modules') } });
const port = await new Promise((resolve) => {
  let out = '';
  srv.stdout.on('data', (d) => {
    out += d;
    const m = /PORT (\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
  srv.on('exit', () => resolve(null));
});
if (!port) die('s3rver did not start');
const endpoint = `http://127.0.0.1:${port}`;
const lhEnv = {
  ...process.env, AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1', HOME: work, LAKEHOUSE_SECRET_KEY_FILE: path.join(work, 'key'),
};
for (const k of ['LAKEHOUSE_DATA', 'LAKEHOUSE_STORE', 'LAKEHOUSE_SERVER', 'LAKEHOUSE_CONFIG', 'LAKEHOUSE_TOKEN', 'LAKEHOUSE_SECRET_KEY']) {
  delete lhEnv[k];
}
// --store on every command (ingest and datasets take no store from the environment)
const lh = (...args) => spawnSync(LH, [...args, '--store', STORE], { env: lhEnv, encoding: 'utf8' });
const must = (what, ...args) => {
  const r = lh(...args);
  if (r.status !== 0) die(`${what}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
};

// every key of the bucket (ListObjectsV2, pages followed)
async function bucketKeys() {
  const keys = [];
  let token = null;
  for (;;) {
    const q = `list-type=2&max-keys=1000${token ? `&continuation-token=${encodeURIComponent(token)}` : ''}`;
    const r = await fetch(`${endpoint}/${BUCKET}?${q}`);
    if (!r.ok) die(`listing the bucket: ${r.status}`);
    const xml = await r.text();
    for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(m[1].replace(/&amp;/g, '&'));
    const t = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml);
    if (!/<IsTruncated>true<\/IsTruncated>/.test(xml) || !t) break;
    token = t[1];
  }
  return keys;
}
const record = async (name) => {
  const r = await fetch(`${endpoint}/${BUCKET}/${PREFIX}/_catalog/${name}.json`);
  return r.ok ? r.json() : null;
};
const partsOf = (rec, v) => rec.versions.find((x) => x.version === v).objects.map((o) => o.key).sort();
const sameList = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
const filesJson = (name) => JSON.parse(must(`datasets ${name} --files --json`, 'datasets', name, '--files', '--json'));
const inBucket = (keys, k) => keys.includes(`${PREFIX}/${k}`);

try {
  psql(`DROP TABLE IF EXISTS ds3, ds3_other;
CREATE TABLE ds3 (id int PRIMARY KEY, v int);
INSERT INTO ds3 SELECT g, g FROM generate_series(1, 5) g;
CREATE TABLE ds3_other (id int PRIMARY KEY);
INSERT INTO ds3_other SELECT g FROM generate_series(1, 3) g;
GRANT SELECT ON ds3, ds3_other TO PUBLIC;`);
  const ing = (table) => must(`ingest ${table}`, 'ingest', 'postgres', '--dsn', pg.PG_USER_DSN, '--table', table,
    '--dataset', table);
  ing('ds3');
  ing('ds3_other');
  psql('INSERT INTO ds3 SELECT g, g FROM generate_series(6, 8) g;');
  ing('ds3');

  /* ---------------------------------------------- --files */
  let rec = await record('ds3');
  check(rec && rec.current_version === 2, `the record in the bucket says v2 (${rec && rec.current_version})`);
  const v1 = partsOf(rec, 1);
  const v2 = partsOf(rec, 2);
  check(v1.length >= 1 && v2.length >= 1 && v1.every((k) => !v2.includes(k)), 'v1 and v2 have their own parts');
  let keys = await bucketKeys();
  let f = filesJson('ds3');
  check(f.version === 2 && f.dataset === 'ds3', `--files: ${f.dataset} version ${f.version}`);
  check(sameList(f.files.map((x) => x.key), v2), '--files lists exactly the current version\'s parts');
  check(f.files.every((x) => inBucket(keys, x.key)), 'every key --files lists is in the bucket');
  check(f.files.every((x) => x.uri === `s3://${BUCKET}/${PREFIX}/${x.key}`), `each uri is s3://${BUCKET}/${PREFIX}/KEY (${f.files[0].uri})`);
  let sizesOk = true;
  for (const x of f.files) {
    const r = await fetch(`${endpoint}/${BUCKET}/${PREFIX}/${x.key}`, { method: 'HEAD' });
    sizesOk &&= r.ok && Number(r.headers.get('content-length')) === x.size_bytes;
  }
  check(sizesOk, 'each part\'s size_bytes is its object\'s size in the bucket');
  const text = must('--files', 'datasets', 'ds3', '--files');
  check(v2.every((k) => text.includes(k)) && !v1.some((k) => text.includes(k)), '--files (text) names v2\'s parts, not v1\'s');

  /* ---------------------------------------------- rollback */
  const partKeys = (ks) => ks.filter((k) => k.endsWith('.parquet') && k.includes('/datasets/ds3/'));
  const before = partKeys(keys);
  must('rollback ds3 1', 'datasets', 'rollback', 'ds3', '1');
  rec = await record('ds3');
  check(rec.current_version === 3, `after rollback the record says v3 (${rec.current_version})`);
  check(sameList(partsOf(rec, 3), v1), 'v3\'s parts are v1\'s keys');
  check(rec.row_count === 5, `v3 has v1's 5 rows (${rec.row_count})`);
  keys = await bucketKeys();
  check(sameList(partKeys(keys), before), 'rollback copied no part (the bucket holds the same parts)');
  f = filesJson('ds3');
  check(f.version === 3 && sameList(f.files.map((x) => x.key), v1), '--files lists v1\'s parts as v3');
  check(f.files.every((x) => inBucket(keys, x.key)), 'every key --files lists after rollback is in the bucket');

  /* ---------------------------------------------- rm */
  const otherBefore = keys.filter((k) => /ds3_other/.test(k));
  check(otherBefore.length >= 2, `ds3_other has keys in the bucket (${otherBefore.length})`);
  check(keys.some((k) => /\/ds3[/.]/.test(k)), 'ds3 has keys in the bucket before rm');
  must('rm ds3', 'datasets', 'rm', 'ds3', '--yes');
  check(await record('ds3') === null, 'the record is gone from the bucket');
  const r = lh('datasets', 'ds3');
  check(r.status === 1, `datasets ds3 after rm exits 1 (${r.status}: ${r.stderr.trim()})`);
  keys = await bucketKeys();
  const left = keys.filter((k) => k.includes('ds3') && !k.includes('ds3_other'));
  check(left.length === 0, `no key of ds3 left in the bucket (${left.slice(0, 5).join(' ')})`);
  check(sameList(keys.filter((k) => /ds3_other/.test(k)), otherBefore), 'ds3_other\'s keys are untouched');
  const fo = filesJson('ds3_other');
  check(fo.files.every((x) => inBucket(keys, x.key)), 'ds3_other --files still lists keys that exist');
} finally {
  srv.stdin.end();
}
console.log(fails ? `${fails} check(s) failed` : 'all checks passed');
process.exit(fails ? 1 : 0);
