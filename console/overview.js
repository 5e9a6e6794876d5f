import { issuanceChart } from './chart.js';
import { confirmDialog } from './dialog.js';
import { el, replace } from './dom.js';
import { countsText } from './format.js';

const REFRESH_MS = 5_000;

/** The incident view: the numbers an on-call engineer looks at first, and the freeze switch. */
export function showOverview(main, session) {
  const { api } = session;
  const cards = el('div', { class: 'cards', 'data-testid': 'overview' });
  const chart = el('div', { class: 'chart-box' });
  const health = el('div', { class: 'health' });
  const freezeBox = el('div', { class: 'freeze' });
  const error = el('p', { class: 'error', role: 'alert' });
  replace(
    main,
    el('h1', {}, 'Overview'),
    error,
    cards,
    el('h2', {}, 'Issuance and revocations (10 s buckets, since this page opened)'),
    el(
      'p',
      { class: 'legend' },
      el('span', { class: 'swatch issued' }),
      ' issued ',
      el('span', { class: 'swatch revoked' }),
      ' revoked',
    ),
    chart,
    el('h2', {}, 'Issuance'),
    freezeBox,
    el('h2', {}, 'Health'),
    health,
  );

  const card = (label, value, testid, warn = false) =>
    el(
      'div',
      { class: warn ? 'card warn' : 'card', 'data-testid': testid },
      el('div', { class: 'value' }, String(value)),
      el('div', { class: 'label' }, label),
    );

  let timer;
  let stopped = false;
  const refresh = async () => {
    clearTimeout(timer);
    try {
      const [workloads, freeze, readiness, status] = await Promise.all([
        api.get('/v1/workloads'),
        api.get('/v1/freeze'),
        api.get('/v1/readiness'),
        api.get('/v1/status'),
      ]);
      if (stopped) return;
      const blocked = workloads.workloads.filter((w) => w.blocked);
      const { leases, sinks } = status;
      const failed = leases.by_state.revoke_failed ?? 0;
      const sinksDown = sinks.filter((s) => !s.up);
      const floor = leases.truncated ? ' (at least)' : '';
      replace(
        cards,
        card('issued in the last minute', session.live.issuedLastMinute(), 'issuance-rate'),
        card(`active leases${floor}`, leases.by_state.active ?? 0, 'active-leases'),
        card('revoke failures', failed, 'revoke-failures', failed > 0),
        card('issuance', freeze.frozen ? 'FROZEN' : 'open', 'frozen', freeze.frozen),
        card('blocked workloads', blocked.length, 'blocked-count', blocked.length > 0),
        card(
          'event sinks',
          sinksDown.length === 0 ? 'ok' : `${sinksDown.length} down`,
          'sink-health',
          sinksDown.length > 0,
        ),
        card('live feed', session.live.status(), 'feed-status', session.live.status() !== 'live'),
      );
      cards.append(
        el(
          'p',
          { class: 'by-target', 'data-testid': 'active-by-target' },
          'Active by target: ',
          countsText(new Map(Object.entries(leases.active_by_target))),
        ),
        blocked.length === 0
          ? ''
          : el(
              'p',
              { class: 'blocked-list' },
              'Blocked: ',
              blocked.map((w) => w.workload).join(', '),
            ),
      );
      showFreeze(freeze);
      replace(
        health,
        el('p', { 'data-testid': 'readiness' }, `Readiness: ${readiness.status}`),
        el(
          'ul',
          {},
          Object.entries(readiness.checks ?? {}).map(([name, check]) =>
            el(
              'li',
              { class: check.ok ? 'ok' : 'failing' },
              `${name}: ${check.ok ? 'ok' : 'FAILING'}${check.detail ? ` (${check.detail})` : ''}`,
            ),
          ),
        ),
        el('h3', {}, 'Event sinks (this replica)'),
        el(
          'ul',
          { 'data-testid': 'sinks' },
          status.sinks.map((s) =>
            el(
              'li',
              { class: s.up ? 'ok' : 'failing', 'data-sink': s.sink },
              `${s.sink} (${s.mode}): ${s.up ? 'up' : 'DOWN'}, ${s.queued} queued, ${s.dropped} dropped, ${s.failed_writes} failed writes`,
            ),
          ),
        ),
      );
      replace(error);
    } catch (err) {
      if (session.refused(err)) return;
      replace(error, `Could not refresh: ${err.message}`);
    }
    replace(chart, issuanceChart(session.live.buckets()));
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  };

  const showFreeze = (freeze) => {
    const state = freeze.frozen
      ? el(
          'p',
          { class: 'warn-text', 'data-testid': 'freeze-state' },
          `Frozen by ${freeze.by ?? '?'} at ${freeze.at ?? '?'}: ${freeze.reason ?? ''}`,
        )
      : el('p', { 'data-testid': 'freeze-state' }, 'Issuance is open.');
    const button = freeze.frozen
      ? session.may('issuance.unfreeze') &&
        el(
          'button',
          {
            type: 'button',
            'data-testid': 'unfreeze',
            onclick: () => act(() => api.del('/v1/freeze')),
          },
          'Unfreeze issuance',
        )
      : session.may('issuance.freeze') &&
        el(
          'button',
          {
            type: 'button',
            class: 'danger',
            'data-testid': 'freeze',
            onclick: async () => {
              const answer = await confirmDialog({
                title: 'Freeze issuance',
                message:
                  'No credential will be issued to any workload until issuance is unfrozen. Leases already issued stay valid.',
                confirm: 'Freeze issuance',
                reason: true,
              });
              if (answer !== undefined)
                await act(() => api.post('/v1/freeze', { reason: answer.reason }));
            },
          },
          'Freeze issuance',
        );
    replace(freezeBox, state, button);
  };

  const act = async (call) => {
    try {
      await call();
    } catch (err) {
      if (session.refused(err)) return;
      replace(error, `Failed: ${err.message}`);
    }
    await refresh();
  };

  // Redrawn at most twice a second: a kill switch sends thousands of events at once.
  let drawing;
  const unsubscribe = session.live.subscribe(() => {
    drawing ??= setTimeout(() => {
      drawing = undefined;
      replace(chart, issuanceChart(session.live.buckets()));
    }, 500);
  });
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(drawing);
    unsubscribe();
  };
}
