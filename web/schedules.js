// schedules.js — the schedules table, one schedule's run history, and the
// create/edit form.
import { api, ApiError } from './api.js';
import {
  triggerWords, triggerWritten, scheduleHealth, fmtCount, fmtDuration, fmtBytes,
  scheduleFromForm, scheduleWithEnabled, splitInterval, matchField, outcomeKind, runCounts,
  runCountsText, hasNextRun, runIsLive,
} from './lib.js';
import {
  h, timeEl, badge, errorBox, confirmDialog, pageHead, replaceKeepingFocus, refreshRelative, messageEl,
} from './ui.js';
import { watchRuns, runForSchedule, liveRunView, cancelRun, logPanel, dropPanels } from './runs.js';

const enc = encodeURIComponent;
const schedPath = (id) => `/api/schedules/${enc(id)}`;

function listOf(data, key) {
  if (Array.isArray(data)) return data;
  return data && Array.isArray(data[key]) ? data[key] : [];
}

function healthBadge(s) {
  const hl = scheduleHealth(s);
  const why = s.paused_reason ? `paused: ${s.paused_reason}`
    : s.last_outcome && s.last_outcome.message ? s.last_outcome.message : null;
  return badge(hl.key, hl.label, why);
}

const OUTCOME_BADGE = {
  ok: ['ok', 'success'], failed: ['bad', 'failed'], cancelled: ['cancelled', 'cancelled'],
};

// The last outcome: badge, rows · duration · when, and for anything but a
// success its message in full (wrapping; a long one opens on demand).
function outcomeCell(o, key, max = 160) {
  if (!o) return h('span', { class: 'muted' }, 'never run');
  const kind = outcomeKind(o);
  const [cls, label] = OUTCOME_BADGE[kind] || OUTCOME_BADGE.failed;
  const rows = o.rows === null || o.rows === undefined ? '' : `${fmtCount(o.rows)} rows · `;
  return [
    badge(cls, label, kind === 'ok' ? o.message || null : null),
    h('span', { class: 'sub' }, `${rows}${fmtDuration(o.duration_secs)} · `, timeEl(o.at, { relative: true })),
    kind !== 'ok' && o.message ? messageEl(o.message, { cls: kind === 'failed' ? 'run-error' : 'sub',
      key: `outcome:${key}`, max }) : null,
  ];
}

// Next run: a paused schedule has none (next_run_at is only where it would
// resume); an enabled one shows "in 4 min" with the local time below.
function nextRunCell(s) {
  if (s.enabled === false) return h('span', { class: 'muted' }, '— paused');
  if (!hasNextRun(s)) return h('span', { class: 'muted' }, '—');
  return [timeEl(s.next_run_at, { relative: 'next' }), h('span', { class: 'sub' }, timeEl(s.next_run_at))];
}

// Succeeded / failed / total, each named (run_count counts successes only).
function countsCell(s) {
  const c = runCounts(s);
  return h('span', { class: 'counts', title: runCountsText(s) },
    h('span', { class: 'c-ok', title: 'succeeded' }, `${fmtCount(c.succeeded)} ✓`), ' ',
    h('span', { class: `c-bad${c.failed ? ' some' : ''}`, title: 'failed' }, `${fmtCount(c.failed)} ✕`),
    h('span', { class: 'sub' }, `of ${fmtCount(c.total)}`));
}

// A status line under the page title for actions (run now, pause...).
function flash(box, text, ok = true) {
  box.replaceChildren(ok ? h('p', { class: 'info-line', role: 'status' }, text) : errorBox(text));
}

async function runNow(id, box, after) {
  try {
    const r = await api('POST', `${schedPath(id)}/run`);
    flash(box, `Run of ${id} started${r && r.run_id ? ` (run ${r.run_id})` : ''}.`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) {
      flash(box, `${id} is already running${e.body && e.body.run_id ? ` (run ${e.body.run_id})` : ''}.`);
    } else {
      flash(box, e.message, false);
    }
  }
  after();
}

async function setEnabled(s, enabled, box, after) {
  try {
    // PUT replaces the user-settable fields: start from the current record
    const cur = await api('GET', schedPath(s.id));
    await api('PUT', schedPath(s.id), scheduleWithEnabled(cur, enabled));
    flash(box, `${s.id} ${enabled ? 'resumed' : 'paused'}.`);
  } catch (e) {
    flash(box, e.message, false);
  }
  after();
}

async function remove(id, box, after) {
  const ok = await confirmDialog(
    `Delete schedule "${id}"? Its definition is removed; its run history and the datasets it wrote stay.`);
  if (!ok) return false;
  try {
    await api('DELETE', schedPath(id));
    flash(box, `Schedule ${id} deleted.`);
    after();
    return true;
  } catch (e) {
    flash(box, e.message, false);
    after();
    return false;
  }
}

function actionButtons(s, box, refresh) {
  const id = s.id;
  return [
    h('button', { type: 'button', class: 'small', 'data-focus': `run:${id}`,
      'aria-label': `Run ${id} now`, onclick: () => runNow(id, box, refresh) }, 'Run now'),
    h('button', { type: 'button', class: 'small', 'data-focus': `pause:${id}`,
      'aria-label': `${s.enabled ? 'Pause' : 'Resume'} ${id}`,
      onclick: () => setEnabled(s, !s.enabled, box, refresh) }, s.enabled ? 'Pause' : 'Resume'),
    h('button', { type: 'button', class: 'small', 'data-focus': `edit:${id}`,
      'aria-label': `Edit ${id}`, onclick: () => { location.hash = `#/schedules/${enc(id)}/edit`; } }, 'Edit'),
    h('button', { type: 'button', class: 'small danger', 'data-focus': `del:${id}`,
      'aria-label': `Delete ${id}`, onclick: () => remove(id, box, refresh) }, 'Delete'),
  ];
}

const LIST_COLS = 10;

