import type { Approval, ApprovalStatus, NewApproval } from './types.js';

/** The request part of an approval, as the record's `b` field holds it. */
export function encodeRequest(request: NewApproval): string {
  return JSON.stringify(request);
}

/** An approval from its record's fields (`HGETALL` pairs or a map). */
export function decodeApproval(fields: Record<string, string>): Approval {
  const request = JSON.parse(fields.b ?? '{}') as NewApproval;
  const at = (key: string) => (fields[key] === undefined ? undefined : Number(fields[key]));
  const decidedAt = at('da');
  const usedAt = at('ua');
  return {
    ...request,
    id: fields.id ?? '',
    status: (fields.st ?? 'expired') as ApprovalStatus,
    digest: fields.d ?? request.digest,
    requestedAt: at('r') ?? 0,
    expiresAt: at('e') ?? 0,
    ...(decidedAt === undefined ? {} : { decidedAt }),
    ...(fields.db === undefined ? {} : { decidedBy: fields.db }),
    ...(fields.rs === undefined ? {} : { reason: fields.rs }),
    ...(usedAt === undefined ? {} : { usedAt }),
  };
}

export function pairsToRecord(pairs: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(pairs)) return out;
  for (let i = 0; i + 1 < pairs.length; i += 2) out[String(pairs[i])] = String(pairs[i + 1]);
  return out;
}
