// common.mjs — shared by the golden checkers: loading the node packages from
// tests/node, the expected-values JSON written by gen_golden, canonical
// values, min/max from expected values, and mismatch reporting.
//
// Canonical form of a value in the JSON (made by cases.c from the C arrays):
//   bool                      true / false (JSON booleans)
//   int8..int64, uint8..64    decimal text, e.g. "-9223372036854775808"
//   float, double             "NaN", "Infinity", "-Infinity", "-0", "0" or
//                             %.17g text (exact for a double; a float is
//                             widened to double first)
//   string, json, enum        the UTF-8 text itself
//   binary                    lowercase hex of the bytes
//   uuid                      8-4-4-4-12 lowercase hex
//   decimal(p,s)              exact decimal text with s digits after the point
//   date                      days since 1970-01-01 as text
//   timestamp, time           microseconds (since the epoch / midnight) as text
//   NULL                      null;  lists are JSON arrays (null = NULL list)
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.LH_NODE_DIR || path.resolve(here, '../../node');
const req = createRequire(path.join(nodeDir, 'package.json'));

// Imports a package installed in tests/node/node_modules.
export async function load(name) {
  return import(pathToFileURL(req.resolve(name)).href);
}

export function listCases(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const name = f.slice(0, -5);
    return { name, file: path.join(dir, name + '.parquet'),
             exp: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) };
  });
}

// Collects mismatches; prints the first few per case and counts the rest.
export class Report {
  constructor(reader) { this.reader = reader; this.fail = 0; this.checked = 0; this.shown = new Map(); }
  ok() { this.checked++; }
  bad(caseName, what, expected, got) {
    this.fail++;
    const n = (this.shown.get(caseName) || 0) + 1;
    this.shown.set(caseName, n);
    if (n <= 15) console.log(`MISMATCH [${this.reader}] ${caseName}: ${what}: expected ${show(expected)}, got ${show(got)}`);
  }
  check(caseName, what, expected, got, eq = (a, b) => a === b) {
    if (eq(expected, got)) this.ok(); else this.bad(caseName, what, expected, got);
  }
  finish() {
    console.log(`[${this.reader}] ${this.checked} checks passed, ${this.fail} mismatches`);
    process.exitCode = this.fail ? 1 : 0;
  }
}

export function show(v) {
  return JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? `${x}n` : x));
}

// Canonical float text -> JS number (Number() understands NaN/Infinity/-0).
export const canonNum = (s) => Number(s);

// Float/double equality that tells NaN == NaN and -0 != 0.
export const sameNum = (a, b) => Object.is(a, b);

export const hex = (bytes) => Buffer.from(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.length ?? bytes.byteLength).toString('hex');

export function uuidText(bytes) {
  const h = hex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Unscaled BigInt + scale -> exact decimal text ("-0.01", "123.45", "7").
export function decimalText(v, scale) {
  const neg = v < 0n;
  let s = (neg ? -v : v).toString();
  if (scale > 0) {
    s = s.padStart(scale + 1, '0');
    s = s.slice(0, s.length - scale) + '.' + s.slice(s.length - scale);
  }
  return (neg ? '-' : '') + s;
}

// Order on canonical values of one type; NULL and NaN never reach it.
function cmpBytes(a, b) { return Buffer.compare(a, b); }
export function compare(type, a, b) {
  switch (type) {
    case 'bool': return Number(a) - Number(b);
    case 'float': case 'double': return Number(a) - Number(b);
    case 'string': case 'json': case 'enum':
      return cmpBytes(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')); // unsigned bytewise
    case 'binary': return cmpBytes(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
    case 'uuid': return cmpBytes(Buffer.from(a.replaceAll('-', ''), 'hex'), Buffer.from(b.replaceAll('-', ''), 'hex'));
    case 'decimal': {
      const [ai, af = ''] = a.split('.'); const [bi, bf = ''] = b.split('.');
      const x = BigInt(ai + af), y = BigInt(bi + bf); // same scale
      return x < y ? -1 : x > y ? 1 : 0;
    }
    default: { const x = BigInt(a), y = BigInt(b); return x < y ? -1 : x > y ? 1 : 0; }
  }
}

// Expected statistics of a leaf column over rows [r0, r1): null count
// (top-level columns only; the meaning for lists differs between readers)
// and min/max of the non-NULL, non-NaN values (undefined when none).
export function expectedStats(col, r0, r1) {
  let nulls = 0; let min; let max;
  const visit = (v) => {
    if (v === null) { nulls++; return; }
    if ((col.type === 'float' || col.type === 'double') && v === 'NaN') return;
    if (min === undefined || compare(col.type, v, min) < 0) min = v;
    if (max === undefined || compare(col.type, v, max) > 0) max = v;
  };
  for (let r = r0; r < r1; r++) {
    const v = col.values[r];
    if (col.is_list) { if (v !== null) v.forEach(visit); } else visit(v);
  }
  return { nulls, min, max };
}

// Days since the epoch -> "YYYY-MM-DD" (proleptic Gregorian, years 1..9999).
export function dateText(days) {
  const d = new Date(Number(days) * 86400000);
  const y = String(d.getUTCFullYear()).padStart(4, '0');
  return `${y}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;
}

// Microseconds since midnight -> "HH:MM:SS[.ffffff without trailing zeros]".
export function timeText(us) {
  us = BigInt(us);
  const s = us / 1000000n; const f = us % 1000000n;
  const p2 = (x) => String(x).padStart(2, '0');
  let t = `${p2(s / 3600n)}:${p2((s / 60n) % 60n)}:${p2(s % 60n)}`;
  if (f) t += '.' + String(f).padStart(6, '0').replace(/0+$/, '');
  return t;
}

// Microseconds since the epoch -> "YYYY-MM-DD HH:MM:SS[.ffffff]" (BigInt
// arithmetic: values past the JS Date range of nanoseconds stay exact).
export function timestampText(us) {
  us = BigInt(us);
  const day = 86400000000n;
  let days = us / day; let rem = us % day;
  if (rem < 0n) { rem += day; days -= 1n; }
  return `${dateText(days)} ${timeText(rem)}`;
}

// Compares one expected canonical value with what a reader gave, already
// mapped by the checker to: canonical text, a boolean, a JS number (float,
// double), null, or an array of those (lists).
export function valueEq(col, exp, got) {
  if (exp === null || got === null) return exp === got;
  if (col.is_list && !Array.isArray(exp)) return false;
  if (Array.isArray(exp)) {
    if (!Array.isArray(got) || got.length !== exp.length) return false;
    return exp.every((e, i) => valueEq({ ...col, is_list: false }, e, got[i]));
  }
  if (col.type === 'float' || col.type === 'double') return typeof got === 'number' && sameNum(canonNum(exp), got);
  return exp === got;
}

// Checks every value of one column; `got` is the reader's array of mapped values.
export function checkColumn(rep, caseName, col, got) {
  if (got.length !== col.values.length) {
    rep.bad(caseName, `${col.name}: row count`, col.values.length, got.length);
    return;
  }
  for (let r = 0; r < got.length; r++) {
    if (valueEq(col, col.values[r], got[r])) rep.ok();
    else rep.bad(caseName, `${col.name}[${r}] (${col.type}${col.is_list ? ' list' : ''})`, col.values[r], got[r]);
  }
}