function scheduleRow(s, box, refresh) {
  const k = s.kind || {};
  const dataset = k.dataset_name || k.table;
  return h('tr', { 'data-id': s.id, class: 'sched' },
    h('td', {}, h('a', { href: `#/schedules/${enc(s.id)}` }, s.id),
      s.description ? h('span', { class: 'sub' }, s.description) : null),
    h('td', {}, k.type || '?', h('span', { class: 'sub', title: k.dsn || '' }, k.mode || '')),
    h('td', { class: 'tbl' }, k.query ? h('span', { class: 'muted', title: k.query }, 'query')
      : h('span', { class: 'mono' }, k.table), ' → ',
      h('a', { href: `#/datasets/${enc(dataset)}` }, dataset)),
    h('td', {}, triggerWords(s.trigger), h('span', { class: 'sub mono' }, triggerWritten(s.trigger))),
    h('td', {}, s.enabled ? 'yes' : 'no'),
    h('td', { class: 'next' }, nextRunCell(s)),
    h('td', { class: 'outcome' }, outcomeCell(s.last_outcome, s.id, 90)),
    h('td', { class: 'num' }, countsCell(s)),
    h('td', {}, healthBadge(s)),
    h('td', { class: 'actions' }, h('div', { class: 'btns' }, actionButtons(s, box, refresh))));
}

// The schedule JSON without what changes while a run goes on, so the
// table is rebuilt only when a schedule changed (the run line below a row
// is updated in place).
function stable(items) {
  return JSON.stringify(items.map((s) => ({ ...s, active_run: undefined })));
}

export async function list(main, _params, ctx) {
  dropPanels(ctx);
  const box = h('div', { 'aria-live': 'polite' });
  const oneShots = h('div', { id: 'one-shot-runs' });
  const body = h('div', { class: 'card' }, h('p', { class: 'empty' }, 'Loading schedules…'));
  const count = h('span');
  main.append(
    pageHead('Schedules', count,
      h('a', { class: 'button primary', href: '#/schedules/new' }, 'New schedule')),
    box, oneShots, body);
  let last = '';
  let items = [];
  let sched = { kick() {} }; // the schedules poll, once started
  const flashBox = (text, ok) => flash(box, text, ok);

  // the run line under each schedule row that has a live (or just ended) run
  const drawLive = () => {
    const tbody = body.querySelector('#schedules tbody');
    if (tbody) {
      for (const s of items) {
        const row = tbody.querySelector(`tr.sched[data-id="${CSS.escape(s.id)}"]`);
        if (!row) continue;
        const run = runForSchedule(watch, s);
        let line = row.nextElementSibling && row.nextElementSibling.classList.contains('run-line')
          ? row.nextElementSibling : null;
        if (!run) {
          if (line) line.remove();
          row.classList.remove('has-run');
          continue;
        }
        if (!line) {
          line = h('tr', { class: 'run-line', 'data-for': s.id }, h('td', { colspan: LIST_COLS }));
          row.after(line);
        }
        row.classList.add('has-run');
        line.dataset.state = run.state;
        replaceKeepingFocus(line.firstChild, liveRunView(run, watch, {
          onCancel: (r) => cancelRun(r, watch, { flash: flashBox, after: drawLive }),
        }));
      }
    }
    // runs of no schedule (POST /api/ingest)
    const loose = [...watch.runs.values()].filter((r) => !r.schedule_id);
    replaceKeepingFocus(oneShots, loose.length ? h('div', { class: 'card pad one-shots' },
      h('h2', {}, 'One-shot ingests running'),
      loose.map((r) => h('div', {}, h('span', { class: 'mono' }, r.dataset || r.run_id), liveRunView(r, watch, {
        onCancel: (x) => cancelRun(x, watch, { flash: flashBox, after: drawLive }),
      })))) : []);
  };

  const refresh = async () => {
    let data;
    try {
      data = await api('GET', '/api/schedules');
    } catch (e) {
      if (!ctx.alive) return;
      if (e.status === 404) {
        replaceKeepingFocus(body, errorBox(`This server has no schedule API yet (${e.message}).`));
      } else {
        replaceKeepingFocus(body, errorBox(e.message));
      }
      last = '';
      return;
    }
    if (!ctx.alive) return;
    items = listOf(data, 'schedules');
    count.textContent = `${items.length} schedule${items.length === 1 ? '' : 's'} · refreshed live`;
    // a schedule shows a run the watcher has not seen yet: look now
    if (items.some((s) => (s.running || runIsLive(s.active_run)) && !runForSchedule(watch, s))) watch.wake();
    const json = stable(items);
    if (json === last) {
      refreshRelative(body);
      drawLive();
      return;
    }
    last = json;
    if (!items.length) {
      replaceKeepingFocus(body, h('p', { class: 'empty' }, 'No schedules yet. ',
        h('a', { href: '#/schedules/new' }, 'Create one'), ' to copy a PostgreSQL or MySQL table on a timer.'));
      drawLive();
      return;
    }
    replaceKeepingFocus(body, h('table', { class: 'data', id: 'schedules' },
      h('thead', {}, h('tr', {},
        ['Id', 'Source', 'Table → dataset', 'Trigger', 'Enabled', 'Next run', 'Last outcome']
          .map((t) => h('th', { scope: 'col' }, t)),
        h('th', { scope: 'col', class: 'num', title: 'succeeded ✓, failed ✕, of all counted runs' }, 'Runs'),
        h('th', { scope: 'col' }, 'Health'),
        h('th', { scope: 'col', class: 'actions' }, h('span', { class: 'skip' }, 'Actions')))),
      h('tbody', {}, items.map((s) => scheduleRow(s, box, () => { watch.wake(); sched.kick(); })))));
    drawLive();
  };
  const watch = watchRuns(ctx, {
    onChange: drawLive,
    onFinished: () => sched.kick(), // its outcome and counters changed
  });
  await refresh();
  await watch.first();
  if (ctx.alive) sched = ctx.poll(refresh, 3000);
}

/* ------------------------------------------------------------ detail */

const CHART_W = 560;
const CHART_H = 140;

