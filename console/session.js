/**
 * The operator's token for this tab: sessionStorage (gone when the tab closes, never sent
 * by the browser on its own, unlike a cookie), never localStorage.
 */
const KEY = 'jit-broker.console.token';

export function savedToken() {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function saveToken(token) {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
}
