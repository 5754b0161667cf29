// sql.js — the SQL console: POST /api/sql {"sql", "limit"} and the result
// as a table; Ctrl+Enter (or Cmd+Enter) runs; CSV download of the result.
// Beside the box, the tables (datasets) and their columns, read with the
// same engine from information_schema: a table name puts a query in the
// box, a column name is inserted at the cursor.
import { api } from './api.js';
import { toCSV, fmtCount, quoteIdent } from './lib.js';
import { h, errorBox, pageHead } from './ui.js';

const LIMIT = 1000;
const LAST_KEY = 'lakehouse.sql';

// DECIMAL(p,s) values arrive as JSON numbers; show their s digits.
function decimalScale(type) {
  const m = /^DECIMAL\(\d+,(\d+)\)$/.exec(type || '');
  return m ? Number(m[1]) : -1;
}

function cell(v, scale = -1) {
  if (v === null || v === undefined) return h('td', { class: 'null' }, 'NULL');
  if (typeof v === 'number') {
    return h('td', { class: 'num' }, scale >= 0 && scale <= 20 && Number.isFinite(v) ? v.toFixed(scale) : String(v));
  }
  if (typeof v === 'object') return h('td', {}, JSON.stringify(v));
  return h('td', {}, String(v));
}

const TABLES_SQL = 'SELECT table_name, column_name, data_type FROM information_schema.columns '
  + "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position";

function insertAt(box, text) {
  const at = box.selectionStart ?? box.value.length;
  const end = box.selectionEnd ?? at;
  box.value = box.value.slice(0, at) + text + box.value.slice(end);
  box.focus();
  box.selectionStart = box.selectionEnd = at + text.length;
}

// The tables panel: one <details> per table, its columns inside.
function tablesPanel(box, ctx) {
  const list = h('div', { class: 'sql-tables-list' }, h('p', { class: 'muted small' }, 'Loading…'));
  api('POST', '/api/sql', { sql: TABLES_SQL, limit: 100000 }).then((r) => {
    if (!ctx.alive) return;
    const tables = new Map();
    for (const [t, c, type] of r.rows || []) {
      if (!tables.has(t)) tables.set(t, []);
      tables.get(t).push([c, type]);
    }
    if (!tables.size) {
      list.replaceChildren(h('p', { class: 'muted small' }, 'No datasets yet.'));
      return;
    }
    list.replaceChildren(...[...tables].map(([t, cols]) => h('details', { 'data-table': t },
      h('summary', {}, h('button', { type: 'button', class: 'link table-name', title: 'Query this table',
        onclick: (ev) => {
          ev.preventDefault();
          box.value = `SELECT * FROM ${quoteIdent(t)} LIMIT 100`;
          box.focus();
        } }, t), h('span', { class: 'muted small' }, ` ${cols.length}`)),
      h('ul', { class: 'sql-columns' }, cols.map(([c, type]) => h('li', { 'data-column': c },
        h('button', { type: 'button', class: 'link', title: 'Insert the column name',
          onclick: () => insertAt(box, quoteIdent(c)) }, c),
        ' ', h('span', { class: 'type' }, type)))))));
  }).catch((e) => {
    if (ctx.alive) list.replaceChildren(h('p', { class: 'muted small' }, `Tables unavailable: ${e.message}`));
  });
  return h('aside', { class: 'sql-tables card pad', id: 'sql-tables', 'aria-label': 'Tables and columns' },
    h('h2', { class: 'small' }, 'Tables'), list);
}

