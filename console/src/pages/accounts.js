// Accounts: find one (or page through them), its tier, flags, limit
// overrides and suspension; change tier or flags; its keys, issue one (the
// secret is shown once, here only) and revoke.
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
      h('dt', {}, 'Created'), h('dd', {}, a.created || '—')),
    h('h3', {}, 'Limits'),
    a.limit_overrides && Object.keys(a.limit_overrides).length
      ? table([{title: 'Limit', cell: (r) => r[0]}, {title: 'Override', cell: (r) => JSON.stringify(r[1])}],
        Object.entries(a.limit_overrides))
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
