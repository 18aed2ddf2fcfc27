// The console's shell: loads the session, shows the pages the role may
// use, and routes by the URL's fragment (#/review, #/decisions, ...).
import {loadSession, can, signOut} from './api.js';
import {h} from './ui.js';
import * as overview from './pages/overview.js';
import * as review from './pages/review.js';
import * as decisions from './pages/decisions.js';
import * as policies from './pages/policies.js';
import * as accounts from './pages/accounts.js';

// Each page, and the call its role needs to see it at all.
const PAGES = [
  {path: 'overview', title: 'Overview', page: overview, needs: ['GET', '/metrics']},
  {path: 'review', title: 'Review queue', page: review, needs: ['GET', '/v1/admin/review']},
  {path: 'decisions', title: 'Decisions', page: decisions, needs: ['GET', '/v1/admin/decisions']},
  {path: 'policies', title: 'Policies', page: policies, needs: ['GET', '/v1/admin/policies']},
  {path: 'accounts', title: 'Accounts', page: accounts, needs: ['GET', '/v1/admin/accounts']},
];

let stop = null;  // the current page's clean-up (timers)

function visible() { return PAGES.filter((p) => can(...p.needs)); }

async function route() {
  if (stop) { stop(); stop = null; }
  const pages = visible();
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const current = pages.find((p) => p.path === name) || pages[0];
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.dataset.page === (current && current.path));
  const view = document.getElementById('view');
  view.replaceChildren();
  if (!current) {
    view.append(h('p', {}, 'This token\'s role may not use any console page.'));
    return;
  }
  document.title = current.title + ' · tosgate console';
  const started = performance.now();
  try {
    stop = (await current.page.render(view, rest.map(decodeURIComponent))) || null;
  } catch (e) {
    view.append(h('p', {class: 'notice error'}, 'Could not load this page: ' + e.message));
  }
  // The browser test reads this: how long the page took to show its data.
  view.dataset.renderedMs = String(Math.round(performance.now() - started));
  view.dataset.page = current.path;
}

async function main() {
  const session = await loadSession();
  if (!session) return;
  document.getElementById('who').textContent = `${session.name} · ${session.role}`;
  document.getElementById('signout').addEventListener('click', signOut);
  document.getElementById('nav').append(...visible().map((p) =>
    h('a', {href: '#/' + p.path, 'data-page': p.path}, p.title)));
  window.addEventListener('hashchange', route);
  await route();
}

main();
