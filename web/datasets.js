// datasets.js — the catalog: every dataset (its description's first line
// and its tags as chips; a chip filters the list to that tag,
// #/datasets?tag=T), and one dataset's schema,
// lineage, versions (time travel) and bound indexes; Delete (with a
// confirmation, and a second one to force past the schedules that write to
// it) and Roll back to an earlier version.
import { api, ApiError } from './api.js';
import { fmtBytes, fmtCount, messageHead, versionQuery } from './lib.js';
import { metaSection } from './meta.js';
import {
  h, timeEl, badge, errorBox, pageHead, refreshRelative, confirmDialog,
} from './ui.js';
import { sourceSection } from './lineage.js';

const enc = encodeURIComponent;

function sensitivityBadge(s) {
  if (!s || s === 'none' || s === 'public') return badge('idle', s || 'no PII', 'no column tagged as personal data');
  if (s === 'pii') return badge('pii', 'PII', 'holds personal data');
  return badge('warn', s);
}

// The list's address with a tag filter (none: every dataset).
function listHref(tag) {
  return tag ? `#/datasets?tag=${enc(tag)}` : '#/datasets';
}

// A dataset's tags as chips; each filters the list to its tag (the one
// filtered on is marked, and leads back to every dataset).
function tagChips(tags, active) {
  if (!tags || !tags.length) return h('span', { class: 'muted' }, '—');
  return h('ul', { class: 'tags list-tags', 'aria-label': 'Tags' }, tags.map((t) => h('li', {},
    h('a', { class: t === active ? 'tag-chip on' : 'tag-chip', href: listHref(t === active ? null : t),
      'data-tag': t, 'aria-current': t === active ? 'true' : null,
      title: t === active ? 'Show every dataset' : `Show only datasets tagged ${t}` }, t))));
}

// The description's first line, cut short on a word ("…" when the line
// was cut); the whole start (as the list has it) on hover.
function descriptionLine(text) {
  const line = String(text || '').split('\n')[0].trim();
  if (!line) return null;
  const { head, more } = messageHead(line, 90);
  return h('span', { class: 'sub ds-desc', title: text }, more ? `${head}…` : head);
}

export async function list(main, _params, ctx) {
  const tag = (ctx.query && ctx.query.get('tag')) || '';
  const count = h('span');
  const body = h('div', { class: 'card' }, h('p', { class: 'empty' }, 'Loading datasets…'));
  const box = h('div', { id: 'dataset-flash' });
  const filterBar = h('p', { class: 'info-line tag-filter', id: 'tag-filter', hidden: !tag },
    'Datasets tagged ', h('span', { class: 'tag-chip on' }, tag), ' · ',
    h('a', { href: listHref(null), id: 'tag-filter-clear' }, 'Show every dataset'));
  const note = sessionStorage.getItem('lh-flash');
  if (note) {
    sessionStorage.removeItem('lh-flash');
    flash(box, note);
  }
  main.append(pageHead('Datasets', count), box, filterBar, body);
  let last = '';
  const refresh = async () => {
    let data;
    try {
      data = await api('GET', '/api/datasets');
    } catch (e) {
      if (ctx.alive) body.replaceChildren(errorBox(e.message));
      last = '';
      return;
    }
    if (!ctx.alive) return;
    const all = Array.isArray(data) ? data : (data && data.datasets) || [];
    const items = tag ? all.filter((d) => (d.tags || []).includes(tag)) : all;
    count.textContent = tag
      ? `${items.length} of ${all.length} dataset${all.length === 1 ? '' : 's'} tagged ${tag}`
      : `${items.length} dataset${items.length === 1 ? '' : 's'} in the catalog`;
    const json = JSON.stringify(items);
    if (json === last) {
      refreshRelative(body);
      return;
    }
    last = json;
    if (!items.length) {
      body.replaceChildren(h('p', { class: 'empty' }, tag
        ? ['No dataset is tagged ', h('strong', {}, tag), '. ', h('a', { href: listHref(null) }, 'Show every dataset')]
        : 'No datasets yet: a schedule\'s first run (or lakehouse ingest) creates one.'));
      return;
    }
    body.replaceChildren(h('table', { class: 'data', id: 'datasets' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col', class: 'num' }, 'Rows'), h('th', { scope: 'col', class: 'num' }, 'Size'),
        h('th', { scope: 'col' }, 'Sensitivity'), h('th', { scope: 'col' }, 'Tags'),
        h('th', { scope: 'col', class: 'num' }, 'Version'), h('th', { scope: 'col' }, 'Last ingest'))),
      h('tbody', {}, items.map((d) => (d.error
        ? h('tr', {}, h('td', {}, d.name), h('td', { colspan: 6 }, errorBox(`unreadable record: ${d.error}`)))
        : h('tr', { 'data-name': d.name },
          h('td', { class: 'ds-name' }, h('a', { href: `#/datasets/${enc(d.name)}` }, d.name),
            descriptionLine(d.description)),
          h('td', { class: 'num' }, fmtCount(d.row_count)),
          h('td', { class: 'num' }, fmtBytes(d.size_bytes)),
          h('td', {}, sensitivityBadge(d.sensitivity)),
          h('td', { class: 'ds-tags' }, tagChips(d.tags, tag)),
          h('td', { class: 'num' }, d.current_version === undefined ? '—' : `v${d.current_version}`),
          h('td', {}, timeEl(d.last_ingest, { relative: true }),
            d.last_ingest ? h('span', { class: 'sub' }, timeEl(d.last_ingest)) : null)))))));
  };
  await refresh();
  ctx.poll(refresh, 10000);
}

