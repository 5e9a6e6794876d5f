import { confirmDialog } from './dialog.js';
import { el, replace, table } from './dom.js';
import { clock, countBy, countsText, scopeText, timeLeft } from './format.js';
import { keepFresh } from './refresh.js';

const LIVE_STATES = new Set(['pending', 'active', 'revoking', 'revoke_failed']);

/** Every workload: tier, active leases by target, blocked. */
export function showWorkloads(main, session) {
  const { api } = session;
  const body = el('div', {});
  const error = el('p', { class: 'error', role: 'alert' });
  replace(main, el('h1', {}, 'Workloads'), error, body);
  const view = keepFresh(session, error, async () => {
    const [{ workloads }, active] = await Promise.all([
      api.get('/v1/workloads'),
      api.allLeases({ state: 'active' }),
    ]);
    if (view.stopped) return;
    const byWorkload = new Map();
    for (const lease of active.leases) {
      const list = byWorkload.get(lease.workload) ?? [];
      list.push(lease);
      byWorkload.set(lease.workload, list);
    }
    replace(
      body,
      table(
        ['Workload', 'Tier', 'Live leases', 'Active by target', 'State'],
        workloads.map((w) =>
          el(
            'tr',
            { 'data-workload': w.workload, class: w.blocked ? 'blocked' : '' },
            el(
              'td',
              {},
              el('a', { href: `#/workloads/${encodeURIComponent(w.workload)}` }, w.workload),
            ),
            el('td', {}, w.tier ?? '—'),
            el('td', { 'data-testid': 'live-count' }, String(w.live_leases)),
            el('td', {}, countsText(countBy(byWorkload.get(w.workload) ?? [], (l) => l.target))),
            el(
              'td',
              { 'data-testid': 'blocked' },
              w.blocked ? 'BLOCKED' : w.configured ? 'ok' : 'not configured',
            ),
          ),
        ),
        { testid: 'workloads', empty: 'No workloads configured.' },
      ),
    );
  });
  view.refresh();
  return view.stop;
}

/** One workload: its leases with time left, and the kill switch. */
export function showWorkload(main, session, id) {
  const { api } = session;
  const details = el('p', {});
  const header = el(
    'div',
    { class: 'workload-head' },
    el('h1', {}, 'Workload ', el('span', { 'data-testid': 'workload-name' }, id)),
    details,
  );
  const actions = el('div', { class: 'actions' });
  const progress = el('div', { class: 'progress', 'data-testid': 'kill-progress', role: 'status' });
  const leasesBox = el('div', {});
  const error = el('p', { class: 'error', role: 'alert' });
  replace(
    main,
    el('p', {}, el('a', { href: '#/workloads' }, '← Workloads')),
    header,
    actions,
    progress,
    error,
    leasesBox,
  );

  let busy = false;
  let current;

  const view = keepFresh(session, error, async () => {
    const [{ workloads }, listing] = await Promise.all([
      api.get('/v1/workloads'),
      api.allLeases({ workload: id }),
    ]);
    if (view.stopped) return;
    current = workloads.find((w) => w.workload === id) ?? {
      workload: id,
      live_leases: 0,
      blocked: false,
      configured: false,
    };
    const leases = listing.leases.sort(
      (a, b) =>
        Number(LIVE_STATES.has(b.state)) - Number(LIVE_STATES.has(a.state)) ||
        b.created_at.localeCompare(a.created_at),
    );
    const activeCount = leases.filter((l) => l.state === 'active').length;
    replace(
      details,
      `Tier ${current.tier ?? '—'} · ${current.live_leases} live lease(s) · `,
      el(
        'strong',
        { 'data-testid': 'workload-state', class: current.blocked ? 'warn-text' : '' },
        current.blocked ? 'BLOCKED' : 'not blocked',
      ),
    );
    if (!busy) showActions(activeCount);
    replace(
      leasesBox,
      leaseTable(leases, session, refreshSoon, (msg) => replace(error, msg)),
      listing.truncated ? el('p', { class: 'hint' }, 'Showing the first 2000 leases.') : '',
    );
  });
  const refreshSoon = view.soon;

  const showActions = (activeCount) => {
    replace(
      actions,
      session.may('workload.revoke') &&
        el(
          'button',
          {
            type: 'button',
            class: 'danger big',
            'data-testid': 'kill-switch',
            onclick: () => killSwitch(activeCount),
          },
          'Revoke all and block',
        ),
      current.blocked &&
        session.may('workload.unblock') &&
        el(
          'button',
          {
            type: 'button',
            'data-testid': 'unblock',
            onclick: async () => {
              const answer = await confirmDialog({
                title: `Unblock ${id}`,
                message: `Workload ${id} will be able to ask for credentials again.`,
                confirm: `Unblock ${id}`,
                danger: false,
              });
              if (answer === undefined) return;
              try {
                await api.post(`/v1/workloads/${encodeURIComponent(id)}/unblock`);
              } catch (err) {
                if (!session.refused(err)) replace(error, `Unblock failed: ${err.message}`);
              }
              refreshSoon();
            },
          },
          'Unblock',
        ),
    );
  };

  const killSwitch = async (activeCount) => {
    const answer = await confirmDialog({
      title: 'Revoke all and block',
      message: `Revoke all ${activeCount} active lease(s) of workload ${id} and block it from new credentials?`,
      confirm: `Revoke ${activeCount} and block ${id}`,
      reason: true,
    });
    if (answer === undefined) return;
    busy = true;
    replace(actions);
    let seen = 0;
    const counter = el('span', { 'data-testid': 'kill-seen' }, '0');
    replace(
      progress,
      el('span', { class: 'spinner' }),
      ` Revoking the leases of ${id}… `,
      counter,
      ' revoked so far',
    );
    const unsubscribe = session.live.subscribe((type, event) => {
      if (type === 'lease.revoked' && event.workload === id) {
        seen += 1;
        counter.textContent = String(seen);
      }
    });
    try {
      const result = await api.post(`/v1/workloads/${encodeURIComponent(id)}/revoke`, {
        reason: answer.reason,
        block: true,
      });
      replace(
        progress,
        el(
          'p',
          { 'data-testid': 'kill-result', class: 'result' },
          `Done: ${result.revoked} revoked, ${result.revoking} still revoking, ${result.failed} failed; ${result.blocked ? `${id} is blocked` : `${id} is not blocked`}.`,
        ),
      );
    } catch (err) {
      if (!session.refused(err))
        replace(
          progress,
          el('p', { class: 'error' }, `Kill switch failed: ${err.message} (${err.code})`),
        );
    } finally {
      unsubscribe();
      busy = false;
      refreshSoon();
    }
  };

  // Anything that happens to this workload's leases shows at once, not at the next poll.
  const unsubscribe = session.live.subscribe((_type, event) => {
    if (event.workload === id && !busy) refreshSoon();
  });
  const ticker = setInterval(() => {
    for (const cell of leasesBox.querySelectorAll('[data-expires]'))
      cell.textContent = timeLeft(cell.dataset.expires);
  }, 1000);
  view.refresh();
  return () => {
    view.stop();
    clearInterval(ticker);
    unsubscribe();
  };
}

