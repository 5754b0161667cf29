// runs.js — runs you can watch, stop and read, for the schedule pages.
//
// watchRuns: one poller per page of GET /api/runs?state=running (optionally
// &schedule=ID): every 1.5 s while a run is live or a cancel is pending,
// every 6 s otherwise, only while the tab is visible (ctx.poll), never two
// requests at once. A server without /api/runs (404) is asked again only
// every minute; the pages then fall back to the schedule's active_run.
// When a run leaves the running list the watcher fetches its final state
// (GET /api/runs/{id}) and keeps it for a while, so the page can say
// "cancelled" where "cancelling…" was.
//
// liveRunView: the run's state badge, phase, rows (of the estimate), a
// progress bar with % and ETA when the source gave an estimate, rate,
// elapsed, and the Cancel button (a confirmation, then "cancelling…").
//
// logPanel: GET /api/runs/{id}/log as lines (time, level, message), tailed
// every 1.5 s while the log is not complete; kept by run id so a live
// refresh of the table around it neither closes nor reloads it.
import { api, ApiError } from './api.js';
import {
  runIsLive, runStateLabel, runProgress, fmtCount, fmtBytes, fmtDuration, fmtRate,
} from './lib.js';
import { h, badge, timeEl, confirmDialog, messageEl } from './ui.js';

const enc = encodeURIComponent;
export const FAST_MS = 1500;
const IDLE_MS = 6000;
const NO_API_MS = 60000;
const KEEP_FINISHED_MS = 20000;

export function watchRuns(ctx, { schedule = null, onChange = () => {}, onFinished = () => {} } = {}) {
  const w = {
    runs: new Map(), // run_id -> live run JSON
    finished: new Map(), // run_id -> {run, until}
    cancelling: new Set(), // run ids whose cancel this page sent
    reports: new Map(), // run id -> fn(final run), for the page's status line
    supported: true,
    fast: false,
    sig: '', // the live run ids as last seen
  };
  const url = `/api/runs?state=running${schedule ? `&schedule=${enc(schedule)}` : ''}`;
  const pace = () => {
    if (!w.supported) return NO_API_MS;
    return w.fast || w.runs.size || w.cancelling.size ? FAST_MS : IDLE_MS;
  };
  const once = async () => {
    let data;
    try {
      data = await api('GET', url);
      w.supported = true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) w.supported = false;
      return;
    }
    if (!ctx.alive) return;
    w.fast = false;
    const list = data && Array.isArray(data.runs) ? data.runs : Array.isArray(data) ? data : [];
    const now = new Map(list.filter((r) => r && r.run_id && (!schedule || r.schedule_id === schedule))
      .map((r) => [r.run_id, r]));
    const gone = [...w.runs.keys()].filter((id) => !now.has(id));
    w.runs = now;
    for (const id of gone) await settle(id);
    for (const [id, f] of w.finished) if (f.until < Date.now()) w.finished.delete(id);
    if (!ctx.alive) return;
    // a run started or ended: the header's "N running" follows at once
    const sig = [...now.keys()].sort().join(' ');
    if (sig !== w.sig) document.dispatchEvent(new CustomEvent('lh:runs-changed'));
    w.sig = sig;
    onChange(w);
    if (gone.length) onFinished(gone);
  };
  // the final state of a run that left the running list
  const settle = async (id) => {
    let run = null;
    try {
      run = await api('GET', `/api/runs/${enc(id)}`);
    } catch { /* pruned or unknown: the history will say */ }
    if (run && runIsLive(run)) {
      w.runs.set(id, run); // between the list and here it was still live
      return;
    }
    w.cancelling.delete(id);
    if (run) w.finished.set(id, { run, until: Date.now() + KEEP_FINISHED_MS });
    const report = w.reports.get(id);
    w.reports.delete(id);
    if (report && run) report(run);
  };
  const handle = ctx.poll(once, pace);
  return {
    get runs() {
      return w.runs;
    },
    get finished() {
      return w.finished;
    },
    get supported() {
      return w.supported;
    },
    cancelling: w.cancelling,
    reports: w.reports,
    // a run was started or its schedule shows one: look at once, then fast
    wake() {
      w.fast = true;
      handle.kick();
    },
    first: once,
  };
}

