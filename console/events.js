import { el, replace } from './dom.js';
import { clock } from './format.js';

const MAX_ROWS = 500;

/**
 * The live feed (`GET /v1/events`), filtered by the broker on workload and type, pausable:
 * while paused, events are held (up to MAX_ROWS) and shown on resume.
 */
export function showEvents(main, session) {
  const { api } = session;
  const workload = el('input', {
    id: 'events-workload',
    name: 'workload',
    placeholder: 'any workload',
    'data-testid': 'events-workload',
  });
  const type = el(
    'select',
    { id: 'events-type', name: 'type', 'data-testid': 'events-type' },
    el('option', { value: '' }, 'any type'),
  );
  const pause = el('button', { type: 'button', 'data-testid': 'events-pause' }, 'Pause');
  const status = el('span', { class: 'hint', 'data-testid': 'events-status' }, 'connecting…');
  const rows = el('tbody', {});
  const filters = el(
    'form',
    { class: 'filters' },
    el('label', { for: 'events-workload' }, 'Workload '),
    workload,
    el('label', { for: 'events-type' }, ' Type '),
    type,
    ' ',
    el('button', { type: 'submit' }, 'Apply'),
    ' ',
    pause,
    ' ',
    status,
  );
  replace(
    main,
    el('h1', {}, 'Live events'),
    filters,
    el(
      'table',
      { class: 'grid events', 'data-testid': 'events' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          [
            'Time',
            'Type',
            'Outcome',
            'Workload',
            'Subject',
            'Task',
            'Target',
            'Lease',
            'Actor',
            'Reason',
          ].map((h) => el('th', {}, h)),
        ),
      ),
      rows,
    ),
  );

  // The event types come from the API's own description of the feed's `type` filter.
  api
    .get('/openapi.json')
    .then((doc) => {
      const param = doc.paths?.['/v1/events']?.get?.parameters?.find((p) => p.name === 'type');
      for (const value of param?.schema?.enum ?? []) type.append(el('option', { value }, value));
    })
    .catch(() => {});

  let paused = false;
  const held = [];
  let controller;

  const row = (event) =>
    el(
      'tr',
      { class: `sev-${event.severity}`, 'data-type': event.type },
      el('td', {}, clock(event.time)),
      el('td', {}, event.type),
      el('td', {}, event.outcome ?? ''),
      el('td', {}, event.workload ?? ''),
      el('td', { class: 'mono' }, event.subject ?? ''),
      el('td', { 'data-testid': 'event-task' }, event.task?.id ?? ''),
      el('td', {}, event.target ?? ''),
      el('td', { class: 'mono' }, event.lease_id ?? ''),
      el('td', {}, event.actor ?? ''),
      el(
        'td',
        { 'data-testid': 'event-reason' },
        event.reason ?? (event.counts ? JSON.stringify(event.counts) : ''),
      ),
    );

  const show = (event) => {
    rows.prepend(row(event));
    while (rows.childElementCount > MAX_ROWS) rows.lastElementChild?.remove();
  };

  const connect = () => {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    const query = {};
    if (workload.value.trim() !== '') query.workload = workload.value.trim();
    if (type.value !== '') query.type = type.value;
    replace(status, 'live');
    api
      .events(
        query,
        (_type, event) => {
          if (paused) {
            held.push(event);
            if (held.length > MAX_ROWS) held.shift();
          } else show(event);
        },
        mine.signal,
      )
      .then(
        (reason) => {
          if (!mine.signal.aborted) replace(status, `feed ended: ${reason}`);
        },
        (err) => {
          if (mine.signal.aborted || session.refused(err)) return;
          replace(status, `feed failed: ${err.message}`);
        },
      );
  };

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    rows.replaceChildren();
    held.length = 0;
    connect();
  });
  pause.addEventListener('click', () => {
    paused = !paused;
    replace(pause, paused ? 'Resume' : 'Pause');
    if (!paused) for (const event of held.splice(0)) show(event);
    replace(status, paused ? 'paused (holding new events)' : 'live');
  });
  connect();
  return () => controller?.abort();
}