// One bar chart (inline SVG): runs oldest to newest, failed runs in red
// with a cross under the bar, the maximum labelled.
function barChart(title, runs, value, fmt) {
  const vals = runs.map(value);
  const max = Math.max(...vals.map((v) => v || 0), 0);
  const n = runs.length;
  const pad = { l: 8, r: 8, t: 14, b: 16 };
  // one slot per run, at most 40 units wide, so a short history stays thin
  const w = Math.min((CHART_W - pad.l - pad.r) / Math.max(n, 1), 40);
  const ih = CHART_H - pad.t - pad.b;
  const bars = runs.map((r, i) => {
    const v = vals[i] || 0;
    const bh = max > 0 ? Math.max((v / max) * ih, v > 0 ? 1 : 0) : 0;
    const x = pad.l + i * w + w * 0.15;
    const failed = recordKind(r) === 'failed';
    return [
      h('svg:rect', { class: `bar${failed ? ' failed' : ''}`, x: x.toFixed(1),
        y: (pad.t + ih - bh).toFixed(1), width: Math.max(w * 0.7, 1).toFixed(1), height: bh.toFixed(1) },
      h('svg:title', {}, `${r.started_at || r.run_id}: ${fmt(value(r))}${failed ? ' (failed)' : ''}`)),
      failed ? h('svg:text', { x: (x + w * 0.35).toFixed(1), y: CHART_H - 3, 'text-anchor': 'middle',
        class: 'x' }, '✕') : null,
    ];
  });
  const desc = `${title} for the last ${n} runs, oldest first; maximum ${fmt(max)}`;
  return h('div', { class: 'card chart' }, h('h3', {}, title,
    h('span', { class: 'muted small' }, n === 1 ? ' · last run' : ` · last ${n} runs, oldest left`)),
    h('svg:svg', { viewBox: `0 0 ${CHART_W} ${CHART_H}`, role: 'img', 'aria-label': desc },
    h('svg:line', { class: 'axis', x1: pad.l, x2: CHART_W - pad.r, y1: pad.t + ih, y2: pad.t + ih }),
    h('svg:text', { x: pad.l, y: 10 }, `max ${fmt(max)}`),
    bars));
}

// A history record's outcome: success, failed (or timeout), cancelled.
function recordKind(r) {
  const o = r.outcome || r.status;
  if (o === 'cancelled') return 'cancelled';
  if (r.success === true || o === 'success') return 'ok';
  return 'failed';
}

function logButton(runId, open, toggle) {
  return h('button', { type: 'button', class: 'small', 'data-focus': `log:${runId}`, 'aria-expanded': open ? 'true' : 'false',
    'aria-controls': `log-${runId}`, 'aria-label': `${open ? 'Hide' : 'Show'} the log of run ${runId}`,
    onclick: () => toggle(runId) }, open ? 'Hide log' : 'Log');
}

const RUN_COLS = 8;

function runRow(r, open, toggle) {
  const kind = recordKind(r);
  const [cls, label] = OUTCOME_BADGE[kind];
  const text = r.error || r.message || '';
  return h('tr', { 'data-run': r.run_id, class: `run ${kind}` },
    h('td', {}, timeEl(r.started_at), h('span', { class: 'sub mono' }, r.run_id)),
    h('td', {}, badge(cls, kind === 'failed' && r.outcome && r.outcome !== 'failed' ? r.outcome : label)),
    h('td', {}, r.reason || '—', r.attempt ? h('span', { class: 'sub' }, `retry ${r.attempt}`) : null),
    h('td', { class: 'num' }, fmtCount(r.rows)),
    h('td', { class: 'num' }, fmtBytes(r.bytes)),
    h('td', { class: 'num' }, fmtDuration(r.duration_secs)),
    h('td', { class: 'message' }, text ? messageEl(text, { cls: kind === 'failed' ? 'run-error' : 'muted',
      key: `run-msg:${r.run_id}` }) : null),
    h('td', { class: 'actions' }, r.run_id ? logButton(r.run_id, open, toggle) : null));
}

// The row that holds a run's log panel; placePanels() puts the panel in.
function logRow(runId) {
  return h('tr', { class: 'log-row', 'data-log-for': runId }, h('td', { colspan: RUN_COLS }));
}

// One panel element per run, in the one row that shows it: after a redraw
// of either body, each open log row gets its run's panel (a node lives in
// one place, so building rows must not move it around by accident).
function placePanels(ctx, table) {
  for (const tr of table.querySelectorAll('tr.log-row[data-log-for]')) {
    const panel = logPanel(ctx, tr.dataset.logFor);
    if (panel.parentNode !== tr.firstChild) tr.firstChild.append(panel);
  }
}

// What the schedule copies and how a run treats the dataset: the query
// (whole, wrapping), the columns and where of a table, the schema policy,
// the parallel connections and replace_source.
function sourceFacts(k) {
  return [
    k.query ? [h('dt', {}, 'Query'), h('dd', {}, h('pre', { class: 'sql-text', id: 'sched-query' }, k.query))] : null,
    k.query ? null : [
      h('dt', {}, 'Columns'), h('dd', { id: 'sched-columns', class: k.columns ? 'mono' : 'muted' },
        k.columns ? k.columns.split(',').join(', ') : 'every column'),
      h('dt', {}, 'Where'), h('dd', { id: 'sched-where' }, k.where
        ? h('pre', { class: 'sql-text' }, k.where) : h('span', { class: 'muted' }, 'every row')),
    ],
  ];
}

function policyFacts(k) {
  const policy = k.schema_policy || 'evolve';
  const help = (POLICIES.find(([v]) => v === policy) || [])[2];
  return [
    h('dt', {}, 'Schema policy'), h('dd', { id: 'sched-policy' }, h('strong', {}, policy),
      help ? h('span', { class: 'sub' }, help) : null),
    h('dt', {}, 'Parallel'), h('dd', { id: 'sched-parallel' }, k.parallel === 'auto' ? 'auto (by the table\'s size)'
      : k.parallel > 1 ? `${k.parallel} connections` : '1 connection'),
    h('dt', {}, 'Replace source'), h('dd', { id: 'sched-replace' }, k.replace_source
      ? badge('warn', 'allowed', 'a run may replace the dataset\'s source') : 'no (a run reading another source fails)'),
    h('dt', {}, 'Resume'), h('dd', { id: 'sched-no-resume' }, k.no_resume
      ? [badge('idle', 'off', 'kind.no_resume'), ' every run loads from zero (kind.no_resume)']
      : ['on ', h('span', { class: 'sub' },
        'a run after a failed load in key order (--order-by, MySQL parallel) keeps its finished parts and reads only the rest')]),
  ];
}

