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
