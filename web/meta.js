// meta.js — the dataset page's "About" section: what people say about a
// dataset. Its description, its tags, and per column a description and a
// PII mark (a level set by hand, "none" to unmark a column whatever its
// name says, or "auto" to leave it to the name rule), shown and edited
// through PATCH /api/datasets/{name} (docs/http.md "Describing a
// dataset"). Nothing here makes a version. An error the API names with a
// field ("description", "tags", "columns.C.pii", ...) is shown at that
// field; after a save the page is drawn again from the API (onSaved).
import { api, ApiError } from './api.js';
import { h, badge, errorBox } from './ui.js';

const enc = encodeURIComponent;
const LEVELS = ['pii', 'financial', 'sensitive', 'internal'];
const LEVEL_TEXT = {
  pii: 'PII', financial: 'financial', sensitive: 'sensitive', internal: 'internal', none: 'not sensitive',
};

function levelText(s) {
  return s ? LEVEL_TEXT[s] || s : LEVEL_TEXT.none;
}

// The field's error line, shown (and the control marked) or cleared.
function fieldError(control, errEl, msg) {
  errEl.hidden = !msg;
  errEl.textContent = msg || '';
  if (msg) {
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', errEl.id);
  } else {
    control.removeAttribute('aria-invalid');
  }
}

// The element a 400's field names, inside root.
function fieldControl(root, field) {
  if (!field) return null;
  if (field === 'description') return root.querySelector('#meta-description');
  if (field === 'tags' || field === 'add_tags' || field === 'remove_tags') return root.querySelector('#meta-tag');
  const m = /^columns\.(.+?)(?:\.(pii|description))?$/.exec(field);
  if (!m) return null;
  const row = [...root.querySelectorAll('tr[data-column]')].find((r) => r.dataset.column === m[1]);
  if (!row) return null;
  return row.querySelector(m[2] === 'description' ? 'input' : 'select');
}

// Sends one partial update; on a 400 naming a field, shows it there;
// after a success the page says `done` once drawn again.
async function patch(root, name, body, done, onSaved) {
  const general = root.querySelector('#meta-error');
  general.replaceChildren();
  for (const el of root.querySelectorAll('.field-error[data-meta]')) el.hidden = true;
  for (const el of root.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  try {
    await api('PATCH', `/api/datasets/${enc(name)}`, body);
  } catch (e) {
    const control = e instanceof ApiError ? fieldControl(root, e.field) : null;
    const errEl = control && document.getElementById(control.dataset.err);
    if (control && errEl) {
      // at the field its name goes without saying: the API's own words
      fieldError(control, errEl, (e.body && e.body.error) || e.message);
      control.focus();
    } else {
      general.replaceChildren(errorBox(e.message));
    }
    return false;
  }
  sessionStorage.setItem('lh-flash', done);
  onSaved();
  return true;
}

function descriptionBlock(d, root, onSaved) {
  const text = d.description || '';
  const shown = h('p', { class: text ? 'meta-desc' : 'meta-desc muted', id: 'meta-description-text' },
    text || 'No description yet.');
  const area = h('textarea', { id: 'meta-description', rows: 4, 'data-err': 'meta-description-err',
    'aria-label': 'Dataset description', maxlength: 4096 });
  area.value = text;
  const err = h('p', { class: 'field-error', id: 'meta-description-err', 'data-meta': '', hidden: true });
  const editor = h('div', { class: 'meta-edit', hidden: true }, area,
    h('p', { class: 'hint' }, 'Plain text, at most 4096 bytes. Empty removes it.'), err,
    h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'primary small', id: 'meta-description-save',
        onclick: () => patch(root, d.name, { description: area.value }, 'Description saved.', onSaved) }, 'Save'),
      h('button', { type: 'button', class: 'small', onclick: () => {
        area.value = text;
        fieldError(area, err, null);
        editor.hidden = true;
        shown.hidden = false;
        edit.hidden = false;
      } }, 'Cancel')));
  const edit = h('button', { type: 'button', class: 'small', id: 'meta-description-edit',
    onclick: () => {
      editor.hidden = false;
      shown.hidden = true;
      edit.hidden = true;
      area.focus();
    } }, text ? 'Edit description' : 'Add a description');
  return h('div', { class: 'meta-block' }, h('h3', {}, 'Description'), shown, edit, editor);
}

