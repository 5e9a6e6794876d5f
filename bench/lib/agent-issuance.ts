/**
 * One workload (`agent`) issuing jwt credentials over HTTP, for benches that compare two
 * brokers on one Redis: an issuer key written as a JWKS file, one long-lived workload token,
 * a broker started by `startBroker` with a policy the bench may extend, and a round of
 * requests at a fixed concurrency.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createLogger } from '../../src/lib/logger.js';
import { type RunningBroker, startBroker } from '../../src/server.js';
import { benchRawConfig, JWT_TARGET, parseConfig } from './config.js';
import { runPrefix } from './redis.js';
import { Collector } from './wiring.js';

const ISSUER = 'https://issuer.bench.example';

export interface AgentIssuance {
  /** Temporary directory holding the JWKS file (the caller removes it). */
  readonly dir: string;
  /** The workload's token, valid two hours. */
  readonly token: string;
  /** Key prefixes of every broker started, for the clean-up. */
  readonly prefixes: string[];
  /**
   * A broker on the Redis store with `policy` merged into the agent's policy and `extra`
   * into the configuration (detections, approvals…).
   */
  start(options: {
    label: string;
    policy?: Record<string, unknown>;
    extra?: Record<string, unknown>;
  }): Promise<RunningBroker>;
}

export async function agentIssuance(tempLabel: string): Promise<AgentIssuance> {
  const dir = mkdtempSync(join(tmpdir(), `jb-${tempLabel}-`));
  const keys = await generateKeyPair('ES256');
  writeFileSync(
    join(dir, 'jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'w1', alg: 'ES256' }] }),
  );
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'w1' })
    .setIssuer(ISSUER)
    .setAudience('jit-broker')
    .setSubject('spiffe://bench/agent')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(keys.privateKey);
  const prefixes: string[] = [];
  return {
    dir,
    token,
    prefixes,
    async start({ label, policy = {}, extra = {} }) {
      const prefix = runPrefix(label);
      prefixes.push(prefix);
      const raw = await benchRawConfig({ prefix });
      Object.assign(raw, {
        issuers: [
          {
            name: 'bench',
            issuer: ISSUER,
            audience: 'jit-broker',
            jwks_file: join(dir, 'jwks.json'),
            algorithms: ['ES256'],
          },
        ],
        workloads: [
          {
            id: 'agent',
            issuer: 'bench',
            subject: 'spiffe://bench/agent',
            tier: 'write',
            max_active_leases: 1_000_000,
          },
        ],
        policies: [
          {
            name: 'agent-tickets',
            workloads: ['agent'],
            target: JWT_TARGET,
            allow: { scopes: ['tickets:read'] },
            intents: ['triage'],
            default_ttl: '10m',
            max_ttl: '1h',
            ...policy,
          },
        ],
        ...extra,
      });
      return startBroker({
        config: parseConfig(raw),
        store: 'redis',
        logger: createLogger({ level: 'warn', destination: new Collector() }),
        eventsOut: new Collector(),
        listen: true,
        reaper: false,
      });
    },
  };
}

let task = 0;

/**
 * `requests` issuances by `concurrency` workers (task ids cycle over 50), each answered 201;
 * returns each request's latency in ms.
 */
export async function issuanceRound(
  broker: RunningBroker,
  token: string,
  requests: number,
  concurrency: number,
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      next += 1;
      task += 1;
      const began = performance.now();
      const res = await fetch(`${broker.url}/v1/credentials`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          target: JWT_TARGET,
          scope: { scopes: ['tickets:read'] },
          task: { id: `t-${task % 50}`, intent: 'triage' },
        }),
      });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`issuance answered ${res.status}`);
      latencies.push(performance.now() - began);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return latencies;
}
