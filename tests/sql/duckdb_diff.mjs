// DuckDB side of test_sql_duckdb: DuckDB on its own (the npm package, not
// lakehouse) reading the same Parquet files. Input file: lines
// "VIEW<TAB>name<TAB>path[<TAB>path...]" create a view named like the
// lakehouse table over those files, every other line is one query. Prints
// one JSON line per query: an array of rows, each an array of canonical
// strings ("NULL"; numbers in shortest form; nested values as JSON).
// Same settings as a lakehouse engine: UTC, the given thread count.
// usage: node duckdb_diff.mjs FILE THREADS
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const { DuckDBInstance } = require('@duckdb/node-api');

const lines = readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.trim());
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run(`SET threads=${Number(process.argv[3] || 1)}; SET TimeZone='UTC'`);
const canon = (v) => {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
};
for (const l of lines) {
  if (l.startsWith('VIEW\t')) {
    const [, name, ...paths] = l.split('\t');
    const list = paths.map((p) => `'${p.replaceAll("'", "''")}'`).join(',');
    await c.run(`CREATE VIEW "${name}" AS SELECT * FROM read_parquet([${list}])`);
    continue;
  }
  try {
    const r = await c.runAndReadAll(l);
    console.log(JSON.stringify(r.getRowsJson().map((row) => row.map(canon))));
  } catch (e) {
    console.log(JSON.stringify({ error: e.message }));
  }
}
