import { canonicalize } from '../events/canonical.js';
import { isFinalCheckpoint, SIGNED_TYPES } from '../events/lib/chain-format.js';
import { fromOcsf, toOcsf } from '../events/ocsf.js';
import type { AuditPublicJwk } from '../events/signing/index.js';
import type { BrokerEvent } from '../events/types.js';
import { type ChainError, verifyChain } from '../events/verify-chain.js';
import { VERIFY_EXIT, type VerifyExit, worstExit } from './exit-codes.js';

export interface VerifyEventsOptions {
  /** The keys to verify with. Absent: each run's own genesis key, which proves little. */
  anchor?: { keys: readonly AuditPublicJwk[]; source: string };
  /** Accept a chain checked only with the key it announces itself (exit 0, not 2). */
  trustEmbeddedKey: boolean;
  /**
   * Accept runs that do not start at their genesis (an export of a time window) as complete:
   * without it a missing head is reported like a missing tail (exit 3).
   */
  allowPartial?: boolean;
}

export interface VerifyEventsReport {
  exitCode: VerifyExit;
  lines: string[];
}

/**
 * Verifies exported events, native JSON lines or the OCSF the sinks write, one run per
 * replica (`instance`), in the order given. Exact duplicates (at-least-once delivery) are
 * dropped; a different event under the same seq is kept and fails the chain.
 */
export function verifyEventText(text: string, options: VerifyEventsOptions): VerifyEventsReport {
  const runs = new Map<string, BrokerEvent[]>();
  const seen = new Map<string, string>();
  let duplicates = 0;
  for (const [n, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const event = parseLine(line);
    if (typeof event === 'string') {
      return { exitCode: VERIFY_EXIT.usage, lines: [`line ${n + 1}: ${event}`] };
    }
    if ('altered' in event) {
      const { instance, seq, id, type } = event.altered;
      return {
        exitCode: VERIFY_EXIT.invalid,
        lines: [
          `${instance}: INVALID at seq ${seq} (${id}, ${type}): the OCSF fields differ from the signed event they carry (line ${n + 1})`,
        ],
      };
    }
    const key = `${event.instance} ${event.seq}`;
    const canonical = canonicalize(event);
    if (seen.get(key) === canonical) {
      duplicates += 1;
      continue;
    }
    seen.set(key, canonical);
    const run = runs.get(event.instance);
    if (run === undefined) runs.set(event.instance, [event]);
    else run.push(event);
  }
  if (runs.size === 0) return { exitCode: VERIFY_EXIT.usage, lines: ['no events'] };

  const lines: string[] = [];
  const codes: VerifyExit[] = [];
  if (options.anchor === undefined) {
    lines.push(...NO_ANCHOR_WARNING);
    if (!options.trustEmbeddedKey) codes.push(VERIFY_EXIT.usage);
  } else {
    lines.push(`anchor: ${options.anchor.source} (kids: ${kidsOf(options.anchor.keys)})`);
  }
  if (duplicates > 0)
    lines.push(`(${duplicates} exact duplicates dropped: delivery is at least once)`);
  for (const [instance, events] of runs) {
    const outcome = verifyRun(instance, events, options);
    codes.push(outcome.code);
    lines.push(...outcome.lines);
  }
  return { exitCode: worstExit(codes), lines };
}

const NO_ANCHOR_WARNING = [
  '!!! NO ANCHOR: each chain below is checked with the public key that its own genesis event',
  '!!! announces, i.e. a key taken from the file itself. Anyone can edit an export and re-sign',
  '!!! it under a key of their own, and it would pass. Pass --jwks (the broker publishes',
  '!!! /.well-known/jit-audit-keys.json; `jit-broker events keys`) or --public-key; or',
  '!!! --trust-embedded-key to accept this check for what it is.',
];

function parseLine(line: string): BrokerEvent | { altered: BrokerEvent } | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'not a jit-broker event';
  }
  if ('class_uid' in value) {
    const event = fromOcsf(value);
    if (event === undefined) {
      return 'an OCSF event without the chain fields (unmapped.instance, seq, prev)';
    }
    // The signature covers the native event rebuilt from the document; the fields analysts
    // read (actor, resources, message, severity, counts) must say exactly what that event
    // says, or an edit to them would pass unseen.
    if (canonicalize(toOcsf(event)) !== canonicalize(value)) return { altered: event };
    return event;
  }
  const event = value as BrokerEvent;
  if (typeof event.instance !== 'string' || typeof event.seq !== 'number') {
    return 'not a jit-broker event (native JSON or OCSF)';
  }
  return event;
}

