// Review queue: flagged accounts with their risk, the signals that made it
// and by how much (parsed from the match's explanation), the cluster they
// belong to drawn as a graph, a timeline of the account's decisions and
// risk, and the actions the role allows: resolve with a note, suspend,
// exempt (a flag). Every action is an admin API call, so an admin event.
import {get, call, can} from '../api.js';
import {h, s, time, table, notice, barChart, EFFECT_COLORS} from '../ui.js';

// "risk 0.81 >= throttle 0.80: template_rate +0.35 (score 1.00), ...;
//  ~75 accounts share ip/24; 10 requests seen"
export function parseDetail(detail) {
  const out = {risk: null, action: '', signals: [], cluster: null, requests: null};
  const head = detail.match(/^risk ([\d.]+) >= (\w+)/);
  if (head) { out.risk = Number(head[1]); out.action = head[2]; }
  for (const m of detail.matchAll(/(\w+) \+([\d.]+) \(score ([\d.]+)\)/g))
    out.signals.push({name: m[1], contribution: Number(m[2]), score: Number(m[3])});
  const c = detail.match(/~(\d+) accounts share ([^;]+)/);
  if (c) out.cluster = {accounts: Number(c[1]), by: c[2].trim()};
  const r = detail.match(/(\d+) requests seen/);
  if (r) out.requests = Number(r[1]);
  return out;
}

export async function render(view, [selected]) {
  const msg = notice();
  const showAll = h('input', {type: 'checkbox', id: 'show-all'});
  const list = h('div', {id: 'review-list'});
  const detail = h('section', {id: 'review-detail', class: 'detail'});
  view.append(h('h1', {}, 'Review queue'), msg,
    h('label', {class: 'inline'}, showAll, ' include resolved'), h('div', {class: 'split'}, list, detail));

  let items = [];
  async function load() {
    const res = await get('/v1/admin/review?limit=500' + (showAll.checked ? '&status=all' : ''));
    items = res.items.map((it) => ({...it, parsed: parseDetail(it.detail)}));
    list.replaceChildren(table([
      {title: 'Account', cell: (r) => r.account},
      {title: 'Rule', cell: (r) => r.rule_id},
      {title: 'Risk', cell: (r) => (r.parsed.risk ?? '—'), cls: 'num'},
      {title: 'Cluster', cell: (r) => (r.parsed.cluster ? `~${r.parsed.cluster.accounts} share ${r.parsed.cluster.by}` : '')},
      {title: 'Flagged', cell: (r) => time(r.created_ms)},
      {title: 'State', cell: (r) => (r.open ? 'open' : 'resolved by ' + r.resolved_by)},
    ], items, {id: 'review-table', onRow: (r) => { location.hash = '#/review/' + r.id; }}));
  }
  showAll.addEventListener('change', () => load().catch(msg.fail));
  await load();
  const item = items.find((i) => String(i.id) === selected);
  if (item) await showItem(detail, item, items, msg, load);
  else detail.append(h('p', {class: 'muted'}, items.length ? 'Pick an entry to see why it was flagged.' : 'The queue is empty.'));
}

async function showItem(detail, item, items, msg, reload) {
  const p = item.parsed;
  detail.replaceChildren(
    h('h2', {}, item.account, ' ', h('span', {class: 'badge'}, p.risk === null ? 'risk ?' : 'risk ' + p.risk.toFixed(2))),
    h('p', {class: 'muted'}, `${item.rule_id} · flagged ${time(item.created_ms)}` +
      (p.requests ? ` · ${p.requests} requests seen` : '')),
    h('h3', {}, 'Signals'),
    p.signals.length
      ? barChart(p.signals.slice().sort((a, b) => b.contribution - a.contribution).map((x) => ({
        label: x.name, value: x.contribution, text: `+${x.contribution.toFixed(2)} (score ${x.score.toFixed(2)})`,
        color: x.contribution > 0 ? '#c62828' : '#9e9e9e'})), {max: 1})
      : h('pre', {class: 'explain'}, item.detail),
    h('h3', {}, 'Cluster'), h('div', {id: 'cluster'}, h('p', {class: 'muted'}, 'loading…')),
    h('h3', {}, 'Timeline'), h('div', {id: 'timeline'}, h('p', {class: 'muted'}, 'loading…')),
    actions(item, msg, reload));
  await Promise.all([
    cluster(detail.querySelector('#cluster'), item, items),
    timeline(detail.querySelector('#timeline'), item.account),
  ]);
}

