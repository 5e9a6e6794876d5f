import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { KEY_REFRESH_CHANNEL, type KeyRefreshReport } from '../identity/remote-key-source.js';

/**
 * Calls `count` for every remote key fetch. Key sources are built deep inside the identity
 * runtime (and rebuilt at each reload), so they publish on a diagnostics channel instead of
 * holding the metrics; the channel is process-wide, so brokers sharing a process share it.
 */
export function watchKeyRefreshes(
  count: (outcome: KeyRefreshReport['outcome']) => void,
): () => void {
  const listener = (message: unknown) => {
    const outcome = (message as KeyRefreshReport).outcome;
    if (outcome === 'success' || outcome === 'failure') count(outcome);
  };
  subscribe(KEY_REFRESH_CHANNEL, listener);
  return () => {
    unsubscribe(KEY_REFRESH_CHANNEL, listener);
  };
}
