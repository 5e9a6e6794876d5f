/**
 * The README's picture of the console: `npm run console:screenshot`.
 *
 * Starts a broker on the local Redis (the integration-test harness: real identity checks,
 * the jwt provider), has a few workloads take credentials over half a minute so the live
 * chart has something to draw, pulls the kill switch on one and leaves one revocation
 * failed, then signs in as an admin in Debian's Chromium and saves `docs/console.png`
 * (overview) and `docs/console-workload.png` (one workload's leases). Takes about 40 s.
 */
import { join, resolve } from 'node:path';
import type { BrokerConfig } from '../src/config/schema.js';
import { type Harness, sleep, startHarness } from '../test/helpers/broker-harness.js';
import { launchChromium } from '../test/helpers/chromium.js';

const ROOT = resolve(import.meta.dirname, '..');
const TOOLS = ['tickets.search', 'tickets.read', 'tickets.comment'];

async function issue(h: Harness, subject: string, task: string, tool: string): Promise<string> {
  const res = await h.request('/v1/credentials', {
    method: 'POST',
    token: await h.workloadToken(subject),
    json: {
      target: 'tickets',
      scope: { scopes: ['tickets:read'] },
      task: { id: task, intent: 'triage', tool },
    },
  });
  if (res.status !== 201) throw new Error(`issuance failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { lease_id: string }).lease_id;
}

const h = await startHarness({
  store: 'redis',
  listen: true,
  configure: (raw) => {
    const workloads = raw.workloads as Record<string, unknown>[];
    workloads.push({
      id: 'support-bot',
      issuer: 'test',
      subject: 'spiffe://test/support-bot',
      tier: 'read',
    });
    const [policy] = raw.policies as { workloads: string[] }[];
    policy?.workloads.push('support-bot');
    (raw.leases as { reaper: Record<string, string> }).reaper.backoff_max = '10m';
    (raw.leases as { reaper: Record<string, string> }).reaper.backoff_base = '10ms';
  },
});
const browser = await launchChromium();
try {
  const admin = await h.operatorToken(['admin'], 'oncall@example.com', '1h');
  const page = await browser.context.newPage();
  await page.goto(`${h.broker.url}/console`);
  await page.fill('#token', admin);
  await page.click('form[data-testid=login] button[type=submit]');
  await page.waitForSelector('[data-testid=active-leases]');

  // Traffic in bursts, one per chart bucket.
  let n = 0;
  for (const burst of [4, 7, 3]) {
    for (let i = 0; i < burst; i += 1) {
      n += 1;
      const who = n % 3 === 0 ? 'support-bot' : n % 2 === 0 ? 'agent-b' : 'agent-a';
      await issue(h, `spiffe://test/${who}`, `TICKET-${4100 + n}`, TOOLS[n % 3] ?? 'tickets.read');
    }
    await sleep(10_000);
  }

  // One revocation that fails (its target briefly unconfigured), then the kill switch on agent-b.
  const failing = await issue(h, 'spiffe://test/agent-a', 'TICKET-4199', 'tickets.read');
  const original: BrokerConfig = h.broker.runtime().config;
  h.broker.reload({ ...original, targets: [], policies: [] });
  await h.request(`/v1/leases/${failing}`, { method: 'DELETE', token: admin });
  for (let i = 0; i < 100; i += 1) {
    const lease = await h.request(`/v1/leases/${failing}`, { token: admin });
    if (((await lease.json()) as { state: string }).state === 'revoke_failed') break;
    await sleep(100);
  }
  h.broker.reload(original);
  const killed = await h.request('/v1/workloads/agent-b/revoke', {
    method: 'POST',
    token: admin,
    json: { reason: 'agent-b prompt-injected: exfiltration attempt', block: true },
  });
  if (killed.status !== 200) throw new Error(`kill switch failed: ${killed.status}`);

  await page.goto(`${h.broker.url}/console#/workloads`);
  await page.goto(`${h.broker.url}/console#/overview`);
  await page.waitForSelector('[data-testid=blocked-count]');
  await sleep(1500);
  await page.screenshot({ path: join(ROOT, 'docs/console.png'), fullPage: true });

  await page.goto(`${h.broker.url}/console#/workloads/agent-a`);
  await page.waitForSelector('[data-testid=leases] tr[data-lease]');
  await sleep(1500);
  await page.screenshot({ path: join(ROOT, 'docs/console-workload.png'), fullPage: true });
  console.log('wrote docs/console.png and docs/console-workload.png');
} finally {
  await browser.close();
  await h.close();
}
