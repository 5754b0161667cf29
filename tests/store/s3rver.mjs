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
import { createWriteStream } from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
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

// s3rver's putObject truncates the object file in place and answers before
// the new bytes are on disk, so even a GET after the PUT's answer could read
// a short object. This one writes a temporary file beside it (a name the
// listing skips), waits until it is closed and renames it over the object:
// a reader sees the old object or the new one whole, as on S3. Multipart
// completion goes through it too.
server.store.putObject = async function putObjectWhole(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.mkdir(path.dirname(objectPath), { recursive: true });
  const tmp = `${objectPath}.lhtmp-${crypto.randomBytes(6).toString('hex')}`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  try {
    if (Buffer.isBuffer(object.content)) {
      md5.update(object.content);
      size = object.content.length;
      await fs.writeFile(tmp, object.content);
    } else {
      await pipeline(
        object.content,
        async function* (src) {
          for await (const c of src) {
            md5.update(c);
            size += c.length;
            yield c;
          }
        },
        createWriteStream(tmp),
      );
    }
    const hex = md5.digest('hex');
    await fs.rename(tmp, objectPath);
    await this.putMetadata(object.bucket, object.key, object.metadata, hex);
    return { size, md5: hex };
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
};

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
// A server that stops answering: a request for a key with a path segment
// "stall-forever" is never answered (the connection stays open), so the
// store's stall limit is what ends it.
async function stallShim(ctx, next) {
  if (!/\/stall-forever(\/|$)/.test(ctx.path)) return next();
  await new Promise((resolve) => ctx.req.on('close', resolve));
}
// One key at a time, and conditional writes, as S3 keeps them. s3rver
// writes an object in place (a reader may see half of it) and ignores
// If-None-Match / If-Match, so concurrent writers of one key (the store's
// thread stress test, the catalog's compare-and-swap) could not be judged
// against it. Here the requests on one key path run one after another (a
// GET's body is read whole before the next starts), and a path-style PUT
// with If-None-Match: * or If-Match: <etag> answers as AWS S3 does: 412
// PreconditionFailed when the object exists / has another ETag, 404
// NoSuchKey for If-Match on an absent key.
const keyQueues = new Map();
const unquote = (e) => String(e).trim().replace(/^W\//, '').replace(/^"|"$/g, '');
function s3Error(ctx, status, code, message) {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>${xmlEscape(message)}</Message></Error>`;
}
async function keyOrderShim(ctx, next) {
  const m = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
  if (!m) return next();
  const id = ctx.path;
  const prev = keyQueues.get(id) || Promise.resolve();
  let release;
  const mine = new Promise((r) => (release = r));
  const tail = prev.then(() => mine);
  keyQueues.set(id, tail);
  await prev;
  try {
    const pathStyle = /^(127\.0\.0\.1|localhost)(:\d+)?$/.test(ctx.headers.host || '');
    const inm = ctx.headers['if-none-match'];
    const im = ctx.headers['if-match'];
    if (ctx.method === 'PUT' && pathStyle && (inm || im)) {
      let meta = null;
      try {
        meta = await server.store.getMetadata(m[1], decodeURIComponent(m[2]));
      } catch (e) {
        if (e.code !== 'ENOENT') throw e;
      }
      if (inm && unquote(inm) === '*' && meta)
        return s3Error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      if (im && !meta) return s3Error(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
      if (im && unquote(im) !== unquote(meta.etag))
        return s3Error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
    // A client killed mid-request (the kill tests) leaves s3rver's handler
    // waiting for a body that never ends: the key is free again once the
    // connection is gone.
    const work = next();
    work.catch(() => {});
    const gone = new Promise((r) => ctx.res.once('close', r));
    await Promise.race([work, gone]);
    if (ctx.res.writableEnded || ctx.res.destroyed) return;
    if (ctx.body && typeof ctx.body.pipe === 'function') {
      const chunks = [];
      for await (const c of ctx.body) chunks.push(c);
      ctx.body = Buffer.concat(chunks);
    }
  } finally {
    release();
    if (keyQueues.get(id) === tail) keyQueues.delete(id);
  }
}
// ahead of s3rver's router (Koa composes the middleware list when it starts listening)
server.middleware.unshift(multipartShim);
server.middleware.unshift(flakyShim);
server.middleware.unshift(stallShim);
server.middleware.unshift(keyOrderShim);

const addr = await server.run();
process.stdout.write(`PORT ${addr.port}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await server.close();
  process.exit(0);
});
