import type { Cluster, Redis } from 'ioredis';
import { BrokerError } from '../errors.js';
import { randomBase32, slotTag } from '../lib/ids.js';
import {
  type ChainPosition,
  type KillSwitchAnswer,
  RECEIPT_EVENT_LIMIT,
  type ReceiptStart,
  type ReceiptStore,
  type RevocationReceipt,
  type TargetVerification,
  VERIFICATION_STATUSES,
  type VerificationEventRef,
  type VerificationMark,
  type VerificationStatus,
  verificationSummary,
} from './receipt.js';

/**
 * A new receipt replaces the last one: both keys go, the header is written (its time is
 * Redis \`TIME\`, the clock of lease revocation times), both expire.
 */
const BEGIN = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'at', now, 'by', ARGV[1], 'reason', ARGV[2], 'blocked', ARGV[3], 'id', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

/**
 * Only the receipt the kill switch began takes its answer: one that expired, or a later kill
 * switch's that replaced it, changes nothing.
 */
const ANSWERED = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'n', ARGV[1], 'wr', ARGV[2])
return 1`;

/**
 * One verification: its target's count, and its chain position while the list has room. A
 * lease revoked before the receipt began (an earlier kill switch's) is not counted.
 */
const MARK = `
local at = redis.call('HGET', KEYS[1], 'at')
if not at then return 0 end
if ARGV[6] ~= '' and tonumber(ARGV[6]) < tonumber(at) then return 0 end
redis.call('HINCRBY', KEYS[1], 'v|' .. ARGV[1] .. '|' .. ARGV[2], 1)
redis.call('HSET', KEYS[1], 'p|' .. ARGV[2], ARGV[3])
if redis.call('LLEN', KEYS[2]) < tonumber(ARGV[5]) then
  redis.call('RPUSH', KEYS[2], ARGV[4])
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
else
  redis.call('HINCRBY', KEYS[1], 'omitted', 1)
end
return 1`;

/**
 * Receipts in Redis, on the workload's slot (`{T}:receipt:W`, a hash, and `{T}:receipt-ev:W`,
 * the bounded list of verification event positions), so every replica adds to the same one.
 */
export class RedisReceiptStore implements ReceiptStore {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;

  constructor(redis: Redis | Cluster, keyPrefix: string) {
    this.#redis = redis;
    this.#prefix = keyPrefix;
  }

  #keys(workload: string): [string, string] {
    const base = `${this.#prefix}:{${slotTag(workload)}}`;
    return [`${base}:receipt:${workload}`, `${base}:receipt-ev:${workload}`];
  }

  async begin(start: ReceiptStart, ttlMs: number): Promise<string> {
    const id = randomBase32(10);
    await this.#redis.eval(
      BEGIN,
      2,
      ...this.#keys(start.workload),
      start.by ?? '',
      start.reason,
      start.blocked ? '1' : '0',
      String(Math.max(1, Math.round(ttlMs))),
      id,
    );
    return id;
  }

  async answered(workload: string, answer: KillSwitchAnswer): Promise<void> {
    await this.#redis.eval(
      ANSWERED,
      2,
      ...this.#keys(workload),
      JSON.stringify(answer.counts),
      JSON.stringify(answer.position),
      answer.receipt,
    );
  }

  async mark(mark: VerificationMark): Promise<void> {
    const ref: VerificationEventRef = {
      ...mark.position,
      lease_id: mark.leaseId,
      target: mark.target,
      status: mark.status,
    };
    await this.#redis.eval(
      MARK,
      2,
      ...this.#keys(mark.workload),
      mark.status,
      mark.target,
      mark.provider,
      JSON.stringify(ref),
      String(RECEIPT_EVENT_LIMIT),
      mark.revokedAt === undefined ? '' : String(mark.revokedAt),
    );
  }

  async get(workload: string): Promise<RevocationReceipt | null> {
    const [hashKey, listKey] = this.#keys(workload);
    let fields: Record<string, string>;
    let refs: string[];
    try {
      [fields, refs] = await Promise.all([
        this.#redis.hgetall(hashKey),
        this.#redis.lrange(listKey, 0, RECEIPT_EVENT_LIMIT - 1),
      ]);
    } catch (cause) {
      throw new BrokerError('store_unavailable', 'revocation receipts cannot be read', {
        retryAfter: 2,
        cause,
      });
    }
    if (fields.at === undefined) return null;
    const targets = new Map<string, TargetVerification>();
    for (const [field, value] of Object.entries(fields)) {
      const counted = /^v\|([a-z]+)\|(.+)$/.exec(field);
      if (counted === null) continue;
      const status = counted[1] as VerificationStatus;
      const target = counted[2] as string;
      if (!VERIFICATION_STATUSES.includes(status)) continue;
      const row = targets.get(target) ?? {
        target,
        provider: fields[`p|${target}`] ?? '',
        verified: 0,
        unverified: 0,
        unverifiable: 0,
      };
      row[status] = Number(value);
      targets.set(target, row);
    }
    const counts = parseJson<KillSwitchAnswer['counts']>(fields.n);
    const revokedAt = parseJson<ChainPosition>(fields.wr);
    return {
      workload,
      at: new Date(Number(fields.at)).toISOString(),
      ...(fields.by ? { by: fields.by } : {}),
      reason: fields.reason ?? '',
      blocked: fields.blocked === '1',
      ...(counts === undefined ? {} : { counts }),
      verification: verificationSummary(targets),
      events: {
        ...(revokedAt === undefined ? {} : { workload_revoked: revokedAt }),
        verifications: refs.flatMap((text) => parseJson<VerificationEventRef>(text) ?? []),
        verifications_omitted: Number(fields.omitted ?? 0),
      },
    };
  }
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