function tagsBlock(d, root, onSaved) {
  const tags = d.tags || [];
  const input = h('input', { type: 'text', id: 'meta-tag', 'data-err': 'meta-tag-err', placeholder: 'add a tag',
    'aria-label': 'New tag', autocomplete: 'off', spellcheck: 'false' });
  const err = h('p', { class: 'field-error', id: 'meta-tag-err', 'data-meta': '', hidden: true });
  const add = () => {
    const t = input.value.trim();
    if (!t) {
      fieldError(input, err, 'Type a tag first.');
      return;
    }
    patch(root, d.name, { add_tags: [t] }, `Tag ${t} added.`, onSaved);
  };
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      add();
    }
  });
  return h('div', { class: 'meta-block' }, h('h3', {}, 'Tags'),
    h('ul', { class: 'tags', id: 'meta-tags', 'aria-label': 'Tags' },
      tags.length ? tags.map((t) => h('li', { class: 'tag', 'data-tag': t }, h('span', {}, t),
        h('button', { type: 'button', class: 'tag-x', 'aria-label': `Remove tag ${t}`, title: `Remove tag ${t}`,
          onclick: () => patch(root, d.name, { remove_tags: [t] }, `Tag ${t} removed.`, onSaved) }, '×')))
        : h('li', { class: 'muted' }, 'No tags.')),
    h('div', { class: 'inline meta-tag-add' }, input,
      h('button', { type: 'button', class: 'small', id: 'meta-tag-add', onclick: add }, 'Add tag')),
    h('p', { class: 'hint' }, 'Lowercase letters, digits, - _ . : (e.g. gdpr, team:finance); at most 32.'),
    err);
}

// One column's row: the detector's view, the mark (select) and the text.
function columnRow(c) {
  const mark = c.sensitivity_override ? (c.sensitivity || 'none') : 'auto';
  const detected = c.detected_sensitivity !== undefined ? c.detected_sensitivity : c.sensitivity;
  const id = `meta-col-${c.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const sel = h('select', { 'aria-label': `PII mark of ${c.name}`, 'data-err': `${id}-err`, 'data-orig': mark },
    h('option', { value: 'auto' }, `auto (name rule: ${levelText(detected)})`),
    LEVELS.map((l) => h('option', { value: l }, `${levelText(l)} (set by hand)`)),
    h('option', { value: 'none' }, 'not sensitive (set by hand)'));
  sel.value = mark;
  const desc = h('input', { type: 'text', 'aria-label': `Description of ${c.name}`, 'data-err': `${id}-derr`,
    maxlength: 1024 });
  desc.value = c.description || '';
  desc.dataset.orig = desc.value;
  const level = c.sensitivity
    ? badge(c.sensitivity === 'pii' ? 'pii' : 'warn', levelText(c.sensitivity))
    : h('span', { class: 'muted' }, 'none');
  return h('tr', { 'data-column': c.name },
    h('td', { class: 'mono' }, c.name),
    h('td', {}, level, c.sensitivity_override
      ? [' ', h('span', { class: 'badge idle hand', title: `the name rule says: ${levelText(detected)}` }, 'set by hand')]
      : null),
    h('td', {}, sel, h('p', { class: 'field-error', id: `${id}-err`, 'data-meta': '', hidden: true })),
    h('td', { class: 'meta-coldesc' }, desc,
      h('p', { class: 'field-error', id: `${id}-derr`, 'data-meta': '', hidden: true })));
}

function columnsBlock(d, root, onSaved) {
  const cols = d.columns || [];
  if (!cols.length) return null;
  const save = h('button', { type: 'submit', class: 'primary small', id: 'meta-columns-save', disabled: true },
    'Save columns');
  const form = h('form', { id: 'meta-columns', class: 'meta-block' },
    h('h3', {}, 'Columns'),
    h('p', { class: 'hint' }, 'A mark set by hand wins over the name rule and is kept by every later version.'),
    h('div', { class: 'meta-table' }, h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, ['Column', 'Level now', 'PII mark', 'Description']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, cols.map(columnRow)))),
    h('div', { class: 'form-actions' }, save));
  const changes = () => {
    const out = {};
    for (const row of form.querySelectorAll('tr[data-column]')) {
      const sel = row.querySelector('select');
      const inp = row.querySelector('input');
      const e = {};
      if (sel.value !== sel.dataset.orig) e.pii = sel.value;
      if (inp.value !== inp.dataset.orig) e.description = inp.value;
      if (Object.keys(e).length) out[row.dataset.column] = e;
    }
    return out;
  };
  form.addEventListener('input', () => {
    save.disabled = !Object.keys(changes()).length;
  });
  form.addEventListener('change', () => {
    save.disabled = !Object.keys(changes()).length;
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const c = changes();
    if (Object.keys(c).length) patch(root, d.name, { columns: c }, 'Columns saved.', onSaved);
  });
  return form;
}

// The section for dataset record d (as GET /api/datasets/{name} answers);
// onSaved() is called after every successful change.
export function metaSection(d, onSaved) {
  const root = h('section', { id: 'dataset-meta', 'aria-labelledby': 'h-about' });
  root.append(h('h2', { id: 'h-about' }, 'About'),
    h('div', { class: 'card pad meta-card' },
      h('div', { id: 'meta-error' }),
      h('div', { class: 'meta-top' }, descriptionBlock(d, root, onSaved), tagsBlock(d, root, onSaved)),
      columnsBlock(d, root, onSaved)));
  return root;
}
