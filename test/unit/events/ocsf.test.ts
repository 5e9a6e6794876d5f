import { describe, expect, it } from 'vitest';
import { EventChain } from '../../../src/events/chain.js';
import { toOcsf } from '../../../src/events/ocsf.js';
import { type BrokerEvent, EVENT_TYPES, type EventInput } from '../../../src/events/types.js';

const TIME = new Date('2025-05-01T12:00:00.250Z');

function chained(input: EventInput): BrokerEvent {
  const chain = new EventChain();
  chain.genesis(TIME);
  return chain.append(input, TIME);
}

describe('toOcsf', () => {
  it('maps an issuance to API Activity: Create', () => {
    const event = chained({
      type: 'credential.issued',
      outcome: 'success',
      request_id: 'req_1',
      workload: 'agent-a',
      subject: 'system:serviceaccount:ai:agent-a',
      target: 'github-acme',
      lease_id: 'lse_1',
      source_ip: '10.0.0.7',
      policy: 'agents-read',
      policy_hash: 'f'.repeat(64),
    });
    const ocsf = toOcsf(event);
    expect(ocsf).toMatchObject({
      class_uid: 6003,
      category_uid: 6,
      activity_id: 1,
      type_uid: 600301,
      time: TIME.getTime(),
      severity_id: 1,
      status_id: 1,
      status: 'Success',
      metadata: {
        version: '1.8.0',
        uid: event.id,
        product: { name: 'jit-broker' },
        correlation_uid: 'req_1',
      },
      actor: { user: { uid: 'system:serviceaccount:ai:agent-a', name: 'agent-a' } },
      src_endpoint: { ip: '10.0.0.7' },
      api: { operation: 'credential.issued', request: { uid: 'req_1' } },
      resources: [{ uid: 'lse_1', type: 'lease', name: 'github-acme' }],
      unmapped: {
        seq: 1,
        prev: event.prev,
        instance: event.instance,
        lease_id: 'lse_1',
        policy: 'agents-read',
        policy_hash: 'f'.repeat(64),
      },
    });
    // Only genesis and checkpoints are signed.
    expect('sig' in ocsf.unmapped).toBe(false);
  });

  it('maps a failed authentication to Authentication: Logon with a failure status', () => {
    const ocsf = toOcsf(
      chained({
        type: 'auth.failed',
        outcome: 'failure',
        subject: 'spiffe://acme/agent',
        reason: 'token expired',
        source_ip: '192.0.2.1',
      }),
    );
    expect(ocsf).toMatchObject({
      class_uid: 3002,
      category_uid: 3,
      activity_id: 1,
      type_uid: 300201,
      severity_id: 3,
      status_id: 2,
      status: 'Failure',
      status_detail: 'token expired',
      user: { uid: 'spiffe://acme/agent' },
      src_endpoint: { ip: '192.0.2.1' },
    });
    expect(ocsf.api).toBeUndefined();
  });

  it('maps break-glass use to Authentication with critical severity and the operator', () => {
    const ocsf = toOcsf(
      chained({
        type: 'operator.break_glass_used',
        outcome: 'success',
        actor: 'alice@example.com',
      }),
    );
    expect(ocsf).toMatchObject({
      class_uid: 3002,
      severity_id: 5,
      status_id: 1,
      user: { name: 'alice@example.com' },
    });
  });

  it('maps revocations to API Activity: Delete and denials to failures', () => {
    expect(toOcsf(chained({ type: 'lease.revoked', outcome: 'success' })).type_uid).toBe(600304);
    expect(toOcsf(chained({ type: 'workload.revoked', outcome: 'success' }))).toMatchObject({
      type_uid: 600304,
      severity_id: 4,
    });
    expect(toOcsf(chained({ type: 'credential.denied', outcome: 'denied' })).status_id).toBe(2);
  });

  it('maps a checkpoint to API Activity: Other, carrying its signature and what it covers', () => {
    const chain = new EventChain();
    chain.genesis(TIME);
    chain.append({ type: 'lease.revoked', outcome: 'success' }, TIME);
    const checkpoint = chain.checkpoint(TIME);
    expect(toOcsf(checkpoint)).toMatchObject({
      class_uid: 6003,
      type_uid: 600399,
      unmapped: {
        event_type: 'chain.checkpoint',
        seq: 2,
        sig: checkpoint.sig,
        detail: { upto_seq: 1, upto_hash: checkpoint.prev },
      },
    });
  });

  it.each(EVENT_TYPES.filter((type) => type !== 'chain.genesis' && type !== 'chain.checkpoint'))(
    'maps %s consistently',
    (type) => {
      const ocsf = toOcsf(chained({ type, outcome: 'success' }));
      expect([3002, 6003]).toContain(ocsf.class_uid);
      expect(ocsf.category_uid).toBe(Math.floor(ocsf.class_uid / 1000));
      expect(ocsf.type_uid).toBe(ocsf.class_uid * 100 + ocsf.activity_id);
      expect(ocsf.unmapped.event_type).toBe(type);
    },
  );
});
