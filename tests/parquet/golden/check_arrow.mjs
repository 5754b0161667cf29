// check_arrow.mjs DIR — reads every DIR/<case>.parquet with arrow-rs
// (parquet-wasm readParquet -> Table -> intoIPCStream() -> apache-arrow
// tableFromIPC) and compares the Arrow type and every value of every column
// with DIR/<case>.json (gen_golden), and the key/value metadata. Exit code
// 1 on any mismatch.
//
// What arrow-rs (parquet-wasm 0.8) gives per Parquet type, and how it is read
// here. Values come from the raw Arrow buffers, never from Vector.get(),
// because get() turns Timestamp into lossy JS milliseconds:
//   BOOLEAN                    Bool: bit-packed values
//   INT32 INT_8/16/32          Int8/Int16/Int32: Int8Array/Int16Array/Int32Array
//   INT32 UINT_8/16/32         Uint8/Uint16/Uint32 typed arrays
//   INT64 (UINT_64)            Int64 / Uint64: BigInt64Array / BigUint64Array
//   FLOAT, DOUBLE              Float32 / Float64 (NaN payload, -0 kept)
//   BYTE_ARRAY STRING/JSON/ENUM Utf8: valueOffsets + UTF-8 bytes
//   BYTE_ARRAY                 Binary: valueOffsets + bytes
//   FLBA(16) UUID              FixedSizeBinary(16)
//   DECIMAL(p,s) any physical  Decimal(p,s), 128 bits: Uint32Array, 4 little-
//                              endian words per value, two's complement
//   DATE                       Date32 (DateDay): Int32Array of days
//   TIMESTAMP(MICROS,utc)      Timestamp(MICROSECOND, "+00:00"/"UTC" or no
//                              zone when not UTC): BigInt64Array of micros
//   TIME(MICROS)               Time64(MICROSECOND): BigInt64Array of micros
//   LIST                       List: valueOffsets into one child
import fs from 'node:fs';
import { load, listCases, Report, checkColumn, decimalText, hex, uuidText } from './common.mjs';

const dir = process.argv[2];
if (!dir) { console.error('usage: check_arrow.mjs DIR'); process.exit(2); }
const pw = await load('parquet-wasm');
const arrow = await load('apache-arrow');
const { Type } = arrow;
const rep = new Report('arrow-rs');
const utf8 = new TextDecoder('utf-8', { fatal: true });

// Expected Arrow type of a column's values, as a predicate with a label.
function typeOk(col, t) {
  const intT = { int8: [8, true], int16: [16, true], int32: [32, true], int64: [64, true],
    uint8: [8, false], uint16: [16, false], uint32: [32, false], uint64: [64, false] };
  switch (col.type) {
    case 'bool': return t.typeId === Type.Bool;
    case 'float': return t.typeId === Type.Float && t.precision === 1;
    case 'double': return t.typeId === Type.Float && t.precision === 2;
    case 'string': case 'json': case 'enum': return t.typeId === Type.Utf8;
    case 'binary': return t.typeId === Type.Binary;
    case 'uuid': return t.typeId === Type.FixedSizeBinary && t.byteWidth === 16;
    case 'decimal': return t.typeId === Type.Decimal && t.precision === col.precision && t.scale === col.scale;
    case 'date': return t.typeId === Type.Date && t.unit === arrow.DateUnit.DAY;
    case 'timestamp': return t.typeId === Type.Timestamp && t.unit === arrow.TimeUnit.MICROSECOND &&
      (col.ts_utc ? ['UTC', '+00:00'].includes(t.timezone) : t.timezone == null);
    case 'time': return t.typeId === Type.Time && t.unit === arrow.TimeUnit.MICROSECOND && t.bitWidth === 64;
    default: {
      const [bits, signed] = intT[col.type];
      return t.typeId === Type.Int && t.bitWidth === bits && t.isSigned === signed;
    }
  }
}