function versionSize(v) {
  if (typeof v.size_bytes === 'number') return v.size_bytes;
  return (v.objects || []).reduce((a, o) => a + (Number(o.size_bytes) || 0), 0);
}

function sqlLink(name, version, label) {
  return h('a', { href: `#/sql?q=${enc(versionQuery(name, version))}`, class: 'query-version' }, label);
}

function flash(box, text, ok = true) {
  box.replaceChildren(ok ? h('p', { class: 'info-line', role: 'status' }, text) : errorBox(text));
}

// DELETE /api/datasets/{name}: asks first; a 409 (schedules write to it)
// asks again whether to pause them and remove it anyway (?force=true).
async function removeDataset(name, box) {
  const ok = await confirmDialog(
    `Delete dataset "${name}"? Its record, every version and every part are removed; this cannot be undone.`);
  if (!ok) return;
  let r;
  try {
    r = await api('DELETE', `/api/datasets/${enc(name)}`);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 409)) {
      flash(box, e.message, false);
      return;
    }
    const ids = (e.body && e.body.schedules) || [];
    const again = await confirmDialog(
      `Schedule${ids.length === 1 ? '' : 's'} ${ids.join(', ')} write${ids.length === 1 ? 's' : ''} to "${name}". ` +
      'Pause them and delete the dataset anyway?', 'Pause and delete');
    if (!again) {
      flash(box, e.message, false);
      return;
    }
    try {
      r = await api('DELETE', `/api/datasets/${enc(name)}?force=true`);
    } catch (e2) {
      flash(box, e2.message, false);
      return;
    }
  }
  const paused = (r && r.paused_schedules) || [];
  sessionStorage.setItem('lh-flash', `Dataset ${name} deleted` +
    (paused.length ? `; paused ${paused.join(', ')}.` : '.'));
  location.hash = '#/datasets';
}

// POST /api/datasets/{name}/rollback {"version": v}
async function rollback(name, v, box) {
  const ok = await confirmDialog(
    `Publish a new version of "${name}" with the parts of v${v}? The history is kept; nothing is rewritten.`,
    `Roll back to v${v}`);
  if (!ok) return;
  try {
    const r = await api('POST', `/api/datasets/${enc(name)}/rollback`, { version: v });
    sessionStorage.setItem('lh-flash', `Version ${r.version} published with the parts of v${v}.`);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } catch (e) {
    flash(box, e.message, false);
  }
}