// The live (or just finished) run for a schedule: the watcher's view wins
// over the schedule's embedded active_run, which is as old as its poll.
export function runForSchedule(watch, s) {
  for (const r of watch.runs.values()) if (r.schedule_id === s.id) return r;
  const a = s.active_run;
  if (a && runIsLive(a) && !watch.finished.has(a.run_id)) return a;
  let best = null;
  for (const { run } of watch.finished.values()) {
    if (run.schedule_id === s.id && (!best || (run.finished_at || '') > (best.finished_at || ''))) best = run;
  }
  return best;
}

function effective(run, watch) {
  if (runIsLive(run) && watch && watch.cancelling.has(run.run_id) && !run.cancel_requested) {
    return { ...run, cancel_requested: true };
  }
  return run;
}

// A progress bar for a run with an estimate (<progress>: no inline style).
function progressBar(p, label) {
  return h('progress', { class: 'progress', max: 100, value: p.pct.toFixed(1), 'aria-label': label },
    `${p.pct.toFixed(1)} %`);
}

// Cancel: a confirmation, then POST /api/runs/{id}/cancel; the run reads
// "cancelling…" from then on until the watcher sees it end. flash(text, ok)
// reports the outcome; after() redraws.
export async function cancelRun(run, watch, { flash, after }) {
  const what = run.schedule_id ? `run ${run.run_id} of ${run.schedule_id}` : `run ${run.run_id}`;
  const ok = await confirmDialog(`Cancel ${what}? It stops within a few seconds and publishes ` +
    'nothing: the dataset keeps its current version. The run is recorded as cancelled.',
  'Cancel run', 'Keep running');
  if (!ok) return;
  watch.cancelling.add(run.run_id);
  after();
  try {
    await api('POST', `/api/runs/${enc(run.run_id)}/cancel`);
    flash(`Cancelling ${what}…`, true);
    watch.reports.set(run.run_id, (fin) => {
      if (fin.state === 'cancelled') flash(`${what[0].toUpperCase()}${what.slice(1)} cancelled: nothing published.`, true);
      else flash(`${what[0].toUpperCase()}${what.slice(1)} ended ${fin.state} before the cancel took effect.`, true);
    });
  } catch (e) {
    watch.cancelling.delete(run.run_id);
    flash(e.status === 409 ? `${what} had already finished: ${e.message}` : e.message, e.status === 409);
  }
  watch.wake();
  after();
}

// The run's live facts as one block: badge, text, progress, Cancel.
// opts.compact: the schedules table (one line); else the run history row.
export function liveRunView(run0, watch, { onCancel, extra = null } = {}) {
  const run = effective(run0, watch);
  const st = runStateLabel(run);
  const live = runIsLive(run);
  const p = live ? runProgress(run) : null;
  const facts = [];
  if (live) {
    facts.push(h('span', { class: 'rows' }, p ? `${fmtCount(run.rows || 0)} of ~${fmtCount(run.estimated_rows)} rows`
      : `${fmtCount(run.rows || 0)} rows`));
    if (run.bytes) facts.push(h('span', {}, fmtBytes(run.bytes)));
    facts.push(h('span', { class: 'rate' }, fmtRate(run.rows_per_sec)));
    facts.push(h('span', { class: 'elapsed' }, `${fmtDuration(run.elapsed_secs || 0)} elapsed`));
    if (p) {
      facts.push(h('span', { class: 'pct' }, `${p.pct.toFixed(1)} %`));
      facts.push(h('span', { class: 'eta' }, p.etaSecs === null ? 'ETA unknown'
        : `ETA ${fmtDuration(p.etaSecs)}`));
    }
  } else {
    facts.push(h('span', { class: 'rows' }, `${fmtCount(run.rows || 0)} rows`));
    if (run.elapsed_secs !== undefined && run.elapsed_secs !== null) {
      facts.push(h('span', {}, `after ${fmtDuration(run.elapsed_secs)}`));
    }
    if (run.finished_at) facts.push(h('span', {}, 'ended ', timeEl(run.finished_at, { relative: true })));
    if (run.state === 'cancelled') facts.push(h('span', {}, 'nothing published'));
  }
  const cancelBtn = live && onCancel ? h('button', {
    type: 'button', class: 'small danger', 'data-focus': `cancel:${run.run_id}`,
    'aria-label': `Cancel run ${run.run_id}`, disabled: !!run.cancel_requested,
    onclick: () => onCancel(run),
  }, run.cancel_requested ? 'Cancelling…' : 'Cancel') : null;
  return h('div', { class: `live-run${live ? ' is-live' : ''}`, 'data-run': run.run_id, 'data-state': run.state,
    'data-cancel': run.cancel_requested ? 'requested' : null },
  h('div', { class: 'live-head' }, badge(st.key, st.label), h('span', { class: 'facts-line' }, facts), cancelBtn,
    extra),
  p ? progressBar(p, `Progress of run ${run.run_id}`) : null,
  !live && run.message ? messageEl(run.message, { cls: 'sub', key: `live-msg:${run.run_id}` }) : null);
}

