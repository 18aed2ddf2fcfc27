// Accounts: find one (or page through them), its tier, flags, limits and
// usage against them (rate limits, token budgets, concurrency caps, cost
// budgets), its limit overrides and suspension; change tier or flags; its
// keys, issue one (the secret is shown once, here only) and revoke.
import {get, call, can} from '../api.js';
import {h, time, table, notice} from '../ui.js';

export async function render(view, [id]) {
  const msg = notice();
  const find = h('input', {id: 'account-id', placeholder: 'account id', size: 20});
  const list = h('div', {id: 'account-list'});
  const detail = h('section', {id: 'account-detail', class: 'detail'});
  const form = h('form', {class: 'filters'}, find, h('button', {type: 'submit'}, 'Open'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); location.hash = '#/accounts/' + encodeURIComponent(find.value.trim()); });
  view.append(h('h1', {}, 'Accounts'), form, msg, h('div', {class: 'split'}, list, detail));

  async function page(after) {
    const res = await get('/v1/admin/accounts?limit=50' + (after ? '&after=' + encodeURIComponent(after) : ''));
    list.replaceChildren(table([
      {title: 'Account', cell: (a) => a.id},
      {title: 'Org', cell: (a) => a.org},
      {title: 'Tier', cell: (a) => a.tier},
      {title: 'Flags', cell: (a) => (a.flags || []).join(', ')},
      {title: 'State', cell: (a) => (a.suspended ? h('span', {class: 'bad'}, 'suspended') : 'active')},
    ], res.accounts, {id: 'account-table', onRow: (a) => { location.hash = '#/accounts/' + encodeURIComponent(a.id); }}),
    res.next_after ? h('button', {type: 'button', onclick: () => page(res.next_after).catch(msg.fail)}, 'More →') : '');
  }
  await page('');
  if (id) await show(detail, id, msg).catch((e) => msg.fail(e));
}

async function show(el, id, msg) {
  const a = await get('/v1/admin/accounts/' + encodeURIComponent(id));
  const path = '/v1/admin/accounts/' + encodeURIComponent(a.id);
  const reload = () => show(el, id, msg).catch(msg.fail);
  const act = (label, fn, attrs = {}) => h('button', {type: 'button', ...attrs, onclick: async () => {
    try { msg.ok(await fn()); await reload(); } catch (e) { msg.fail(e); }
  }}, label);
  el.replaceChildren(h('h2', {}, a.id, ' ', a.suspended ? h('span', {class: 'badge bad'}, 'suspended') : ''),
    h('dl', {class: 'facts'},
      h('dt', {}, 'Org'), h('dd', {}, a.org || '—'),
      h('dt', {}, 'Tier'), h('dd', {}, a.tier || '—'),
      h('dt', {}, 'Country'), h('dd', {}, a.country || '—'),
      h('dt', {}, 'Flags'), h('dd', {}, (a.flags || []).join(', ') || '—'),
      h('dt', {}, 'Created'), h('dd', {}, typeof a.created === 'number' ? time(a.created) : (a.created || '—'))),
    h('h3', {}, 'Limits and usage'), await usage(path),
    a.limit_overrides && Object.keys(a.limit_overrides).length
      ? table([{title: 'Override of', cell: (r) => r[0]}, {title: 'Override', cell: (r) => JSON.stringify(r[1])}],
        Object.entries(a.limit_overrides), {id: 'override-table'})
      : h('p', {class: 'muted'}, 'The tier\'s limits apply (no overrides).'));
  if (can('PATCH', '/v1/admin/accounts/{id}')) {
    const tier = h('input', {id: 'edit-tier', value: a.tier || '', size: 12});
    const flags = h('input', {id: 'edit-flags', value: (a.flags || []).join(', '), size: 24});
    el.append(h('h3', {}, 'Change'), h('div', {class: 'actions'}, 'tier ', tier, ' flags ', flags,
      act('Save', async () => {
        await call('PATCH', path, {tier: tier.value.trim(), flags: flags.value.split(',').map((f) => f.trim()).filter(Boolean)});
        return 'Saved.';
      })));
  }
  if (can('POST', '/v1/admin/accounts/{id}/suspend')) el.append(h('div', {class: 'actions'}, a.suspended
    ? act('Unsuspend', async () => { await call('POST', path + '/unsuspend'); return 'Unsuspended.'; })
    : act('Suspend', async () => { await call('POST', path + '/suspend', {note: 'console'}); return 'Suspended.'; })));
  if (can('GET', '/v1/admin/accounts/{id}/keys')) {
    const keys = (await get(path + '/keys')).keys;
    el.append(h('h3', {}, 'Keys'), table([
      {title: 'Key id', cell: (k) => k.key_id.slice(0, 16) + '…'},
      {title: 'Label', cell: (k) => k.label},
      {title: 'Created', cell: (k) => time(k.created_ms)},
      {title: 'Revoked', cell: (k) => (k.revoked_ms ? time(k.revoked_ms) : can('DELETE', '/v1/admin/keys/{key_id}')
        ? act('Revoke', async () => { await call('DELETE', '/v1/admin/keys/' + k.key_id); return 'Revoked.'; }) : '')},
    ], keys));
  }
  if (can('POST', '/v1/admin/accounts/{id}/keys')) {
    const label = h('input', {id: 'key-label', placeholder: 'label', size: 12});
    const secret = h('p', {id: 'new-key', class: 'secret', hidden: true});
    el.append(h('div', {class: 'actions'}, label, h('button', {type: 'button', onclick: async () => {
      try {
        const k = await call('POST', path + '/keys', {label: label.value});
        secret.replaceChildren('New key (shown once, copy it now): ', h('code', {}, k.key));
        secret.hidden = false;
      } catch (e) { msg.fail(e); }
    }}, 'Issue key')), secret);
  }
}

