import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RevocationReceipt } from '../../src/revocation/receipt.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { eventually } from '../helpers/lease-http.js';
import { settlesBefore } from '../helpers/race.js';

/*
 * Verification never holds up a revocation: a target whose check never answers leaves the
 * kill switch's answer as it is, and the check ends as unverified at `verify_timeout`.
 */

const KEEPER = resolve(import.meta.dirname, '../fixtures/keeping-provider.ts');

describe('proof of revocation off the kill switch path', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      allowProviderModules: true,
      configure(raw) {
        raw.revocation = { verify_timeout: '2s' };
        (raw.targets as unknown[]).push({
          name: 'hanging',
          provider: 'module',
          module: KEEPER,
          verify_hangs: true,
        });
        (raw.policies as unknown[]).push({
          name: 'hanging-db',
          workloads: ['agent-a'],
          target: 'hanging',
          allow: { names: ['db'] },
          intents: ['triage'],
          default_ttl: '5m',
          max_ttl: '15m',
        });
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the kill switch answers while the check hangs; the check ends unverified at its timeout', async () => {
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const issued = await h.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: { target: 'hanging', scope: { name: 'db' }, task: { id: 'hang-1', intent: 'triage' } },
    });
    expect(issued.status).toBe(201);

    const kill = h.request('/v1/workloads/agent-a/revoke', {
      method: 'POST',
      token: await h.operatorToken(['revoker']),
      json: { reason: 'bounds drill', block: false },
    });
    // The check cannot answer before its 2 s timeout: the kill switch does not wait for it.
    expect(await settlesBefore(kill, 1_000)).toBe(true);
    expect(await settlesBefore(h.broker.verifier.idle(), 0)).toBe(false);
    expect(await (await kill).json()).toMatchObject({ revoked: 1, failed: 0 });

    await h.broker.verifier.idle();
    const viewer = await h.operatorToken(['viewer']);
    let receipt: RevocationReceipt | undefined;
    const settled = await eventually(async () => {
      const res = await h.request('/v1/workloads/agent-a/revocation-receipt', { token: viewer });
      receipt = (await res.json()) as RevocationReceipt;
      return receipt.verification.unverified === 1;
    });
    expect(settled).toBe(true);
    expect(receipt?.counts).toEqual({ revoked: 1, failed: 0, pending: 0 });
    const events = await h.flushedEvents();
    expect(events.find((e) => e.type === 'revocation.unverified')?.detail?.evidence).toMatch(
      /no answer within 2000 ms/,
    );
  });
});