/* ------------------------------------------------------------ logs */

const LOG_TIME = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});
function logTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const ms = String(d.getMilliseconds()).padStart(3, '0');
  return `${LOG_TIME.format(d)}.${ms}`;
}

function logLine(l) {
  const level = ['error', 'warn', 'info', 'debug'].includes(l.level) ? l.level : 'info';
  return h('div', { class: `log-line ${level}` },
    h('time', { datetime: l.at, title: l.at }, logTime(l.at)), ' ',
    h('span', { class: 'lvl' }, level.padEnd(5)), ' ',
    h('span', { class: 'text' }, l.message));
}

const panels = new Map(); // run_id -> {el, poll}

// The log panel of a run, created once per page and run. The page calls
// it again after each redraw and re-inserts the same element.
export function logPanel(ctx, runId) {
  const have = panels.get(runId);
  if (have && have.ctx === ctx) return have.el;
  const body = h('div', { class: 'log-lines', tabindex: 0, role: 'log', 'aria-label': `Log of run ${runId}` });
  const status = h('p', { class: 'log-status muted', 'aria-live': 'polite' }, 'Loading the log…');
  const el = h('div', { class: 'log-panel', id: `log-${runId}`, 'data-run': runId }, status, body);
  let shown = 0;
  let misses = 0; // 404s in a row
  const load = async () => {
    let data;
    try {
      data = await api('GET', `/api/runs/${enc(runId)}/log`);
    } catch (e) {
      // a run moving from live to recorded may be missing for a moment:
      // give up on a 404 only when it stays
      misses = e.status === 404 ? misses + 1 : 0;
      if (e.status === 404 && shown && misses < 5) return;
      status.textContent = e.status === 404 ? `No log for run ${runId} (${e.message}).` : e.message;
      status.classList.add('error');
      if (e.status === 404 && misses >= 5 && entry.poll) entry.poll.stop();
      return;
    }
    misses = 0;
    status.classList.remove('error');
    const lines = data && Array.isArray(data.lines) ? data.lines : [];
    const atEnd = body.scrollTop + body.clientHeight >= body.scrollHeight - 4;
    if (lines.length < shown) {
      body.replaceChildren();
      shown = 0;
    }
    for (const l of lines.slice(shown)) body.append(logLine(l));
    shown = lines.length;
    if (atEnd) body.scrollTop = body.scrollHeight;
    const complete = !!(data && data.complete);
    status.textContent = `${fmtCount(lines.length)} line${lines.length === 1 ? '' : 's'}` +
      (complete ? ' · complete' : ' · live, following the run');
    el.dataset.complete = complete ? 'true' : 'false';
    if (complete && entry.poll) entry.poll.stop();
  };
  const entry = { el, ctx, poll: null };
  panels.set(runId, entry);
  load().then(() => {
    if (ctx.alive && el.dataset.complete !== 'true' && misses < 5) entry.poll = ctx.poll(load, FAST_MS);
  });
  return el;
}

// Forget the panels of a page that is gone (called when a page starts).
export function dropPanels(ctx) {
  for (const [id, p] of panels) if (p.ctx !== ctx) panels.delete(id);
}
