// harness.mjs — what the dashboard's browser tests share: the environment
// ctest sets, psql against the test PostgreSQL, a real `lakehouse serve`,
// headless Chromium (Debian's, through playwright-core), pages with
// uncaught errors collected, screenshots, and waiting for a condition
// (never for a fixed time: the tests run beside others on 2 cores).
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'node', 'package.json'));
const { chromium } = require('playwright-core');

export function env(k) {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run through ctest)`);
  return v;
}

// KEY='value' lines of tests/servers/pg.sh's env file.
export function readEnvFile(file) {
  return Object.fromEntries(fs.readFileSync(file, 'utf8').split('\n')
    .filter((l) => l.includes('=')).map((l) => {
      const i = l.indexOf('=');
      return [l.slice(0, i), l.slice(i + 1).replace(/^'(.*)'$/, '$1')];
    }));
}

export function psql(dsn, sql) {
  execFileSync('/usr/lib/postgresql/15/bin/psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', dsn,
    '-c', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});

// `lakehouse serve` on a free loopback port; resolves {url, proc} once it
// says where it listens.
export function serve(lakehouse, data, daemonEnv, extra = [], tag = 'web') {
  return new Promise((resolve, reject) => {
    const c = spawn(lakehouse, ['serve', '--listen', '127.0.0.1:0', '--data', data, ...extra],
      { env: daemonEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`daemon did not start: ${err}`)), 30000);
    c.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], proc: c, stderr: () => err });
      }
    });
    c.stderr.on('data', (d) => {
      err += d;
      if (process.env.LH_VERBOSE) process.stderr.write(`[${tag} daemon] ${d}`);
    });
    c.on('exit', (code) => reject(new Error(`daemon exited with ${code}: ${err}`)));
  });
}

export function stopDaemon(d) {
  return new Promise((r) => {
    if (d.proc.exitCode !== null) return r();
    d.proc.once('exit', r);
    d.proc.kill('SIGTERM');
  });
}

export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

// A page at 1280x800, en-GB, Europe/Berlin, with uncaught errors collected.
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB',
    timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { page, context, errors };
}

export async function shot(page, dir, name, log = () => {}) {
  // let the last paint land: two animation frames, not a fixed time
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${file}`);
  return file;
}

// Polls fn() (async) until it returns a truthy value; throws with `what`
// after timeoutMs. The pause between tries is short and grows a little.
export async function until(what, fn, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  let pause = 50;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 1.5, 500);
  }
}

export async function getJSON(url, opts) {
  const r = await fetch(url, opts);
  const text = await r.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: r.status, body, text };
}

// What every page test starts with (tag: its ctest name): the environment
// ctest sets, a clean LH_WORK_DIR, the screenshot directory and a log line
// prefixed with the tag.
export function setup(tag) {
  const WORK = env('LH_WORK_DIR');
  const t = {
    tag, WORK, LAKEHOUSE: env('LH_LAKEHOUSE'), pg: readEnvFile(env('LH_PG_ENV')),
    SHOTS: process.env.LH_SCREENSHOT_DIR || path.join(WORK, 'screenshots'),
    DATA: path.join(WORK, 'data'),
    log: (...a) => console.log(`${tag}:`, ...a),
  };
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  fs.mkdirSync(t.SHOTS, { recursive: true });
  return t;
}

// The test's daemon over t.DATA, with a HOME of its own and the secret key
// made of the hex byte keyByte; daemon.post(path, body) POSTs JSON as a
// client the API accepts.
export async function serveFor(t, keyByte) {
  const daemon = await serve(t.LAKEHOUSE, t.DATA, {
    ...process.env, HOME: t.WORK, XDG_CONFIG_HOME: path.join(t.WORK, 'config'),
    LAKEHOUSE_SECRET_KEY: keyByte.repeat(32),
  }, [], t.tag);
  t.log(`daemon at ${daemon.url}`);
  daemon.post = (p, body) => getJSON(`${daemon.url}${p}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-lakehouse-client': 'test' },
    body: JSON.stringify(body),
  });
  return daemon;
}

// Ends a page test: with an error, a screenshot of the page (WORK/failure.png),
// the error and the daemon's log (always, or with LH_VERBOSE only when
// quiet), exit 1; without, "all steps passed", exit 0.
export async function finish(t, { browser, page, daemon, error = null, fullPage = false, quiet = false }) {
  if (error) {
    const file = path.join(t.WORK, 'failure.png');
    await page.screenshot({ path: file, fullPage }).catch(() => {});
    console.error(`${t.tag}: FAILED (screenshot ${file})`);
    console.error(error);
    if (!quiet || process.env.LH_VERBOSE) console.error(daemon.stderr());
  }
  await browser.close();
  await stopDaemon(daemon);
  if (!error) t.log('all steps passed');
  process.exit(error ? 1 : 0);
}
