// duckdb_fixtures.mjs OUTDIR [ROWS]
//
// Writes Parquet files with DuckDB (its defaults, and with zstd / snappy /
// uncompressed, and PARQUET_VERSION V2 so delta and byte-stream-split
// encodings appear), then reads each file back with DuckDB and writes the
// values it returns next to it as NAME.expected: a header line of column
// names, then one line per row, tab-separated, each value in a canonical
// text form the C test reproduces from our reader's arrays:
//
//   NULL -> N; bool -> true/false; integers -> decimal; float/double ->
//   "nan" or the 16 hex digits of the IEEE double bits; decimal -> unscaled
//   integer; date -> days since epoch; time/timestamp -> microseconds;
//   uuid -> canonical lower-case text; string/json/enum/blob -> hex bytes;
//   list -> [a,b,...].
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The packages live in tests/node (LH_NODE_DIR overrides); resolve from there.
const nodeDir = process.env.LH_NODE_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'node');
const require = createRequire(join(nodeDir, 'package.json'));
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);

const outdir = process.argv[2];
const rows = Number(process.argv[3] ?? 5000);
if (!outdir) {
  console.error('usage: duckdb_fixtures.mjs OUTDIR [ROWS]');
  process.exit(2);
}

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
await conn.run("SET TimeZone='UTC'");
await conn.run("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
await conn.run(`CREATE TABLE t AS SELECT
  i::INTEGER AS id,
  CASE WHEN i % 2 = 0 THEN NULL ELSE i % 3 = 0 END AS bo,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 256 - 128)::TINYINT END AS i8,
  (i * 37 % 65536 - 32768)::SMALLINT AS i16,
  CASE WHEN i % 11 = 0 THEN NULL ELSE (i::BIGINT * 2654435761 % 4294967296 - 2147483648)::INTEGER END AS i32,
  (i::BIGINT * 1000003 * 1000003 * (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END))::BIGINT AS i64,
  (i % 256)::UTINYINT AS u8,
  (i * 37 % 65536)::USMALLINT AS u16,
  (i::UBIGINT * 2654435761 % 4294967296)::UINTEGER AS u32,
  (18446744073709551615::UBIGINT - i::UBIGINT * 3)::UBIGINT AS u64,
  CASE i % 13 WHEN 0 THEN 'NaN'::FLOAT WHEN 1 THEN 'inf'::FLOAT WHEN 2 THEN '-inf'::FLOAT
              WHEN 3 THEN NULL ELSE (i / 7.0 - 300)::FLOAT END AS f32,
  CASE i % 17 WHEN 0 THEN 'NaN'::DOUBLE WHEN 1 THEN 'inf'::DOUBLE WHEN 2 THEN '-inf'::DOUBLE
              WHEN 3 THEN NULL ELSE i * 1.1e-3 - 2.5 END AS f64,
  ((i % 19999 - 9999) / 100)::DECIMAL(4,2) AS d4,
  CASE WHEN i % 6 = 0 THEN NULL ELSE ((i * 1234567891 % 999999999999) / 1000 * (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END))::DECIMAL(18,3) END AS d18,
  (CASE WHEN i % 2 = 0 THEN '' ELSE '-' END || '1234567890123456789' || (i % 10) || '.' || lpad((i * 7919)::VARCHAR, 10, '0'))::DECIMAL(38,10) AS d38,
  CASE WHEN i % 5 = 0 THEN NULL ELSE 'str-' || i || repeat('x', i % 10) || CASE WHEN i % 3 = 0 THEN ' é€' ELSE '' END END AS s,
  CASE WHEN i % 4 = 0 THEN NULL ELSE ('blob' || (i % 50))::BLOB END AS b,
  (DATE '2000-01-01' + (i * 7 - 20000)::INTEGER) AS dt,
  make_time(i % 24, i % 60, (i % 60) + (i % 1000) / 1000.0) AS tm,
  make_timestamp(1577836800000000 + i::BIGINT * 1234567891 - 3000000000000000) AS ts,
  CASE WHEN i % 8 = 0 THEN NULL ELSE make_timestamp(1577836800000000 + i::BIGINT * 987654321)::TIMESTAMPTZ END AS tstz,
  make_timestamp(1577836800000000 + i::BIGINT * 1000 * 7777)::TIMESTAMP_MS AS ts_ms,
  make_timestamp(1577836800000000 + i::BIGINT * 333333)::TIMESTAMP_NS AS ts_ns,
  CASE WHEN i % 10 = 0 THEN NULL ELSE md5(i::VARCHAR)::UUID END AS u,
  ('{"k":' || i || ',"s":"v' || (i % 4) || '"}')::JSON AS j,
  CASE WHEN i % 9 = 0 THEN NULL ELSE (['sad', 'ok', 'happy'])[i % 3 + 1]::mood END AS e,
  CASE WHEN i % 9 = 0 THEN NULL WHEN i % 9 = 1 THEN []::INTEGER[]
       ELSE [i, CASE WHEN i % 2 = 0 THEN NULL ELSE -i END, i * 2] END AS li,
  CASE WHEN i % 10 = 3 THEN NULL WHEN i % 10 = 4 THEN []::VARCHAR[]
       ELSE ['a' || i, NULL, repeat('z', i % 5)][1:(i % 3 + 1)] END AS ls
FROM range(0, ${rows}) r(i)`);

const variants = [
  ['default', ''],
  ['zstd', ', COMPRESSION zstd'],
  ['snappy', ', COMPRESSION snappy'],
  ['uncompressed', ', COMPRESSION uncompressed'],
  ['v2', ', COMPRESSION zstd, PARQUET_VERSION V2'],
];

function hex(bytes) {
  return Buffer.from(bytes).toString('hex');
}

function canon(v) {
  if (v === null || v === undefined) return 'N';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return floatCanon(v);
    case 'string':
      return hex(Buffer.from(v, 'utf8'));
  }
  const k = v.constructor.name;
  switch (k) {
    case 'DuckDBDecimalValue':
      return v.value.toString();
    case 'DuckDBDateValue':
      return String(v.days);
    case 'DuckDBTimeValue':
    case 'DuckDBTimestampValue':
    case 'DuckDBTimestampTZValue':
      return v.micros.toString();
    case 'DuckDBTimestampMillisecondsValue':
      return (v.millis * 1000n).toString();
    case 'DuckDBTimestampNanosecondsValue': {
      const n = v.nanos;
      const q = n / 1000n;
      return (n < 0n && q * 1000n !== n ? q - 1n : q).toString();
    }
    case 'DuckDBUUIDValue':
      return v.toString();
    case 'DuckDBBlobValue':
      return hex(v.bytes);
    case 'DuckDBListValue':
      return '[' + v.items.map(canon).join(',') + ']';
  }
  throw new Error('no canonical form for ' + k);
}

// Numbers from DuckDB are either integers (INTEGER and narrower) or
// floating point; the C side knows the column type, so numbers are written
// as "i:<decimal>" when integral and also carry the float bits: the C test
// picks the form that matches its column type.
function floatCanon(v) {
  if (Number.isNaN(v)) return 'nan';
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  const bits = b.toString('hex');
  if (Number.isInteger(v) && Math.abs(v) < 2 ** 53) return v.toString() + '|' + bits;
  return bits;
}

for (const [name, opts] of variants) {
  const file = join(outdir, name + '.parquet');
  await conn.run(`COPY t TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 2048${opts})`);
  const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
  const lines = [reader.columnNames().join('\t')];
  for (const row of reader.getRows()) lines.push(row.map(canon).join('\t'));
  writeFileSync(join(outdir, name + '.expected'), lines.join('\n') + '\n');
}
console.log('ok');
