// The console's one way to the server: /console/api/... with the session
// cookie (sent by the browser) and, on every change, the session's CSRF
// token. A 401 means the session ended: back to the sign-in page.
let session = null;

export async function loadSession() {
  const res = await fetch('/console/api/session', {credentials: 'same-origin'});
  if (res.status === 401) {
    location.assign('/console/login');
    return null;
  }
  session = await res.json();
  return session;
}

export function currentSession() { return session; }

// True when the session's role may call METHOD on the route pattern, as the
// server's route table says (the server enforces it again on every call).
export function can(method, pattern) {
  return !!session && session.allowed.includes(method + ' ' + pattern);
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || ('HTTP ' + status));
    this.status = status;
    this.body = body;
  }
}

export async function call(method, path, body, {raw = false} = {}) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = session ? session.csrf : '';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch('/console/api' + path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    location.assign('/console/login');
    throw new ApiError(401, null);
  }
  const type = res.headers.get('Content-Type') || '';
  const parsed = type.includes('json') && !raw ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, typeof parsed === 'object' ? parsed : {detail: parsed});
  return parsed;
}

export const get = (path, opts) => call('GET', path, undefined, opts);

export async function signOut() {
  await fetch('/console/session', {
    method: 'DELETE', credentials: 'same-origin',
    headers: {'X-CSRF-Token': session ? session.csrf : ''},
  });
  location.assign('/console/login');
}