/** Leases with their task, tool, target, scope, time left and state, and per-lease actions. */
export function leaseTable(leases, session, changed, fail) {
  const { api } = session;
  const act = (label, testid, call) =>
    el(
      'button',
      {
        type: 'button',
        class: 'small',
        'data-testid': testid,
        onclick: async () => {
          try {
            await call();
          } catch (err) {
            if (!session.refused(err)) fail(`${label} failed: ${err.message}`);
          }
          changed();
        },
      },
      label,
    );
  return table(
    ['Lease', 'Task', 'Tool', 'Target', 'Scope', 'Subject', 'Created', 'Time left', 'State', ''],
    leases.map((lease) =>
      el(
        'tr',
        { 'data-lease': lease.lease_id, class: `state-${lease.state}` },
        el('td', { class: 'mono' }, lease.lease_id),
        el(
          'td',
          { 'data-testid': 'task' },
          lease.task.id,
          el('span', { class: 'hint' }, ` (${lease.task.intent})`),
        ),
        el('td', {}, lease.task.tool ?? '—'),
        el('td', {}, lease.target),
        el('td', {}, scopeText(lease.scope)),
        el('td', { class: 'mono', 'data-testid': 'subject' }, lease.subject),
        el('td', {}, clock(lease.created_at)),
        lease.state === 'active'
          ? el('td', { 'data-expires': lease.expires_at }, timeLeft(lease.expires_at))
          : el('td', {}, '—'),
        el(
          'td',
          { 'data-testid': 'state', title: lease.revoke_reason ?? lease.last_error },
          lease.state,
          lease.revoke_reason
            ? el('div', { class: 'hint', 'data-testid': 'revoke-reason' }, lease.revoke_reason)
            : '',
        ),
        el(
          'td',
          { class: 'row-actions' },
          lease.state === 'active' &&
            session.may('lease.revoke') &&
            act('Revoke', 'revoke-lease', () =>
              api.del(`/v1/leases/${encodeURIComponent(lease.lease_id)}`),
            ),
          lease.state === 'revoke_failed' &&
            session.may('lease.retry') &&
            act('Retry', 'retry-lease', () =>
              api.post(`/v1/leases/${encodeURIComponent(lease.lease_id)}/retry`),
            ),
          LIVE_STATES.has(lease.state) &&
            session.may('task.end') &&
            act('End task', 'end-task', () =>
              api.post(
                `/v1/tasks/${encodeURIComponent(lease.task.id)}/revoke?workload=${encodeURIComponent(lease.workload)}`,
              ),
            ),
        ),
      ),
    ),
    { testid: 'leases', empty: 'No leases.' },
  );
}
