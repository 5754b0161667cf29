// big_value.mjs DIR — DuckDB and arrow-rs (parquet-wasm) read DIR/big.parquet
// (written by test_big_value: a 3 MiB value among small ones under a 1 MiB
// writer budget) and compare every value with the formula. Exit 1 on any
// difference.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
const nodeDir = process.env.LH_NODE_DIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../node');
const req = createRequire(path.join(nodeDir, 'package.json'));
const load = (n) => import(pathToFileURL(req.resolve(n)).href);
const file = path.join(dir, 'big.parquet');
const N = 200, BIG = 77, BIG_LEN = 3 << 20;
function want(i) {
  if (i % 9 === 0) return null;
  const n = i === BIG ? BIG_LEN : 40 + i;
  const b = Buffer.alloc(n);
  for (let k = 0; k < n; k++) b[k] = 97 + ((i * 7 + k * 13 + Math.floor(k / 101)) % 26);
  return b.toString('latin1');
}
let failed = false;
function check(name, ids, vals) {
  if (ids.length !== N) { console.log(`FAIL ${name}: ${ids.length} rows, want ${N}`); failed = true; return; }
  let bad = 0;
  for (let r = 0; r < N; r++) if (Number(ids[r]) !== r || vals[r] !== want(r)) bad++;
  if (bad) { console.log(`FAIL ${name}: ${bad} rows differ`); failed = true; return; }
  console.log(`${name}: ${N} rows equal, the ${BIG_LEN}-byte value included`);
}

const { DuckDBInstance } = await load('@duckdb/node-api');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = (await con.runAndReadAll(`SELECT id::VARCHAR, s FROM read_parquet('${file}') ORDER BY id`)).getRows();
check('DuckDB', rows.map((x) => x[0]), rows.map((x) => x[1]));

const pw = await load('parquet-wasm');
const arrow = await load('apache-arrow');
const t = arrow.tableFromIPC(pw.readParquet(new Uint8Array(fs.readFileSync(file))).intoIPCStream());
const ids = [], vals = [];
for (let r = 0; r < t.numRows; r++) { ids.push(t.getChild('id').get(r)); vals.push(t.getChild('s').get(r)); }
check('arrow-rs', ids, vals);
process.exit(failed ? 1 : 0);