export async function detail(main, [id], ctx) {
  dropPanels(ctx);
  const box = h('div', { 'aria-live': 'polite' });
  const head = h('div');
  const facts = h('div');
  const charts = h('div', { class: 'charts' });
  const hist = h('div', { class: 'card' }, h('p', { class: 'empty' }, 'Loading runs…'));
  const pager = h('div', { class: 'pager' });
  // the runs (a live one first) before the charts: what is going on now
  // is what the page is opened for
  main.append(h('div', { class: 'crumbs' }, h('a', { href: '#/schedules' }, 'Schedules'), ' / ', id),
    head, box, facts, h('h2', {}, 'Runs'), hist, pager, charts);
  const cursors = ['']; // cursor of each page shown so far; last = current
  const PAGE = 20;
  const openLogs = new Set(); // run ids whose log panel is open
  const liveBody = h('tbody', { id: 'live-runs' });
  const histBody = h('tbody', { id: 'history' });
  let histRuns = []; // the records shown
  let sched = null; // the schedule as last read
  let poll = { kick() {} };
  const flashBox = (text, ok) => flash(box, text, ok);

  const toggleLog = (runId) => {
    if (openLogs.has(runId)) openLogs.delete(runId);
    else openLogs.add(runId);
    drawLive();
    drawHistRows();
    const b = hist.querySelector(`[data-focus="log:${CSS.escape(runId)}"]`);
    if (b) b.focus();
  };

  // live runs of this schedule (page 1 only), and a just-ended one until the
  // history lists it
  const liveRuns = () => {
    if (cursors.length > 1) return [];
    // a run the history lists has ended, whatever a slower list said
    const inHist = new Set(histRuns.map((r) => r.run_id));
    const out = new Map();
    for (const r of watch.runs.values()) out.set(r.run_id, r);
    if (sched && runIsLive(sched.active_run) && !watch.finished.has(sched.active_run.run_id)) {
      if (!out.has(sched.active_run.run_id)) out.set(sched.active_run.run_id, sched.active_run);
    }
    for (const { run } of watch.finished.values()) out.set(run.run_id, run);
    return [...out.values()].filter((r) => !inHist.has(r.run_id));
  };

  const drawLive = () => {
    const rows = [];
    for (const r of liveRuns()) {
      const open = openLogs.has(r.run_id);
      rows.push(h('tr', { class: `live-row${runIsLive(r) ? ' is-live' : ''}`, 'data-run': r.run_id, 'data-state': r.state },
        h('td', {}, r.started_at ? timeEl(r.started_at) : h('span', { class: 'muted' }, 'not started'),
          h('span', { class: 'sub mono' }, r.run_id)),
        h('td', { colspan: RUN_COLS - 2 }, liveRunView(r, watch, {
          onCancel: (x) => cancelRun(x, watch, { flash: flashBox, after: drawLive }),
        })),
        h('td', { class: 'actions' }, logButton(r.run_id, open, toggleLog))));
      if (open) rows.push(logRow(r.run_id));
    }
    replaceKeepingFocus(liveBody, rows);
    placePanels(ctx, runsTable);
    ensureTable();
  };

  const drawHistRows = () => {
    const rows = [];
    for (const r of histRuns) {
      const open = !!r.run_id && openLogs.has(r.run_id);
      rows.push(runRow(r, open, toggleLog));
      if (open) rows.push(logRow(r.run_id));
    }
    replaceKeepingFocus(histBody, rows);
    placePanels(ctx, runsTable);
  };

  // the table holds both bodies; it shows once there is a run of any kind
  const runsTable = h('table', { class: 'data', id: 'runs' },
    h('thead', {}, h('tr', {}, ['Started', 'Outcome', 'Trigger reason'].map((t) => h('th', { scope: 'col' }, t)),
      ['Rows', 'Bytes', 'Duration'].map((t) => h('th', { scope: 'col', class: 'num' }, t)),
      h('th', { scope: 'col' }, 'Message / error'),
      h('th', { scope: 'col', class: 'actions' }, h('span', { class: 'skip' }, 'Log')))),
    liveBody, histBody);
  const ensureTable = () => {
    const any = liveBody.children.length || histBody.children.length;
    if (any && runsTable.parentNode !== hist) hist.replaceChildren(runsTable);
    // no run (also on the first draw: "Loading runs…" must not stay)
    const none = cursors.length > 1 ? 'No older runs.' : 'No runs yet.';
    if (!any && hist.textContent !== none) hist.replaceChildren(h('p', { class: 'empty' }, none));
  };

  const drawSchedule = async () => {
    let s;
    try {
      s = await api('GET', schedPath(id));
    } catch (e) {
      if (ctx.alive) replaceKeepingFocus(head, pageHead(id, null), errorBox(e.message));
      return false;
    }
    if (!ctx.alive) return false;
    sched = s;
    if ((s.running || runIsLive(s.active_run)) && !watch.runs.size) watch.wake();
    const k = s.kind || {};
    const dataset = k.dataset_name || k.table;
    replaceKeepingFocus(head, pageHead(h('span', {}, id, ' ', healthBadge(s)),
      `${k.type} ${k.query ? 'query' : k.table} → ${dataset} · ${triggerWords(s.trigger)}`,
      h('div', { class: 'inline' }, actionButtons(s, box, () => { watch.wake(); poll.kick(); })
        .map((b) => {
          if (b.textContent === 'Delete') {
            b.onclick = null;
            const nb = b.cloneNode(true);
            nb.addEventListener('click', async () => {
              if (await remove(id, box, () => {})) location.hash = '#/schedules';
            });
            return nb;
          }
          return b;
        }))));
    replaceKeepingFocus(facts, h('div', { class: 'card pad' }, h('dl', { class: 'facts' },
      h('dt', {}, 'Source'), h('dd', { class: 'mono' }, `${k.type} ${k.dsn}`),
      k.query ? sourceFacts(k) : null,
      h('dt', {}, k.query ? 'Query → dataset' : 'Table → dataset'), h('dd', {},
        k.query ? 'the query above' : h('span', { class: 'mono' }, k.table), ' → ',
        h('a', { href: `#/datasets/${enc(dataset)}` }, dataset), ` (${k.mode || 'overwrite'}` +
        (k.cursor_column ? `, cursor ${k.cursor_column}` : '') + ')'),
      k.query ? null : sourceFacts(k),
      policyFacts(k),
      h('dt', {}, 'Trigger'), h('dd', {}, triggerWords(s.trigger), ' — ',
        h('span', { class: 'mono' }, triggerWritten(s.trigger))),
      h('dt', {}, 'Enabled'), h('dd', {}, s.enabled ? 'yes' : `no${s.paused_reason ? ` (${s.paused_reason})` : ''}`),
      h('dt', {}, 'Next run'), h('dd', { class: 'next' }, hasNextRun(s)
        ? [timeEl(s.next_run_at, { relative: 'next' }), ' · ', timeEl(s.next_run_at)]
        : h('span', { class: 'muted' }, s.enabled === false ? 'none while paused (resume to schedule it)' : '—')),
      h('dt', {}, 'Last outcome'), h('dd', { class: 'outcome' }, outcomeCell(s.last_outcome, `detail:${id}`)),
      h('dt', {}, 'Runs'), h('dd', { class: 'counts', title: 'a cancelled run counts as neither' },
        runCountsText(s)),
      h('dt', {}, 'Created'), h('dd', {}, timeEl(s.created_at), s.created_by ? ` by ${s.created_by}` : ''))));
    drawLive();
    return true;
  };

  let lastRuns = '';
  const drawRuns = async () => {
    const cur = cursors.at(-1);
    let data;
    try {
      data = await api('GET', `${schedPath(id)}/runs?limit=${PAGE}${cur ? `&cursor=${enc(cur)}` : ''}`);
    } catch (e) {
      if (ctx.alive) replaceKeepingFocus(hist, errorBox(e.message));
      lastRuns = '';
      return;
    }
    if (!ctx.alive) return;
    const runs = listOf(data, 'runs');
    const next = data && data.next_cursor ? data.next_cursor : null;
    const json = JSON.stringify([runs, next, cursors.length]);
    if (json === lastRuns) {
      refreshRelative(main);
      return;
    }
    lastRuns = json;
    histRuns = runs;
    // the history has a run the watcher still holds live: let it settle now
    if (runs.some((r) => watch.runs.has(r.run_id))) watch.wake();
    const oldestFirst = [...runs].reverse();
    charts.replaceChildren(...(runs.length ? [
      barChart('Rows per run', oldestFirst, (r) => r.rows || 0, fmtCount),
      barChart('Duration per run', oldestFirst, (r) => r.duration_secs || 0, fmtDuration),
    ] : []));
    drawHistRows();
    drawLive();
    replaceKeepingFocus(pager,
      h('button', { type: 'button', 'data-focus': 'newer', disabled: cursors.length <= 1,
        onclick: () => { cursors.pop(); lastRuns = ''; drawRuns(); } }, '← Newer'),
      h('span', { class: 'muted' }, `Page ${cursors.length}`),
      h('button', { type: 'button', 'data-focus': 'older', disabled: !next,
        onclick: () => { cursors.push(next); lastRuns = ''; drawRuns(); } }, 'Older →'));
  };

  const watch = watchRuns(ctx, {
    schedule: id,
    onChange: drawLive,
    onFinished: () => poll.kick(), // the history and counters have the run now
  });
  await watch.first();
  if (await drawSchedule()) await drawRuns();
  if (ctx.alive) {
    poll = ctx.poll(async () => {
      if (await drawSchedule()) await drawRuns();
    }, 4000);
  }
}

