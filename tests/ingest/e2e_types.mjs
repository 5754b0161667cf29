// e2e_types.mjs pg|mysql ENVFILE LAKEHOUSE WORKDIR — end-to-end type matrix.
//
// Builds a table with edge values for every mapped type in the server
// started by tests/servers/{pg,mariadb}.sh, ingests it with the real
// `lakehouse ingest` binary, then:
//   1. dumps the same rows from the server (psql / mariadb CLI), each value
//      in the canonical text of tests/parquet/golden/common.mjs, computed by
//      the server itself (days, micros, hex, exact decimals, ...);
//   2. writes that as the expected-values JSON next to the published part
//      and runs the golden checkers on it: DuckDB (check_duckdb.mjs: values,
//      types, Parquet schema, statistics, codec) and arrow-rs via
//      parquet-wasm -> IPC -> apache-arrow (check_arrow.mjs);
//   3. checks the run's warning count (values turned into NULL), the
//      catalog record (lineage, run id, columns) and that the DSN password
//      appears in no output, log line or stored file.
// Exit code 1 on any mismatch.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [kind, envFile, bin, work] = process.argv.slice(2);
if (!work) { console.error('usage: e2e_types.mjs pg|mysql ENV LAKEHOUSE WORKDIR'); process.exit(2); }
const here = path.dirname(fileURLToPath(import.meta.url));
const golden = path.resolve(here, '../parquet/golden');
const env = Object.fromEntries(fs.readFileSync(envFile, 'utf8').split('\n').filter((l) => l.includes('='))
  .map((l) => { const i = l.indexOf('='); return [l.slice(0, i), l.slice(i + 1).replace(/^'|'$/g, '')]; }));
let failures = 0;
const fail = (m) => { failures++; console.log(`FAIL ${m}`); };