export async function page(main, _params, ctx) {
  let initial = ctx.query.get('q');
  if (!initial) {
    try {
      initial = sessionStorage.getItem(LAST_KEY) || '';
    } catch {
      initial = '';
    }
  }
  const box = h('textarea', { id: 'sql', class: 'sql', spellcheck: 'false', rows: 6,
    'aria-label': 'SQL query', placeholder: 'SELECT * FROM "customers" LIMIT 10' });
  box.value = initial || '';
  if (!initial) {
    // start from the first dataset, so the console is one keystroke from rows
    api('GET', '/api/datasets').then((d) => {
      const first = ((d && d.datasets) || []).find((x) => !x.error);
      if (first && !box.value) box.value = `SELECT * FROM ${quoteIdent(first.name)} LIMIT 100`;
    }).catch(() => {});
  }
  const run = h('button', { type: 'button', class: 'primary', id: 'run-sql' }, 'Run');
  const status = h('span', { class: 'muted', id: 'sql-status', 'aria-live': 'polite' });
  const csv = h('button', { type: 'button', id: 'sql-csv', hidden: true }, 'Download CSV');
  const out = h('div', { id: 'sql-result' });
  let last = null;

  const exec = async () => {
    const sql = box.value.trim();
    if (!sql) return;
    try {
      sessionStorage.setItem(LAST_KEY, sql);
    } catch { /* ignore */ }
    run.disabled = true;
    status.textContent = 'Running…';
    const t0 = performance.now();
    let r;
    try {
      r = await api('POST', '/api/sql', { sql, limit: LIMIT });
    } catch (e) {
      if (!ctx.alive) return;
      run.disabled = false;
      status.textContent = `Failed after ${Math.round(performance.now() - t0)} ms`;
      csv.hidden = true;
      last = null;
      out.replaceChildren(e.status === 404 && !e.field
        ? errorBox(`This server has no SQL endpoint yet (POST /api/sql): ${e.message}`)
        : errorBox(e.message));
      return;
    }
    if (!ctx.alive) return;
    run.disabled = false;
    const wall = Math.round(performance.now() - t0);
    const cols = r.columns || [];
    const rows = r.rows || [];
    last = { cols, rows };
    const scales = cols.map((c) => decimalScale(c && typeof c === 'object' ? c.type : null));
    const ms = r.elapsed_ms;
    const server = typeof ms === 'number'
      ? `${ms < 10 ? Math.round(ms * 10) / 10 : Math.round(ms)} ms on the server, ` : '';
    status.textContent = `${fmtCount(rows.length)} row${rows.length === 1 ? '' : 's'} · ${server}${wall} ms total`;
    csv.hidden = false;
    out.replaceChildren(...[
      r.truncated ? h('p', { class: 'notice', id: 'sql-truncated' },
        `Showing the first ${fmtCount(rows.length)} rows: the result was truncated. Add a LIMIT or narrow the query.`) : null,
      h('div', { class: 'card result-wrap' }, h('table', { class: 'data', id: 'sql-table' },
        h('thead', {}, h('tr', {}, cols.map((c) => {
          const name = c && typeof c === 'object' ? c.name : c;
          const type = c && typeof c === 'object' ? c.type : null;
          return h('th', { scope: 'col' }, name, type ? h('span', { class: 'type' }, type) : null);
        }))),
        h('tbody', {}, rows.map((row) => h('tr', {}, row.map((v, i) => cell(v, scales[i]))))))),
      rows.length ? null : h('p', { class: 'empty' }, 'The query returned no rows.')].filter(Boolean));
  };

  box.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      exec();
    }
  });
  run.addEventListener('click', exec);
  csv.addEventListener('click', () => {
    if (!last) return;
    const blob = new Blob([toCSV(last.cols, last.rows)], { type: 'text/csv' });
    const a = h('a', { href: URL.createObjectURL(blob), download: 'result.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });

  main.append(pageHead('SQL', h('span', {}, 'Read-only SQL over every dataset: ',
    h('code', {}, '"name"'), ' is the current version, ', h('code', {}, '"name@N"'), ' version N (DuckDB SQL; ',
    h('code', {}, 'DESCRIBE name'), ', ', h('code', {}, 'SUMMARIZE name'), ').')),
  h('div', { class: 'sql-layout' }, tablesPanel(box, ctx), h('div', { class: 'sql-main' },
    h('div', { class: 'sqlbox' }, box),
    h('div', { class: 'sqlbar' }, run, h('span', { class: 'muted small' }, 'Ctrl+Enter runs'), status,
      h('span', { class: 'spacer' }), csv),
    out)));
  box.focus();
  if (ctx.query.get('q')) exec();
}