/* ------------------------------------------------------------ form */

const FIELDS = ['id', 'kind.type', 'kind.dsn', 'password', 'kind.table', 'kind.query', 'kind.columns',
  'kind.where', 'kind.dataset_name', 'kind.mode', 'kind.cursor_column', 'kind.schema_policy',
  'kind.parallel', 'kind.replace_source', 'kind.no_resume', 'trigger.type', 'trigger.secs', 'trigger.expr', 'trigger.tz',
  'enabled'];

// What a run does when the source's columns differ from the dataset's
// (docs/ingest.md, Schema policy): value, label, the one line of help.
const POLICIES = [
  ['evolve', 'evolve (default)', 'added columns and widened types are accepted; a dropped or narrowed column fails the run'],
  ['fail', 'fail', 'any change of the columns fails the run, naming the columns that changed and how'],
  ['replace', 'replace', 'anything goes: the new columns replace the old ones'],
];

// "a, b ,c" -> "a,b,c" (empty entries dropped); "" for none.
export function columnsList(text) {
  return String(text || '').split(',').map((c) => c.trim()).filter(Boolean).join(',');
}

// The source settings of the form onto a schedule's kind (a copy of the
// stored one, so what the form does not show is kept): a table with its
// columns and where, or a query; the schema policy, parallel connections
// and replace_source, no_resume (when the form says; written only when
// true), under the names the API takes (docs/schedules.md).
export function kindWithSource(kind, v) {
  const k = { ...kind };
  if (v.source === 'query') {
    k.query = v.query.trim();
    delete k.table;
    delete k.columns;
    delete k.where;
  } else {
    delete k.query;
    k.table = v.table.trim();
    const cols = columnsList(v.columns);
    if (cols) k.columns = cols;
    else delete k.columns;
    const where = v.where.trim();
    if (where) k.where = where;
    else delete k.where;
  }
  k.schema_policy = v.schema_policy || 'evolve';
  if (v.parallel === 'auto') k.parallel = 'auto';
  else if (Number(v.parallel) > 1) k.parallel = Number(v.parallel);
  else delete k.parallel; // absent: one connection
  k.replace_source = !!v.replace_source;
  if ('no_resume' in v) {
    if (v.no_resume) k.no_resume = true;
    else delete k.no_resume; // absent: a failed load in key order is resumed
  }
  return k;
}