function verifyRun(
  instance: string,
  events: readonly BrokerEvent[],
  options: VerifyEventsOptions,
): { code: VerifyExit; lines: string[] } {
  const first = events[0];
  const last = events.at(-1);
  const span = `${instance} seq ${first?.seq}–${last?.seq} (${events.length} events)`;
  const genesis = first?.type === 'chain.genesis' ? first : undefined;
  const embedded = announcedKey(genesis);
  const notes: string[] = [];
  if (genesis?.detail?.key_source === 'ephemeral') {
    notes.push(
      `  note: its genesis says key_source "ephemeral": the replica signed with a key of its own, published nowhere (no events.signing keys were configured)`,
    );
  }
  const keys = options.anchor?.keys ?? (embedded === undefined ? undefined : [embedded]);
  if (keys === undefined) {
    return {
      code: VERIFY_EXIT.usage,
      lines: [
        `${span}: NOT VERIFIED: the run does not start at genesis, so the file names no key; pass --jwks or --public-key`,
      ],
    };
  }
  const result = verifyChain(events, keys);
  if (!result.ok) {
    const culprit = alteredBefore(result, events, keys);
    return {
      code: VERIFY_EXIT.invalid,
      lines:
        culprit === undefined
          ? [
              `${span}: INVALID at ${describeEvent(events[result.index])}:`,
              `  ${explain(result.error, events, result.index, keys)}`,
              ...notes,
            ]
          : [
              `${span}: INVALID at ${describeEvent(culprit.event)}:`,
              `  it was altered: ${describeEvent(culprit.next)}, which ${culprit.signer} covers, links to another event in its place`,
              ...notes,
            ],
    };
  }
  const kids = kidsOf(events.filter((e) => SIGNED_TYPES.has(e.type)).map(signingKid));
  const signers = options.anchor === undefined ? `${kids}, a key the file names itself` : kids;
  if (genesis === undefined && options.allowPartial !== true) {
    return {
      code: VERIFY_EXIT.uncovered,
      lines: [
        `${span}: HEAD NOT COVERED: the run starts at seq ${first?.seq}, not at its genesis: the events before it are not in the file (pass --allow-partial for an export of a window)`,
        ...notes,
      ],
    };
  }
  const tail = result.unsignedTail ?? 0;
  if (tail > 0) {
    const from = events[events.length - tail];
    return {
      code: VERIFY_EXIT.uncovered,
      lines: [
        `${span}: TAIL NOT COVERED: ${tail} events from ${describeEvent(from)} on come after the last checkpoint; no signature vouches for them, and what followed them may be missing`,
        ...notes,
      ],
    };
  }
  if (last === undefined || !isFinalCheckpoint(last)) {
    return {
      code: VERIFY_EXIT.uncovered,
      lines: [
        `${span}: TAIL NOT COVERED: signed up to seq ${last?.seq} (by ${signers}), but the run does not end with the shutdown checkpoint: later events may have been cut off, or the replica is still running`,
        ...notes,
      ],
    };
  }
  return {
    code: VERIFY_EXIT.ok,
    lines: [
      `${span}: ok: every event signed (by ${signers}); ends with the shutdown checkpoint`,
      ...notes,
    ],
  };
}

/**
 * A broken link says only that one of two neighbours changed. When the later one is covered
 * by a checkpoint that verifies, it is authentic, and the earlier one is the altered event.
 */
