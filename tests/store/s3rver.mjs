// Starts s3rver on 127.0.0.1 with a random free port and the bucket(s)
// named on the command line, prints "PORT <n>" once listening, and exits
// when its stdin closes (so a crashed test never leaves it running).
// usage: node s3rver.mjs DIR BUCKET...
//
// s3rver 3.7 answers ListMultipartUploads with NotImplemented and refuses
// AbortMultipartUpload (405), although it keeps incomplete uploads on disk
// (<bucket>/<uploads resource>/<uploadId>/{key,metadata,1,2,...}). The
// middleware below adds both operations over that layout, as AWS S3 defines
// them (prefix, key-marker, upload-id-marker, max-uploads; DELETE
// ?uploadId=X answers 204, NoSuchUpload 404), so the store's sweep is tested
// against a server that keeps real multipart leftovers.
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import path from 'node:path';
const require = createRequire(import.meta.url);
const S3rver = require('s3rver');

const [dir, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  serviceEndpoint: 'localhost',
  configureBuckets: buckets.map((name) => ({ name })),
});

const xmlEscape = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);

async function uploadsOf(bucket) {
  const root = server.store.getResourcePath(bucket, undefined, 'uploads');
  let ids = [];
  try {
    ids = await fs.readdir(root);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  const out = [];
  for (const id of ids) {
    try {
      const key = (await fs.readFile(path.join(root, id, 'key'))).toString();
      const st = await fs.stat(path.join(root, id));
      out.push({ key, id, initiated: st.birthtime.getTime() ? st.birthtime : st.mtime });
    } catch (e) {
      if (e.code !== 'ENOENT') throw e; // completed or aborted meanwhile
    }
  }
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { root, uploads: out };
}

async function multipartShim(ctx, next) {
  const m = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path); // path-style: /bucket[/key]
  if (!m) return next();
  const bucket = m[1];
  const q = ctx.query;
  if (ctx.method === 'GET' && !m[2] && 'uploads' in q) {
    const prefix = q.prefix || '';
    const keyMarker = q['key-marker'] || '';
    const idMarker = q['upload-id-marker'] || '';
    const max = Math.max(1, Math.min(1000, parseInt(q['max-uploads'] || '1000', 10) || 1000));
    const { uploads } = await uploadsOf(bucket);
    const after = uploads.filter(
      (u) =>
        u.key.startsWith(prefix) &&
        (!keyMarker || u.key > keyMarker || (u.key === keyMarker && idMarker && u.id > idMarker)),
    );
    const page = after.slice(0, max);
    const truncated = after.length > page.length;
    let x = '<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult>';
    x += `<Bucket>${xmlEscape(bucket)}</Bucket><KeyMarker>${xmlEscape(keyMarker)}</KeyMarker>`;
    x += `<UploadIdMarker>${xmlEscape(idMarker)}</UploadIdMarker><Prefix>${xmlEscape(prefix)}</Prefix>`;
    if (truncated) {
      const last = page[page.length - 1];
      x += `<NextKeyMarker>${xmlEscape(last.key)}</NextKeyMarker>`;
      x += `<NextUploadIdMarker>${xmlEscape(last.id)}</NextUploadIdMarker>`;
    }
    x += `<MaxUploads>${max}</MaxUploads><IsTruncated>${truncated}</IsTruncated>`;
    for (const u of page)
      x += `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.id}</UploadId>` +
        `<StorageClass>STANDARD</StorageClass><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`;
    x += '</ListMultipartUploadsResult>';
    ctx.status = 200;
    ctx.type = 'application/xml';
    ctx.body = x;
    return;
  }
  if (ctx.method === 'DELETE' && m[2] && 'uploadId' in q) {
    const { root } = await uploadsOf(bucket);
    const id = String(q.uploadId);
    if (!/^[0-9a-f]+$/.test(id)) {
      ctx.status = 400;
      return;
    }
    try {
      await fs.access(path.join(root, id, 'key'));
    } catch {
      ctx.status = 404;
      ctx.type = 'application/xml';
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code>' +
        '<Message>The specified upload does not exist.</Message></Error>';
      return;
    }
    await fs.rm(path.join(root, id), { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  return next();
}
// Fault injection for the store's retry tests: a request for a key with a
// path segment "flaky-500" answers 500 InternalError ("Please try again",
// as S3 does now and then) the first two times per method and key.
const flaky = new Map();
async function flakyShim(ctx, next) {
  if (!/\/flaky-500(\/|$)/.test(ctx.path)) return next();
  const k = `${ctx.method} ${ctx.path}`;
  const n = flaky.get(k) || 0;
  if (n >= 2) return next();
  flaky.set(k, n + 1);
  ctx.status = 500;
  ctx.type = 'application/xml';
  ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>' +
    '<Message>We encountered an internal error. Please try again.</Message></Error>';
}
// ahead of s3rver's router (Koa composes the middleware list when it starts listening)
server.middleware.unshift(multipartShim);
server.middleware.unshift(flakyShim);

const addr = await server.run();
process.stdout.write(`PORT ${addr.port}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await server.close();
  process.exit(0);
});
