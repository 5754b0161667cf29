// lineage.js — the dataset page's "Source" section (issue 15, "A dataset
// knows its source"): where the current version came from, and each
// version's source and schema change, newest first, with a change of source
// between two versions marked on the row where it happened.
//
// Everything comes from GET /api/datasets/{name}: `source` (the current
// version's) and `versions[].source`, `.schema_change`, `.watermark`
// (docs/catalog.md). A source holds the server's host, port and database,
// never a DSN, so no password can show here. Each version's source records
// the schema policy its run ran under (`schema_policy`, `replace_source`,
// `source_replaced`); for a version written before that, the section
// falls back to the making schedule's current setting, said as such.
import { api } from './api.js';
import { fmtCount } from './lib.js';
import { h, timeEl, badge } from './ui.js';

const enc = encodeURIComponent;
const SYSTEMS = { postgres: 'PostgreSQL', mysql: 'MySQL / MariaDB' };

// The source's identity as a run compares it (docs/ingest.md): the server
// (system, host, port, database) and the table or the query.
export function sourceKey(s) {
  if (!s) return null;
  return JSON.stringify([s.system || '', s.host || '', s.port || 0, s.database || '',
    s.table || '', s.query || '']);
}

// What changed between an older version's source and a newer one's:
// { source: true } when the identity differs, { filter: true } when only
// the columns, the where or the mode do; null when either has no source.
export function sourceDiff(older, newer) {
  if (!older || !newer) return null;
  if (sourceKey(older) !== sourceKey(newer)) return { source: true, filter: false };
  const f = (s) => JSON.stringify([s.columns || '', s.where || '', s.mode || '', s.cursor_column || '']);
  return { source: false, filter: f(older) !== f(newer) };
}

const INT_RANK = { Int8: 1, Int16: 2, Int32: 3, Int64: 4, UInt8: 1, UInt16: 2, UInt32: 3, UInt64: 4 };

// Whether a column of type `from` reads as `to` without losing a value —
// the rule the evolve policy applies (src/ingest/lineage.c).
export function typeWidens(from, to) {
  const fr = INT_RANK[from];
  const tr = INT_RANK[to];
  if (fr && tr) {
    const fu = from.startsWith('U');
    const tu = to.startsWith('U');
    return fu === tu ? tr > fr : fu && !tu && tr > fr;
  }
  if (fr && to === 'Float64') return fr <= 3;
  if (from === 'Float32' && to === 'Float64') return true;
  if (from === 'Utf8' && to === 'LargeUtf8') return true;
  if (from === 'Binary' && to === 'LargeBinary') return true;
  const d = (t) => /^Decimal128\((\d+), ?(\d+)\)$/.exec(t);
  const fd = d(from);
  const td = d(to);
  return !!(fd && td && fd[2] === td[2] && Number(td[1]) > Number(fd[1]));
}

// "added d Utf8; a Int32 -> Int64; dropped b" -> [{kind, column, from, to,
// text}], kind one of added, widened, changed, dropped.
export function parseSchemaChange(text) {
  if (!text) return [];
  return String(text).split('; ').filter(Boolean).map((item) => {
    let m = /^added (\S+) (.+)$/.exec(item);
    if (m) return { kind: 'added', column: m[1], to: m[2], text: item };
    m = /^dropped (\S+)$/.exec(item);
    if (m) return { kind: 'dropped', column: m[1], text: item };
    m = /^(\S+) (.+) -> (.+)$/.exec(item);
    if (m) {
      return { kind: typeWidens(m[2], m[3]) ? 'widened' : 'changed', column: m[1], from: m[2], to: m[3],
        text: item };
    }
    return { kind: 'changed', column: '', text: item };
  });
}

// The least policy that publishes these changes: evolve takes added and
// widened columns, anything else needs replace.
export function policyNeeded(changes) {
  if (!changes.length) return null;
  return changes.every((c) => c.kind === 'added' || c.kind === 'widened') ? 'evolve' : 'replace';
}

const MADE_BY = { cli: 'lakehouse ingest (CLI)', api: 'one-shot ingest (POST /api/ingest)' };
const MADE_BY_SHORT = { cli: 'CLI ingest', api: 'API ingest' };

function madeBy(who, short = false) {
  if (!who) return h('span', { class: 'muted' }, '—');
  if (MADE_BY[who]) return short ? h('span', { title: MADE_BY[who] }, MADE_BY_SHORT[who]) : MADE_BY[who];
  return ['schedule ', h('a', { href: `#/schedules/${enc(who)}`, class: 'mono' }, who)];
}

function server(s) {
  const host = s.host ? `${s.host}${s.port ? `:${s.port}` : ''}` : `local socket${s.port ? ` (port ${s.port})` : ''}`;
  return `${host} / ${s.database || '—'}`;
}

