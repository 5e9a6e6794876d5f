import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { type Chromium, launchChromium } from '../helpers/chromium.js';
import {
  consoleServicesReady,
  inPage,
  pageErrors,
  signInToConsole,
} from '../helpers/console-page.js';

/*
 * The console's Approvals view in a real browser against a real broker on Redis: a request
 * that waits shows exactly what was asked, an approver's yes or no (with its reason) decides
 * what the workload's repeated request gets, a viewer sees without buttons, and markup in the
 * fields an attacker can shape stays text.
 */

const MARKUP = '<img src=x onerror="window.__pwned=1">';
const SCRIPT_MARKUP = `<script>window.__pwned=2</script>${MARKUP}`;
const GLOB_SUBJECT = `spiffe://test/glob/${MARKUP}`;
const POLICY = 'escalations-need-approval';
const WAIT = { timeout: 15_000 };

let h: Harness | undefined;
let browser: Chromium | undefined;
let n = 0;

function harness(): Harness {
  if (h === undefined) throw new Error('the broker did not start');
  return h;
}

beforeAll(async () => {
  if (!(await consoleServicesReady())) return;
  h = await startHarness({
    store: 'redis',
    listen: true,
    configure: (raw) => {
      (raw.workloads as Record<string, unknown>[]).push({
        id: 'agent-glob',
        issuer: 'test',
        subject: 'spiffe://test/glob/*',
        tier: 'read',
      });
      (raw.policies as unknown[]).push({
        name: POLICY,
        workloads: ['agent-a', 'agent-b', 'agent-glob'],
        target: 'tickets',
        allow: { scopes: ['tickets:read', 'tickets:comment'] },
        intents: ['escalate'],
        default_ttl: '5m',
        max_ttl: '15m',
        approval: { required: true, expires_after: '10m' },
      });
    },
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

interface Asked {
  status: number;
  body: { approval_id?: string; lease_id?: string; code?: string };
}

/** A request the approval policy covers; the same `task` makes the same request again. */
async function ask(subject: string, task: string): Promise<Asked> {
  const res = await harness().request('/v1/credentials', {
    method: 'POST',
    token: await harness().workloadToken(subject),
    json: {
      target: 'tickets',
      scope: { scopes: ['tickets:comment'] },
      task: { id: task, intent: 'escalate', tool: 'close_ticket' },
    },
  });
  return { status: res.status, body: (await res.json()) as Asked['body'] };
}

/** A fresh task id and the approval its first request opened. */
async function waiting(subject = 'spiffe://test/agent-a'): Promise<{ task: string; id: string }> {
  n += 1;
  const task = `esc-${process.pid}-${n}`;
  const first = await ask(subject, task);
  expect(first.status).toBe(202);
  expect(first.body.approval_id).toMatch(/^apr_/);
  return { task, id: first.body.approval_id ?? '' };
}

/** An operator who may sign in to the console (a viewer) and decide approvals. */
function approverToken(subject = 'carol@example.com'): Promise<string> {
  return harness().operatorToken(['viewer', 'approver'], subject);
}

function signedIn(token: string): Promise<Page> {
  return signInToConsole(browser, harness().broker.url, token);
}

/** The text of each field of a pending approval's card, by test id. */
async function fields(page: Page, id: string): Promise<Record<string, string>> {
  const card = page.locator(`[data-testid=pending-approvals] [data-approval="${id}"]`);
  await card.waitFor(WAIT);
  const out: Record<string, string> = {};
  for (const dd of await card.locator('dd[data-testid]').all()) {
    out[(await dd.getAttribute('data-testid')) ?? ''] = (await dd.textContent()) ?? '';
  }
  return out;
}

/** Presses approve or deny on a card, checks the reason is required, and confirms. */
async function decide(page: Page, id: string, how: 'approve' | 'deny', reason: string) {
  const card = page.locator(`[data-testid=pending-approvals] [data-approval="${id}"]`);
  await card.locator(`[data-testid=${how}]`).click();
  await page.waitForSelector('[data-testid=dialog]', WAIT);
  expect(await page.textContent('[data-testid=dialog-message]')).toContain(id);
  // No reason, no decision: the confirm button stays disabled.
  expect(await page.isDisabled('[data-testid=dialog-confirm]')).toBe(true);
  await page.fill('[data-testid=dialog-reason]', '   ');
  expect(await page.isDisabled('[data-testid=dialog-confirm]')).toBe(true);
  await page.fill('[data-testid=dialog-reason]', reason);
  await page.click('[data-testid=dialog-confirm]');
}

describe('the Approvals view in Chromium', { timeout: 60_000 }, () => {
  it('shows a waiting request exactly as asked, counting down, with the pending count in the nav', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const { task, id } = await waiting();
    const token = await approverToken();
    const page = await signedIn(token);
    await page.goto(`${h.broker.url}/console#/approvals`);
    const shown = await fields(page, id);
    const api = (await (await h.request(`/v1/approvals/${id}`, { token })).json()) as {
      requested_at: string;
      expires_at: string;
    };
    expect(shown).toMatchObject({
      'approval-workload': 'agent-a',
      'approval-subject': 'spiffe://test/agent-a',
      'approval-target': 'tickets',
      'approval-scope': 'tickets:comment',
      'approval-task': task,
      'approval-intent': 'escalate',
      'approval-tool': 'close_ticket',
      'approval-policy': POLICY,
      'approval-ttl': '300s',
      'approval-requested': api.requested_at.slice(11, 19),
      'approval-id': id,
    });
    // The time left counts down while the page is open.
    const expires = page.locator(`[data-approval="${id}"] [data-testid=approval-expires]`);
    const before = await expires.textContent();
    expect(before).toMatch(/^\d+m \d\ds$/);
    await expect.poll(() => expires.textContent(), WAIT).not.toBe(before);
    expect(await expires.getAttribute('data-expires')).toBe(api.expires_at);
    // The nav's badge says how many wait, as the API counts them.
    const pending = (await (
      await h.request('/v1/approvals?status=pending&limit=500', { token })
    ).json()) as { approvals: unknown[] };
    const badge = page.locator('[data-testid=approvals-badge]');
    await page.waitForSelector(
      `[data-testid=approvals-badge]:has-text("${pending.approvals.length}")`,
      WAIT,
    );
    expect(await badge.isVisible()).toBe(true);
    // An approver has both buttons.
    expect(await page.locator(`[data-approval="${id}"] [data-testid=approve]`).count()).toBe(1);
    expect(await page.locator(`[data-approval="${id}"] [data-testid=deny]`).count()).toBe(1);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('an approver approves with a reason, and the repeated request gets the credential', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const { task, id } = await waiting();
    const page = await signedIn(await approverToken());
    await page.goto(`${h.broker.url}/console#/approvals`);
    await fields(page, id);
    // Before the decision the workload still waits.
    expect((await ask('spiffe://test/agent-a', task)).status).toBe(202);

    await decide(page, id, 'approve', 'customer escalation, ticket 4411');
    const result = page.locator('[data-testid=approval-result]');
    await page.waitForSelector('[data-testid=approval-result]:has-text("Approved")', WAIT);
    const said = await result.textContent();
    expect(said).toContain(id);
    expect(said).toContain('carol@example.com');
    expect(said).toContain('customer escalation, ticket 4411');
    await page
      .locator(`[data-testid=pending-approvals] [data-approval="${id}"]`)
      .waitFor({ state: 'detached', ...WAIT });
    const row = page.locator(`[data-testid=recent-approvals] tr[data-approval="${id}"]`);
    await row.waitFor(WAIT);
    expect(await row.locator('[data-testid=approval-status]').textContent()).toBe('approved');

    const collected = await ask('spiffe://test/agent-a', task);
    expect(collected.status).toBe(201);
    expect(collected.body.lease_id).toMatch(/^lse_/);
    // Single use: the view shows it used once the workload collected.
    await page.waitForSelector(
      `[data-testid=recent-approvals] tr[data-approval="${id}"] [data-testid=approval-status]:has-text("used")`,
      WAIT,
    );
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('a denial shows with its reason, and the repeated request is refused', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const { task, id } = await waiting('spiffe://test/agent-b');
    const page = await signedIn(await h.operatorToken(['admin'], 'dana@example.com'));
    await page.goto(`${h.broker.url}/console#/approvals`);
    await fields(page, id);

    await decide(page, id, 'deny', 'not during the freeze');
    await page.waitForSelector('[data-testid=approval-result]:has-text("Denied")', WAIT);
    expect(await page.textContent('[data-testid=approval-result]')).toContain(
      'not during the freeze',
    );
    const row = page.locator(`[data-testid=recent-approvals] tr[data-approval="${id}"]`);
    await row.waitFor(WAIT);
    expect(await row.locator('[data-testid=approval-status]').textContent()).toBe('denied');
    expect(await row.locator('[data-testid=approval-reason]').textContent()).toBe(
      'not during the freeze',
    );

    const refused = await ask('spiffe://test/agent-b', task);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('approval_denied');
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('a refused decision is shown, and the request still waits', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const { task, id } = await waiting();
    // An approver whose subject is the requesting workload's may not approve it.
    const page = await signedIn(await approverToken('spiffe://test/agent-a'));
    await page.goto(`${h.broker.url}/console#/approvals`);
    await fields(page, id);
    await decide(page, id, 'approve', 'approving my own request');
    await page.waitForSelector('[data-testid=approval-error]:has-text("approval_self")', WAIT);
    expect(await page.textContent('[data-testid=approval-result]')).toBe('');
    expect(
      await page.locator(`[data-testid=pending-approvals] [data-approval="${id}"]`).count(),
    ).toBe(1);
    expect((await ask('spiffe://test/agent-a', task)).status).toBe(202);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it.for(['viewer', 'revoker'])(
    'a %s sees the waiting request, and no approve or deny button',
    async (role, ctx) => {
      if (h === undefined) return ctx.skip();
      const viewer = await h.operatorToken([role]);
      const actions = (await (await h.request('/v1/whoami', { token: viewer })).json()) as {
        actions: string[];
      };
      expect(actions.actions).not.toContain('approval.approve');
      expect(actions.actions).not.toContain('approval.deny');
      expect(actions.actions).toContain('approval.list');
      const page = await signedIn(viewer);
      await page.goto(`${h.broker.url}/console#/approvals`);
      await page.waitForSelector('[data-testid=approvals-feed]:has-text("live")', WAIT);
      expect(await page.locator('[data-testid=approvals-source]').textContent()).not.toMatch(
        /cannot list/,
      );

      const { task, id } = await waiting();
      const shown = await fields(page, id);
      expect(shown).toMatchObject({
        'approval-workload': 'agent-a',
        'approval-subject': 'spiffe://test/agent-a',
        'approval-target': 'tickets',
        'approval-scope': 'tickets:comment',
        'approval-task': task,
        'approval-intent': 'escalate',
        'approval-tool': 'close_ticket',
        'approval-policy': POLICY,
        'approval-id': id,
      });
      const card = page.locator(`[data-approval="${id}"]`);
      expect(await card.locator('button').count()).toBe(0);
      expect(await page.locator('[data-testid=approve], [data-testid=deny]').count()).toBe(0);
      // The badge counts what waits, as the API counts it (earlier tests leave some waiting).
      const pendingNow = async () =>
        (
          (await (
            await h!.request('/v1/approvals?status=pending&limit=500', { token: viewer })
          ).json()) as { approvals: unknown[] }
        ).approvals.length;
      const waitingBefore = await pendingNow();
      expect(waitingBefore).toBeGreaterThan(0);
      await page.waitForSelector(
        `[data-testid=approvals-badge]:has-text("${waitingBefore}")`,
        WAIT,
      );

      // An approver's decision reaches the viewer's page through the feed.
      const denied = await h.request(`/v1/approvals/${id}/deny`, {
        method: 'POST',
        token: await approverToken(),
        json: { reason: 'seen by the viewer' },
      });
      expect(denied.status).toBe(200);
      const row = page.locator(`[data-testid=recent-approvals] tr[data-approval="${id}"]`);
      await row.waitFor(WAIT);
      expect(await row.locator('[data-testid=approval-status]').textContent()).toBe('denied');
      expect(await row.locator('[data-testid=approval-reason]').textContent()).toBe(
        'seen by the viewer',
      );
      expect(await pendingNow()).toBe(waitingBefore - 1);
      if (waitingBefore === 1) {
        await expect
          .poll(() => page.locator('[data-testid=approvals-badge]').isHidden(), WAIT)
          .toBe(true);
      } else {
        await page.waitForSelector(
          `[data-testid=approvals-badge]:has-text("${waitingBefore - 1}")`,
          WAIT,
        );
      }
      expect(pageErrors(page)).toEqual([]);
      await page.close();
    },
  );

  // `approver` holds a viewer's reads, so an approver alone can sign in and decide.
  it('an operator whose only role is approver signs in and sees the approve button', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const { id } = await waiting();
    if (browser === undefined) throw new Error('no browser');
    const page = await browser.context.newPage();
    try {
      await page.goto(`${h.broker.url}/console#/approvals`);
      await page.fill('#token', await h.operatorToken(['approver'], 'erin@example.com'));
      await page.click('form[data-testid=login] button[type=submit]');
      await page.waitForSelector(
        '[data-testid=operator], [data-testid=login-error]:has-text("Not accepted")',
        WAIT,
      );
      expect(await page.locator('[data-testid=login-error]:has-text("Not accepted")').count()).toBe(
        0,
      );
      await fields(page, id);
      expect(await page.locator(`[data-approval="${id}"] [data-testid=approve]`).count()).toBe(1);
    } finally {
      await page.close();
    }
  });

  it('markup in a subject, a reason or an approver name renders as text and runs nothing', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const { id } = await waiting(GLOB_SUBJECT);
    const page = await signedIn(await approverToken(`ops-${SCRIPT_MARKUP}`));
    await page.goto(`${h.broker.url}/console#/approvals`);
    const shown = await fields(page, id);
    expect(shown['approval-subject']).toBe(GLOB_SUBJECT);
    expect(shown['approval-workload']).toBe('agent-glob');

    await decide(page, id, 'deny', SCRIPT_MARKUP);
    const result = page.locator('[data-testid=approval-result]');
    await page.waitForSelector('[data-testid=approval-result]:has-text("Denied")', WAIT);
    expect(await result.textContent()).toContain(`by ops-${SCRIPT_MARKUP}: ${SCRIPT_MARKUP}`);
    const row = page.locator(`[data-testid=recent-approvals] tr[data-approval="${id}"]`);
    await row.waitFor(WAIT);
    expect(await row.locator('[data-testid=approval-reason]').textContent()).toBe(SCRIPT_MARKUP);

    const injected = await inPage(
      page,
      `({
        pwned: window.__pwned ?? null,
        images: document.querySelectorAll('img').length,
        scripts: [...document.querySelectorAll('script')].map((s) => s.getAttribute('src')),
      })`,
    );
    expect(injected).toEqual({ pwned: null, images: 0, scripts: ['/console/console.js'] });
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });
});