// col, SQL type, literal per row (null = NULL), expected lh column
// ({type, precision, scale, ts_utc, is_list}), values turned into NULL with a
// warning, canonical server expression (%s = column; default %s::text).
const NROWS = 6;
const PG = [
  ['c_bool', 'bool', ['true', 'false', null], { type: 'bool' }, 0, 'to_json(%s)'],
  ['c_int2', 'int2', ['-32768', '32767', '0'], { type: 'int16' }],
  ['c_int4', 'int4', ['-2147483648', '2147483647', '7'], { type: 'int32' }],
  ['c_int8', 'int8', ['-9223372036854775808', '9223372036854775807', '0'], { type: 'int64' }],
  ['c_f4', 'float4', ["'NaN'", "'Infinity'", "'-Infinity'", '3.4028235e38', '1.4e-45', '-0.1'], { type: 'float' }, 0, '%s::float8::text'],
  ['c_f8', 'float8', ['1e308', '5e-324', "'NaN'", '0.1', "'-0'", "'-Infinity'"], { type: 'double' }],
  ['c_dec', 'numeric(10,2)', ['12345678.90', '-0.01', '0', '-99999999.99', null, '1.5'], { type: 'decimal', precision: 10, scale: 2 }],
  ['c_dec38', 'numeric(38,10)', ['9999999999999999999999999999.9999999999', '-9999999999999999999999999999.9999999999', '-0.0000000001'], { type: 'decimal', precision: 38, scale: 10 }],
  ['c_dec_nan', 'numeric(12,3)', ["'NaN'", '1.5', '-0.001', "'NaN'"], { type: 'decimal', precision: 12, scale: 3 }, 2,
    "CASE WHEN %s = 'NaN' THEN NULL ELSE %s::text END"],
  ['c_num', 'numeric', ['123456789012345678901234567890.123456789', "'Infinity'", '1.50', '1e100'], { type: 'string' }, 1,
    "CASE WHEN %s IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE %s::text END"],
  ['c_num_wide', 'numeric(50,5)', ['123456789012345678901234567890123456789012345.12345', '-1.00001'], { type: 'string' }],
  // numeric -> text edges: scale past the digits, negative weights, trailing zero groups, dscale 0, 1000 digits
  ['c_num_edge', 'numeric', ["'0.000001000'", "'100000000'", "'-12340000.00000000'",
    "(repeat('9', 1000) || '.' || repeat('1', 1000))::numeric", "'0'", "'0.00'"], { type: 'string' }],
  ['c_num_edge2', 'numeric', ["'1e-20'", "'-1000.0001'", "repeat('1', 1000)::numeric", "'-0.5'",
    "'1.2e-30'::numeric(60,40)", "'99990010.123'"], { type: 'string' }],
  ['c_money', 'money', ['12.34', '-92233720368547758.08', '92233720368547758.07'], { type: 'decimal', precision: 19, scale: 2 }, 0, '%s::numeric::text'],
  ['c_text', 'text', ["''", "'héllo wörld'", "'😀 four-byte 𝄞'", "E'line\\nbreak\\ttab \"q\" \\\\'", null, "'x'"], { type: 'string' }],
  ['c_varchar', 'varchar(10)', ["'abc'", "''", "'ünïcode'"], { type: 'string' }],
  ['c_char', 'char(5)', ["'ab'", "'abcde'"], { type: 'string' }, 0, 'CASE WHEN %s IS NULL THEN NULL ELSE concat(%s) END'],
  ['c_name', 'name', ["'pg_catalog'"], { type: 'string' }],
  ['c_email', 'ing_email', ["'a@b.example'", "'Ö@x.example'"], { type: 'string' }],
  ['c_bytea', 'bytea', ["'\\x00ff10'", "''", "'\\x0a0d'"], { type: 'binary' }, 0, "encode(%s, 'hex')"],
  ['c_date', 'date', ["'2024-02-29'", "'0001-01-01'", "'infinity'", "'9999-12-31'", "'1970-01-01'", "'1969-12-31'"], { type: 'date' }, 1,
    "CASE WHEN isfinite(%s) THEN (%s - date '1970-01-01')::text END"],
  ['c_time', 'time', ["'00:00:00'", "'23:59:59.999999'", "'12:00:00.5'"], { type: 'time' }, 0, '(extract(epoch from %s) * 1000000)::bigint::text'],
  ['c_timetz', 'timetz', ["'12:34:56.789+05:30'", "'00:00:00-12'"], { type: 'string' }],
  ['c_ts', 'timestamp', ["'2024-01-02 03:04:05.123456'", "'1900-01-01'", "'infinity'", "'0001-01-01'", "'9999-12-31 23:59:59.999999'", "'1969-12-31 23:59:59.999999'"],
    { type: 'timestamp' }, 1, 'CASE WHEN isfinite(%s) THEN (extract(epoch from %s) * 1000000)::bigint::text END'],
  ['c_tstz', 'timestamptz', ["'2024-01-02 03:04:05.5+02'", "'-infinity'", "'2000-01-01 00:00:00+00'", "'1960-06-01 12:00-07:30'"],
    { type: 'timestamp', ts_utc: true }, 1, 'CASE WHEN isfinite(%s) THEN (extract(epoch from %s) * 1000000)::bigint::text END'],
  ['c_interval', 'interval', ["'1 year 2 months 3 days 04:05:06.5'", "'-1 day +02:00'", "'0'"], { type: 'string' }],
  ['c_uuid', 'uuid', ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"], { type: 'uuid' }],
  ['c_json', 'json', ['\'{"a": [1, 2.50],  "b": null}\'', "'[]'"], { type: 'json' }],
  ['c_jsonb', 'jsonb', ['\'{"b":1,"a":"😀"}\'', "'null'"], { type: 'json' }],
  ['c_xml', 'xml', ["'<a x=\"1\">t</a>'"], { type: 'string' }],
  ['c_inet', 'inet', ["'192.168.0.1/24'", "'::1'"], { type: 'string' }],
  ['c_cidr', 'cidr', ["'10.0.0.0/8'"], { type: 'string' }],
  ['c_mac', 'macaddr', ["'08:00:2b:01:02:03'"], { type: 'string' }],
  ['c_enum', 'ing_mood', ["'happy'", "'sad'", null, "'ok'"], { type: 'enum' }],
  ['c_int4_arr', 'int4[]', ["'{1,NULL,-3}'", "'{}'", null, "'{2147483647}'"], { type: 'int32', is_list: true }, 0,
    "CASE WHEN %s IS NULL THEN NULL ELSE coalesce((SELECT json_agg(e::text ORDER BY i) FROM unnest(%s) WITH ORDINALITY u(e, i)), '[]') END"],
  ['c_text_arr', 'text[]', ["'{a,\"b c\",NULL}'", "'{}'", "'{\"😀\"}'"], { type: 'string', is_list: true }, 0,
    "CASE WHEN %s IS NULL THEN NULL ELSE coalesce((SELECT json_agg(e ORDER BY i) FROM unnest(%s) WITH ORDINALITY u(e, i)), '[]') END"],
  ['c_point', 'point', ["'(1,2)'"], { type: 'string' }, 0], // text form + one warning at open
];
const PG_OPEN_WARNINGS = 1; // point read as text

const MY = [
  ['c_ti', 'tinyint', ['-128', '127', '0'], { type: 'int8' }],
  ['c_tiu', 'tinyint unsigned', ['255', '0'], { type: 'uint8' }],
  ['c_si', 'smallint', ['-32768', '32767'], { type: 'int16' }],
  ['c_siu', 'smallint unsigned', ['65535'], { type: 'uint16' }],
  ['c_mi', 'mediumint', ['-8388608', '8388607'], { type: 'int32' }],
  ['c_miu', 'mediumint unsigned', ['16777215'], { type: 'uint32' }],
  ['c_i', 'int', ['-2147483648', '2147483647'], { type: 'int32' }],
  ['c_iu', 'int unsigned', ['4294967295', '0'], { type: 'uint32' }],
  ['c_bi', 'bigint', ['-9223372036854775808', '9223372036854775807'], { type: 'int64' }],
  ['c_biu', 'bigint unsigned', ['18446744073709551615', '0'], { type: 'uint64' }],
  ['c_dec', 'decimal(10,2)', ['12345678.90', '-0.01', '0', null, '-99999999.99'], { type: 'decimal', precision: 10, scale: 2 }],
  ['c_dec38', 'decimal(38,10)', ['9999999999999999999999999999.9999999999', '-0.0000000001'], { type: 'decimal', precision: 38, scale: 10 }],
  ['c_dec65', 'decimal(65,30)', ['12345678901234567890123456789012345.123456789012345678901234567890', '-1.5'], { type: 'string' }],
  ['c_float', 'float', ['0.5', '-2.25', '0', '1e10', '-0.125'], { type: 'float' }],
  ['c_double', 'double', ['1.7976931348623157e308', '0.1', '-2.5', '5e-324', '0'], { type: 'double' }],
  ['c_bit1', 'bit(1)', ["b'1'", "b'0'"], { type: 'bool' }, 0, 'IF(%s IS NULL, NULL, %s = 1)'],
  ['c_bit12', 'bit(12)', ["b'101010101010'", "b'0'"], { type: 'uint64' }, 0, 'CAST(%s + 0 AS CHAR)'],
  ['c_year', 'year', ['2024', '1901', '0'], { type: 'int16' }, 0, 'CAST(%s + 0 AS CHAR)'],
  ['c_date', 'date', ["'2024-02-29'", "'0000-00-00'", "'1000-01-01'", "'9999-12-31'", "'2020-00-10'"], { type: 'date' }, 2,
    "CAST(DATEDIFF(%s, '1970-01-01') AS CHAR)"],
  ['c_dt', 'datetime(6)', ["'2024-01-02 03:04:05.123456'", "'0000-00-00 00:00:00'", "'1000-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'1969-12-31 23:59:59.5'"],
    { type: 'timestamp' }, 1, "CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', %s) AS CHAR)"],
  ['c_dt0', 'datetime', ["'2024-01-02 03:04:05'"], { type: 'timestamp' }, 0, "CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', %s) AS CHAR)"],
  ['c_ts', 'timestamp(3) NULL', ["'2024-01-02 03:04:05.123'", "'1970-01-01 00:00:01'", "'2038-01-19 03:14:07.999'", null],
    { type: 'timestamp', ts_utc: true }, 0, "CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', %s) AS CHAR)"],
  // MySQL TIME is a duration: signed INT64 microseconds, negative, > 24 h and fractional kept
  ['c_time', 'time(6)', ["'12:34:56.789'", "'-838:59:59.000000'", "'23:59:59.999999'", "'-01:00:00.5'", "'838:59:59'", "'100:00:00.000001'"], { type: 'int64' }, 0,
    "CAST(TIME_TO_SEC(%s) * 1000000 AS SIGNED)"],
  ['c_char', 'char(5)', ["'ab'", "''"], { type: 'string' }],
  ['c_varchar', 'varchar(20)', ["'héllo 😀'", "''", "'tab\\there'"], { type: 'string' }],
  ['c_text', 'text', ["'line\\nbreak \"q\" \\\\'", "REPEAT('x', 5000)"], { type: 'string' }],
  ['c_binary', 'binary(4)', ["x'00ff'", "x'01020304'"], { type: 'binary' }, 0, 'LOWER(HEX(%s))'],
  ['c_varbinary', 'varbinary(10)', ["x'00'", "''"], { type: 'binary' }, 0, 'LOWER(HEX(%s))'],
  ['c_blob', 'blob', ["x'deadbeef'", "REPEAT(x'ab', 5000)"], { type: 'binary' }, 0, 'LOWER(HEX(%s))'],
  ['c_json', 'json', ['\'{"a": [1, 2.50], "b": null}\'', "'[]'"], { type: 'json' }],
  ['c_enum', "enum('small','medium','large')", ["'small'", "'large'"], { type: 'enum' }],
  ['c_set', "set('a','b','c')", ["'a,c'", "''"], { type: 'string' }],
  ['c_geom', 'geometry', ["ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('LINESTRING(0 0, 1 1)')"], { type: 'binary' }, 0, 'LOWER(HEX(ST_AsBinary(%s)))'],
];
const MY_OPEN_WARNINGS = 0;

const isPg = kind === 'pg';
const M = isPg ? PG : MY;
const table = 'ing_matrix';
const dataset = isPg ? 'pg_matrix' : 'my_matrix';
const expr = (c) => (c[5] || (isPg ? '%s::text' : 'CAST(%s AS CHAR)')).replaceAll('%s', c[0]);

function sql(text) {
  if (isPg) {
    return execFileSync('/usr/lib/postgresql/15/bin/psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', env.PG_SUPER_DSN],
      { input: text, encoding: 'utf8', env: { ...process.env, PGOPTIONS: '-c timezone=UTC -c extra_float_digits=3 -c intervalstyle=iso_8601 -c client_min_messages=warning' } });
  }
  return execFileSync('mariadb', ['--no-defaults', '-uroot', `--socket=${env.MY_SOCKET}`, '-N', '-B', '-r', env.MY_DB],
    { input: "SET time_zone = '+00:00'; SET sql_mode = 'ALLOW_INVALID_DATES'; " + text, encoding: 'utf8' });
}

