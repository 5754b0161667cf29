// check_page_crc.mjs DIR — independent readers and our page CRCs (issue 12).
// DIR holds crc_ok.parquet (every page with PageHeader.crc), crc_bad.parquet
// (the same with 8 bytes of one PLAIN int64 page of column r garbled, still
// valid data) and crc_expect.json (row count, exact sum of r).
//
// Each reader (DuckDB, arrow-rs) must read crc_ok.parquet exactly. For
// crc_bad.parquet a reader that checks page CRCs must refuse it; one that
// does not returns another sum, which is printed (DuckDB 1.5 and arrow-rs in
// parquet-wasm 0.8 do not check them: the catalog checksum is what protects
// their users). A bad file read back with the right sum means the garble
// missed the data: the test itself is broken. Exit code 1 on any failure.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
const nodeDir = process.env.LH_NODE_DIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../node');
const req = createRequire(path.join(nodeDir, 'package.json'));
const load = (n) => import(pathToFileURL(req.resolve(n)).href);
const exp = JSON.parse(fs.readFileSync(path.join(dir, 'crc_expect.json'), 'utf8'));
const okFile = path.join(dir, 'crc_ok.parquet'), badFile = path.join(dir, 'crc_bad.parquet');
let failed = false;

const { DuckDBInstance } = await load('@duckdb/node-api');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
async function duck(f) {
  const r = await con.runAndReadAll(`SELECT count(*)::VARCHAR, sum(r)::VARCHAR FROM read_parquet('${f}')`);
  const [n, s] = r.getRows()[0];
  return { rows: Number(n), sum: s };
}
const pw = await load('parquet-wasm');
const arrow = await load('apache-arrow');
function arrowRs(f) {
  const t = arrow.tableFromIPC(pw.readParquet(new Uint8Array(fs.readFileSync(f))).intoIPCStream());
  let s = 0n;
  for (const d of t.getChild('r').data) for (let i = 0; i < d.length; i++) s += BigInt(d.values[d.offset + i]);
  return { rows: t.numRows, sum: s.toString() };
}

for (const [name, rd] of [['DuckDB', duck], ['arrow-rs', arrowRs]]) {
  try {
    const ok = await rd(okFile);
    if (ok.rows !== exp.rows || ok.sum !== exp.sum_r) {
      console.log(`FAIL ${name}: crc_ok.parquet read as ${ok.rows} rows, sum ${ok.sum}; want ${exp.rows}, ${exp.sum_r}`);
      failed = true;
      continue;
    }
    console.log(`${name} reads our file with page CRCs: ${ok.rows} rows, sum(r) ${ok.sum}`);
  } catch (e) {
    console.log(`FAIL ${name}: crc_ok.parquet refused: ${e.message}`);
    failed = true;
    continue;
  }
  try {
    const bad = await rd(badFile);
    if (bad.sum === exp.sum_r) {
      console.log(`FAIL ${name}: the garbled page read back unchanged: the test does not garble data`);
      failed = true;
    } else {
      console.log(`${name} does not check page CRCs: crc_bad.parquet read as sum(r) ${bad.sum}`);
    }
  } catch (e) {
    console.log(`${name} checks page CRCs: crc_bad.parquet refused: ${e.message.split('\n')[0]}`);
  }
}
process.exit(failed ? 1 : 0);