function actions(item, msg, reload) {
  const box = h('div', {class: 'actions', id: 'review-actions'});
  const note = h('input', {id: 'review-note', placeholder: 'note: what was decided and why', size: 40});
  const act = (label, fn) => h('button', {type: 'button', onclick: async () => {
    try { msg.ok(await fn()); await reload(); } catch (e) { msg.fail(e); }
  }}, label);
  const acct = encodeURIComponent(item.account);
  const canResolve = item.open && can('POST', '/v1/admin/review/{id}/resolve');
  if (canResolve) box.append(note, act('Resolve', async () => {
    await call('POST', `/v1/admin/review/${item.id}/resolve`, {note: note.value});
    return `Resolved entry ${item.id}.`;
  }));
  if (can('POST', '/v1/admin/accounts/{id}/suspend')) box.append(act('Suspend account', async () => {
    await call('POST', `/v1/admin/accounts/${acct}/suspend`, {note: note.value || `review ${item.id}`});
    if (canResolve) await call('POST', `/v1/admin/review/${item.id}/resolve`, {note: 'suspended: ' + (note.value || 'campaign')});
    return `${item.account} is suspended.`;
  }));
  if (can('PATCH', '/v1/admin/accounts/{id}')) box.append(act('Exempt (flag)', async () => {
    const a = await get(`/v1/admin/accounts/${acct}`);
    const flags = Array.from(new Set([...(a.flags || []), 'exempt']));
    await call('PATCH', `/v1/admin/accounts/${acct}`, {flags});
    if (canResolve) await call('POST', `/v1/admin/review/${item.id}/resolve`, {note: 'exempted: ' + (note.value || 'reviewed')});
    return `${item.account} carries the flag "exempt".`;
  }));
  if (!box.childElementCount) box.append(h('p', {class: 'muted'}, 'Your role may look, not act.'));
  return box;
}

// The flagged accounts linked to this one, and what links them:
// - the detector's shared bucket: both review entries name the same kind
//   (a prompt template, ip/24, payment...) - the detector keeps bucket
//   values as hashes, so this says both were flagged for sharing that kind,
//   not that they share one value;
// - with the accounts registry: the same org, payment or device fingerprint;
// - with the decisions API: the same address range (/24, or /48 for IPv6)
//   among the accounts' last 20 client addresses.
// Drawn as a star around the account; each edge says why.
export function rangeOf(ip) {
  if (!ip) return '';
  if (ip.includes(':')) return ip.split(':').slice(0, 3).join(':') + '::/48';
  const p = ip.split('.');
  return p.length === 4 ? p.slice(0, 3).join('.') + '.0/24' : '';
}

