// delta_readers.mjs DIR — DuckDB, hyparquet and arrow-rs (parquet-wasm) read
// DIR/delta.parquet (written by test_delta: INT32/INT64/DATE/TIMESTAMP and
// list<int64> columns, DELTA_BINARY_PACKED pages with INT_MIN/INT_MAX
// neighbours, NULLs, row-group tails of 129/128/18/5/1 values, UNCOMPRESSED
// chunks) and compare every value with DIR/expect.json (decimal strings;
// days for dates, micros for timestamps). Exit 1 on any difference.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
const nodeDir = process.env.LH_NODE_DIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../node');
const req = createRequire(path.join(nodeDir, 'package.json'));
const load = (n) => import(pathToFileURL(req.resolve(n)).href);
const file = path.join(dir, 'delta.parquet');
const exp = JSON.parse(fs.readFileSync(path.join(dir, 'expect.json'), 'utf8'));
const names = Object.keys(exp.cols);
let failed = false;

const str = (v) => (v === null || v === undefined ? null : String(v));
const norm = (v) => (Array.isArray(v) ? v.map(str) : str(v));

// cols: name -> array of values (strings / null / arrays of those)
function check(reader, cols) {
  let bad = 0, checked = 0;
  for (const n of names) {
    const got = cols[n], want = exp.cols[n];
    if (!got || got.length !== exp.rows) {
      console.log(`FAIL ${reader} ${n}: ${got ? got.length : 'no'} rows, want ${exp.rows}`);
      failed = true;
      continue;
    }
    for (let r = 0; r < exp.rows; r++) {
      checked++;
      if (JSON.stringify(norm(got[r])) !== JSON.stringify(want[r])) {
        if (bad++ < 5) console.log(`FAIL ${reader} ${n} row ${r}: ${JSON.stringify(norm(got[r]))}, want ${JSON.stringify(want[r])}`);
      }
    }
  }
  if (bad) failed = true;
  console.log(`${reader}: ${checked} values checked, ${bad} differ`);
}

// DuckDB: integers as text, the date as days and the timestamp as micros
{
  const { DuckDBInstance } = await load('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const esc = file.replaceAll("'", "''");
  const sel = names.map((n) => {
    if (n === 'dt') return `(dt - DATE '1970-01-01')::VARCHAR AS dt`;
    if (n === 'ts') return `epoch_us(ts)::VARCHAR AS ts`;
    if (n === 'li') return `li::VARCHAR[] AS li`;
    return `${n}::VARCHAR AS ${n}`;
  }).join(', ');
  const rows = (await con.runAndReadAll(`SELECT ${sel} FROM read_parquet('${esc}') ORDER BY i64_seq`)).getRowsJS();
  const cols = {};
  names.forEach((n, k) => { cols[n] = rows.map((row) => row[k]); });
  check('DuckDB', cols);
  // the footer as DuckDB sees it: encodings and codec per column chunk
  const md = (await con.runAndReadAll(`SELECT DISTINCT path_in_schema, encodings, compression FROM parquet_metadata('${esc}') ORDER BY 1, 2, 3`)).getRowsJS();
  const seen = (col, what) => md.some((m) => String(m[0]).startsWith(col) && (String(m[1]).includes(what) || String(m[2]) === what));
  if (!seen('i64_seq', 'DELTA_BINARY_PACKED') || !seen('i64_rand', 'UNCOMPRESSED')) {
    console.log('FAIL DuckDB metadata: ' + JSON.stringify(md));
    failed = true;
  } else {
    console.log('DuckDB metadata: i64_seq DELTA_BINARY_PACKED, i64_rand UNCOMPRESSED');
  }
}

// hyparquet: raw numbers (BigInt for INT64), dates as days, timestamps as micros
{
  // ESM only (its exports have no require condition): imported by path
  const hp = await import(pathToFileURL(path.join(nodeDir, 'node_modules/hyparquet/src/node.js')).href);
  const { compressors } = await import(pathToFileURL(path.join(nodeDir, 'node_modules/hyparquet-compressors/src/index.js')).href);
  const buf = fs.readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const rows = await hp.parquetReadObjects({
    file: ab,
    compressors,
    parsers: { timestampFromMicroseconds: (v) => v, dateFromDays: (v) => v },
  });
  const cols = {};
  for (const n of names) cols[n] = rows.map((row) => row[n]);
  check('hyparquet', cols);
}

// arrow-rs: through Arrow IPC; dates and timestamps from their value buffers
{
  const pw = await load('parquet-wasm');
  const arrow = await load('apache-arrow');
  const t = arrow.tableFromIPC(pw.readParquet(new Uint8Array(fs.readFileSync(file))).intoIPCStream());
  const cols = {};
  for (const n of names) {
    const v = t.getChild(n);
    const out = [];
    if (n === 'dt' || n === 'ts') {
      for (const d of v.data) {
        const vals = d.values;
        for (let i = 0; i < d.length; i++) out.push(d.getValid(i) ? vals[d.offset + i] : null);
      }
    } else {
      for (let r = 0; r < t.numRows; r++) {
        const x = v.get(r);
        out.push(x !== null && typeof x === 'object' && typeof x.toArray === 'function' ? Array.from(x) : x);
      }
    }
    cols[n] = out;
  }
  check('arrow-rs', cols);
}
process.exit(failed ? 1 : 0);
