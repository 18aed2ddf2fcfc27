// Browser tests of the web console (docs/console.md): playwright-core
// drives Debian's chromium against a real `tosgate serve` on loopback with
// a real SQLite audit store and accounts registry.
//
//   node console_test.mjs --tosgate build/tosgate [--shots docs/console] [--timings FILE]
//                         [--audit-db FILE]
//
// --audit-db serves an existing (large) audit store instead of a new one,
// for the first-paint figures at scale (bench/audit_query_bench --keep fills
// one with 10 million decisions); the test appends to it.
//
// Exits 77 (CTest: skipped) with a message when chromium or node_modules
// are missing; prints "N passed, M failed" and exits 1 on a failure.
import {spawn, execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const SKIP = 77;
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const CHROMIUM = process.env.CHROMIUM || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!CHROMIUM) {
  console.log('SKIP: no chromium (apt-get install chromium, or set CHROMIUM)');
  process.exit(SKIP);
}
let chromium;
try {
  ({chromium} = await import('playwright-core'));
} catch (e) {
  console.log('SKIP: playwright-core is not installed (npm ci in tests/browser)');
  process.exit(SKIP);
}
const TOSGATE = path.resolve(args.tosgate || 'build/tosgate');
const SHOTS = args.shots ? path.resolve(args.shots) : null;

const sha = (s) => createHash('sha256').update(s).digest('hex');
const TOKENS = {admin: 'console-admin-secret', author: 'console-author-secret', viewer: 'console-viewer-secret'};
const CAMPAIGN = Array.from({length: 12}, (_, i) => `acct_camp_${String(i + 1).padStart(2, '0')}`);

