import { createHash } from 'node:crypto';

/** What logs, events and errors carry instead of a token (DESIGN principle 5). */
export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
