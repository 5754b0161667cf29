// csv2parquet.mjs OUT DELIM NULLSTR BOOLTYPE [ROW_GROUP_SIZE] — the "dump, then
// convert with DuckDB" baseline of ingest.sh: stdin CSV/TSV (with a header)
// of the benchmark table -> zstd Parquet, one thread. The columns are read
// with explicit types, the logical types `lakehouse ingest` writes, so both
// files hold the same Parquet types (compare.mjs checks it). BOOLTYPE is the
// type of `active`: BOOLEAN for PostgreSQL, TINYINT for MariaDB (whose bool
// is tinyint(1), which holds -128..127 and which we write as INT8).
// ROW_GROUP_SIZE (rows) overrides DuckDB's default row group size.
import { createRequire } from 'node:module';
const req = createRequire(process.env.LH_NODE_DIR + '/package.json');
const { DuckDBInstance } = await import(req.resolve('@duckdb/node-api'));
const [out, delim, nullstr, booltype, rg] = process.argv.slice(2);
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
// zone-less MariaDB timestamps are UTC (the session time_zone of the dump)
await con.run("SET TimeZone = 'UTC'");
const types = `{'id': 'BIGINT', 'qty': 'INTEGER', 'amount': 'DECIMAL(12,2)', 'score': 'DOUBLE',
  'category': 'VARCHAR', 'email': 'VARCHAR', 'created_at': 'TIMESTAMPTZ', 'active': '${booltype}',
  'meta': 'JSON'}`;
const rgopt = rg ? `, ROW_GROUP_SIZE ${Number(rg)}` : '';
// BOOLTYPE "auto": another table shape (bench/ingest/shapes.sh), types detected
const cols = booltype === 'auto' ? 'auto_detect = true, max_line_size = 100000000' : `columns = ${types}`;
await con.run(`COPY (SELECT * FROM read_csv('/dev/stdin', header = true, delim = '${delim}',
  nullstr = '${nullstr}', quote = '"', escape = '"', ${cols}))
  TO '${out}' (FORMAT parquet, COMPRESSION zstd${rgopt})`);
