/**
 * Policy decisions at scale: 1,000 policies across 100 targets (allows by id, tier and glob,
 * deny rules, tool lists, CEL conditions, a few in dry run), decided in process. Reports
 * p50/p99/max per decision for requests that are granted, denied by a deny rule and denied
 * by every candidate, and the same with 10 and 100 policies, so a flat curve shows the index
 * at work. No Redis, no HTTP: the engine alone, as `issue` calls it.
 *
 *   npx tsx bench/policy.ts [--policies 1000] [--targets 100] [--decisions 200000]
 */
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { jwtProviderFactory } from '../providers/jwt/index.js';
import type { Provider } from '../providers/provider.js';
import { type PolicyConfig, policySchema } from '../src/config/schema.js';
import { PolicyEngine, type PolicyRequest } from '../src/policy/engine.js';

const { values } = parseArgs({
  options: {
    policies: { type: 'string', default: '1000' },
    targets: { type: 'string', default: '100' },
    decisions: { type: 'string', default: '200000' },
  },
});
const POLICIES = Number(values.policies);
const TARGETS = Number(values.targets);
const DECISIONS = Number(values.decisions);

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

function providers(targets: number): Map<string, Provider> {
  const map = new Map<string, Provider>();
  for (let t = 0; t < targets; t++) {
    const name = `target-${t}`;
    map.set(
      name,
      jwtProviderFactory.create(
        {
          name,
          provider: 'jwt',
          audience: `https://${name}.bench`,
          keys: [{ kid: 'k1', private_key: pem, state: 'active' }],
        },
        { brokerUrl: 'https://broker.bench' },
      ),
    );
  }
  return map;
}

/** A mix like a real set: most policies grant one workload, some a tier or a glob, some deny. */
function policySet(count: number, targets: number): PolicyConfig[] {
  const set: PolicyConfig[] = [];
  for (let i = 0; i < count; i++) {
    const target = `target-${i % targets}`;
    const kind = i % 10;
    const base = {
      name: `p-${i}`,
      target,
      intents: kind === 3 ? ['*'] : ['triage', `intent-${i % 7}`],
    };
    if (kind === 9) {
      set.push(
        policySchema.parse({
          ...base,
          effect: 'deny',
          workloads: [`agent-${(i * 7) % 500}`],
          tools: ['delete_*'],
          ...(i % 20 === 9 ? { mode: 'dry_run' } : {}),
        }),
      );
      continue;
    }
    set.push(
      policySchema.parse({
        ...base,
        workloads:
          kind === 5 ? ['tier:write'] : kind === 7 ? [`team-${i % 13}-*`] : [`agent-${i % 500}`],
        allow: { scopes: [`res-${i % 5}:*`] },
        ...(kind === 2 ? { tools: ['read_*', 'list_*'] } : {}),
        ...(kind === 4 ? { when: 'task.intent == "triage" && workload.tier != "read"' } : {}),
        default_ttl: '5m',
        max_ttl: '15m',
      }),
    );
  }
  return set;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface Row {
  policies: number;
  requests: string;
  p50: number;
  p99: number;
  max: number;
  outcome: string;
}

function measure(engine: PolicyEngine, label: string, requests: PolicyRequest[]): Row {
  const samples = new Float64Array(DECISIONS);
  let granted = 0;
  // Warm-up: JIT, and the CEL programs' first runs.
  for (let i = 0; i < 10_000; i++) engine.decide(requests[i % requests.length] as PolicyRequest);
  for (let i = 0; i < DECISIONS; i++) {
    const req = requests[i % requests.length] as PolicyRequest;
    const start = process.hrtime.bigint();
    const decision = engine.decide(req);
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
    if (decision.allow) granted++;
  }
  samples.sort();
  return {
    policies: 0,
    requests: label,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: samples[samples.length - 1] ?? Number.NaN,
    outcome: `${Math.round((granted / DECISIONS) * 100)}% granted`,
  };
}

function requestsFor(kind: 'grant' | 'deny-rule' | 'no-grant', count: number, targets: number) {
  const requests: PolicyRequest[] = [];
  for (let i = 0; i < 1000; i++) {
    const p = (i * 10) % count; // a kind-0 policy: `agent-<p % 500>` on `target-<p % targets>`
    const target = `target-${p % targets}`;
    const base: PolicyRequest = {
      workload: { id: `agent-${p % 500}`, tier: 'write' },
      claims: { sub: `agent-${p % 500}` },
      target,
      scope: { scopes: [`res-${p % 5}:read`] },
      task: { id: `task-${i}`, intent: 'triage' },
      request: { time: Date.now(), ip: '10.0.0.1' },
    };
    if (kind === 'grant') requests.push(base);
    if (kind === 'deny-rule') {
      // The deny rule `p-<q>` (q ≡ 9 mod 10) names `agent-<(q * 7) % 500>` on its target.
      const q = (i * 10 + 9) % count;
      requests.push({
        ...base,
        workload: { id: `agent-${(q * 7) % 500}`, tier: 'write' },
        target: `target-${q % targets}`,
        task: { id: `task-${i}`, intent: 'triage', tool: 'delete_all' },
      });
    }
    if (kind === 'no-grant') requests.push({ ...base, scope: { scopes: ['nothing:granted'] } });
  }
  return requests;
}

const rows: Row[] = [];
for (const count of [10, 100, POLICIES]) {
  const targets = Math.min(TARGETS, count);
  const engine = new PolicyEngine(policySet(count, targets), providers(targets));
  for (const kind of ['grant', 'deny-rule', 'no-grant'] as const) {
    process.stderr.write(`${count} policies, ${kind}…\n`);
    rows.push({ ...measure(engine, kind, requestsFor(kind, count, targets)), policies: count });
  }
}

const fmt = (us: number) => us.toFixed(1);
console.log(
  `## Policy decisions (${DECISIONS.toLocaleString('en')} per row, Node ${process.version})\n`,
);
console.log('| policies | requests | p50 µs | p99 µs | max µs | outcome |');
console.log('|---:|---|---:|---:|---:|---|');
for (const r of rows) {
  console.log(
    `| ${r.policies} | ${r.requests} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${r.outcome} |`,
  );
}