const results = [];
async function check(name, fn) {
  const t = Date.now();
  try {
    await fn();
    results.push({name, ok: true, ms: Date.now() - t});
    console.log(`ok   ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    results.push({name, ok: false});
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}
function assert(cond, what) { if (!cond) throw new Error('assertion failed: ' + what); }

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const {port} = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const POLICY = (per) => `apiVersion: tosgate/v1
kind: Policy
metadata: {name: console-test}
settings: {mode: enforce, failure_mode: closed}
identity:
  unknown_keys: {action: deny}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
rules:
  - id: rate.minute
    kind: rate_limit
    scope: [account]
    limit: {requests: 1000, per: ${per}}
  - id: distill.campaign
    kind: competitor_training
    match: {operations: [chat]}
    window: {requests: 32, min_requests: 4}
    cluster: {min_accounts: 4, full_accounts: 12, by: [template, ip/24, payment]}
    thresholds: {flag: 0.2, review: 0.3, deny: 0.99}
`;

// --- the server -------------------------------------------------------------
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tosgate-console-'));
const [gwPort, adminPort, evilPort] = [await freePort(), await freePort(), await freePort()];
fs.mkdirSync(path.join(dir, 'policies'));
fs.writeFileSync(path.join(dir, 'policies', 'console.yaml'), POLICY('1m'));
const accounts = [...CAMPAIGN.map((id, i) => ({id, org: 'org_harvest', tier: 'free', payment_fingerprint: 'pf_shared',
  keys: [`sk-camp-${i + 1}`]})),
  {id: 'acct_ordinary', org: 'org_4', tier: 'pro', payment_fingerprint: 'pf_9', keys: ['sk-ordinary']}];
// Recorded traffic for the policy backtest (admin.backtest_capture): 1,600
// requests 20 ms apart, one in twenty from a key nobody has; the known key
// runs into the 1000-a-minute limit, which the edited policy (1000 per 30 s)
// refills faster.
fs.writeFileSync(path.join(dir, 'capture.jsonl'), Array.from({length: 1600}, (_, i) => JSON.stringify({
  ts: 1764331200000 + i * 20, method: 'POST', path: '/v1/chat/completions',
  headers: {authorization: 'Bearer ' + (i % 20 < 19 ? 'sk-ordinary' : 'sk-nobody')},
  body: {model: 'm', max_tokens: 200, messages: [{role: 'user', content: `hello ${i}`}]}})).join('\n') + '\n');
fs.writeFileSync(path.join(dir, 'accounts.jsonl'), accounts.map((a) => JSON.stringify(a)).join('\n') + '\n');
execFileSync(TOSGATE, ['accounts', '--db', path.join(dir, 'accounts.db'), 'import', path.join(dir, 'accounts.jsonl')]);
fs.writeFileSync(path.join(dir, 'tosgate.yaml'), `listen: {gateway: 127.0.0.1:${gwPort}, admin: 127.0.0.1:${adminPort}}
policies: {dir: ${path.join(dir, 'policies')}}
audit: {path: ${args['audit-db'] ? path.resolve(args['audit-db']) : path.join(dir, 'audit.db')}, durability: sync}
accounts: {db: ${path.join(dir, 'accounts.db')}, refresh_seconds: 1}
admin:
  db: ${path.join(dir, 'admin.db')}
  backtest_capture: ${path.join(dir, 'capture.jsonl')}
  tokens:
    - {name: ops, sha256: ${sha(TOKENS.admin)}, role: admin}
    - {name: alice, sha256: ${sha(TOKENS.author)}, role: policy-author}
    - {name: grafana, sha256: ${sha(TOKENS.viewer)}, role: viewer}
gateway: {threads: 2}
`);
const server = spawn(TOSGATE, ['serve', '--config', path.join(dir, 'tosgate.yaml')],
  {stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'tosgate.err'), 'w')]});
const BASE = `http://127.0.0.1:${adminPort}`;
let browser = null;
let suspended = CAMPAIGN[0];  // the account the review flow suspends
let evil = null;

async function api(method, p, body, token = TOKENS.admin) {
  const res = await fetch(BASE + p, {method, headers: {Authorization: 'Bearer ' + token, 'Content-Type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  try { return {status: res.status, body: JSON.parse(text)}; } catch (e) { return {status: res.status, body: text}; }
}
async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    try { if (await fn()) return; } catch (e) { /* not yet */ }
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}
// One chat check through the forward-auth endpoint, shaped like harvesting.
async function chat(key, i, plain = false) {
  const body = plain
    ? {model: 'm', max_tokens: 200, messages: [{role: 'user', content: `Could you suggest a name for my cat? (${i})`}]}
    : {model: 'm', max_tokens: 4000, logprobs: true, top_logprobs: 20,
      messages: [{role: 'user', content: `Think step by step and show all of your reasoning before answering. Question ${i}: why is the sky blue?`}]};
  const res = await fetch(`http://127.0.0.1:${gwPort}/v1/check/v1/chat/completions`,
    {method: 'POST', headers: {Authorization: 'Bearer ' + key, 'Content-Type': 'application/json'}, body: JSON.stringify(body)});
  return res.status;
}

const timings = {};
const foreign = [];  // requests to any other origin
const violations = [];  // CSP reports in the console
function watch(page) {
  page.on('request', (r) => { const u = r.url(); if (!u.startsWith(BASE) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u); });
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  page.on('pageerror', (e) => violations.push('page error: ' + e.message));
}
async function signIn(context, token) {
  const page = await context.newPage();
  watch(page);
  await page.goto(BASE + '/console/');
  await page.waitForURL(/\/console\/login$/);
  await page.fill('#token', token);
  await Promise.all([page.waitForURL(/\/console\/$|\/console\/#/), page.click('button[type=submit]')]);
  await page.waitForSelector('#view[data-page]');
  return page;
}
// A fresh load of one page: first contentful paint and the time to its data.
async function open(page, route, ready) {
  const t = Date.now();
  const name = route.split('/')[0];
  await page.goto(`${BASE}/console/#/${route}`);
  await page.reload();
  await page.waitForSelector(`#view[data-page="${name}"]`);
  if (ready) await page.waitForSelector(ready);
  const fcp = await page.evaluate(() => {
    const e = performance.getEntriesByName('first-contentful-paint')[0];
    return e ? Math.round(e.startTime) : null;
  });
  timings[name] = {first_contentful_paint_ms: fcp, data_shown_ms: Number(await page.getAttribute('#view', 'data-rendered-ms')),
    load_to_ready_ms: Date.now() - t};
}
async function shot(page, name, fullPage = false) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, {recursive: true});
  await page.screenshot({path: path.join(SHOTS, name + '.png'), fullPage});
}

try {
  await until('tosgate serve', async () => (await fetch(BASE + '/readyz')).ok, 60000);
  // The active policy as version 1, so that the editor opens it.
  const v1 = await api('POST', '/v1/admin/policies', {files: {'console.yaml': POLICY('1m')}, message: 'initial', activate: true}, TOKENS.author);
  assert(v1.status === 201, 'upload v1: ' + JSON.stringify(v1.body));

  await check('a scripted campaign fills the review queue', async () => {
    for (let round = 0; round < 8; ++round)
      await Promise.all(CAMPAIGN.map((_, i) => chat(`sk-camp-${i + 1}`, round * 100 + i)));
    for (let i = 0; i < 3; ++i) await chat('sk-ordinary', i, true);
    await until('review entries', async () => (await api('GET', '/v1/admin/review')).body.items.length >= 6);
  });

  browser = await chromium.launch({executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
  const ctx = await browser.newContext({viewport: {width: 1360, height: 900}});
  let page;
  await check('sign in as admin; an unauthenticated console redirects to sign-in', async () => {
    const anon = await fetch(BASE + '/console/app.js');
    assert(anon.status === 401, 'app.js without a session: ' + anon.status);
    const login = await (await browser.newContext()).newPage();
    watch(login);
    let t = Date.now();
    await login.goto(BASE + '/console/login');
    console.log(`     login page in ${Date.now() - t} ms`);
    t = Date.now();
    await login.fill('#token', 'wrong');
    await login.click('button[type=submit]');
    await login.waitForSelector('#error:not([hidden])');
    console.log(`     wrong token refused in ${Date.now() - t} ms`);
    await shot(login, 'signin');
    t = Date.now();
    page = await signIn(ctx, TOKENS.admin);
    console.log(`     signed in in ${Date.now() - t} ms`);
    const nav = await page.textContent('#nav');
    for (const t of ['Overview', 'Review queue', 'Decisions', 'Policies', 'Accounts']) assert(nav.includes(t), 'nav has ' + t);
  });

  await check('overview charts /metrics', async () => {
    await open(page, 'overview', '#gauges dl');
    // Traffic while it polls: a rate needs two points, and some of it denied.
    const end = Date.now() + 4500;
    for (let i = 0; Date.now() < end; ++i)
      await Promise.all([chat('sk-ordinary', 1000 + i, true), chat('sk-unknown', i, true), new Promise((r) => setTimeout(r, 50))]);
    await page.waitForSelector('#rate svg path');
    await shot(page, 'overview');
  });

  await check('review flow: campaign account -> signals, cluster -> suspended -> admin event in the trail', async () => {
    await open(page, 'review', '#review-table tbody tr');
    const row = page.locator('#review-table tbody tr', {hasText: 'acct_camp_'}).first();
    const account = (await row.locator('td').first().textContent()).trim();
    suspended = account;
    await row.click();
    await page.waitForSelector('#cluster-graph');
    await page.waitForSelector('#timeline-chart');
    assert((await page.textContent('#review-detail')).includes('logprob_harvest'), 'signals shown');
    // What links the cluster: the campaign's shared card, org and address
    // range, each named on the graph's edges and in its legend.
    const legend = await page.textContent('#cluster');
    assert(/payment/.test(legend) && /org org_harvest/.test(legend) && /range 127\.0\.0\.0\/24/.test(legend),
      'the cluster says what links it: ' + legend);
    await shot(page, 'review', true);
    await page.fill('#review-note', 'harvest campaign, org_harvest');
    await page.click('#review-actions button:has-text("Suspend account")');
    await page.waitForSelector('.notice.ok:has-text("is suspended")');
    const a = await api('GET', '/v1/admin/accounts/' + account);
    assert(a.body.suspended === true, account + ' suspended');
    const ev = await api('GET', `/v1/admin/decisions?effect=admin&limit=100&since=${Date.now() - 3600e3}`);
    const ops = ev.body.decisions.filter((d) => d.account === 'admin:ops').map((d) => d.operation);
    assert(ops.includes('admin.accounts.suspend') && ops.includes('admin.review.resolve') &&
      ops.includes('admin.console.signin'), 'admin events: ' + ops.join(','));
    // ... and a person sees it in the Decisions page.
    await open(page, 'decisions', '#decision-table');
    await page.selectOption('#q-effect', 'admin');
    await page.click('#decision-search button[type=submit]');
    await page.waitForSelector(`#decision-table td:has-text("suspended ${account}")`);
    await page.click(`#decision-table tr:has-text("suspended ${account}")`);
    await page.waitForSelector('#explanation');
    await shot(page, 'decisions');
  });

  await check('policy edit: an error shown at its line, fixed, backtested, activated', async () => {
    await open(page, 'policies', '#policy-text');
    const bad = POLICY('1y');
    const line = bad.split('\n').findIndex((l) => l.includes('per: 1y')) + 1;
    await page.fill('#policy-text', bad);
    await page.click('#validate');
    await page.waitForSelector('#policy-errors li.error');
    const err = await page.textContent('#policy-errors');
    assert(err.includes(`console.yaml:${line}:`), `error at line ${line}: ${err}`);
    assert((await page.textContent('.gutter .mark')).trim() === String(line), 'gutter marks the line');
    await shot(page, 'policies');
    await page.fill('#policy-text', POLICY('30s'));
    // The fixed candidate against the recorded traffic, before activating.
    await page.click('#backtest');
    await page.waitForSelector('#backtest-effects');
    const cells = async (row) => (await page.locator(`#backtest-effects tbody tr:nth-child(${row}) td`).allTextContents());
    const [activeRow, candidateRow] = [await cells(1), await cells(2)];
    // The same counts as `tosgate replay` on the same capture and policies.
    fs.mkdirSync(path.join(dir, 'candidate'));
    fs.writeFileSync(path.join(dir, 'candidate', 'console.yaml'), POLICY('30s'));
    const cli = JSON.parse(execFileSync(TOSGATE, ['replay', '--json', '--policies', path.join(dir, 'candidate'),
      '--baseline', path.join(dir, 'policies'), '--capture', path.join(dir, 'capture.jsonl'),
      '--accounts', path.join(dir, 'accounts.jsonl')]).toString());
    const row = (name, e) => [name, String(e.allow), String(e.throttle), String(e.deny)];
    assert(JSON.stringify(activeRow) === JSON.stringify(row('active', cli.effects.active)), `active ${activeRow} vs replay ${JSON.stringify(cli.effects.active)}`);
    assert(JSON.stringify(candidateRow) === JSON.stringify(row('candidate', cli.effects.candidate)), `candidate ${candidateRow} vs replay ${JSON.stringify(cli.effects.candidate)}`);
    assert(cli.effects.active.deny === 80 && cli.changes.length > 0, 'the capture makes a difference: ' + JSON.stringify(cli.changes));
    const changes = await page.locator('#backtest-changes tbody tr').allTextContents();
    assert(changes.length === cli.changes.length && changes.every((t, i) => t.includes(String(cli.changes[i].requests))),
      `changes ${changes} vs replay ${JSON.stringify(cli.changes)}`);
    const report = await page.textContent('#backtest-report');
    assert(report.includes('1600 recorded requests') && report.includes(`Unchanged: ${cli.unchanged}.`), 'report: ' + report);
    assert((await api('GET', '/v1/admin/policies')).body.active === 1, 'a backtest activates nothing');
    await shot(page, 'policies-backtest', true);
    await page.fill('#policy-message', 'rate per 30s');
    await page.click('#save-activate');
    await page.waitForSelector('.notice.ok:has-text("is active")');
    const list = await api('GET', '/v1/admin/policies');
    assert(list.body.active === 2, 'version 2 active: ' + JSON.stringify(list.body.active));
  });

  await check('accounts page: the suspended account, a new key shown once', async () => {
    await open(page, `accounts/${suspended}`, '#account-detail h2');
    await page.waitForSelector('#account-detail table');
    assert((await page.textContent('#account-detail h2')).includes('suspended'), 'shown as suspended');
    await page.fill('#key-label', 'console');
    await page.click('button:has-text("Issue key")');
    await page.waitForSelector('#new-key:not([hidden])');
    assert(/sk-\S+/.test(await page.textContent('#new-key')), 'the secret is shown');
    await shot(page, 'accounts');
  });

  await check('accounts page: limits and usage against them (used, remaining, reset), read without counting', async () => {
    for (let i = 0; i < 3; ++i) assert(await chat('sk-ordinary', 2000 + i, true) === 200, 'ordinary chat allowed');
    const before = (await api('GET', '/v1/admin/accounts/acct_ordinary/usage')).body.limits.find((l) => l.rule === 'rate.minute');
    assert(before && before.scope === 'account=acct_ordinary' && before.used >= 1 && before.amount === 1000 &&
      before.remaining === 1000 - before.used && before.reset_ms > 0, 'usage read: ' + JSON.stringify(before));
    await open(page, 'accounts/acct_ordinary', '#usage-table');
    const row = (await page.textContent('#usage-table tr:has-text("rate.minute")')).replace(/\s+/g, ' ');
    const m = /(\d+) \/ 1000/.exec(row);
    assert(m && Number(m[1]) >= 1 && Number(m[1]) <= before.used, 'the page shows used / limit: ' + row);
    assert(/account=acct_ordinary/.test(row) && /requests/.test(row) && /in \d+ (s|min)/.test(row), 'scope, unit and reset shown: ' + row);
    // Reading (the API twice, the page once) took nothing from the meter.
    const after = (await api('GET', '/v1/admin/accounts/acct_ordinary/usage')).body.limits.find((l) => l.rule === 'rate.minute');
    assert(after.used <= before.used, `reads counted nothing (${before.used} then ${after.used})`);
    await shot(page, 'accounts-usage');
  });

  await check('a cross-site form post is refused (no cookie crosses sites)', async () => {
    evil = http.createServer((req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<form id=f method=post action="${BASE}/console/api/v1/admin/accounts/acct_ordinary/suspend">` +
        `<input name=note value=x></form><script>document.getElementById('f').submit()</script>`);
    }).listen(evilPort, '127.0.0.1');
    const p = await ctx.newPage();
    const answer = p.waitForResponse((r) => r.url().includes('/suspend'));
    await p.goto(`http://localhost:${evilPort}/`);
    const r = await answer;
    assert(r.status() === 401 || r.status() === 403, 'cross-site post answered ' + r.status());
    assert((await api('GET', '/v1/admin/accounts/acct_ordinary')).body.suspended !== true, 'not suspended');
    await p.close();
  });

  await check('a viewer sees no actions', async () => {
    const vctx = await browser.newContext({viewport: {width: 1360, height: 900}});
    const v = await signIn(vctx, TOKENS.viewer);
    const nav = await v.textContent('#nav');
    assert(!nav.includes('Review queue') && !nav.includes('Decisions'), 'viewer nav: ' + nav);
    await open(v, 'policies', '#policy-text');
    for (const sel of ['#validate', '#backtest', '#save-activate', '#rollback', '#versions-table button:has-text("activate")'])
      assert(await v.locator(sel).count() === 0, 'viewer has no ' + sel);
    await open(v, `accounts/${CAMPAIGN[1]}`, '#account-detail h2');
    for (const sel of ['button:has-text("Suspend")', '#edit-tier', 'button:has-text("Issue key")'])
      assert(await v.locator(sel).count() === 0, 'viewer has no ' + sel);
    await shot(v, 'viewer');
    await v.goto(`${BASE}/console/#/review`);
    await v.reload();
    await v.waitForSelector('#view[data-page]');
    // The shell falls back to the role's first page.
    assert(await v.getAttribute('#view', 'data-page') === 'overview', 'review page not shown to a viewer');
    assert(await v.locator('#review-actions').count() === 0, 'no review actions');
    const status = await v.evaluate(async () => (await fetch('/console/api/v1/admin/review')).status);
    assert(status === 403, 'the API refuses the viewer too: ' + status);
    await vctx.close();
  });

  await check('sign out ends the session', async () => {
    await page.click('#signout');
    await page.waitForURL(/\/console\/login$/);
    const status = await page.evaluate(async () => (await fetch('/console/api/session')).status);
    assert(status === 401, 'after sign-out: ' + status);
  });

  await check('nothing was loaded from another origin; no CSP violation', async () => {
    assert(foreign.length === 0, 'foreign requests: ' + foreign.join(', '));
    assert(violations.length === 0, 'violations: ' + violations.join(' | '));
  });
} catch (e) {
  results.push({name: 'setup', ok: false});
  console.log('FAIL setup: ' + (e.stack || e));
} finally {
  if (browser) await browser.close();
  if (evil) evil.close();
  const exited = new Promise((r) => (server.exitCode !== null ? r() : server.once('exit', r)));
  server.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
}

console.log('first paint and data times (ms), ' + 'reported, not asserted:\n' + JSON.stringify(timings, null, 1));
if (args.timings) fs.writeFileSync(args.timings, JSON.stringify(timings, null, 1) + '\n');
const failed = results.filter((r) => !r.ok).length;
if (failed) console.log('server log:\n' + fs.readFileSync(path.join(dir, 'tosgate.err'), 'utf8').slice(-3000));
else fs.rmSync(dir, {recursive: true, force: true, maxRetries: 3});
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
