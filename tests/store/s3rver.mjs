// Starts s3rver on 127.0.0.1 with a random free port and the bucket(s)
// named on the command line, prints "PORT <n>" once listening, and exits
// when its stdin closes (so a crashed test never leaves it running).
// usage: node s3rver.mjs DIR BUCKET...
import { createRequire } from 'node:module';
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
const addr = await server.run();
process.stdout.write(`PORT ${addr.port}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await server.close();
  process.exit(0);
});
