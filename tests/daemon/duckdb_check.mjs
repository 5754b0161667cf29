// duckdb_check.mjs FILE ID — reads one Parquet file with DuckDB and prints
// "<row count> <name of the row with id=ID>" (independent reader check).
import { createRequire } from 'node:module';
import path from 'node:path';
const require = createRequire(path.join(process.env.LH_NODE_DIR, 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');
const [file, id] = process.argv.slice(2);
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
const r = await con.runAndReadAll(
  `SELECT count(*)::INTEGER, max(CASE WHEN id = ${Number(id)} THEN name END) FROM read_parquet('${file.replace(/'/g, "''")}')`);
const row = r.getRows()[0];
console.log(`${row[0]} ${row[1]}`);
