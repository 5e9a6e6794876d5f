import { replace } from './dom.js';

const REFRESH_MS = 5_000;

/**
 * Keeps a view current: `draw` on `refresh()`, then again every few seconds until `stop()`.
 * A failed refresh says so in `error` and is tried again later; a refusal (the session is
 * over) ends the loop, as the session then shows the sign-in. `draw` returns early, without
 * drawing, when `stopped` turned true while it waited for the API.
 */
export function keepFresh(session, error, draw) {
  let timer;
  let stopped = false;
  const refresh = async () => {
    clearTimeout(timer);
    try {
      await draw();
      if (stopped) return;
      replace(error);
    } catch (err) {
      if (session.refused(err)) return;
      replace(error, `Could not refresh: ${err.message}`);
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  };
  return {
    refresh,
    /** A refresh shortly, for a change the operator just made. */
    soon() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 200);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    get stopped() {
      return stopped;
    },
  };
}