function alteredBefore(
  result: { index: number; error: ChainError },
  events: readonly BrokerEvent[],
  keys: readonly AuditPublicJwk[],
): { event: BrokerEvent; next: BrokerEvent; signer: string } | undefined {
  const event = events[result.index - 1];
  const next = events[result.index];
  if (result.error !== 'broken_link' || event === undefined || next === undefined) return undefined;
  if (next.seq !== event.seq + 1 || next.seq === 0) return undefined;
  const rest = events.slice(result.index);
  const verified = verifyChain(rest, keys);
  if (!verified.ok || (verified.unsignedTail ?? 0) === rest.length) return undefined;
  const checkpoint = rest.find((e) => SIGNED_TYPES.has(e.type));
  return { event, next, signer: `the checkpoint at seq ${checkpoint?.seq}` };
}

function announcedKey(genesis: BrokerEvent | undefined): AuditPublicJwk | undefined {
  const key = genesis?.detail?.public_key as { x?: unknown } | undefined;
  if (typeof key?.x !== 'string') return undefined;
  const kid = genesis?.detail?.kid;
  return { kty: 'OKP', crv: 'Ed25519', x: key.x, ...(typeof kid === 'string' ? { kid } : {}) };
}

function signingKid(event: BrokerEvent): { kid?: string } {
  const kid = event.detail?.kid;
  return typeof kid === 'string' ? { kid } : {};
}

function kidsOf(keys: readonly { kid?: string }[]): string {
  const kids = [...new Set(keys.map((key) => key.kid ?? '(no kid)'))];
  return kids.length === 0 ? 'none' : kids.join(', ');
}

/** `seq 12 (evt_…, workload.revoked)`: enough to find the event in any copy of the trail. */
function describeEvent(event: BrokerEvent | undefined): string {
  return event === undefined ? 'the end' : `seq ${event.seq} (${event.id}, ${event.type})`;
}

/** What failed, in words an auditor can act on. */
function explain(
  error: ChainError,
  events: readonly BrokerEvent[],
  index: number,
  keys: readonly AuditPublicJwk[],
): string {
  const event = events[index];
  const before = events[index - 1];
  const kid = event?.detail?.kid;
  switch (error) {
    case 'broken_link':
      if ((event?.seq === 0) !== (event?.type === 'chain.genesis')) {
        return 'seq 0 and chain.genesis do not go together (a genesis is seq 0, and only it)';
      }
      if (before === undefined) return 'the genesis does not start from an empty prev';
      return `its prev is not the hash of the event before it, ${describeEvent(before)}: one of the two was altered, or they come from different chains`;
    case 'gap': {
      const from = (before?.seq ?? -1) + 1;
      const to = (event?.seq ?? 0) - 1;
      const missing = from === to ? `seq ${from} is` : `seq ${from}–${to} are`;
      return `${missing} missing after ${describeEvent(before)}: events were dropped (or not exported)`;
    }
    case 'reordered':
      return `out of order: it follows ${describeEvent(before)}`;
    case 'checkpoint_mismatch':
      return 'the checkpoint does not name the event before it (detail.upto_seq, upto_hash)';
    case 'key_not_anchored': {
      const announced = event?.detail?.public_key as { x?: unknown } | undefined;
      return `the genesis announces key ${String(kid ?? '(no kid)')} (x ${String(announced?.x)}), which is not among the anchored keys (${kidsOf(keys)}): the chain was signed, or re-signed, by someone else`;
    }
    case 'unknown_kid':
      return `signed under kid ${String(kid)}, which is not among the anchored keys (${kidsOf(keys)})`;
    case 'bad_signature': {
      if (event === undefined || !SIGNED_TYPES.has(event.type)) {
        return 'it carries a signature, which only chain.genesis and chain.checkpoint do';
      }
      if (event.type === 'chain.genesis') {
        return `the genesis signature does not verify with key ${String(kid ?? '(no kid)')}`;
      }
      const signedBefore = events.slice(0, index).findLast((e) => SIGNED_TYPES.has(e.type))?.seq;
      const from = signedBefore === undefined ? events[0]?.seq : signedBefore + 1;
      return `the checkpoint's signature does not verify with key ${String(kid ?? '(no kid)')}: seq ${from}–${event.seq - 1}, which it covers, are not authenticated (one of them or the checkpoint was altered, or the file was re-signed)`;
    }
  }
}
