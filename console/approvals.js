import { confirmDialog } from './dialog.js';
import { el, replace, table } from './dom.js';
import { clock, scopeText, timeLeft } from './format.js';

const REFRESH_MS = 5_000;
const BADGE_MS = 10_000;
const RECENT = 50;

/**
 * Requests that wait for a human: the exact request each approval is bound to, and approve
 * or deny with a reason for operators whose token may. Operators who may not list approvals
 * see the ones the live feed told of since they signed in.
 */
export function showApprovals(main, session) {
  const { api, live } = session;
  const fromApi = session.may('approval.list');
  const pendingBox = el('div', { 'data-testid': 'pending-approvals' });
  const recentBox = el('div', {});
  const result = el('p', { class: 'result', role: 'status', 'data-testid': 'approval-result' });
  const refusal = el('p', { class: 'error', role: 'alert', 'data-testid': 'approval-error' });
  const error = el('p', { class: 'error', role: 'alert' });
  // Updates arrive through the live feed in either case; its state is shown.
  const feed = el('span', { class: 'hint', 'data-testid': 'approvals-feed' }, live.status());
  replace(
    main,
    el('h1', {}, 'Approvals'),
    el(
      'p',
      { class: 'hint', 'data-testid': 'approvals-source' },
      fromApi
        ? 'A workload collects its credential by repeating the exact request once it is approved; an approval is single-use and expires.'
        : 'Your role cannot list approvals: these are the ones the live feed reported since you signed in.',
      ' Live feed: ',
      feed,
    ),
    result,
    refusal,
    error,
    el('h2', {}, 'Pending'),
    pendingBox,
    el('h2', {}, 'Decided and past'),
    recentBox,
  );

  let timer;
  let stopped = false;

  const decide = async (approval, decision) => {
    const approve = decision === 'approve';
    const answer = await confirmDialog({
      title: approve ? 'Approve this request' : 'Deny this request',
      message: `${approve ? 'Approve' : 'Deny'} ${approval.workload}'s request for ${approval.target} (task ${approval.task?.id ?? '?'}, approval ${approval.approval_id})?`,
      confirm: approve ? 'Approve' : 'Deny',
      reason: true,
      danger: !approve,
    });
    if (answer === undefined) return;
    try {
      const decided = await api.post(
        `/v1/approvals/${encodeURIComponent(approval.approval_id)}/${decision}`,
        { reason: answer.reason },
      );
      replace(
        result,
        `${decided.status === 'approved' ? 'Approved' : 'Denied'} ${decided.approval_id} (${decided.workload}, task ${decided.task.id}) by ${decided.decided_by ?? session.me.name}: ${decided.reason ?? answer.reason}`,
      );
      replace(refusal);
    } catch (err) {
      if (session.refused(err)) return;
      replace(result);
      replace(refusal, `Could not ${decision}: ${err.message} (${err.code})`);
    }
    refresh();
  };

  const pendingCard = (approval) =>
    el(
      'article',
      {
        class: 'approval',
        'data-testid': 'approval',
        'data-approval': approval.approval_id,
      },
      el(
        'dl',
        { class: 'request' },
        field('Workload', approval.workload, 'approval-workload'),
        field('Subject', approval.subject, 'approval-subject'),
        field('Target', approval.target, 'approval-target'),
        field('Scope', scopeText(approval.scope), 'approval-scope'),
        field('Task id', approval.task?.id, 'approval-task'),
        field('Intent', approval.task?.intent, 'approval-intent'),
        field('Tool', approval.task?.tool ?? '—', 'approval-tool'),
        approval.actor === undefined ? null : field('Actor', approval.actor, 'approval-actor'),
        field('Policy', approval.policy, 'approval-policy'),
        approval.ttl === undefined ? null : field('TTL asked', `${approval.ttl}s`, 'approval-ttl'),
        field('Requested', clock(approval.requested_at), 'approval-requested'),
        field(
          'Expires',
          el(
            'span',
            { 'data-expires': approval.expires_at, 'data-testid': 'approval-expires' },
            timeLeft(approval.expires_at),
          ),
        ),
        field('Approval', approval.approval_id, 'approval-id'),
      ),
      el(
        'div',
        { class: 'row-actions' },
        session.may('approval.approve')
          ? el(
              'button',
              {
                type: 'button',
                'data-testid': 'approve',
                onclick: () => decide(approval, 'approve'),
              },
              'Approve…',
            )
          : null,
        session.may('approval.deny')
          ? el(
              'button',
              {
                type: 'button',
                class: 'danger',
                'data-testid': 'deny',
                onclick: () => decide(approval, 'deny'),
              },
              'Deny…',
            )
          : null,
      ),
    );

  const render = (pending, recent) => {
    replace(
      pendingBox,
      pending.length === 0
        ? el('p', { class: 'empty', 'data-testid': 'no-approvals' }, 'Nothing waits for approval.')
        : pending.map(pendingCard),
    );
    replace(
      recentBox,
      table(
        ['Approval', 'Status', 'Workload', 'Target', 'Task', 'Tool', 'Decided by', 'Reason', 'At'],
        recent.map((a) =>
          el(
            'tr',
            { 'data-approval': a.approval_id, class: `approval-${a.status}` },
            el('td', { class: 'mono' }, a.approval_id),
            el('td', { 'data-testid': 'approval-status' }, a.status),
            el('td', {}, a.workload ?? ''),
            el('td', {}, a.target ?? ''),
            el('td', {}, a.task?.id ?? ''),
            el('td', {}, a.task?.tool ?? ''),
            el('td', {}, a.decided_by ?? ''),
            el('td', { 'data-testid': 'approval-reason' }, a.reason ?? ''),
            el('td', {}, clock(a.decided_at ?? a.used_at ?? a.expires_at)),
          ),
        ),
        { testid: 'recent-approvals', empty: 'None yet.' },
      ),
    );
  };

  // As with the badge, only the latest refresh's answer is drawn.
  let refreshes = 0;
  const refresh = async () => {
    clearTimeout(timer);
    refreshes += 1;
    const question = refreshes;
    try {
      let pending;
      let recent;
      if (fromApi) {
        const [waiting, latest] = await Promise.all([
          api.get('/v1/approvals?status=pending&limit=500'),
          api.get(`/v1/approvals?limit=${RECENT}`),
        ]);
        // The broker filters on the status as of its read; one that lapsed since is not shown.
        pending = waiting.approvals.filter((a) => withEffectiveStatus(a).status === 'pending');
        recent = latest.approvals.filter((a) => a.status !== 'pending');
      } else {
        const seen = live.approvals().map(withEffectiveStatus);
        pending = seen.filter((a) => a.status === 'pending');
        recent = seen.filter((a) => a.status !== 'pending').slice(0, RECENT);
      }
      if (stopped || question !== refreshes) return;
      render(pending, recent);
      replace(error);
    } catch (err) {
      if (session.refused(err)) return;
      replace(error, `Could not refresh: ${err.message}`);
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  };

  const ticker = setInterval(() => {
    if (feed !== null && feed.textContent !== live.status()) replace(feed, live.status());
    for (const cell of main.querySelectorAll('[data-expires]')) {
      cell.textContent = timeLeft(cell.dataset.expires);
    }
  }, 1000);
  const unsubscribe = live.subscribe((type) => {
    if (type.startsWith('approval.')) refresh();
  });
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(ticker);
    unsubscribe();
  };
}