function valid(d, i) {
  if (!d.nullBitmap || d.nullBitmap.length === 0 || d.nullCount === 0) return true;
  const j = d.offset + i;
  return ((d.nullBitmap[j >> 3] >> (j & 7)) & 1) === 1;
}

// Value i of one Arrow Data chunk -> canonical form (numbers for floats).
function value(col, d, i) {
  if (!valid(d, i)) return null;
  const j = d.offset + i;
  const t = d.type;
  switch (t.typeId) {
    case Type.Bool: return ((d.values[j >> 3] >> (j & 7)) & 1) === 1;
    case Type.Int: case Type.Date: case Type.Timestamp: case Type.Time:
      return String(d.values[j]);
    case Type.Float: return d.values[j];
    case Type.Utf8: {
      const o = d.valueOffsets;
      try { return utf8.decode(d.values.subarray(o[j], o[j + 1])); } catch { return 'invalid UTF-8'; }
    }
    case Type.Binary: {
      const o = d.valueOffsets;
      return hex(d.values.subarray(Number(o[j]), Number(o[j + 1])));
    }
    case Type.FixedSizeBinary: {
      const w = t.byteWidth;
      const b = d.values.subarray(j * w, j * w + w);
      return col.type === 'uuid' ? uuidText(b) : hex(b);
    }
    case Type.Decimal: {
      const words = t.bitWidth / 32;
      let v = 0n;
      for (let k = words - 1; k >= 0; k--) v = (v << 32n) | BigInt(d.values[j * words + k]);
      if (v >= 1n << BigInt(t.bitWidth - 1)) v -= 1n << BigInt(t.bitWidth);
      return decimalText(v, t.scale);
    }
    default: return `unhandled arrow type ${t}`;
  }
}

for (const c of listCases(dir)) {
  let table;
  try {
    const wasmTable = pw.readParquet(new Uint8Array(fs.readFileSync(c.file)));
    table = arrow.tableFromIPC(wasmTable.intoIPCStream());
  } catch (e) {
    rep.bad(c.name, 'readParquet', 'readable file', String(e.message || e));
    continue;
  }
  rep.check(c.name, 'row count', c.exp.num_rows, table.numRows);
  // arrow-rs carries the file's key/value metadata into the schema metadata.
  for (const [k, v] of c.exp.kv) rep.check(c.name, `kv ${JSON.stringify(k)}`, v, table.schema.metadata.get(k) ?? 'absent');
  rep.check(c.name, 'column names', c.exp.columns.map((x) => x.name).join(','),
    table.schema.fields.map((f) => f.name).join(','));
  for (const col of c.exp.columns) {
    const field = table.schema.fields.find((f) => f.name === col.name);
    if (!field) { rep.bad(c.name, col.name, 'a column', 'none'); continue; }
    rep.check(c.name, `${col.name} nullable`, col.nullable, field.nullable);
    let leafType = field.type;
    if (col.is_list) {
      rep.check(c.name, `${col.name} arrow type`, 'List', String(field.type.typeId === Type.List ? 'List' : field.type));
      if (field.type.typeId !== Type.List) continue;
      leafType = field.type.children[0].type;
      rep.check(c.name, `${col.name} element nullable`, col.element_nullable, field.type.children[0].nullable);
    }
    rep.check(c.name, `${col.name} arrow type`, `${col.type} ok`, typeOk(col, leafType) ? `${col.type} ok` : String(leafType));
    if (!typeOk(col, leafType)) continue;
    const got = [];
    for (const d of table.getChild(col.name).data) {
      for (let i = 0; i < d.length; i++) {
        if (!col.is_list) { got.push(value(col, d, i)); continue; }
        if (!valid(d, i)) { got.push(null); continue; }
        const o = d.valueOffsets; const j = d.offset + i;
        const items = [];
        for (let e = o[j]; e < o[j + 1]; e++) items.push(value(col, d.children[0], e));
        got.push(items);
      }
    }
    checkColumn(rep, c.name, col, got);
  }
}
rep.finish();
