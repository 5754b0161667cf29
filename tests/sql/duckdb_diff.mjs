// DuckDB side of test_sql_duckdb: runs each line of the query file (one
// query per line) over the Parquet files, single thread, UTC, and prints
// one JSON line per query: an array of rows, each an array of strings
// ("NULL" for NULL; doubles stay JSON numbers). usage: node duckdb_diff.mjs QUERIES
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const { DuckDBInstance } = require('@duckdb/node-api');

const queries = readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.trim());
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run("SET threads=1; SET TimeZone='UTC'");
for (const q of queries) {
  try {
    const r = await c.runAndReadAll(q);
    const rows = r.getRowsJson().map((row) => row.map((v) => (v === null ? 'NULL' : typeof v === 'number' ? v : String(v))));
    console.log(JSON.stringify(rows));
  } catch (e) {
    console.log(JSON.stringify({ error: e.message }));
  }
}