/**
 * Keeps the nav's badge at the number of pending approvals; returns the function that stops
 * it. From the API when the token may list approvals, from the live feed otherwise.
 */
export function watchPendingApprovals(session, badge) {
  const { api, live } = session;
  let timer;
  let stopped = false;
  const show = (count) => {
    badge.hidden = count === 0;
    replace(badge, count > 499 ? '500+' : String(count));
  };
  // Answers can arrive out of order (one asked at sign-in, one asked on an event): only the
  // latest question's answer is shown.
  let asked = 0;
  const update = async () => {
    clearTimeout(timer);
    asked += 1;
    const question = asked;
    if (session.may('approval.list')) {
      try {
        const { approvals } = await api.get('/v1/approvals?status=pending&limit=500');
        if (!stopped && question === asked) show(approvals.length);
      } catch {
        // The badge is a hint; the view says what went wrong.
      }
    } else {
      show(live.approvals().filter((a) => withEffectiveStatus(a).status === 'pending').length);
    }
    if (!stopped) timer = setTimeout(update, BADGE_MS);
  };
  const unsubscribe = live.subscribe((type) => {
    if (type.startsWith('approval.')) update();
  });
  update();
  return () => {
    stopped = true;
    clearTimeout(timer);
    unsubscribe();
    show(0);
  };
}

/** A pending approval from the feed whose window has passed is expired, as the broker says. */
function withEffectiveStatus(approval) {
  return approval.status === 'pending' && Date.parse(approval.expires_at) <= Date.now()
    ? { ...approval, status: 'expired' }
    : approval;
}

function field(label, value, testid) {
  return el(
    'div',
    { class: 'field' },
    el('dt', {}, label),
    el('dd', { 'data-testid': testid }, value ?? ''),
  );
}
