// check_duckdb.mjs DIR — reads every DIR/<case>.parquet with DuckDB
// (@duckdb/node-api) and compares, against DIR/<case>.json (gen_golden):
//   1. every value (read_parquet, in file order);
//   2. the column types DuckDB infers;
//   3. the Parquet schema through parquet_schema() (physical, converted and
//      logical types, precision/scale, isAdjustedToUTC, repetition, 3-level lists);
//   4. key/value metadata (parquet_kv_metadata());
//   5. per row group and column chunk, parquet_metadata(): null_count,
//      min/max (as DuckDB formats them) against min/max computed from the
//      expected values of that row group, no min/max on all-NULL chunks,
//      compression, and the encodings the case asks for.
// Exit code 1 on any mismatch.
//
// What DuckDB 1.5 returns per type (node-api value objects):
//   BOOLEAN boolean; TINYINT..INTEGER, UTINYINT..UINTEGER number;
//   BIGINT, UBIGINT bigint; FLOAT number (the float widened), DOUBLE number;
//   VARCHAR / JSON string; BLOB DuckDBBlobValue{bytes}; UUID DuckDBUUIDValue
//   (toString() is the 8-4-4-4-12 text); DECIMAL DuckDBDecimalValue{width,
//   scale, value: bigint unscaled}; DATE DuckDBDateValue{days};
//   TIMESTAMP / TIMESTAMP WITH TIME ZONE DuckDBTimestamp(TZ)Value{micros:
//   bigint}; TIME DuckDBTimeValue{micros}; TIME with isAdjustedToUTC=true is
//   read as TIME WITH TIME ZONE, DuckDBTimeTZValue{micros, offset}; LIST
//   DuckDBListValue{items}. A Parquet ENUM or STRING column is VARCHAR.
// Statistics text in parquet_metadata() (stats_min_value/stats_max_value) is
// DuckDB's VARCHAR cast of the value: "-0.01", "1500-01-01",
// "9999-12-31 23:59:59.999999" (+"+00" for UTC), "12:34:56.789", blobs with
// \xHH escapes, floats in shortest form ("0.1", "-inf"). DuckDB reports no
// statistics for TIME WITH TIME ZONE, so those are not checked.
import { load, listCases, Report, checkColumn, expectedStats, decimalText, hex,
         dateText, timeText, timestampText } from './common.mjs';

const dir = process.argv[2];
if (!dir) { console.error('usage: check_duckdb.mjs DIR'); process.exit(2); }
const { DuckDBInstance } = await load('@duckdb/node-api');
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
await con.run("SET TimeZone = 'UTC'");
const rep = new Report('duckdb');

const SIMPLE = { bool: 'BOOLEAN', int8: 'TINYINT', int16: 'SMALLINT', int32: 'INTEGER', int64: 'BIGINT',
  uint8: 'UTINYINT', uint16: 'USMALLINT', uint32: 'UINTEGER', uint64: 'UBIGINT', float: 'FLOAT',
  double: 'DOUBLE', string: 'VARCHAR', enum: 'VARCHAR', binary: 'BLOB', uuid: 'UUID', date: 'DATE' };

function duckType(col) {
  let t = SIMPLE[col.type];
  if (col.type === 'json') t = 'JSON';
  if (col.type === 'decimal') t = `DECIMAL(${col.precision},${col.scale})`;
  if (col.type === 'timestamp') t = col.ts_utc ? 'TIMESTAMP WITH TIME ZONE' : 'TIMESTAMP';
  if (col.type === 'time') t = col.ts_utc ? 'TIME WITH TIME ZONE' : 'TIME';
  return col.is_list ? t + '[]' : t;
}

// DuckDB value -> the canonical form (numbers stay numbers for float/double).
function canon(col, v) {
  if (v === null || v === undefined) return null;
  switch (col.type) {
    case 'bool': return v;
    case 'float': case 'double': return v;
    case 'string': case 'json': case 'enum': return v;
    case 'binary': return hex(v.bytes);
    case 'uuid': return v.toString();
    case 'decimal': return v.scale === col.scale ? decimalText(v.value, v.scale) : `scale ${v.scale}`;
    case 'date': return String(v.days);
    case 'timestamp': return String(v.micros);
    case 'time': return v.offset ? `offset ${v.offset}` : String(v.micros);
    default: return String(v); // integers: number or bigint
  }
}

