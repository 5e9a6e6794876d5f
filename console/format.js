/** "4m 05s" until `iso`, or "expired". */
export function timeLeft(iso, now = Date.now()) {
  const ms = Date.parse(iso) - now;
  if (!Number.isFinite(ms)) return '?';
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m ${sec}s`;
}

/** A lease's scope in one line (scopes are JSON of the provider's shape). */
export function scopeText(scope) {
  if (scope === undefined || scope === null) return '';
  if (Array.isArray(scope.scopes)) return scope.scopes.join(' ');
  return JSON.stringify(scope);
}

export function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().slice(11, 19);
}

/** Groups items by a key into counts: `{ tickets: 3, db: 1 }`. */
export function countBy(items, key) {
  const counts = new Map();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

export function countsText(counts) {
  if (counts.size === 0) return '—';
  return [...counts]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}
