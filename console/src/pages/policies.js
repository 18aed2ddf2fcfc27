// Policies: versions and the activation history, a diff between two
// versions, an editor that validates a bundle and places each error at its
// line and column, upload and activate, roll back.
import {get, call, can} from '../api.js';
import {h, time, table, notice} from '../ui.js';

export async function render(view) {
  const msg = notice();
  const versionsEl = h('div', {id: 'policy-versions'});
  const historyEl = h('div', {id: 'policy-history'});
  const diffEl = h('div', {id: 'policy-diff'});
  const editorEl = h('section', {id: 'policy-editor', class: 'detail'});
  view.append(h('h1', {}, 'Policies'), msg, h('div', {class: 'split'},
    h('div', {}, h('h2', {}, 'Versions'), versionsEl, h('h2', {}, 'Activations'), historyEl, h('h2', {}, 'Diff'), diffEl),
    editorEl));

  async function load() {
    const [list, history] = await Promise.all([get('/v1/admin/policies?limit=50'), get('/v1/admin/policies/history')]);
    const versions = list.versions;
    const rollback = can('POST', '/v1/admin/policies/rollback');
    versionsEl.replaceChildren(table([
      {title: 'Id', cell: (v) => (v.id === list.active ? h('strong', {}, `${v.id} (active)`) : String(v.id))},
      {title: 'Author', cell: (v) => v.author},
      {title: 'Message', cell: (v) => v.message},
      {title: 'Created', cell: (v) => time(v.created_ms)},
      {title: '', cell: (v) => h('span', {},
        h('button', {type: 'button', class: 'link', onclick: () => edit(v.id).catch(msg.fail)}, 'open'),
        can('POST', '/v1/admin/policies/{id}/activate') && v.id !== list.active
          ? h('button', {type: 'button', class: 'link', onclick: () => activate(v.id)}, 'activate') : '')},
    ], versions, {id: 'versions-table'}),
    rollback ? h('button', {type: 'button', id: 'rollback', onclick: async () => {
      try { const r = await call('POST', '/v1/admin/policies/rollback', {}); msg.ok(`Rolled back to version ${r.active}.`); await load(); } catch (e) { msg.fail(e); }
    }}, 'Roll back to the previous version') : '');
    historyEl.replaceChildren(table([
      {title: '#', cell: (a) => a.seq}, {title: 'Version', cell: (a) => a.version},
      {title: 'Kind', cell: (a) => a.kind}, {title: 'By', cell: (a) => a.author}, {title: 'When', cell: (a) => time(a.time_ms)},
    ], history.activations.slice(-20).reverse()));
    const pick = (id) => h('select', {id}, versions.map((v) => h('option', {value: v.id}, 'version ' + v.id)));
    const from = pick('diff-from'), to = pick('diff-to');
    if (versions.length > 1) from.value = versions[1].id;
    const out = h('pre', {class: 'diff', id: 'diff-text'});
    diffEl.replaceChildren(versions.length < 2 ? h('p', {class: 'muted'}, 'One version: nothing to compare.') : h('div', {},
      from, ' → ', to, h('button', {type: 'button', onclick: async () => {
        try { showDiff(out, await get(`/v1/admin/policies/${from.value}/diff?to=${to.value}`, {raw: true})); } catch (e) { msg.fail(e); }
      }}, 'Diff'), out));
    if (!editorEl.childElementCount) await edit(list.active || (versions[0] && versions[0].id));
  }

  async function activate(id) {
    try {
      const r = await call('POST', `/v1/admin/policies/${id}/activate`);
      msg.ok(`Version ${id} is active (revision ${r.revision}).`);
      await load();
    } catch (e) { msg.fail(e); }
  }

  async function edit(id) {
    const files = id ? (await get('/v1/admin/policies/' + id)).files : {'policy.yaml': ''};
    editorEl.replaceChildren(editor(files, id, msg, async (newId) => { await load(); if (newId) await activate(newId); }));
  }

  await load();
}

function showDiff(pre, text) {
  pre.replaceChildren(...text.split('\n').map((l) =>
    h('span', {class: l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : ''}, l + '\n')));
}