function whatCell(s) {
  // the whole query, wrapping; a long one scrolls inside its box
  if (s.query) return h('pre', { class: 'sql-text short', title: 'query' }, s.query);
  return h('span', { class: 'mono wrap' }, s.table || '—');
}

// What the source was before a change, in a few words.
function wasText(s) {
  const what = s.table || `query ${s.query.length > 50 ? `${s.query.slice(0, 50)}…` : s.query}`;
  return `was ${what} on ${s.system || '?'} ${server(s)}`;
}

// One change as a chip: "+ d Utf8", "a Int32 → Int64", "− b".
function changeChip(c) {
  const label = { added: 'added', widened: 'widened', changed: 'retyped', dropped: 'dropped' }[c.kind];
  const body = c.kind === 'added' ? `+ ${c.column} ${c.to}`
    : c.kind === 'dropped' ? `− ${c.column}`
      : c.from ? `${c.column} ${c.from} → ${c.to}` : c.text;
  return h('li', { class: `chg ${c.kind}`, title: `${label}: ${c.text}` },
    h('span', { class: 'chg-kind' }, label), ' ', h('span', { class: 'mono' }, body));
}

function schemaCell(v, sourceChanged) {
  const changes = parseSchemaChange(v.schema_change);
  if (!changes.length) return h('span', { class: 'muted' }, v.version === 1 ? 'first version' : 'none');
  const need = sourceChanged ? 'replace' : policyNeeded(changes);
  return [
    h('ul', { class: 'chgs' }, changes.map(changeChip)),
    h('span', { class: 'sub', title: sourceChanged
      ? 'a run that replaces the source takes any columns'
      : need === 'evolve' ? 'added and widened columns pass the evolve policy (and replace)'
        : 'a dropped or narrowed column passes only the replace policy' },
    sourceChanged ? 'with the new source (replace)' : `allowed by ${need === 'evolve' ? 'evolve or replace' : 'replace'}`),
  ];
}

// How a version's run treated a change of the source's columns, in a few
// words: "source replaced" (the run replaced the dataset's source, so any
// columns were taken), "may replace the source" (--replace-source given,
// not needed); "" for neither.
function replaceNote(s) {
  if (s.source_replaced) return 'source replaced';
  return s.replace_source ? 'may replace the source' : '';
}

// A version's recorded policy as a cell: the policy and its note; "not
// recorded" for a version written before policies were.
function policyCell(s) {
  if (!s || !s.schema_policy) {
    return h('span', { class: 'muted', title: 'written before versions recorded their schema policy' },
      'not recorded');
  }
  const note = replaceNote(s);
  return [h('strong', {}, s.schema_policy),
    note ? h('span', { class: 'sub', title: s.source_replaced
      ? 'the run was given --replace-source (kind.replace_source) and read another source, so it took any columns'
      : 'the run was given --replace-source (kind.replace_source); it read the same source' }, note) : null];
}

// The current source, as facts; its schema policy as recorded, or (a
// version written before that) the making schedule's setting once read.
function currentFacts(d, cur) {
  const s = d.source;
  if (!s) {
    return h('div', { class: 'card pad', id: 'source-current' }, h('p', { class: 'empty' },
      'No source recorded: this version was written before lakehouse recorded sources. ',
      'The next run records one.'));
  }
  const policy = h('dd', { id: 'source-policy' }, h('span', { class: 'muted' }, '…'));
  const who = s.made_by;
  if (s.schema_policy) {
    const note = replaceNote(s);
    policy.replaceChildren(h('strong', {}, s.schema_policy), ' (recorded with this version',
      note ? `; ${note}` : '', ')');
  } else if (who && !MADE_BY[who]) {
    api('GET', `/api/schedules/${enc(who)}`).then((sch) => {
      const p = (sch && sch.kind && sch.kind.schema_policy) || 'evolve';
      policy.replaceChildren(h('strong', {}, p), ` (schedule ${who}'s setting today; `,
        'this version did not record its own',
        sch && sch.kind && sch.kind.replace_source ? '; it may replace the source)' : ')');
    }, () => {
      policy.replaceChildren(h('span', { class: 'muted' }, `unknown (schedule ${who} no longer exists)`));
    });
  } else {
    policy.replaceChildren(h('span', { class: 'muted' }, 'set per run (--schema-policy, default evolve); not recorded'));
  }
  return h('div', { class: 'card pad', id: 'source-current' }, h('dl', { class: 'facts' },
    h('dt', {}, 'System'), h('dd', { 'data-k': 'system' }, SYSTEMS[s.system] || s.system || '—'),
    h('dt', {}, 'Server / database'), h('dd', { class: 'mono', 'data-k': 'server' }, server(s)),
    s.query
      ? [h('dt', {}, 'Query'), h('dd', { 'data-k': 'query' }, h('pre', { class: 'sql-text' }, s.query))]
      : [h('dt', {}, 'Table'), h('dd', { class: 'mono', 'data-k': 'table' }, s.table || '—'),
        h('dt', {}, 'Columns'), h('dd', { 'data-k': 'columns', class: s.columns ? 'mono' : 'muted' },
          s.columns || 'every column'),
        h('dt', {}, 'Where'), h('dd', { 'data-k': 'where' }, s.where
          ? h('pre', { class: 'sql-text' }, s.where) : h('span', { class: 'muted' }, 'every row'))],
    h('dt', {}, 'Mode'), h('dd', { 'data-k': 'mode' }, s.mode || '—',
      s.cursor_column ? [' on ', h('span', { class: 'mono' }, s.cursor_column)] : null),
    s.cursor_column || (cur && cur.watermark) ? [h('dt', {}, 'Watermark'),
      h('dd', { class: 'mono', 'data-k': 'watermark' }, (cur && cur.watermark) || '—')] : null,
    h('dt', {}, 'Made by'), h('dd', { 'data-k': 'made_by' }, madeBy(who),
      cur && cur.run_id ? h('span', { class: 'sub mono' }, `run ${cur.run_id}`) : null),
    h('dt', {}, 'Schema policy'), policy));
}

