/**
 * The console's own live feed: one `GET /v1/events` connection while signed in, counting
 * issuance and revocations into buckets for the overview's chart and telling views when
 * something they show has changed.
 */
import { createApprovalFeed } from './approval-feed.js';

export const BUCKET_MS = 10_000;
const BUCKETS = 30;

export function createLive(api) {
  const buckets = [];
  const listeners = new Set();
  const approvals = createApprovalFeed();
  let controller;
  let status = 'connecting';

  const bucketAt = (time) => {
    const start = Math.floor(time / BUCKET_MS) * BUCKET_MS;
    while (buckets.length > 0 && buckets[0].start <= start - BUCKETS * BUCKET_MS) buckets.shift();
    let last = buckets.at(-1);
    while (last === undefined || last.start < start) {
      last = { start: last === undefined ? start : last.start + BUCKET_MS, issued: 0, revoked: 0 };
      buckets.push(last);
    }
    return buckets.find((b) => b.start === start) ?? last;
  };

  const onEvent = (type, event) => {
    const bucket = bucketAt(Date.now());
    if (type === 'credential.issued') bucket.issued += 1;
    if (type === 'lease.revoked') bucket.revoked += 1;
    approvals.take(type, event);
    for (const listener of listeners) listener(type, event);
  };

  const run = async () => {
    while (controller !== undefined && !controller.signal.aborted) {
      const signal = controller.signal;
      try {
        status = 'connecting';
        const reason = await api.events({}, onEvent, signal, () => {
          status = 'live';
        });
        status =
          reason === 'token_expired' || reason === 'token_withdrawn' ? reason : 'reconnecting';
        if (status !== 'reconnecting') return;
      } catch (err) {
        if (signal.aborted) return;
        status = err?.status === 401 || err?.status === 403 ? 'refused' : 'reconnecting';
        if (status === 'refused') return;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  };

  return {
    start() {
      controller = new AbortController();
      run();
    },
    stop() {
      controller?.abort();
      controller = undefined;
    },
    status: () => status,
    /** The last BUCKETS buckets up to now, empty ones included. */
    buckets() {
      bucketAt(Date.now());
      const now = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS;
      const out = [];
      for (let start = now - (BUCKETS - 1) * BUCKET_MS; start <= now; start += BUCKET_MS) {
        out.push(buckets.find((b) => b.start === start) ?? { start, issued: 0, revoked: 0 });
      }
      return out;
    },
    /** Issued in the last minute. */
    issuedLastMinute() {
      const since = Date.now() - 60_000;
      return buckets.filter((b) => b.start + BUCKET_MS > since).reduce((n, b) => n + b.issued, 0);
    },
    /** Approvals seen on the feed since it connected, newest first. */
    approvals: () => approvals.list(),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