export async function detail(main, [name], ctx) {
  main.append(h('div', { class: 'crumbs' }, h('a', { href: '#/datasets' }, 'Datasets'), ' / ', name));
  let d;
  try {
    d = await api('GET', `/api/datasets/${enc(name)}`);
  } catch (e) {
    if (ctx.alive) main.append(pageHead(name), errorBox(e.message));
    return;
  }
  // another route began while the record was read (a save's re-render, a
  // second click): that one owns the page now; appending here stacked a
  // second copy of the page under it
  if (!ctx.alive) return;
  const cols = d.columns || [];
  const versions = [...(d.versions || [])].sort((a, b) => b.version - a.version);
  const lin = d.lineage || {};
  const cur = versions.find((v) => v.version === d.current_version) || versions[0];
  const bindings = d.index_bindings || d.indexes || [];
  const piiCount = cols.filter((c) => c.is_pii).length;
  const box = h('div', { id: 'dataset-flash' });
  const note = sessionStorage.getItem('lh-flash');
  if (note) {
    sessionStorage.removeItem('lh-flash');
    flash(box, note);
  }

  main.append(
    pageHead(h('span', {}, d.name, ' ', sensitivityBadge(d.sensitivity)),
      `${fmtCount(d.row_count)} rows · version ${d.current_version} · ${fmtBytes(cur ? versionSize(cur) : null)}` +
      ` · ${cols.length} columns, ${piiCount} PII`,
      sqlLink(d.name, d.current_version, 'Query this dataset'),
      h('button', { type: 'button', class: 'small danger', id: 'dataset-delete',
        'aria-label': `Delete dataset ${d.name}`, onclick: () => removeDataset(d.name, box) }, 'Delete')),
    box,
    metaSection(d, () => window.dispatchEvent(new HashChangeEvent('hashchange'))),
    sourceSection(d),
    h('div', { class: 'grid2' },
      h('section', { 'aria-labelledby': 'h-lineage' },
        h('h2', { id: 'h-lineage' }, 'Lineage'),
        h('div', { class: 'card pad' }, h('dl', { class: 'facts' },
          h('dt', {}, 'Source system'), h('dd', {}, lin.source_system || '—'),
          h('dt', {}, 'Source'), h('dd', { class: 'mono' }, lin.source_file || '—'),
          h('dt', {}, 'Ingest job'), h('dd', { class: 'mono' }, lin.ingest_job || '—'),
          h('dt', {}, 'Ingested'), h('dd', {}, timeEl(lin.ingest_timestamp),
            lin.ingest_timestamp ? [' · ', timeEl(lin.ingest_timestamp, { relative: true })] : null),
          h('dt', {}, 'Parents'), h('dd', {}, (lin.parent_datasets || []).length
            ? lin.parent_datasets.map((p, i) => [i ? ', ' : '', h('a', { href: `#/datasets/${enc(p)}` }, p)])
            : 'none'),
          h('dt', {}, 'Fingerprint'), h('dd', { class: 'mono small', title: 'SHA-256 of the ordered (name, type, nullability) list' },
            d.schema_fingerprint ? d.schema_fingerprint.slice(0, 16) + '…' : '—')))),
      h('section', { 'aria-labelledby': 'h-indexes' },
        h('h2', { id: 'h-indexes' }, 'Bound indexes'),
        h('div', { class: 'card pad', id: 'indexes' },
          h('p', {}, 'Embeddings: ', d.embeddings_stale
            ? badge('warn', 'stale', 'a newer version exists than the bound indexes were built from')
            : badge('ok', 'up to date')),
          bindings.length
            ? h('ul', {}, bindings.map((b) => (typeof b === 'string' ? h('li', { class: 'mono' }, b)
              : h('li', {}, h('span', { class: 'mono' }, b.index_name || b.index || '?'),
                b.bound_at ? [' — bound ', timeEl(b.bound_at)] : null))))
            : h('p', { class: 'muted' }, 'No index is bound to this dataset.')))),
    h('h2', {}, 'Schema'),
    h('div', { class: 'card' }, cols.length ? h('table', { class: 'data', id: 'schema' },
      h('thead', {}, h('tr', {}, ['Column', 'Type', 'PII', 'Sensitivity', 'Description']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, cols.map((c) => h('tr', { 'data-column': c.name },
        h('td', { class: 'mono' }, c.name),
        h('td', { class: 'mono' }, c.data_type || c.type || '?', c.nullable === false ? ' NOT NULL' : ''),
        h('td', {}, c.is_pii ? badge('pii', 'PII', 'detected as personal data') : h('span', { class: 'muted' }, 'no')),
        h('td', {}, c.sensitivity || '—'),
        h('td', {}, c.description || '')))))
      : h('p', { class: 'empty' }, 'No columns recorded.')),
    h('h2', {}, 'Versions'),
    h('div', { class: 'card' }, versions.length ? h('table', { class: 'data', id: 'versions' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Version'),
        h('th', { scope: 'col', class: 'num' }, 'Rows'), h('th', { scope: 'col', class: 'num' }, 'Size'),
        h('th', { scope: 'col', class: 'num' }, 'Parts'), h('th', { scope: 'col' }, 'Created'),
        h('th', { scope: 'col' }, 'Run'), h('th', { scope: 'col' }, 'Time travel'), h('th', { scope: 'col' }, ''))),
      h('tbody', {}, versions.map((v) => h('tr', { 'data-version': v.version },
        h('td', {}, `v${v.version}`, v.version === d.current_version ? [' ', badge('ok', 'current')] : null),
        h('td', { class: 'num' }, fmtCount(v.row_count)),
        h('td', { class: 'num' }, fmtBytes(versionSize(v))),
        h('td', { class: 'num' }, String((v.objects || []).length)),
        h('td', {}, timeEl(v.created_at)),
        h('td', { class: 'mono small' }, v.run_id || '—'),
        h('td', {}, sqlLink(d.name, v.version, `Query v${v.version}`)),
        h('td', {}, v.version === d.current_version ? null
          : h('button', { type: 'button', class: 'small', 'aria-label': `Roll back to v${v.version}`,
            onclick: () => rollback(d.name, v.version, box) }, 'Roll back'))))))
      : h('p', { class: 'empty' }, 'No versions.')));
}