// 1. the table
const rowsSql = [];
for (let r = 0; r < NROWS; r++) rowsSql.push(`(${[r + 1, ...M.map((c) => c[2][r] ?? 'NULL')].join(', ')})`);
if (isPg) {
  sql(`DROP TABLE IF EXISTS ${table}; DROP DOMAIN IF EXISTS ing_email; DROP TYPE IF EXISTS ing_mood;
CREATE DOMAIN ing_email AS text CHECK (VALUE LIKE '%@%');
CREATE TYPE ing_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE ${table} (id int4 NOT NULL PRIMARY KEY, ${M.map((c) => `${c[0]} ${c[1]}`).join(', ')});
INSERT INTO ${table} VALUES ${rowsSql.join(',\n')};`);
} else {
  sql(`DROP TABLE IF EXISTS ${table};
CREATE TABLE ${table} (id int NOT NULL PRIMARY KEY, ${M.map((c) => `${c[0]} ${c[1]}`).join(', ')}) DEFAULT CHARSET utf8mb4;
INSERT INTO ${table} VALUES ${rowsSql.join(',\n')};`);
}

// 2. ingest with the real binary
const data = path.join(work, `data-${kind}`);
fs.rmSync(data, { recursive: true, force: true });
const dsn = isPg ? env.PG_USER_DSN : env.MY_USER_DSN;
const password = isPg ? env.PG_PASSWORD : env.MY_PASSWORD;
const run = spawnSync(bin, ['ingest', isPg ? 'postgres' : 'mysql', '--dsn', dsn, '--table', table, '--dataset', dataset,
  '--order-by', 'id', '--batch-size', '2', '--data', data, '--json'], { encoding: 'utf8', env: { ...process.env, LAKEHOUSE_LOG_LEVEL: 'debug' } });
