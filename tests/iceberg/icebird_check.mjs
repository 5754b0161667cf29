// Reads the Iceberg tables test_iceberg.c built with independent readers:
// icebird (current snapshot, and older ones through metadataFileName),
// value by value against expect.json, and DuckDB's parquet_schema() for the
// Parquet field ids.
//
// Usage: node icebird_check.mjs expect.json part-schema0.parquet part-schema1.parquet
// (run from tests/node so the packages resolve). Prints "ICEBERG CHECK OK".
//
// Node's fetch has no file:// support, so a small fetch wrapper serves
// file:// URLs from disk (GET with Range, HEAD) and sends icebird's S3 URLs
// to the local S3 server: the table's own absolute URIs are used as
// written; only the transport is ours.
import { readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRequire } from 'node:module'

// Packages resolve from tests/node, the working directory.
const require = createRequire(process.cwd() + '/')
const icebirdMain = JSON.parse(readFileSync('node_modules/icebird/package.json', 'utf8'))
  .exports['.'].import ?? 'src/index.js'
const { icebergRead } = await import(pathToFileURL(`node_modules/icebird/${icebirdMain}`).href)
const { DuckDBInstance } = require('@duckdb/node-api')

// icebird turns s3://bucket/key into https://bucket.s3.amazonaws.com/key;
// the test's S3 server is s3rver on loopback (path-style, no auth for GET).
let s3Endpoint = null
const realFetch = globalThis.fetch
globalThis.fetch = async (url, init = {}) => {
  const u = String(url)
  const aws = /^https:\/\/([^./]+)\.s3\.amazonaws\.com\/(.*)$/.exec(u)
  if (aws) {
    if (!s3Endpoint) throw new Error(`no S3 endpoint for ${u}`)
    return realFetch(`${s3Endpoint}/${aws[1]}/${aws[2]}`, init)
  }
  if (!u.startsWith('file://')) throw new Error(`unexpected URL ${u}`)
  const path = fileURLToPath(u)
  let size
  try {
    size = statSync(path).size
  } catch {
    return new Response('not found', { status: 404 })
  }
  const headers = new Headers(init.headers || {})
  if ((init.method || 'GET') === 'HEAD') {
    return new Response(null, { status: 200, headers: { 'content-length': String(size) } })
  }
  const range = headers.get('range')
  if (range) {
    const m = /bytes=(\d+)-(\d*)/.exec(range)
    const start = Number(m[1])
    const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1
    const buf = Buffer.alloc(end - start + 1)
    const fd = openSync(path, 'r')
    readSync(fd, buf, 0, buf.length, start)
    closeSync(fd)
    return new Response(buf, { status: 206, headers: { 'content-length': String(buf.length) } })
  }
  return new Response(readFileSync(path), { status: 200 })
}

function hex(bytes) {
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('')
}

// icebird/hyparquet values -> the text forms test_iceberg.c writes.
function norm(key, v) {
  if (v === null || v === undefined) return null
  if (Array.isArray(v)) return v.map(x => norm(key, x))
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Date) {
    const iso = v.toISOString()
    if (key === 'day') return iso.slice(0, 10)
    return iso.replace('.000Z', 'Z')
  }
  if (v instanceof Uint8Array) return hex(v)
  if (typeof v === 'string' && key === 'uid') return v.replace(/-/g, '')
  return String(v)
}

const [expectPath, part0, part1] = process.argv.slice(2)
const expect = JSON.parse(readFileSync(expectPath, 'utf8'))
let failures = 0
let checked = 0
for (const [prefix, t] of Object.entries(expect)) {
  s3Endpoint = t.s3_endpoint ?? null
  for (const c of t.checks) {
    const what = `${prefix} ${c.metadata ?? 'current'}`
    let rows
    try {
      rows = await icebergRead({ tableUrl: t.location, metadataFileName: c.metadata ?? undefined })
    } catch (e) {
      console.log(`FAIL ${what}: icebird: ${e.message}`)
      failures++
      continue
    }
    if (rows.length !== c.rows.length) {
      console.log(`FAIL ${what}: ${rows.length} rows, want ${c.rows.length}`)
      failures++
      continue
    }
    for (let i = 0; i < rows.length; i++) {
      const want = c.rows[i]
      const got = rows[i]
      const keys = new Set([...Object.keys(want), ...Object.keys(got)])
      for (const k of keys) {
        const g = JSON.stringify(norm(k, got[k]))
        const w = JSON.stringify(want[k] ?? null)
        checked++
        if (g !== w) {
          if (failures < 20) console.log(`FAIL ${what} row ${i} ${k}: got ${g} want ${w}`)
          failures++
        }
      }
    }
    console.log(`${what}: ${rows.length} rows compared`)
  }
}

// Parquet field ids as DuckDB reads them from the footer.
const db = await DuckDBInstance.create(':memory:')
const con = await db.connect()
const wantIds = [
  [part0, { id: 1, name: 2, amount: 3, price: 4, flag: 5, day: 6, ts: 7, uid: 8, tags: 9, element: 10 }],
  [part1, { id: 1, name: 2, amount: 3, flag: 5, day: 6, ts: 7, uid: 8, tags: 9, element: 10, note: 11 }],
]
for (const [file, want] of wantIds) {
  const r = await con.runAndReadAll(`SELECT name, field_id FROM parquet_schema('${file}')`)
  const got = {}
  for (const [name, id] of r.getRows()) if (name !== 'duckdb_schema' && name !== 'schema' && name !== 'list') got[name] = id === null ? null : Number(id)
  for (const [name, id] of Object.entries(want)) {
    checked++
    if (got[name] !== id) {
      console.log(`FAIL field id of ${name} in ${file}: got ${got[name]} want ${id}`)
      failures++
    }
  }
  if ('price' in got && !('price' in want)) {
    console.log(`FAIL ${file} has price`)
    failures++
  }
}
con.closeSync?.()

if (failures) {
  console.log(`${failures} failed of ${checked}`)
  process.exit(1)
}
console.log(`ICEBERG CHECK OK (${checked} values)`)
