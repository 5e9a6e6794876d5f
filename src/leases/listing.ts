import { BrokerError } from '../errors.js';
import type { Lease, LeaseFilter } from './types.js';

export function matchesFilter(lease: Lease, filter: LeaseFilter): boolean {
  return (
    (filter.workload === undefined || lease.workload === filter.workload) &&
    (filter.task === undefined || lease.task.id === filter.task) &&
    (filter.target === undefined || lease.target === filter.target) &&
    (filter.state === undefined || lease.state === filter.state)
  );
}

/** Opaque page cursor: the last (workload, lease id) returned; listing is ordered by both. */
export function encodeCursor(workload: string, id: string): string {
  return Buffer.from(JSON.stringify([workload, id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { workload: string; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string') {
      return { workload: value[0], id: value[1] };
    }
  } catch {
    // fall through: a malformed cursor is the caller's error
  }
  throw new BrokerError('invalid_request', 'cursor is not one this broker issued');
}