// Whether the form names another source than the stored schedule (what
// a run compares: the server, the table or the query).
function sourceChanged(stored, v) {
  if (!stored) return false;
  const k = stored.kind || {};
  const storedMode = k.query ? 'query' : 'table';
  if (storedMode !== v.source || (k.type || 'postgres') !== v.type || (k.dsn || '') !== v.dsn.trim()) return true;
  return v.source === 'query' ? (k.query || '').trim() !== v.query.trim() : (k.table || '') !== v.table.trim();
}

function field(name, label, input, hint, control = input) {
  const errId = `err-${name.replace(/\./g, '-')}`;
  input.setAttribute('aria-describedby', `${errId}${hint ? ` hint-${errId}` : ''}`);
  input.dataset.field = name;
  return h('div', { class: 'field', 'data-for': name },
    h('label', { for: input.id }, label), control,
    hint ? h('p', { class: 'hint', id: `hint-${errId}` }, hint) : null,
    h('p', { class: 'field-error', id: errId, hidden: true }));
}

function setFieldError(form, name, msg) {
  const errId = `err-${name.replace(/\./g, '-')}`;
  const el = form.querySelector(`#${CSS.escape(errId)}`);
  const input = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (el) {
    el.textContent = msg;
    el.hidden = false;
  }
  if (input) input.setAttribute('aria-invalid', 'true');
  return input;
}

// The errors shown next to fields (p#err-…); the cron preview's own message
// stays, it is about what the field holds now.
function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error[id^="err-"]')) {
    el.hidden = true;
    el.textContent = '';
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

const input = (id, attrs = {}) => h('input', { id, name: id, type: 'text', ...attrs });