// Canonical value -> DuckDB's statistics text for the column's type.
function statText(col, c) {
  switch (col.type) {
    case 'bool': return String(c);
    case 'binary':
      return [...Buffer.from(c, 'hex')].map((b) => (b >= 0x20 && b <= 0x7e && b !== 0x5c && b !== 0x27 && b !== 0x22
        ? String.fromCharCode(b) : '\\x' + b.toString(16).toUpperCase().padStart(2, '0'))).join('');
    case 'date': return dateText(c);
    case 'timestamp': return timestampText(c) + (col.ts_utc ? '+00' : '');
    case 'time': return timeText(c);
    default: return c;
  }
}

function parseDuckFloat(s) {
  return s === 'inf' ? Infinity : s === '-inf' ? -Infinity : s === 'nan' ? NaN : Number(s);
}

function statEq(col, exp, got, st) {
  if (exp === undefined) return got === null;
  // parquet_metadata() shows no min/max for a float chunk whose bounds
  // include an infinity, even for files DuckDB wrote itself; the C round
  // trip checks those statistics with our reader.
  if (got === null && (col.type === 'float' || col.type === 'double') &&
      [st.min, st.max].some((v) => v === 'Infinity' || v === '-Infinity')) return true;
  if (got === null) return false;
  if (col.type === 'float') return Math.fround(parseDuckFloat(got)) === Math.fround(Number(exp)); // 0 == -0 allowed
  if (col.type === 'double') return parseDuckFloat(got) === Number(exp);
  return statText(col, exp) === got;
}

const INT_CT = { int8: 'INT_8', int16: 'INT_16', int32: 'INT_32', int64: 'INT_64',
  uint8: 'UINT_8', uint16: 'UINT_16', uint32: 'UINT_32', uint64: 'UINT_64' };

// One leaf of parquet_schema() against the expected column.
function checkLeaf(cname, col, s) {
  const w = `${col.name} schema`;
  const lt = s.logical_type || '';
  const ct = s.converted_type;
  const utc = col.ts_utc ? '(1|true)' : '(0|false)';
  switch (col.type) {
    case 'bool': rep.check(cname, `${w} physical`, 'BOOLEAN', s.type); break;
    case 'float': rep.check(cname, `${w} physical`, 'FLOAT', s.type); break;
    case 'double': rep.check(cname, `${w} physical`, 'DOUBLE', s.type); break;
    case 'int8': case 'int16': case 'int32': case 'int64':
    case 'uint8': case 'uint16': case 'uint32': case 'uint64': {
      const bits = Number(col.type.replace(/\D/g, ''));
      rep.check(cname, `${w} physical`, bits === 64 ? 'INT64' : 'INT32', s.type);
      const signed = col.type.startsWith('int');
      // DuckDB prints IntType's i8 bitWidth as a raw character (8 -> \\b, 64 -> '@').
      const ltOk = new RegExp(`IntType\\(bitWidth=(${bits}|\\x${bits.toString(16).padStart(2, '0')}), isSigned=${signed ? '(1|true)' : '(0|false)'}\\)`).test(lt);
      // Either annotation may be absent (plain INT32/INT64 is signed), but
      // whatever is written must say this width and signedness.
      const plainOk = signed && (bits === 32 || bits === 64);
      rep.check(cname, `${w} converted/logical (${ct} / ${lt})`, true,
        (ct == null || ct === INT_CT[col.type]) && (lt === '' || ltOk) && (ct != null || lt !== '' || plainOk));
      break;
    }
    case 'string': case 'enum': case 'json': {
      rep.check(cname, `${w} physical`, 'BYTE_ARRAY', s.type);
      const okCt = col.type === 'json' ? ['JSON'] : col.type === 'enum' ? ['UTF8', 'ENUM'] : ['UTF8'];
      rep.check(cname, `${w} converted`, true, okCt.includes(ct));
      const okLt = col.type === 'json' ? /^JsonType/ : col.type === 'enum' ? /^(StringType|EnumType)/ : /^StringType/;
      rep.check(cname, `${w} logical (${lt})`, true, lt === '' || okLt.test(lt));
      break;
    }
    case 'binary':
      rep.check(cname, `${w} physical`, 'BYTE_ARRAY', s.type);
      rep.check(cname, `${w} no string annotation`, true, ct == null && lt === '');
      break;
    case 'uuid':
      rep.check(cname, `${w} physical`, 'FIXED_LEN_BYTE_ARRAY', s.type);
      rep.check(cname, `${w} type_length`, '16', String(s.type_length));
      rep.check(cname, `${w} logical (${lt})`, true, /^UUIDType/.test(lt));
      break;
    case 'decimal':
      rep.check(cname, `${w} physical`, true, ['INT32', 'INT64', 'FIXED_LEN_BYTE_ARRAY', 'BYTE_ARRAY'].includes(s.type));
      rep.check(cname, `${w} converted`, 'DECIMAL', ct);
      rep.check(cname, `${w} precision`, BigInt(col.precision), s.precision);
      rep.check(cname, `${w} scale`, BigInt(col.scale), s.scale);
      rep.check(cname, `${w} logical (${lt})`, true,
        lt === '' || lt === `DecimalType(scale=${col.scale}, precision=${col.precision})`);
      break;
    case 'date':
      rep.check(cname, `${w} physical`, 'INT32', s.type);
      rep.check(cname, `${w} converted`, 'DATE', ct);
      break;
    case 'timestamp':
      rep.check(cname, `${w} physical`, 'INT64', s.type);
      rep.check(cname, `${w} logical (${lt})`, true,
        new RegExp(`^TimestampType\\(isAdjustedToUTC=${utc}, unit=TimeUnit\\(MILLIS=<null>, MICROS=MicroSeconds\\(\\)`).test(lt));
      break;
    case 'time':
      rep.check(cname, `${w} physical`, 'INT64', s.type);
      rep.check(cname, `${w} logical (${lt})`, true,
        new RegExp(`^TimeType\\(isAdjustedToUTC=${utc}, unit=TimeUnit\\(MILLIS=<null>, MICROS=MicroSeconds\\(\\)`).test(lt));
      break;
    default: rep.bad(cname, `${w}`, 'known type', col.type);
  }
}