if (run.status !== 0) { console.log(run.stdout, run.stderr); fail(`lakehouse ingest exited ${run.status}`); process.exit(1); }
const out = JSON.parse(run.stdout);
const expWarn = M.reduce((a, c) => a + (c[4] || 0), 0) + (isPg ? PG_OPEN_WARNINGS : MY_OPEN_WARNINGS);
if (out.rows !== NROWS) fail(`rows: expected ${NROWS}, got ${out.rows}`);
if (out.warnings !== expWarn) fail(`warnings: expected ${expWarn}, got ${out.warnings} (${out.warning_texts.join(' | ')})`);
if (!/^rows=\d+ dataset=\S+ bytes=\d+$/.test(out.message)) fail(`message shape: ${out.message}`);

// 3. catalog record and the part
const recText = fs.readFileSync(path.join(data, 'primary/_catalog', `${dataset}.json`), 'utf8');
const rec = JSON.parse(recText);
const cur = rec.versions.find((v) => v.version === rec.current_version);
if (rec.lineage.source_system !== (isPg ? 'postgresql' : 'mysql')) fail(`source_system ${rec.lineage.source_system}`);
if (!rec.lineage.source_file.startsWith('dsn: ') || !rec.lineage.source_file.includes(':***@')) fail(`source_file ${rec.lineage.source_file}`);
if (!/^scheduled-(postgresql|mysql)-\d+$/.test(rec.lineage.ingest_job) || cur.run_id !== rec.lineage.ingest_job) fail(`ingest_job ${rec.lineage.ingest_job}`);
if (rec.columns.length !== M.length + 1) fail(`catalog columns ${rec.columns.length}`);
if (rec.row_count !== NROWS || cur.objects.length !== 1) fail(`catalog rows/objects ${rec.row_count}/${cur.objects.length}`);
if (rec.embeddings_stale !== true) fail('embeddings_stale');

