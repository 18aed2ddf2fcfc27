// Overview: charts from /metrics (Prometheus text), polled every 2 s:
// decisions per second by effect, top rules, audit queue depth, limiter and
// detector memory, the policy reload state.
import {get} from '../api.js';
import {h, lineChart, barChart, fmt, EFFECT_COLORS} from '../ui.js';

const POLL_MS = 2000;
const KEEP = 90;  // points on the chart: 3 minutes

// {name: [{labels: {...}, value}]}
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    (out[m[1]] ||= []).push({labels, value: Number(m[4])});
  }
  return out;
}

const one = (m, name) => (m[name] && m[name].length ? m[name][0].value : 0);

export async function render(view) {
  const rate = h('div', {class: 'card wide', id: 'rate'});
  const rules = h('div', {class: 'card', id: 'top-rules'});
  const gauges = h('div', {class: 'card', id: 'gauges'});
  view.append(h('h1', {}, 'Overview'), h('div', {class: 'cards'}, rate, rules, gauges));
  const history = {};  // effect -> [[t, per second]]
  let last = null;

  async function poll() {
    const m = parseMetrics(await get('/metrics', {raw: true}));
    const now = Date.now() / 1000;
    const totals = {};
    for (const s of m.tosgate_decisions_total || []) totals[s.labels.effect] = s.value;
    if (last) {
      for (const [effect, v] of Object.entries(totals)) {
        const per = Math.max(0, (v - (last.totals[effect] || 0)) / (now - last.t));
        (history[effect] ||= []).push([now, per]);
        if (history[effect].length > KEEP) history[effect].shift();
      }
    }
    last = {t: now, totals};
    rate.replaceChildren(h('h2', {}, 'Decisions per second by effect'),
      lineChart(Object.entries(history).map(([name, points]) =>
        ({name, points, color: EFFECT_COLORS[name] || '#607d8b'})), {unit: '/s', width: 1240, height: 220}),
      h('p', {class: 'muted'}, 'Totals: ', Object.entries(totals).map(([k, v]) => `${k} ${fmt(v)}`).join(' · ') || 'none yet'));
    const top = (m.tosgate_rule_decisions_total || [])
      .filter((s) => s.labels.rule).sort((a, b) => b.value - a.value).slice(0, 10);
    rules.replaceChildren(h('h2', {}, 'Top rules'), top.length
      ? barChart(top.map((s) => ({label: `${s.labels.rule} (${s.labels.effect})`, value: s.value,
        color: EFFECT_COLORS[s.labels.effect]})), {width: 440})
      : h('p', {class: 'muted'}, 'no rule has decided anything yet'));
    const revision = (m.tosgate_policy_revision_info || [])[0];
    const failing = one(m, 'tosgate_policy_reload_failing') > 0;
    gauges.replaceChildren(h('h2', {}, 'State'), h('dl', {class: 'facts'},
      h('dt', {}, 'Policy revision'), h('dd', {}, revision ? revision.labels.revision : '—'),
      h('dt', {}, 'Reload'), h('dd', {class: failing ? 'bad' : 'good'}, failing ? 'last reload failed' : 'ok'),
      h('dt', {}, 'Audit queue depth'), h('dd', {id: 'audit-depth'}, fmt(one(m, 'tosgate_audit_queue_depth'))),
      h('dt', {}, 'Audit records written'), h('dd', {}, fmt(one(m, 'tosgate_audit_written_total'))),
      h('dt', {}, 'Limiter state entries'), h('dd', {}, fmt(one(m, 'tosgate_state_entries'))),
      h('dt', {}, 'Detector accounts / buckets'),
      h('dd', {}, `${fmt(one(m, 'tosgate_distill_accounts'))} / ${fmt(one(m, 'tosgate_distill_buckets'))}`),
      h('dt', {}, 'Review entries dropped'), h('dd', {}, fmt(one(m, 'tosgate_review_dropped_total')))));
  }

  await poll();
  const timer = setInterval(() => poll().catch(() => {}), POLL_MS);
  return () => clearInterval(timer);
}
