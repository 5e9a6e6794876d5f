import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfigFile } from '../../../src/config/validate.js';

const dir = mkdtempSync(join(tmpdir(), 'jit-detections-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const JWKS = join(dir, 'jwks.json');
writeFileSync(JWKS, JSON.stringify({ keys: [] }));
const KEY = randomBytes(32).toString('base64');

const BASE = [
  `encryption: { keys: [{ id: k1, key: "${KEY}" }] }`,
  `issuers: [{ name: idp, issuer: https://idp.example, audience: jit, jwks_file: ${JWKS} }]`,
  'workloads: [{ id: w1, issuer: idp, subject: s, tier: read }]',
];

function issues(...rules: string[]): string[] {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `${[...BASE, 'detections:', ...rules.map((r) => `  - ${r}`)].join('\n')}\n`);
  return validateConfigFile(file, { env: {} }).issues.filter((i) => !i.startsWith('('));
}

describe('detections in the configuration', () => {
  it('passes every kind with its settings', () => {
    expect(
      issues(
        '{ name: a, kind: denial_burst, count: 5, window: 1m, actions: [alert] }',
        '{ name: b, kind: scope_escalation, count: 3, window: 10m, actions: [block], workloads: [w1] }',
        '{ name: c, kind: first_seen, of: target, days: 30, actions: [alert], workloads: ["w*"] }',
        '{ name: d, kind: rate_baseline, window: 5m, baseline: 1d, multiple: 4, actions: [require_approval] }',
        '{ name: e, kind: auth_failures, count: 10, window: 5m, actions: [alert], workloads: ["tier:read"] }',
        '{ name: f, kind: time_window, hours: { from: "08:00", to: "18:00" }, days: [mon, tue], timezone: Europe/Paris, actions: [alert], mode: dry_run }',
        '{ name: g, kind: new_network, actions: [alert, block], cooldown: 1h }',
        '{ name: h, kind: revocation_unverified }',
        '{ name: i, kind: revocation_unverified, actions: [alert], cooldown: 1h }',
      ),
    ).toEqual([]);
  });

  it('lets revocation_unverified only alert', () => {
    for (const action of ['block', 'require_approval']) {
      expect(issues(`{ name: r, kind: revocation_unverified, actions: [${action}] }`)).toEqual([
        expect.stringMatching(/^detections\[r\]\.actions(\.0|\[0\]): .*only alerts/),
      ]);
    }
  });

  it('refuses an unknown kind, an unknown action and an empty action list', () => {
    expect(issues('{ name: a, kind: gut_feeling, actions: [alert] }')).toEqual([
      expect.stringMatching(/^detections\[a\]\.kind: /),
    ]);
    expect(
      issues('{ name: a, kind: denial_burst, count: 5, window: 1m, actions: [page_someone] }'),
    ).toEqual([expect.stringMatching(/^detections\[a\]\.actions(\.0|\[0\]): /)]);
    expect(issues('{ name: a, kind: denial_burst, count: 5, window: 1m, actions: [] }')).toEqual([
      expect.stringMatching(/^detections\[a\]\.actions: /),
    ]);
  });

  it('refuses windows and thresholds out of range, naming the field', () => {
    expect(
      issues('{ name: slow, kind: denial_burst, count: 5, window: 2d, actions: [alert] }'),
    ).toEqual([expect.stringMatching(/^detections\[slow\]\.window: between 1s and 24h/)]);
    expect(
      issues('{ name: big, kind: denial_burst, count: 100000, window: 1m, actions: [alert] }'),
    ).toEqual([expect.stringMatching(/^detections\[big\]\.count: /)]);
    expect(
      issues(
        '{ name: r, kind: rate_baseline, window: 7m, baseline: 1h, multiple: 3, actions: [alert] }',
      ),
    ).toEqual([expect.stringMatching(/^detections\[r\]\.baseline: a whole number of windows/)]);
    expect(
      issues('{ name: r, kind: rate_baseline, window: 5m, multiple: 1, actions: [alert] }'),
    ).toEqual([expect.stringMatching(/^detections\[r\]\.multiple: /)]);
    expect(
      issues(
        '{ name: t, kind: time_window, timezone: Mars/Olympus, days: [mon], actions: [alert] }',
      ),
    ).toEqual([expect.stringMatching(/^detections\[t\]\.timezone: an IANA time zone/)]);
    expect(issues('{ name: t, kind: time_window, actions: [alert] }')).toEqual([
      expect.stringMatching(/^detections\[t\]\.hours: set hours, days or both/),
    ]);
  });

  it('refuses an unknown workload id, a bad tier and a duplicate name', () => {
    expect(
      issues(
        '{ name: a, kind: denial_burst, count: 5, window: 1m, actions: [alert], workloads: [w2] }',
      ),
    ).toEqual([
      expect.stringMatching(/^detections\[a\]\.workloads(\.0|\[0\]): no workload named w2/),
    ]);
    expect(
      issues(
        '{ name: a, kind: denial_burst, count: 5, window: 1m, actions: [alert], workloads: ["tier:root"] }',
      ),
    ).toEqual([expect.stringMatching(/^detections\[a\]\.workloads(\.0|\[0\]): tier:read/)]);
    expect(
      issues(
        '{ name: a, kind: denial_burst, count: 5, window: 1m, actions: [alert] }',
        '{ name: a, kind: new_network, actions: [alert] }',
      ),
    ).toEqual([expect.stringMatching(/^detections\[1\]\.name: duplicate detection name a/)]);
  });
});
