import { el, replace, table } from './dom.js';
import { clock } from './format.js';
import { keepFresh } from './refresh.js';

/** Leases whose revocation failed for good: the provider's last error, and a retry. */
export function showFailures(main, session) {
  const { api } = session;
  const body = el('div', {});
  const error = el('p', { class: 'error', role: 'alert' });
  replace(
    main,
    el('h1', {}, 'Revoke failures'),
    el(
      'p',
      { class: 'hint' },
      'The credential may still work at the target until a retry succeeds.',
    ),
    error,
    body,
  );
  const view = keepFresh(session, error, async () => {
    const { leases, truncated } = await api.allLeases({ state: 'revoke_failed' });
    if (view.stopped) return;
    replace(
      body,
      table(
        ['Lease', 'Workload', 'Target', 'Task', 'Attempts', 'Last error', 'Since', ''],
        leases.map((lease) => [
          lease.lease_id,
          lease.workload,
          lease.target,
          lease.task.id,
          String(lease.attempts),
          el('span', { 'data-testid': 'last-error' }, lease.last_error ?? ''),
          clock(lease.revoked_at ?? lease.created_at),
          session.may('lease.retry')
            ? el(
                'button',
                {
                  type: 'button',
                  class: 'small',
                  'data-testid': 'retry',
                  onclick: async () => {
                    try {
                      await api.post(`/v1/leases/${encodeURIComponent(lease.lease_id)}/retry`);
                    } catch (err) {
                      if (!session.refused(err)) replace(error, `Retry failed: ${err.message}`);
                    }
                    view.refresh();
                  },
                },
                'Retry',
              )
            : '',
        ]),
        { testid: 'failures', empty: 'No revoke failures.' },
      ),
      truncated ? el('p', { class: 'hint' }, 'Showing the first 2000.') : '',
    );
  });
  view.refresh();
  return view.stop;
}
