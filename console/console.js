import { ApiError, createApi } from './api.js';
import { showApprovals, watchPendingApprovals } from './approvals.js';
import { el, replace } from './dom.js';
import { showEvents } from './events.js';
import { showFailures } from './failures.js';
import { createLive } from './live.js';
import { showOverview } from './overview.js';
import { forgetToken, savedToken, saveToken } from './session.js';
import { showWorkload, showWorkloads } from './workloads.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const approvalsBadge = document.getElementById('approvals-badge');

let session;
let leaveView = () => {};

/** Asks the broker who the token is; the answer's `actions` decide which buttons exist. */
async function signIn(token) {
  const api = createApi(token);
  const me = await api.get('/v1/whoami');
  const actions = new Set(me.actions);
  const live = createLive(api);
  live.start();
  session = {
    api,
    me,
    live,
    may: (action) => actions.has(action),
    /** A refused token ends the session; anything else is the view's to show. */
    refused: (err) => {
      if (err instanceof ApiError && err.status === 401) {
        signOut();
        showLogin('The token is no longer accepted; paste a new one.');
        return true;
      }
      return false;
    },
  };
  replace(
    who,
    el('span', { 'data-testid': 'operator' }, me.name),
    ' ',
    el(
      'span',
      { class: 'roles', 'data-testid': 'roles' },
      me.via === 'break_glass' ? `break-glass: ${me.roles.join(', ')}` : me.roles.join(', '),
    ),
    ' ',
    el(
      'button',
      { type: 'button', class: 'quiet', 'data-testid': 'logout', onclick: signOut },
      'Log out',
    ),
  );
  session.stopBadge = watchPendingApprovals(session, approvalsBadge);
  nav.hidden = false;
}

function signOut() {
  forgetToken();
  session?.live.stop();
  session?.stopBadge?.();
  session = undefined;
  leaveView();
  leaveView = () => {};
  replace(who);
  nav.hidden = true;
  if (location.hash !== '') history.replaceState(null, '', location.pathname);
  showLogin();
}

function showLogin(message) {
  const input = el('textarea', {
    id: 'token',
    name: 'token',
    rows: '4',
    placeholder: 'Operator JWT or break-glass token',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const error = el(
    'p',
    { class: 'error', role: 'alert', 'data-testid': 'login-error' },
    message ?? '',
  );
  const form = el(
    'form',
    { class: 'login', 'data-testid': 'login' },
    el('h1', {}, 'Operator console'),
    el('label', { for: 'token' }, 'Token'),
    input,
    el(
      'p',
      { class: 'hint' },
      'Kept for this tab only (session storage), sent only to this broker.',
    ),
    el('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    // A token copied with its header prefix works as well.
    const token = input.value.trim().replace(/^Bearer\s+/i, '');
    if (token === '') return;
    try {
      await signIn(token);
      saveToken(token);
      route();
    } catch (err) {
      replace(
        error,
        err instanceof ApiError
          ? `Not accepted: ${err.message} (${err.code})`
          : `Could not reach the broker: ${err.message}`,
      );
    }
  });
  replace(main, form);
  input.focus();
}

const VIEWS = {
  overview: showOverview,
  workloads: showWorkloads,
  workload: showWorkload,
  events: showEvents,
  failures: showFailures,
  approvals: showApprovals,
};

function route() {
  if (session === undefined) return showLogin();
  const [, view = 'overview', arg] = location.hash.split('/');
  const name = view === 'workloads' && arg !== undefined && arg !== '' ? 'workload' : view;
  const show = VIEWS[name] ?? VIEWS.overview;
  for (const link of nav.querySelectorAll('a')) {
    link.classList.toggle(
      'current',
      link.dataset.view === (name === 'workload' ? 'workloads' : name),
    );
  }
  leaveView();
  replace(main);
  leaveView = show(main, session, arg ? decoded(arg) : undefined) ?? (() => {});
}

/** A malformed escape in a pasted link is shown as typed rather than breaking the page. */
function decoded(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

window.addEventListener('hashchange', route);

const token = savedToken();
if (token === undefined) showLogin();
else {
  signIn(token).then(route, () => {
    forgetToken();
    showLogin('The saved token is no longer accepted; paste a new one.');
  });
}
