import { safeMessage } from '../leases/revoker.js';
import type { Logger } from '../lib/logger.js';
import type { Approval } from './types.js';
import { approvalView } from './view.js';

/**
 * Tells approvers of a new request: one POST of JSON to each URL, best effort, bounded by
 * `timeoutMs`, never awaited by the request that waits for approval. The body is the
 * approval's public view: the scope and task asked for, never a token or a credential.
 */
export function notifyApprovers(
  urls: readonly string[],
  approval: Approval,
  options: { timeoutMs: number; logger: Logger; fetch?: typeof fetch },
): void {
  const body = JSON.stringify({
    type: 'approval.requested',
    approval: approvalView(approval, approval.requestedAt),
  });
  const send = options.fetch ?? fetch;
  for (const url of new Set(urls)) {
    void send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    })
      .then(async (res) => {
        await res.body?.cancel();
        if (!res.ok) options.logger.warn({ status: res.status }, 'approval webhook refused');
      })
      .catch((err: unknown) =>
        options.logger.warn({ err: safeMessage(err) }, 'approval webhook failed'),
      );
  }
}
