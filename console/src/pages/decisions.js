// Decisions: search the audit store by account, org, rule, effect and time
// with the query API's cursors (pages of 50), a decision's full
// explanation, and an export of the same filter (CSV, at most 100000 rows).
import {get, call} from '../api.js';
import {h, time, table, notice} from '../ui.js';

const FIELDS = ['account', 'org', 'rule', 'effect', 'since', 'until'];
const PAGE = 50;

export async function render(view, [id]) {
  const msg = notice();
  const inputs = Object.fromEntries(FIELDS.map((f) => [f, f === 'effect'
    ? h('select', {id: 'q-effect'}, ['', 'allow', 'throttle', 'deny', 'admin'].map((v) => h('option', {value: v}, v || 'any effect')))
    : h('input', {id: 'q-' + f, placeholder: f === 'since' || f === 'until' ? f + ' (2026-12-01 or RFC 3339)' : f, size: 14})]));
  const results = h('div', {id: 'decision-results'});
  const explain = h('section', {id: 'decision-detail', class: 'detail'});
  const pager = h('div', {class: 'pager'});
  const form = h('form', {class: 'filters', id: 'decision-search'}, Object.values(inputs),
    h('button', {type: 'submit'}, 'Search'),
    h('button', {type: 'button', id: 'export', onclick: () => exportCsv().catch(msg.fail)}, 'Export CSV'));
  view.append(h('h1', {}, 'Decisions'), form, msg, h('div', {class: 'split'}, h('div', {}, results, pager), explain));

  const cursors = [];  // cursor of each page shown so far; '' for the first
  function query(extra = {}) {
    const q = new URLSearchParams();
    for (const f of FIELDS) if (inputs[f].value.trim()) q.set(f, inputs[f].value.trim());
    for (const [k, v] of Object.entries(extra)) if (v) q.set(k, v);
    return q;
  }
  async function page(cursor) {
    const started = performance.now();
    const res = await get('/v1/admin/decisions?' + query({limit: PAGE, cursor}));
    results.replaceChildren(table([
      {title: 'Time', cell: (d) => time(d.time_ms)},
      {title: 'Effect', cell: (d) => h('span', {class: 'effect ' + d.effect}, d.effect)},
      {title: 'Account', cell: (d) => d.account},
      {title: 'Org', cell: (d) => d.org},
      {title: 'Operation', cell: (d) => d.operation},
      {title: 'Rules', cell: (d) => (d.rule_ids || []).join(', ')},
      {title: 'Reason', cell: (d) => d.reason},
      {title: 'Risk', cell: (d) => (d.risk ? d.risk : ''), cls: 'num'},
    ], res.decisions, {id: 'decision-table', onRow: (d) => show(d.id)}));
    const n = cursors.length;
    pager.replaceChildren(
      h('button', {type: 'button', disabled: n <= 1, onclick: () => { cursors.pop(); page(cursors.pop()).catch(msg.fail); }}, '← Newer'),
      h('span', {class: 'muted'}, ` page ${n + 1} · ${res.decisions.length} shown · ${Math.round(performance.now() - started)} ms `),
      h('button', {type: 'button', id: 'next-page', disabled: !res.next_cursor,
        onclick: () => page(res.next_cursor).catch(msg.fail)}, 'Older →'));
    cursors.push(cursor || '');
  }
  async function show(decisionId) {
    explain.replaceChildren(h('p', {class: 'muted'}, 'loading…'));
    const d = await get('/v1/admin/decisions/' + encodeURIComponent(decisionId));
    explain.replaceChildren(h('h2', {}, d.id),
      h('pre', {class: 'explain', id: 'explanation'}, d.explanation),
      h('details', {}, h('summary', {}, 'Record'), h('pre', {class: 'json'}, JSON.stringify(d, null, 2))));
  }
  async function exportCsv() {
    const text = await call('GET', '/v1/admin/decisions/export?' + query({format: 'csv'}), undefined, {raw: true});
    const a = h('a', {href: URL.createObjectURL(new Blob([text], {type: 'text/csv'})), download: 'decisions.csv'});
    document.body.append(a);
    a.click();
    a.remove();
    msg.ok(`Exported ${Math.max(0, text.split('\r\n').length - 2)} decisions.`);
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    cursors.length = 0;
    page('').catch(msg.fail);
  });
  await page('');
  if (id) await show(id).catch(msg.fail);
}