// One textarea per file (a picker between them) with a line-number gutter.
function editor(files, baseId, msg, saved) {
  const names = Object.keys(files).sort();
  const current = {name: names[0]};
  const text = {...files};
  const picker = h('select', {id: 'policy-file'}, names.map((n) => h('option', {value: n}, n)));
  const area = h('textarea', {id: 'policy-text', spellcheck: false, rows: 28, cols: 80, wrap: 'off'});
  const gutter = h('div', {class: 'gutter', 'aria-hidden': 'true'});
  const errorsEl = h('ol', {id: 'policy-errors', class: 'errors'});
  let marks = new Set();
  area.value = text[current.name] || '';
  const paintGutter = () => {
    const n = area.value.split('\n').length;
    gutter.replaceChildren(...Array.from({length: n}, (_, i) =>
      h('div', {class: marks.has(i + 1) ? 'mark' : ''}, String(i + 1))));
    gutter.scrollTop = area.scrollTop;
  };
  area.addEventListener('input', () => { text[current.name] = area.value; paintGutter(); });
  area.addEventListener('scroll', () => { gutter.scrollTop = area.scrollTop; });
  picker.addEventListener('change', () => { current.name = picker.value; area.value = text[current.name]; marks = new Set(); paintGutter(); });
  paintGutter();

  const goTo = (e) => {
    if (e.file && e.file !== current.name && text[e.file] !== undefined) { picker.value = e.file; current.name = e.file; area.value = text[e.file]; }
    const lines = area.value.split('\n');
    let at = 0;
    for (let i = 0; i < Math.min(e.line - 1, lines.length); ++i) at += lines[i].length + 1;
    at += Math.max(0, (e.column || 1) - 1);
    area.focus();
    area.setSelectionRange(at, at + 1);
    area.scrollTop = Math.max(0, (e.line - 5) * (area.scrollHeight / Math.max(1, lines.length)));
    marks = new Set([e.line]);
    paintGutter();
  };

  async function validate() {
    const r = await call('POST', '/v1/admin/policies/validate', {files: text});
    const shown = [...r.errors.map((e) => ({...e, level: 'error'})), ...(r.warnings || []).map((e) => ({...e, level: 'warning'}))];
    errorsEl.replaceChildren(...shown.map((e) => h('li', {class: e.level},
      h('button', {type: 'button', class: 'link', onclick: () => goTo(e)}, `${e.file}:${e.line}:${e.column}`),
      ' ', e.key ? h('code', {}, e.key) : '', ' ', e.message)));
    marks = new Set(r.errors.filter((e) => e.file === current.name).map((e) => e.line));
    paintGutter();
    if (r.errors.length) goTo(r.errors[0]);
    return r;
  }

  const mayValidate = can('POST', '/v1/admin/policies/validate');
  const mayUpload = can('POST', '/v1/admin/policies');
  const message = h('input', {id: 'policy-message', placeholder: 'what changed', size: 30});
  const buttons = h('div', {class: 'actions'});
  if (mayValidate) buttons.append(h('button', {type: 'button', id: 'validate', onclick: async () => {
    try { const r = await validate(); if (r.valid) msg.ok('Valid.'); else msg.fail(`${r.errors.length} error(s).`); } catch (e) { msg.fail(e); }
  }}, 'Validate'));
  if (mayUpload) buttons.append(message, h('button', {type: 'button', id: 'save-activate', onclick: async () => {
    try {
      const r = await validate();
      if (!r.valid) { msg.fail(`${r.errors.length} error(s): fix them first.`); return; }
      const up = await call('POST', '/v1/admin/policies', {files: text, message: message.value || 'edited in the console'});
      msg.ok(`Stored version ${up.version.id}.`);
      await saved(up.version.id);
    } catch (e) { msg.fail(e); }
  }}, 'Save and activate'));
  return h('div', {},
    h('h2', {}, baseId ? `Version ${baseId}` : 'New bundle', ' ', picker),
    h('div', {class: 'editor'}, gutter, area),
    buttons,
    errorsEl,
    h('p', {class: 'muted'}, 'Backtesting a candidate against recorded traffic: `tosgate replay` on the host (docs/replay.md); the admin API has no replay endpoint yet.'),
    mayValidate ? '' : h('p', {class: 'muted'}, 'Your role may read policies, not change them.'));
}
