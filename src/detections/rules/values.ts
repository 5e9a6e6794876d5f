import type { BrokerEvent } from '../../events/types.js';

/** Values of one request a first-seen history records, at most this many. */
const MAX_VALUES = 32;
const MAX_VALUE_LENGTH = 200;

/**
 * What `first_seen` compares, per `of`: the target, the task's tool, or each scope item
 * (strings of the granted scope, `target:item`; only issuances carry a scope).
 */
export function requestValues(event: BrokerEvent, of: 'target' | 'tool' | 'scope'): string[] {
  // Several rules ask about the same event in a row: its scope items are worked out once.
  if (of === 'scope') {
    if (lastEvent !== event) {
      lastEvent = event;
      lastScope = scopeValues(event);
    }
    return lastScope;
  }
  if (of === 'target') return event.target === undefined ? [] : [clip(event.target)];
  if (of === 'tool') return event.task?.tool === undefined ? [] : [clip(event.task.tool)];
  return [];
}

let lastEvent: BrokerEvent | undefined;
let lastScope: string[] = [];

function scopeValues(event: BrokerEvent): string[] {
  if (event.scope === undefined || event.target === undefined) return [];
  const out: string[] = [];
  collect(event.scope, (leaf) => {
    if (out.length < MAX_VALUES) out.push(clip(`${event.target}:${leaf}`));
  });
  return [...new Set(out)];
}

function collect(value: unknown, push: (leaf: string) => void, depth = 0): void {
  if (depth > 4) return;
  if (typeof value === 'string') push(value);
  else if (typeof value === 'number' || typeof value === 'boolean') push(String(value));
  else if (Array.isArray(value)) for (const v of value) collect(v, push, depth + 1);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      collect(v, (leaf) => push(`${k}=${leaf}`), depth + 1);
    }
  }
}

function clip(value: string): string {
  return value.length > MAX_VALUE_LENGTH ? value.slice(0, MAX_VALUE_LENGTH) : value;
}

/**
 * The network of an address: the first `v4` bits of an IPv4 address, the first `v6` bits
 * of an IPv6 one (`10.1.2.0/24`, `2001:db8:1:2::/64`); undefined for anything else.
 */
export function networkOf(ip: string, v4: number, v6: number): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped?.[1] ?? ip;
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (octets) {
    const bytes = octets.slice(1).map(Number);
    if (bytes.some((b) => b > 255)) return undefined;
    return `${mask(bytes, v4, 8).join('.')}/${v4}`;
  }
  const groups = expandV6(address);
  if (groups === undefined) return undefined;
  const masked = mask(groups, v6, 16).map((g) => g.toString(16));
  return `${masked.join(':')}/${v6}`;
}

function mask(parts: number[], bits: number, width: number): number[] {
  return parts.map((part, i) => {
    const keep = Math.max(0, Math.min(width, bits - i * width));
    if (keep === width) return part;
    if (keep === 0) return 0;
    return part & (((1 << keep) - 1) << (width - keep));
  });
}

function expandV6(address: string): number[] | undefined {
  const bare = address.replace(/%.*$/, '');
  if (!/^[0-9a-f:]+$/i.test(bare) || bare.length > 39) return undefined;
  const halves = bare.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':'));
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  const groups = all.map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? Number.parseInt(g, 16) : Number.NaN));
  return groups.some(Number.isNaN) ? undefined : groups;
}
