/**
 * The broker's public API, as the CLI calls it: same routes, same bearer token. The token
 * lives in this module (and in sessionStorage for the tab, see session.js), never in a cookie,
 * so no other site can make the browser send it.
 */

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem?.code ?? 'http_error';
    this.requestId = problem?.request_id;
  }
}

export function createApi(token) {
  const headers = (extra = {}) => ({
    authorization: `Bearer ${token}`,
    accept: 'application/json',
    ...extra,
  });

  async function call(method, path, body) {
    const init = {
      method,
      headers: headers(),
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
    };
    if (body !== undefined) {
      init.headers = headers({ 'content-type': 'application/json' });
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let parsed;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok && !(res.status === 503 && path === '/v1/readiness'))
      throw new ApiError(res.status, parsed);
    return parsed;
  }

  /** Every page of a lease listing, up to `max` leases. */
  async function allLeases(query, max = 2000) {
    const leases = [];
    let cursor;
    do {
      const params = new URLSearchParams({ ...query, limit: '500' });
      if (cursor !== undefined) params.set('cursor', cursor);
      const page = await call('GET', `/v1/leases?${params}`);
      leases.push(...page.leases);
      cursor = page.next_cursor;
    } while (cursor !== undefined && leases.length < max);
    return { leases, truncated: cursor !== undefined };
  }

  /**
   * Reads `GET /v1/events` (server-sent events) with fetch, since EventSource cannot send an
   * Authorization header. Calls `onEvent(type, data)` per message until `signal` aborts or
   * the feed ends; resolves with the reason it ended. `onReady` is called once the broker
   * says the feed is subscribed: events from then on reach it.
   */
  async function events(query, onEvent, signal, onReady) {
    const params = new URLSearchParams(query);
    const res = await fetch(`/v1/events${params.size > 0 ? `?${params}` : ''}`, {
      headers: headers({ accept: 'text/event-stream' }),
      cache: 'no-store',
      credentials: 'omit',
      signal,
    });
    if (!res.ok || res.body === null) {
      let problem;
      try {
        problem = await res.json();
      } catch {
        problem = undefined;
      }
      throw new ApiError(res.status, problem);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'closed';
      buffer += value;
      let cut = buffer.indexOf('\n\n');
      while (cut !== -1) {
        const message = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let type = 'message';
        const data = [];
        for (const line of message.split('\n')) {
          if (line.startsWith('event:')) type = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (type === 'end') return JSON.parse(data.join('\n')).reason ?? 'ended';
        if (type === 'ready') onReady?.();
        if (type !== 'ping' && type !== 'ready') onEvent(type, JSON.parse(data.join('\n')));
        cut = buffer.indexOf('\n\n');
      }
    }
  }

  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    del: (path) => call('DELETE', path),
    allLeases,
    events,
  };
}
