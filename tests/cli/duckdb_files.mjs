// duckdb_files.mjs FILES.json — reads the parts `lakehouse datasets NAME
// --files --json` listed (their file:// URIs) with DuckDB and prints
// "<count> <sum of v>" (an outside engine given exactly those files).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
const require = createRequire(path.join(process.env.LH_NODE_DIR, 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');
const j = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const files = j.files.map(f => fileURLToPath(f.uri).replace(/'/g, "''"));
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
const r = await con.runAndReadAll(
  `SELECT count(*)::BIGINT, coalesce(sum(v), 0)::BIGINT FROM read_parquet([${files.map(f => `'${f}'`).join(', ')}])`);
const row = r.getRows()[0];
console.log(`${row[0]} ${row[1]}`);