// Seconds or minutes from now, for a reset.
function after(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return 'now';
  const s = Math.ceil(ms / 1000);
  return s < 120 ? `in ${s} s` : s < 7200 ? `in ${Math.round(s / 60)} min` : `in ${Math.round(s / 3600)} h`;
}

// Used of the limit as a bar and in numbers; "—" where the limit's meters
// are per ip, model or operation (none of them is the account's).
function gauge(used, amount) {
  if (used === null || used === undefined) return h('span', {class: 'muted'}, '—');
  // <meter>: drawn by the browser, no inline style (the CSP has none).
  return h('span', {class: used >= amount ? 'bad' : ''},
    h('meter', {min: 0, max: Math.max(1, amount), value: Math.min(used, amount), high: 0.8 * amount, optimum: 0}),
    ` ${used} / ${amount}`);
}

// Rate limits, token budgets and concurrency caps (…/usage) and cost
// budgets (…/spend) of the policy served now, read without counting.
async function usage(path) {
  const [u, sp] = await Promise.all([
    can('GET', '/v1/admin/accounts/{id}/usage') ? get(path + '/usage').catch(() => null) : null,
    can('GET', '/v1/admin/accounts/{id}/spend') ? get(path + '/spend').catch(() => null) : null]);
  const rows = (u ? u.limits : []).map((l) => ({rule: l.rule, scope: l.scope, limit: l.limit + (l.override ? ' (override)' : ''),
    used: gauge(l.used, l.amount), unit: l.unit, remaining: l.remaining ?? '—', reset: after(l.reset_ms)}));
  for (const b of (sp ? sp.budgets : [])) {
    rows.push({rule: b.rule, scope: b.scope, limit: `$${b.limit_usd} per ${b.per}`, unit: 'USD',
      used: b.spent_usd === null ? h('span', {class: 'muted'}, '—') : `$${b.spent_usd}`,
      remaining: b.remaining_usd ? `$${b.remaining_usd}` : '—', reset: b.resets_at});
  }
  if (!rows.length) return h('p', {class: 'muted', id: 'usage-none'}, 'No rate limit, token budget or cost budget of the policy applies to this account.');
  return table([
    {title: 'Rule', cell: (r) => r.rule},
    {title: 'Scope', cell: (r) => r.scope},
    {title: 'Limit', cell: (r) => r.limit},
    {title: 'Used', cell: (r) => r.used},
    {title: 'Unit', cell: (r) => r.unit},
    {title: 'Remaining', cell: (r) => String(r.remaining)},
    {title: 'Resets', cell: (r) => r.reset},
  ], rows, {id: 'usage-table'});
}