function historyTable(d, versions) {
  if (!versions.length) return h('p', { class: 'empty' }, 'No versions.');
  const rows = versions.map((v, i) => {
    const older = versions[i + 1];
    const diff = older ? sourceDiff(older.source, v.source) : null;
    const sc = !!(diff && diff.source);
    const changes = parseSchemaChange(v.schema_change);
    const s = v.source;
    return h('tr', { 'data-version': v.version,
      class: [sc ? 'source-changed' : '', changes.length ? 'schema-changed' : ''].filter(Boolean).join(' ') || null },
    h('td', {}, `v${v.version}`, v.version === d.current_version ? [' ', badge('ok', 'current')] : null,
      h('span', { class: 'sub' }, timeEl(v.created_at))),
    h('td', { class: 'num' }, fmtCount(v.row_count)),
    h('td', { class: 'src' }, s ? [
      sc ? h('div', { class: 'was' }, badge('warn', 'source changed'), ' ',
        h('span', { class: 'was-text' }, wasText(older.source))) : null,
      s.query ? h('div', {}, badge('idle', 'query')) : null,
      h('div', {}, whatCell(s)),
      h('span', { class: 'sub mono' }, `${s.system || '?'} ${server(s)}`),
      s.columns ? h('span', { class: 'sub' }, 'columns ', h('span', { class: 'mono' }, s.columns)) : null,
      s.where ? h('span', { class: 'sub' }, 'where ', h('span', { class: 'mono' }, s.where)) : null,
      diff && diff.filter ? h('span', { class: 'sub filter-changed' }, 'columns, where or mode changed') : null,
    ] : h('span', { class: 'muted' }, 'not recorded')),
    h('td', {}, s ? s.mode || '—' : '—', v.watermark ? h('span', { class: 'sub mono', title: 'watermark' },
      `≤ ${v.watermark}`) : null),
    h('td', {}, s ? madeBy(s.made_by, true) : '—'),
    h('td', { class: 'policy', 'data-policy': (s && s.schema_policy) || '' }, policyCell(s)),
    h('td', { class: 'schema' }, schemaCell(v, sc)));
  });
  return h('table', { class: 'data', id: 'source-history' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Version'), h('th', { scope: 'col', class: 'num' }, 'Rows'),
      h('th', { scope: 'col' }, 'Source'), h('th', { scope: 'col' }, 'Mode'), h('th', { scope: 'col' }, 'Made by'),
      h('th', { scope: 'col', title: 'the schema policy the version\'s run ran under' }, 'Policy'),
      h('th', { scope: 'col' }, 'Schema change'))),
    h('tbody', {}, rows));
}

// The section, for datasets.js: d is GET /api/datasets/{name}.
export function sourceSection(d) {
  const versions = [...(d.versions || [])].sort((a, b) => b.version - a.version);
  const cur = versions.find((v) => v.version === d.current_version) || versions[0];
  const changes = versions.filter((v, i) => versions[i + 1] &&
    (sourceDiff(versions[i + 1].source, v.source) || {}).source).length;
  const schemaChanges = versions.filter((v) => v.schema_change).length;
  return h('section', { 'aria-labelledby': 'h-source', id: 'source' },
    h('h2', { id: 'h-source' }, 'Source'),
    currentFacts(d, cur),
    h('h3', { class: 'sub-head' }, 'Source and schema by version',
      h('span', { class: 'muted small' }, ` · ${versions.length} version${versions.length === 1 ? '' : 's'} kept`,
        changes ? `, ${changes} source change${changes === 1 ? '' : 's'}` : '',
        schemaChanges ? `, ${schemaChanges} schema change${schemaChanges === 1 ? '' : 's'}` : '')),
    h('div', { class: 'card' }, historyTable(d, versions)));
}