async function cluster(el, item, items) {
  const by = item.parsed.cluster && item.parsed.cluster.by;
  let peers = items.filter((o) => o.account !== item.account && o.rule_id === item.rule_id &&
    by && o.parsed.cluster && o.parsed.cluster.by === by).map((o) => ({account: o.account, why: ['detector: ' + by]}));
  const link = (id, why) => {
    const peer = peers.find((x) => x.account === id);
    if (!peer) peers.push({account: id, why: [why]}); else if (!peer.why.includes(why)) peer.why.push(why);
  };
  const others = Array.from(new Set(items.map((o) => o.account))).filter((a) => a !== item.account).slice(0, 40);
  if (can('GET', '/v1/admin/accounts/{id}')) {
    const fetchOne = (id) => get('/v1/admin/accounts/' + encodeURIComponent(id)).catch(() => null);
    const [me, ...rest] = await Promise.all([fetchOne(item.account), ...others.map(fetchOne)]);
    if (me) for (const o of rest.filter(Boolean)) {
      if (me.org && o.org === me.org) link(o.id, 'org ' + o.org);
      if (me.payment_fingerprint && o.payment_fingerprint === me.payment_fingerprint) link(o.id, 'payment');
      if (me.device_fingerprint && o.device_fingerprint === me.device_fingerprint) link(o.id, 'device');
    }
  }
  if (can('GET', '/v1/admin/decisions')) {
    const rangesOf = (id) => get('/v1/admin/decisions?limit=20&account=' + encodeURIComponent(id))
      .then((r) => new Set(r.decisions.map((d) => rangeOf(d.client_ip)).filter(Boolean))).catch(() => new Set());
    const [mine, ...theirs] = await Promise.all([rangesOf(item.account), ...others.slice(0, 24).map(rangesOf)]);
    theirs.forEach((set, i) => { for (const r of set) if (mine.has(r)) link(others[i], 'range ' + r); });
  }
  if (!peers.length) {
    el.replaceChildren(h('p', {class: 'muted'}, item.parsed.cluster
      ? `~${item.parsed.cluster.accounts} accounts share ${by}; none of the others is in the queue.`
      : 'No linked accounts in the queue.'));
    return;
  }
  peers = peers.slice(0, 48);
  const W = 520, H = 300, cx = W / 2, cy = H / 2, R = Math.min(cx, cy) - 30;
  const svg = s('svg', {viewBox: `0 0 ${W} ${H}`, class: 'graph', role: 'img', id: 'cluster-graph'});
  peers.forEach((p, i) => {
    const a = (2 * Math.PI * i) / peers.length;
    const x = cx + R * Math.cos(a), y = cy + R * Math.sin(a);
    svg.append(s('line', {x1: cx, y1: cy, x2: x, y2: y, class: 'edge'}, s('title', {}, p.why.join(', '))));
    svg.append(s('circle', {cx: x, cy: y, r: 6, class: 'node'}, s('title', {}, p.account)));
    if (peers.length <= 16) svg.append(s('text', {x: x + 8, y: y + 4, class: 'node-label'}, p.account));
  });
  svg.append(s('circle', {cx, cy, r: 10, class: 'node center'}), s('text', {x: cx + 12, y: cy - 12, class: 'node-label'}, item.account));
  const kinds = Array.from(new Set(peers.flatMap((p) => p.why)));
  el.replaceChildren(svg, h('p', {class: 'muted'}, `${peers.length} flagged accounts linked by ${kinds.join(', ')}` +
    (item.parsed.cluster ? ` (the detector counts ~${item.parsed.cluster.accounts} sharing ${by})` : '')));
}

// The account's last decisions: one dot per decision, coloured by effect,
// at its risk (0 when none).
async function timeline(el, account) {
  if (!can('GET', '/v1/admin/decisions')) {
    el.replaceChildren(h('p', {class: 'muted'}, 'Your role may not read decisions.'));
    return;
  }
  const res = await get('/v1/admin/decisions?limit=200&account=' + encodeURIComponent(account));
  const ds = res.decisions;
  if (!ds.length) { el.replaceChildren(h('p', {class: 'muted'}, 'No decisions recorded.')); return; }
  const W = 520, H = 120, pad = 24;
  const t0 = Math.min(...ds.map((d) => d.time_ms)), t1 = Math.max(...ds.map((d) => d.time_ms));
  const x = (t) => pad + (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0)) * (W - 2 * pad);
  const y = (r) => H - pad - (r || 0) * (H - 2 * pad);
  const svg = s('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', id: 'timeline-chart'},
    s('line', {x1: pad, x2: W - pad, y1: y(0), y2: y(0), class: 'axis'}),
    s('text', {x: 0, y: y(1) + 4, class: 'tick'}, '1'), s('text', {x: 0, y: y(0) + 4, class: 'tick'}, '0'));
  for (const d of ds)
    svg.append(s('circle', {cx: x(d.time_ms), cy: y(d.risk), r: 3, fill: EFFECT_COLORS[d.effect] || '#607d8b'},
      s('title', {}, `${time(d.time_ms)} ${d.effect} risk ${d.risk ?? 0}`)));
  const counts = {};
  for (const d of ds) counts[d.effect] = (counts[d.effect] || 0) + 1;
  el.replaceChildren(svg, h('p', {class: 'muted'}, `${time(t0)} – ${time(t1)}: ` +
    Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ') + (res.next_cursor ? ' (latest 200)' : '')));
}