function checkSchema(c, rows) {
  let k = 1; // rows[0] is the root
  rep.check(c.name, 'schema root children', BigInt(c.exp.columns.length), rows[0].num_children);
  for (const col of c.exp.columns) {
    const rep0 = col.nullable ? 'OPTIONAL' : 'REQUIRED';
    const s = rows[k++];
    if (!s) { rep.bad(c.name, `${col.name} schema`, 'a schema element', 'none'); return; }
    rep.check(c.name, `${col.name} schema name`, col.name, s.name);
    rep.check(c.name, `${col.name} repetition`, rep0, s.repetition_type);
    if (!col.is_list) { checkLeaf(c.name, col, s); continue; }
    rep.check(c.name, `${col.name} list annotation`, 'LIST', s.converted_type);
    rep.check(c.name, `${col.name} list children`, 1n, s.num_children);
    const mid = rows[k++]; const leaf = rows[k++];
    rep.check(c.name, `${col.name} list middle level`, 'REPEATED/1', `${mid?.repetition_type}/${mid?.num_children}`);
    rep.check(c.name, `${col.name} element repetition`, col.element_nullable ? 'OPTIONAL' : 'REQUIRED', leaf?.repetition_type);
    if (leaf) checkLeaf(c.name, col, leaf);
  }
  rep.check(c.name, 'schema element count', rows.length, k);
}

const DICT = ['RLE_DICTIONARY', 'PLAIN_DICTIONARY'];
const PLAIN_CHECK = new Set(['string', 'binary', 'int64', 'double', 'uuid', 'decimal', 'json']);