// 4. the server's canonical rows, as the golden checkers' expected JSON
const dump = isPg
  ? sql(`SELECT json_build_array(id::text, ${M.map(expr).join(', ')}) FROM ${table} ORDER BY id`)
  : sql(`SELECT JSON_ARRAY(CAST(id AS CHAR), ${M.map(expr).join(', ')}) FROM ${table} ORDER BY id`);
const rows = dump.trim().split('\n').map((l) => JSON.parse(l));
const canon = (t, v) => {
  if (v === null) return null;
  if (t.type === 'bool') return v === true || v === 1 || v === '1' || v === 'true';
  if (t.type === 'float') return String(Math.fround(Number(v)));
  return typeof v === 'string' ? v : String(v);
};
const cols = [{ name: 'id', type: isPg ? 'int32' : 'int32', nullable: false, values: rows.map((r) => r[0]) }];
M.forEach((c, k) => {
  const t = c[3];
  cols.push({ name: c[0], type: t.type, nullable: true, is_list: !!t.is_list, element_nullable: true,
    precision: t.precision, scale: t.scale, ts_utc: !!t.ts_utc,
    values: rows.map((r) => {
      const v = r[k + 1];
      if (!t.is_list || v === null) return canon(t, v);
      return (typeof v === 'string' ? JSON.parse(v) : v).map((e) => canon(t, e));
    }) });
});
const cases = path.join(work, `cases-${kind}`);
fs.rmSync(cases, { recursive: true, force: true });
fs.mkdirSync(cases, { recursive: true });
fs.copyFileSync(path.join(data, 'primary', cur.objects[0].key), path.join(cases, `${dataset}.parquet`));
fs.writeFileSync(path.join(cases, `${dataset}.json`), JSON.stringify({ num_rows: NROWS, kv: [], columns: cols,
  min_row_groups: 1, codec: 'ZSTD', dict: 'any' }, null, 1));
for (const checker of ['check_duckdb.mjs', 'check_arrow.mjs']) {
  const c = spawnSync(process.execPath, [path.join(golden, checker), cases], { encoding: 'utf8' });
  process.stdout.write(c.stdout + c.stderr);
  if (c.status !== 0) fail(`${checker} found mismatches`);
}

// 5. the password is nowhere
const seen = [['stdout', run.stdout], ['stderr', run.stderr], ['catalog record', recText]];
for (const f of fs.readdirSync(data, { recursive: true })) {
  const p = path.join(data, f);
  if (fs.statSync(p).isFile()) seen.push([p, fs.readFileSync(p, 'latin1')]);
}
for (const [what, text] of seen) if (text.includes(password)) fail(`password found in ${what}`);

console.log(`${kind}: ${NROWS} rows x ${M.length + 1} columns, ${out.warnings} warnings; ${failures} failures`);
process.exit(failures ? 1 : 0);