export async function form(main, params, ctx) {
  const editing = params.length ? params[0] : null;
  let stored = null;
  if (editing) {
    try {
      stored = await api('GET', schedPath(editing));
    } catch (e) {
      main.append(pageHead(`Edit ${editing}`), errorBox(e.message));
      return;
    }
  }
  if (!ctx.alive) return;
  const k = stored ? stored.kind : {};
  const t = stored ? stored.trigger : { type: 'interval', secs: 3600 };
  const iv = splitInterval(t.type === 'interval' ? t.secs : 3600);

  const f = {
    id: input('f-id', { value: stored ? stored.id : '', readonly: !!stored, autocomplete: 'off',
      spellcheck: 'false' }),
    type: h('select', { id: 'f-type' }, ['postgres', 'mysql'].map((v) =>
      h('option', { value: v, selected: (k.type || 'postgres') === v }, v === 'postgres' ? 'PostgreSQL' : 'MySQL / MariaDB'))),
    dsn: input('f-dsn', { value: k.dsn || '', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'postgresql://user@host:5432/db' }),
    password: input('f-password', { type: 'password', autocomplete: 'new-password',
      placeholder: stored ? 'unchanged' : '' }),
    table: input('f-table', { value: k.table || '', spellcheck: 'false', placeholder: 'public.customers' }),
    dataset: input('f-dataset', { value: k.dataset_name || '', spellcheck: 'false',
      placeholder: 'same as the table' }),
    mode: h('select', { id: 'f-mode' }, ['overwrite', 'append', 'incremental'].map((v) =>
      h('option', { value: v, selected: (k.mode || 'overwrite') === v }, v))),
    cursor: input('f-cursor', { value: k.cursor_column || '', spellcheck: 'false' }),
    every: input('f-every', { type: 'number', min: 1, step: 1, value: String(iv.n) }),
    unit: h('select', { id: 'f-unit', 'aria-label': 'Interval unit' }, [[1, 'seconds'], [60, 'minutes'],
      [3600, 'hours'], [86400, 'days']].map(([v, l]) => h('option', { value: v, selected: iv.unit === v }, l))),
    cron: input('f-cron', { value: t.type === 'cron' ? t.expr : '', spellcheck: 'false',
      placeholder: '0 2 * * *', class: 'mono' }),
    tz: input('f-tz', { value: t.type === 'cron' ? t.tz || '' : '', spellcheck: 'false', placeholder: 'UTC',
      list: 'tz-list' }),
    enabled: h('input', { id: 'f-enabled', type: 'checkbox', checked: stored ? stored.enabled : true }),
  };
  const trigInterval = h('input', { type: 'radio', name: 'trigger_type', id: 'f-tt-interval', value: 'interval',
    checked: t.type !== 'cron' });
  const trigCron = h('input', { type: 'radio', name: 'trigger_type', id: 'f-tt-cron', value: 'cron',
    checked: t.type === 'cron' });
  const formError = h('div', { class: 'form-error', 'aria-live': 'assertive' });
  const preview = h('div', { class: 'preview', id: 'cron-preview', 'aria-live': 'polite' });

  const intervalBox = field('trigger.secs', 'Every', f.every, null,
    h('div', { class: 'inline' }, f.every, f.unit));
  const cronBox = h('div', {},
    h('div', { class: 'row' },
      field('trigger.expr', 'Cron expression', f.cron, 'minute hour day-of-month month day-of-week, or @daily'),
      field('trigger.tz', 'Time zone', f.tz, 'IANA name, e.g. Europe/Berlin; default UTC')),
    preview);
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const tzList = h('datalist', { id: 'tz-list' }, ['UTC', ...zones].map((z) => h('option', { value: z })));

  const enabledField = h('div', { class: 'field', 'data-for': 'enabled' },
    h('label', {}, f.enabled, ' Enabled (a new schedule runs at once, then on its trigger)'),
    h('p', { class: 'field-error', id: 'err-enabled', hidden: true }));
  f.enabled.dataset.field = 'enabled';

  const storedQuery = !!(k.query && k.query.length);
  f.srcTable = h('input', { type: 'radio', name: 'source_mode', id: 'f-src-table', value: 'table',
    checked: !storedQuery });
  f.srcQuery = h('input', { type: 'radio', name: 'source_mode', id: 'f-src-query', value: 'query',
    checked: storedQuery });
  f.query = h('textarea', { id: 'f-query', name: 'f-query', class: 'mono', rows: 6, spellcheck: 'false',
    placeholder: 'SELECT id, total FROM sales.orders WHERE status = \'paid\'' }, k.query || '');
  f.columns = input('f-columns', { value: k.columns || '', spellcheck: 'false', class: 'mono',
    placeholder: 'all columns' });
  f.where = h('textarea', { id: 'f-where', name: 'f-where', class: 'mono', rows: 2, spellcheck: 'false',
    placeholder: 'every row' }, k.where || '');
  f.policy = h('select', { id: 'f-policy' }, POLICIES.map(([v, l]) =>
    h('option', { value: v, selected: (k.schema_policy || 'evolve') === v }, l)));
  const par = k.parallel === 'auto' ? 'auto' : String(k.parallel || 1);
  f.parallel = h('select', { id: 'f-parallel' },
    h('option', { value: '1', selected: par === '1' }, '1 (one connection)'),
    Array.from({ length: 15 }, (_, i) => String(i + 2)).map((n) =>
      h('option', { value: n, selected: par === n }, n)),
    h('option', { value: 'auto', selected: par === 'auto' }, 'auto'));
  f.replace = h('input', { id: 'f-replace', type: 'checkbox', checked: !!k.replace_source });
  f.replace.dataset.field = 'kind.replace_source';
  const policyHelp = h('ul', { class: 'hint choices', id: 'policy-help' }, POLICIES.map(([v, , help]) =>
    h('li', { 'data-policy': v }, h('strong', {}, v), ': ', help)));
  const replaceNote = h('p', { class: 'notice', id: 'source-changed', role: 'status', hidden: true });
  const replaceField = h('div', { class: 'field', 'data-for': 'kind.replace_source' },
    h('label', {}, f.replace, ' Replace source'),
    h('p', { class: 'hint', id: 'hint-err-kind-replace_source' },
      'let a run replace the dataset\'s source (another server, database, table or query); ' +
      'without it such a run fails naming both sources. Stays set until you clear it.'),
    replaceNote,
    h('p', { class: 'field-error', id: 'err-kind-replace_source', hidden: true }));
  f.replace.setAttribute('aria-describedby', 'err-kind-replace_source hint-err-kind-replace_source');
  f.noResume = h('input', { id: 'f-no-resume', type: 'checkbox', checked: !!k.no_resume });
  f.noResume.dataset.field = 'kind.no_resume';
  f.noResume.setAttribute('aria-describedby', 'err-kind-no_resume hint-err-kind-no_resume');
  const noResumeField = h('div', { class: 'field', 'data-for': 'kind.no_resume' },
    h('label', {}, f.noResume, ' Always load from zero (no resume)'),
    h('p', { class: 'hint', id: 'hint-err-kind-no_resume' },
      'unchecked (the default): after an ordered load on a unique key fails, the next run keeps its finished ' +
      'parts and reads only the rest (docs/ingest.md, Resumable loads). Checked: every run reads the whole source.'),
    h('p', { class: 'field-error', id: 'err-kind-no_resume', hidden: true }));
  const tableBox = h('div', { id: 'source-table' },
    field('kind.table', 'Table', f.table, 'table, schema.table or "Mixed Case"'),
    field('kind.columns', 'Columns', f.columns, 'comma list, e.g. id, amount, region; empty: every column'),
    field('kind.where', 'Where', f.where,
      'your own SQL condition, sent to the server as you write it (inside the read-only transaction), ' +
      'e.g. region = \'eu\'; empty: every row'));
  const queryBox = h('div', { id: 'source-query' },
    field('kind.query', 'Query', f.query,
      'one read-only SELECT, run in a read-only transaction; its columns and types come from the result. ' +
      'Needs a dataset name.'));

  const el = h('form', { class: 'card sched', novalidate: true, id: 'schedule-form' },
    formError,
    h('fieldset', {}, h('legend', {}, 'Schedule'),
      field('id', 'Id', f.id, stored ? 'ids cannot change' : 'letters, digits, - and _; e.g. customers-hourly'),
      enabledField),
    h('fieldset', {}, h('legend', {}, 'Source'),
      field('kind.type', 'Kind', f.type),
      field('kind.dsn', 'Connection string (DSN)', f.dsn,
        stored ? 'shown with the password hidden (***); leave it to keep the stored password'
          : 'without the password: type it below'),
      field('password', 'Password', f.password,
        stored ? 'leave empty to keep the stored password' : 'sent once, stored encrypted, never shown again'),
      h('div', { class: 'field' }, h('span', { class: 'label', id: 'l-source-mode' }, 'What to copy'),
        h('div', { class: 'radios', role: 'radiogroup', 'aria-labelledby': 'l-source-mode' },
          h('label', {}, f.srcTable, ' A table'), h('label', {}, f.srcQuery, ' A query'))),
      tableBox, queryBox,
      field('kind.parallel', 'Parallel connections', f.parallel,
        'connections reading one PostgreSQL or MySQL/MariaDB table in one snapshot; ' +
        'auto: by the table\'s size; a query is read on one')),
    h('fieldset', {}, h('legend', {}, 'Destination'),
      h('div', { class: 'row' }, field('kind.dataset_name', 'Dataset name', f.dataset),
        field('kind.mode', 'Mode', f.mode, 'overwrite: each run replaces; append; incremental: rows past the cursor')),
      field('kind.cursor_column', 'Cursor column (incremental)', f.cursor),
      field('kind.schema_policy', 'Schema policy', f.policy, null,
        h('div', {}, f.policy, policyHelp)),
      replaceField, noResumeField),
    h('fieldset', {}, h('legend', {}, 'Trigger'),
      h('div', { class: 'radios', role: 'radiogroup', 'aria-label': 'Trigger type' },
        h('label', {}, trigInterval, ' Interval'), h('label', {}, trigCron, ' Cron')),
      intervalBox, cronBox, tzList),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'primary' }, stored ? 'Save changes' : 'Create schedule'),
      h('a', { class: 'button', href: stored ? `#/schedules/${enc(stored.id)}` : '#/schedules' }, 'Cancel')));

  const syncSource = () => {
    const q = f.srcQuery.checked;
    tableBox.hidden = q;
    queryBox.hidden = !q;
    f.dataset.placeholder = q ? 'required with a query' : 'same as the table';
  };
  const syncPolicy = () => {
    for (const li of policyHelp.children) li.classList.toggle('on', li.dataset.policy === f.policy.value);
  };
  // an edit that names another source: say what the dataset will do
  const syncReplace = () => {
    const v = { source: f.srcQuery.checked ? 'query' : 'table', type: f.type.value, dsn: f.dsn.value,
      table: f.table.value, query: f.query.value };
    const changed = sourceChanged(stored, v);
    replaceNote.hidden = !changed;
    replaceField.classList.toggle('attention', changed && !f.replace.checked);
    if (changed) {
      const ds = f.dataset.value.trim() || (stored.kind.dataset_name || stored.kind.table);
      replaceNote.textContent = f.replace.checked
        ? `The source changed: the next run of ${ds} replaces its source (the version history keeps the old one).`
        : `The source changed: the next run into ${ds} is refused unless "Replace source" is checked.`;
    }
  };

  const syncTrigger = () => {
    const cron = trigCron.checked;
    intervalBox.hidden = cron;
    cronBox.hidden = !cron;
    if (cron) schedulePreview();
  };

  let previewTimer = null;
  let previewSeq = 0;
  const schedulePreview = () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(drawPreview, 350);
  };
  const drawPreview = async () => {
    const expr = f.cron.value.trim();
    const seq = ++previewSeq;
    if (!expr) {
      preview.replaceChildren(h('span', { class: 'muted' }, 'Type an expression to see its next fire times.'));
      return;
    }
    const tz = f.tz.value.trim() || 'UTC';
    try {
      const r = await api('GET', `/api/cron/next?expr=${enc(expr)}&tz=${enc(tz)}&count=5`);
      if (seq !== previewSeq) return;
      const next = (r && r.next) || [];
      preview.replaceChildren(h('strong', {}, `Next ${next.length} fire times`),
        h('span', { class: 'muted' }, ' (your local time; UTC on hover)'),
        h('ol', {}, next.map((x) => h('li', {}, timeEl(x), ' · ', timeEl(x, { relative: true })))));
    } catch (e) {
      if (seq !== previewSeq) return;
      if (e.status === 404 && !e.field) {
        preview.replaceChildren(h('span', { class: 'muted' },
          'Preview unavailable: this server has no /api/cron/next.'));
      } else {
        preview.replaceChildren(h('span', { class: 'field-error', role: 'alert' }, e.message));
      }
    }
  };

  // editing a field clears the error shown next to it
  el.addEventListener('input', (ev) => {
    const name = ev.target.dataset ? ev.target.dataset.field : null;
    if (!name) return;
    ev.target.removeAttribute('aria-invalid');
    const err = el.querySelector(`#err-${CSS.escape(name.replace(/\./g, '-'))}`);
    if (err) {
      err.hidden = true;
      err.textContent = '';
    }
  });
  f.srcTable.addEventListener('change', () => { syncSource(); syncReplace(); });
  f.srcQuery.addEventListener('change', () => { syncSource(); syncReplace(); });
  f.policy.addEventListener('change', syncPolicy);
  for (const x of [f.type, f.dsn, f.table, f.query, f.dataset, f.replace]) {
    x.addEventListener('input', syncReplace);
    x.addEventListener('change', syncReplace);
  }
  trigInterval.addEventListener('change', syncTrigger);
  trigCron.addEventListener('change', syncTrigger);
  f.cron.addEventListener('input', schedulePreview);
  f.tz.addEventListener('input', schedulePreview);

  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(el);
    formError.replaceChildren();
    const values = {
      id: f.id.value, type: f.type.value, dsn: f.dsn.value, password: f.password.value,
      table: f.table.value, dataset_name: f.dataset.value, mode: f.mode.value,
      cursor_column: f.cursor.value, trigger_type: trigCron.checked ? 'cron' : 'interval',
      every: f.every.value, unit: f.unit.value, cron_expr: f.cron.value, tz: f.tz.value,
      enabled: f.enabled.checked,
    };
    const built = scheduleFromForm(values, stored);
    if (!built.error && f.srcQuery.checked && !f.query.value.trim()) {
      built.field = 'kind.query';
      built.error = 'type the query (one read-only SELECT), or choose "A table"';
    }
    if (!built.error) {
      built.body.kind = kindWithSource(built.body.kind, {
        source: f.srcQuery.checked ? 'query' : 'table', table: f.table.value, query: f.query.value,
        columns: f.columns.value, where: f.where.value, schema_policy: f.policy.value,
        parallel: f.parallel.value, replace_source: f.replace.checked, no_resume: f.noResume.checked,
      });
    }
    if (built.error) {
      const inp = setFieldError(el, built.field, built.error);
      if (inp) inp.focus();
      return;
    }
    const submit = el.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const saved = stored
        ? await api('PUT', schedPath(stored.id), built.body)
        : await api('POST', '/api/schedules', built.body);
      location.hash = `#/schedules/${enc((saved && saved.id) || built.body.id)}`;
    } catch (e) {
      let name = matchField(e.field, FIELDS);
      // the field of the source mode not shown: the one that is
      if (f.srcQuery.checked && ['kind.table', 'kind.columns', 'kind.where'].includes(name)) name = 'kind.query';
      if (name && name !== 'trigger.type') {
        const inp = setFieldError(el, name, e.body && e.body.error ? e.body.error : e.message);
        formError.replaceChildren(errorBox(`${e.message} — see the highlighted field.`));
        if (inp) inp.focus();
      } else {
        formError.replaceChildren(errorBox(e.message));
      }
    } finally {
      submit.disabled = false;
    }
  });

  main.append(
    h('div', { class: 'crumbs' }, h('a', { href: '#/schedules' }, 'Schedules'), ' / ',
      stored ? h('a', { href: `#/schedules/${enc(stored.id)}` }, stored.id) : 'new'),
    pageHead(stored ? `Edit ${stored.id}` : 'New schedule',
      'Copies a table (or some of its columns and rows) or a query into a dataset on an interval or a cron trigger.'),
    el);
  syncTrigger();
  syncSource();
  syncPolicy();
  syncReplace();
  (stored ? f.dsn : f.id).focus();
}
