// Reads the daemon's Iceberg REST catalog with iceberg-js (an independent
// REST client from npm): lists namespaces and tables and loads each table,
// checking names, schema fields and snapshot ids against expect.json that
// test_rest.c wrote; then reads every table's data with icebird from the
// metadata-location the catalog returned, value by value.
//
// Usage (from tests/node, so the packages resolve):
//   node rest_check.mjs expect.json        prints "REST CHECK OK"
//
// Node's fetch has no file:// support, so icebird gets a fetch that serves
// file:// URLs from disk; iceberg-js uses Node's own fetch, untouched.
import { readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const pkgMain = (name, fallback) => {
  const p = JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8'))
  const e = p.exports?.['.']
  const m = (typeof e === 'string' ? e : e?.import?.default ?? e?.import ?? e?.default) ?? p.module ?? fallback
  return pathToFileURL(`node_modules/${name}/${m}`).href
}
const { IcebergRestCatalog, IcebergError } = await import(pkgMain('iceberg-js', 'dist/index.mjs'))
const { icebergRead } = await import(pkgMain('icebird', 'src/index.js'))

const expect = JSON.parse(readFileSync(process.argv[2], 'utf8'))
let failures = 0
let checked = 0
function check(what, got, want) {
  checked++
  const g = JSON.stringify(got)
  const w = JSON.stringify(want)
  if (g !== w) {
    failures++
    if (failures < 30) console.log(`FAIL ${what}: got ${g} want ${w}`)
  }
}

const catalog = new IcebergRestCatalog({
  baseUrl: expect.url,
  auth: { type: 'bearer', token: expect.token },
})

// without the token: the catalog refuses, with the spec's error shape
{
  const anon = new IcebergRestCatalog({ baseUrl: expect.url })
  try {
    await anon.listNamespaces()
    check('listNamespaces without token', 'answered', 'refused')
  } catch (e) {
    check('no token: IcebergError', e instanceof IcebergError, true)
    check('no token: status', e.status, 401)
    check('no token: type', e.icebergType, 'NotAuthorizedException')
  }
}

const config = await catalog.loadConfig()
check('config.overrides', typeof config.overrides, 'object')

const { namespaces } = await catalog.listNamespaces()
check('namespaces', namespaces, [{ namespace: ['lakehouse'] }])
const ns = await catalog.loadNamespaceMetadata({ namespace: ['lakehouse'] })
check('namespace properties', typeof ns.properties, 'object')
check('namespaceExists lakehouse', await catalog.namespaceExists({ namespace: ['lakehouse'] }), true)
check('namespaceExists nope', await catalog.namespaceExists({ namespace: ['nope'] }), false)

const { identifiers } = await catalog.listTables({ namespace: ['lakehouse'] })
const wantNames = Object.keys(expect.tables).sort()
check('tables', identifiers.map(t => t.name), wantNames)
check('table namespaces', identifiers.map(t => t.namespace), wantNames.map(() => ['lakehouse']))

try {
  await catalog.loadTable({ namespace: ['lakehouse'], name: 'missing' })
  check('load missing', 'loaded', 'not found')
} catch (e) {
  check('load missing: status', e.status, 404)
  check('load missing: type', e.icebergType, 'NoSuchTableException')
}
try {
  await catalog.createNamespace({ namespace: ['made'] })
  check('createNamespace', 'created', 'refused')
} catch (e) {
  check('createNamespace: status', e.status, 406)
  check('createNamespace: type', e.icebergType, 'UnsupportedOperationException')
}

// icebird: file:// from disk (GET with Range, HEAD); nothing else expected
const realFetch = globalThis.fetch
const fileFetch = async (url, init = {}) => {
  const u = String(url)
  if (!u.startsWith('file://')) return realFetch(url, init)
  const path = fileURLToPath(u)
  let size
  try {
    size = statSync(path).size
  } catch {
    return new Response('not found', { status: 404 })
  }
  const headers = new Headers(init.headers || {})
  if ((init.method || 'GET') === 'HEAD')
    return new Response(null, { status: 200, headers: { 'content-length': String(size) } })
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

function norm(v) {
  if (v === null || v === undefined) return null
  if (typeof v === 'bigint') return v.toString()
  return String(v)
}

for (const name of wantNames) {
  const want = expect.tables[name]
  const id = { namespace: ['lakehouse'], name }
  check(`${name}: tableExists`, await catalog.tableExists(id), true)
  const result = await catalog.loadTableResult(id)
  const md = result.metadata
  check(`${name}: format-version`, md['format-version'], 2)
  check(`${name}: location`, md.location, want.location)
  check(`${name}: metadata-location`, result['metadata-location'],
    `${want.location}/metadata/v${want.metadata_version}.metadata.json`)
  check(`${name}: snapshot ids`, md.snapshots.map(s => s['snapshot-id']), want.snapshots)
  check(`${name}: current-snapshot-id`, md['current-snapshot-id'], want.current)
  check(`${name}: refs.main`, md.refs?.main?.['snapshot-id'], want.current)
  const schema = md.schemas.find(s => s['schema-id'] === md['current-schema-id'])
  check(`${name}: schema fields`,
    schema.fields.map(f => ({ name: f.name, id: f.id, type: f.type, required: f.required })),
    want.fields)

  // the data, from the returned metadata-location
  const loc = result['metadata-location']
  const slash = loc.lastIndexOf('/metadata/')
  globalThis.fetch = fileFetch
  let rows
  try {
    rows = await icebergRead({ tableUrl: loc.slice(0, slash), metadataFileName: loc.slice(slash + 10) })
  } finally {
    globalThis.fetch = realFetch
  }
  check(`${name}: row count`, rows.length, want.rows.length)
  for (let i = 0; i < Math.min(rows.length, want.rows.length); i++) {
    for (const k of new Set([...Object.keys(want.rows[i]), ...Object.keys(rows[i])]))
      check(`${name} row ${i} ${k}`, norm(rows[i][k]), want.rows[i][k] ?? null)
  }
  console.log(`${name}: loaded through the catalog, ${rows.length} rows compared`)
}

if (failures) {
  console.log(`${failures} failed of ${checked}`)
  process.exit(1)
}
console.log(`REST CHECK OK (${checked} checks)`)