function checkMetadata(c, md) {
  const exp = c.exp;
  const groups = new Map();
  for (const m of md) {
    if (!groups.has(m.row_group_id)) groups.set(m.row_group_id, []);
    groups.get(m.row_group_id).push(m);
  }
  rep.check(c.name, `row groups >= ${exp.min_row_groups}`, true, groups.size >= exp.min_row_groups);
  let r0 = 0;
  const seenDict = new Map(); const seenPlain = new Map();
  for (const [rg, chunks] of [...groups.entries()].sort((a, b) => Number(a[0] - b[0]))) {
    const n = Number(chunks[0].row_group_num_rows);
    rep.check(c.name, `rg ${rg} chunk count`, exp.columns.length, chunks.length);
    for (const col of exp.columns) {
      const ch = chunks.find((m) => m.path_in_schema.split(', ')[0] === col.name);
      if (!ch) { rep.bad(c.name, `rg ${rg} ${col.name}`, 'column chunk', 'none'); continue; }
      const where = `rg ${rg} ${col.name}`;
      const st = expectedStats(col, r0, r0 + n);
      if (!col.is_list) rep.check(c.name, `${where} null_count`, BigInt(st.nulls), ch.stats_null_count);
      rep.check(c.name, `${where} codec`, exp.codec, ch.compression);
      if (!(col.type === 'time' && col.ts_utc)) {
        rep.check(c.name, `${where} min`, st.min, ch.stats_min_value, (e, g) => statEq(col, e, g, st));
        rep.check(c.name, `${where} max`, st.max, ch.stats_max_value, (e, g) => statEq(col, e, g, st));
      }
      const enc = ch.encodings.split(', ');
      const hasDict = enc.some((e) => DICT.includes(e));
      seenDict.set(col.name, (seenDict.get(col.name) || false) || hasDict);
      // the fallback is PLAIN, or DELTA_BINARY_PACKED for integers the writer judged smaller so
      seenPlain.set(col.name, (seenPlain.get(col.name) || false) || enc.includes('PLAIN') ||
        enc.includes('DELTA_BINARY_PACKED'));
      if (exp.dict === 'none') rep.check(c.name, `${where} encodings without dictionary`, false, hasDict);
    }
    r0 += n;
  }
  rep.check(c.name, 'rows in row groups', exp.num_rows, r0);
  for (const col of exp.columns) {
    const anyValue = col.values.some((v) => v !== null && !(Array.isArray(v) && v.length === 0));
    if (exp.dict === 'used' && col.type !== 'bool' && anyValue)
      rep.check(c.name, `${col.name} dictionary encoded`, true, seenDict.get(col.name));
    if (exp.dict === 'plain' && PLAIN_CHECK.has(col.type) && !col.is_list && anyValue)
      rep.check(c.name, `${col.name} PLAIN after dictionary fallback`, true, seenPlain.get(col.name));
  }
}

for (const c of listCases(dir)) {
  const esc = c.file.replaceAll("'", "''");
  let res;
  try {
    res = await con.runAndReadAll(`SELECT * EXCLUDE (file_row_number) FROM read_parquet('${esc}', file_row_number = true) ORDER BY file_row_number`);
  } catch (e) {
    rep.bad(c.name, 'read_parquet', 'readable file', String(e.message || e));
    continue;
  }
  const names = res.columnNames(); const types = res.columnTypes().map(String);
  const rows = res.getRows();
  rep.check(c.name, 'row count', c.exp.num_rows, rows.length);
  rep.check(c.name, 'column names', c.exp.columns.map((x) => x.name).join(','), names.join(','));
  c.exp.columns.forEach((col) => {
    const i = names.indexOf(col.name);
    if (i < 0) return;
    const dt = duckType(col);
    rep.check(c.name, `${col.name} duckdb type`, dt, types[i],
      (e, g) => e === g || (col.type === 'json' && g === e.replace('JSON', 'VARCHAR')));
    const got = rows.map((r) => {
      const v = r[i];
      if (!col.is_list || v === null) return canon(col, v);
      return v.items.map((x) => canon(col, x));
    });
    checkColumn(rep, c.name, col, got);
  });
  const schema = (await con.runAndReadAll(`SELECT * FROM parquet_schema('${esc}')`)).getRowObjects();
  checkSchema(c, schema);
  const md = (await con.runAndReadAll(`SELECT * FROM parquet_metadata('${esc}') ORDER BY row_group_id, column_id`)).getRowObjects();
  checkMetadata(c, md);
  // Key/value metadata: parquet_kv_metadata() gives key and value as BLOBs.
  const kv = (await con.runAndReadAll(`SELECT key, value FROM parquet_kv_metadata('${esc}')`)).getRows()
    .map(([k, v]) => [Buffer.from(k.bytes).toString('utf8'), Buffer.from(v.bytes).toString('utf8')]);
  for (const [k, v] of c.exp.kv) {
    const hit = kv.find(([x]) => x === k);
    rep.check(c.name, `kv ${JSON.stringify(k)}`, v, hit ? hit[1] : 'absent');
  }
}
rep.finish();
