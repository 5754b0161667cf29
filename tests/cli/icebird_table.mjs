// icebird_table.mjs TABLE_URL — reads a dataset's Iceberg table (its
// current snapshot, through version-hint.text) with icebird, an independent
// Iceberg reader from npm, and prints "<rows> <sum of v>". Node's fetch has
// no file:// support: a small wrapper serves file:// URLs from disk.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const nodeDir = process.env.LH_NODE_DIR;
const main = JSON.parse(fs.readFileSync(path.join(nodeDir, 'node_modules/icebird/package.json'), 'utf8'))
  .exports['.'].import ?? 'src/index.js';
const { icebergRead } = await import(pathToFileURL(path.join(nodeDir, 'node_modules/icebird', main)).href);
globalThis.fetch = async (url, init = {}) => {
  const u = String(url);
  if (!u.startsWith('file://')) throw new Error(`unexpected URL ${u}`);
  const p = fileURLToPath(u);
  let size;
  try { size = fs.statSync(p).size; } catch { return new Response('not found', { status: 404 }); }
  if ((init.method || 'GET') === 'HEAD') return new Response(null, { status: 200, headers: { 'content-length': String(size) } });
  const range = new Headers(init.headers || {}).get('range');
  if (range) {
    const m = /bytes=(\d+)-(\d*)/.exec(range);
    const start = Number(m[1]);
    const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    const buf = Buffer.alloc(end - start + 1);
    const fd = fs.openSync(p, 'r');
    fs.readSync(fd, buf, 0, buf.length, start);
    fs.closeSync(fd);
    return new Response(buf, { status: 206, headers: { 'content-length': String(buf.length) } });
  }
  return new Response(fs.readFileSync(p), { status: 200 });
};
const rows = await icebergRead({ tableUrl: process.argv[2] });
const sum = rows.reduce((a, r) => a + Number(r.v), 0);
console.log(`${rows.length} ${sum}`);
