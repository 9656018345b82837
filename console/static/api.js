// The native API. The console calls /v1 with the admin token kept in this tab's session
// storage: it goes in the Authorization header only, never in an address or a log. The
// portal (the same page in its tenant mode) holds no token: its session is an HttpOnly
// cookie, and it calls the tenant-scoped mirror of the same routes under /portal/v1.

const KEY = 'polyhook.adminToken';

export const PORTAL = document.body.dataset.mode === 'portal';

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set(token) { sessionStorage.setItem(KEY, token); },
  clear() { sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// api calls the native API (path is its /v1 path) and returns the decoded answer, or
// throws an ApiError with the gateway's own message.
export async function api(method, path, body, token) {
  const init = {
    method,
    headers: { Accept: 'application/json' },
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
  };
  if (PORTAL) {
    path = `/portal${path}`;
    init.credentials = 'same-origin';
    init.headers['X-Polyhook-Portal'] = '1';
  } else {
    // Only the console reads the tab's storage: a portal in another site's frame may be
    // denied it.
    init.headers.Authorization = `Bearer ${token === undefined ? session.token : token}`;
  }
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the gateway. Is it running?');
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) {
    const e = data && data.error;
    throw new ApiError(resp.status, (e && e.code) || 'error', (e && e.message) || `The gateway answered ${resp.status}.`);
  }
  return data;
}

// query builds "?a=1&b=2" from the entries with a value.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
