import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/config/schema.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { type Chromium, launchChromium } from '../helpers/chromium.js';
import {
  consoleServicesReady,
  inPage,
  pageErrors,
  signInToConsole,
} from '../helpers/console-page.js';

/*
 * The operator console in a real browser (Debian's Chromium through playwright-core)
 * against a real broker on Redis: what each role sees, leases appearing and going, the kill
 * switch, markup in attacker-influenced fields, and where the token is (and is not) kept.
 */

const MARKUP = '<img src=x onerror="window.__pwned=1">';
const SCRIPT_MARKUP = `<script>window.__pwned=2</script>${MARKUP}`;
const GLOB_SUBJECT = `spiffe://test/glob/${MARKUP}`;
const WAIT = { timeout: 15_000 };

let h: Harness | undefined;
let browser: Chromium | undefined;

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
      const workloads = raw.workloads as Record<string, unknown>[];
      workloads.push(
        { id: 'agent-c', issuer: 'test', subject: 'spiffe://test/agent-c', tier: 'write' },
        { id: 'agent-glob', issuer: 'test', subject: 'spiffe://test/glob/*', tier: 'read' },
      );
      const [policy] = raw.policies as { workloads: string[] }[];
      policy?.workloads.push('agent-c', 'agent-glob');
      // Failing revocations reach revoke_failed quickly, and the reaper's next try of a
      // revoke_failed lease is far off: the console's Retry is the one that settles it.
      const leases = raw.leases as { reaper: Record<string, string> };
      leases.reaper.backoff_base = '10ms';
      leases.reaper.backoff_max = '10m';
    },
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function issue(subject: string, task: string, tool = 'search'): Promise<string> {
  const token = await harness().workloadToken(subject);
  const res = await harness().request('/v1/credentials', {
    method: 'POST',
    token,
    json: {
      target: 'tickets',
      scope: { scopes: ['tickets:read'] },
      task: { id: task, intent: 'triage', tool },
    },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { lease_id: string }).lease_id;
}

/** A fresh page, signed in with `token`; fails on any script error in the page. */
function signedIn(token: string): Promise<Page> {
  return signInToConsole(browser, harness().broker.url, token);
}

async function present(page: Page, testid: string): Promise<boolean> {
  return (await page.locator(`[data-testid=${testid}]`).count()) > 0;
}

// Each test drives a browser through several pages; a step waits at most WAIT.
describe('the operator console in Chromium', { timeout: 60_000 }, () => {
  it('is served with a strict Content-Security-Policy and the other protective headers', async (ctx) => {
    if (h === undefined || browser === undefined) return ctx.skip();
    const page = await browser.context.newPage();
    const res = await page.goto(`${h.broker.url}/console`);
    const headers = res?.headers() ?? {};
    const csp = headers['content-security-policy'] ?? '';
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
    // The browser enforces it: an inline script put into the page does not run.
    const ran = await inPage<{ inline: boolean; violations: string[] }>(
      page,
      `(async () => {
        const violations = [];
        document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
        const script = document.createElement('script');
        script.textContent = 'window.__inline = true';
        document.body.append(script);
        await new Promise((r) => setTimeout(r, 100));
        return { inline: window.__inline === true, violations };
      })()`,
    );
    expect(ran.inline).toBe(false);
    expect(ran.violations.some((d) => d.startsWith('script-src'))).toBe(true);
    await page.close();
  });

  it('each role sees only the actions it may take', async (ctx) => {
    if (h === undefined) return ctx.skip();
    await issue('spiffe://test/agent-a', 'roles-1');
    const blocked = await h.request('/v1/workloads/agent-b/revoke', {
      method: 'POST',
      token: await h.operatorToken(['admin']),
      json: { reason: 'role test', block: true },
    });
    expect(blocked.status).toBe(200);

    const cases = [
      { who: 'viewer', token: await h.operatorToken(['viewer']), revoke: false, admin: false },
      { who: 'revoker', token: await h.operatorToken(['revoker']), revoke: true, admin: false },
      { who: 'admin', token: await h.operatorToken(['admin']), revoke: true, admin: true },
      { who: 'break-glass', token: h.breakGlass.token, revoke: true, admin: true },
    ];
    for (const c of cases) {
      const page = await signedIn(c.token);
      const roles = await page.textContent('[data-testid=roles]');
      expect(roles, c.who).toContain(c.who === 'break-glass' ? 'break-glass: admin' : c.who);
      await page.waitForSelector('[data-testid=freeze-state]', WAIT);
      expect(await present(page, 'freeze'), `${c.who} freeze`).toBe(c.admin);

      await page.goto(`${h.broker.url}/console#/workloads/agent-a`);
      await page.waitForSelector('[data-testid=leases] tr[data-lease]', WAIT);
      expect(await present(page, 'kill-switch'), `${c.who} kill switch`).toBe(c.revoke);
      expect(await present(page, 'revoke-lease'), `${c.who} revoke lease`).toBe(c.revoke);
      expect(await present(page, 'end-task'), `${c.who} end task`).toBe(c.revoke);

      await page.goto(`${h.broker.url}/console#/workloads/agent-b`);
      await page.waitForSelector('[data-testid=workload-state]:has-text("BLOCKED")', WAIT);
      expect(await present(page, 'unblock'), `${c.who} unblock`).toBe(c.admin);
      expect(pageErrors(page)).toEqual([]);
      await page.close();
    }
  });

  it('the overview shows the store census, sink health and readiness, as the API reports them', async (ctx) => {
    if (h === undefined) return ctx.skip();
    await issue('spiffe://test/agent-a', 'overview-1');
    const viewer = await h.operatorToken(['viewer']);
    const page = await signedIn(viewer);
    await page.waitForSelector('[data-testid=sinks] li', WAIT);
    const status = (await (await h.request('/v1/status', { token: viewer })).json()) as {
      leases: { by_state: { active: number; revoke_failed: number } };
      sinks: { sink: string }[];
    };
    const value = (testid: string) => page.textContent(`[data-testid=${testid}] .value`);
    expect(await value('active-leases')).toBe(String(status.leases.by_state.active));
    expect(await value('revoke-failures')).toBe(String(status.leases.by_state.revoke_failed));
    expect(await value('sink-health')).toBe('ok');
    const sinks = await page.locator('[data-testid=sinks] li').allTextContents();
    expect(sinks.length).toBe(status.sinks.length);
    expect(sinks.every((line) => line.includes(': up,'))).toBe(true);
    expect(await page.textContent('[data-testid=readiness]')).toBe('Readiness: ready');
    expect(await page.textContent('[data-testid=active-by-target]')).toMatch(/tickets: \d+/);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('a lease appears when a workload gets a credential, and a revoker can revoke it', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const page = await signedIn(await h.operatorToken(['revoker']));
    await page.goto(`${h.broker.url}/console#/workloads/agent-a`);
    await page.waitForSelector('[data-testid=workload-name]', WAIT);
    const id = await issue('spiffe://test/agent-a', 'appears-1', 'tickets.search');
    const row = page.locator(`tr[data-lease="${id}"]`);
    await row.waitFor(WAIT);
    expect(await row.locator('[data-testid=task]').textContent()).toContain('appears-1');
    expect(await row.textContent()).toContain('tickets.search');
    expect(await row.locator('[data-testid=state]').textContent()).toContain('active');
    expect(await row.locator('[data-expires]').textContent()).toMatch(/^\d+m \d\ds$/);

    await row.locator('[data-testid=revoke-lease]').click();
    await page.waitForSelector(
      `tr[data-lease="${id}"] [data-testid=state]:has-text("revoked")`,
      WAIT,
    );
    const lease = await h.request(`/v1/leases/${id}`, {
      token: await h.operatorToken(['viewer']),
    });
    expect(((await lease.json()) as { state: string }).state).toBe('revoked');
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('End task revokes every lease of that task and leaves the others', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const first = await issue('spiffe://test/agent-a', 'task-end-1', 'tickets.search');
    const second = await issue('spiffe://test/agent-a', 'task-end-1', 'tickets.comment');
    const other = await issue('spiffe://test/agent-a', 'task-end-2');
    const page = await signedIn(await h.operatorToken(['revoker']));
    await page.goto(`${h.broker.url}/console#/workloads/agent-a`);
    await page.locator(`tr[data-lease="${first}"] [data-testid=end-task]`).click(WAIT);
    for (const id of [first, second]) {
      await page
        .locator(`tr[data-lease="${id}"] [data-testid=state]`, { hasText: 'revoked' })
        .waitFor(WAIT);
    }
    const viewer = await h.operatorToken(['viewer']);
    const stateOf = async (id: string) =>
      (
        (await (await harness().request(`/v1/leases/${id}`, { token: viewer })).json()) as {
          state: string;
        }
      ).state;
    expect(await stateOf(first)).toBe('revoked');
    expect(await stateOf(second)).toBe('revoked');
    expect(await stateOf(other)).toBe('active');
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('an admin freezes issuance with a reason and unfreezes it', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const page = await signedIn(await h.operatorToken(['admin'], 'bob@example.com'));
    await page.click('[data-testid=freeze]', WAIT);
    expect(await page.isDisabled('[data-testid=dialog-confirm]')).toBe(true);
    await page.fill('[data-testid=dialog-reason]', 'suspected key leak');
    await page.click('[data-testid=dialog-confirm]');
    await page.waitForSelector(
      '[data-testid=freeze-state]:has-text("Frozen by bob@example.com")',
      WAIT,
    );
    expect(await page.textContent('[data-testid=frozen] .value')).toBe('FROZEN');
    const refused = await h.request('/v1/credentials', {
      method: 'POST',
      token: await h.workloadToken('spiffe://test/agent-a'),
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: 'while-frozen', intent: 'triage' },
      },
    });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe('issuance_frozen');

    await page.click('[data-testid=unfreeze]');
    await page.waitForSelector('[data-testid=freeze-state]:has-text("open")', WAIT);
    const status = await h.request('/v1/freeze', { token: await h.operatorToken(['viewer']) });
    expect(await status.json()).toEqual({ frozen: false });
    await page.close();
  });

  it('the kill switch names the workload and the count, revokes every lease and blocks it', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const ids = [];
    for (let i = 0; i < 4; i += 1) ids.push(await issue('spiffe://test/agent-c', `kill-${i}`));
    const page = await signedIn(await h.operatorToken(['revoker']));
    await page.goto(`${h.broker.url}/console#/workloads/agent-c`);
    await page.waitForSelector(`tr[data-lease="${ids[3]}"]`, WAIT);
    expect(await page.textContent('[data-testid=workload-state]')).toBe('not blocked');

    await page.click('[data-testid=kill-switch]');
    const message = await page.textContent('[data-testid=dialog-message]');
    expect(message).toContain('agent-c');
    expect(message).toContain('all 4 active');
    // No reason, no revocation.
    expect(await page.isDisabled('[data-testid=dialog-confirm]')).toBe(true);
    await page.fill('[data-testid=dialog-reason]', 'agent-c leaked its token');
    await page.click('[data-testid=dialog-confirm]');

    const result = await page.waitForSelector('[data-testid=kill-result]', WAIT);
    expect(await result.textContent()).toContain('4 revoked, 0 still revoking, 0 failed');
    expect(await result.textContent()).toContain('agent-c is blocked');
    await page.waitForSelector('[data-testid=workload-state]:has-text("BLOCKED")', WAIT);
    for (const id of ids) {
      const state = page.locator(`tr[data-lease="${id}"] [data-testid=state]`);
      await state.filter({ hasText: 'revoked' }).waitFor(WAIT);
    }
    expect(await present(page, 'revoke-lease')).toBe(false);
    // A revoker may not unblock.
    expect(await present(page, 'unblock')).toBe(false);

    const viewer = await h.operatorToken(['viewer']);
    const listed = (await (await h.request('/v1/workloads', { token: viewer })).json()) as {
      workloads: { workload: string; blocked: boolean; live_leases: number }[];
    };
    expect(listed.workloads.find((w) => w.workload === 'agent-c')).toMatchObject({
      blocked: true,
      live_leases: 0,
    });
    const event = (await h.flushedEvents()).find(
      (e) => e.type === 'workload.revoked' && e.workload === 'agent-c',
    );
    expect(event?.reason).toBe('agent-c leaked its token');

    await page.goto(`${h.broker.url}/console#/workloads`);
    const row = page.locator('tr[data-workload="agent-c"] [data-testid=blocked]');
    await row.filter({ hasText: 'BLOCKED' }).waitFor(WAIT);
    await page.close();

    // An admin unblocks.
    const admin = await signedIn(await h.operatorToken(['admin']));
    await admin.goto(`${h.broker.url}/console#/workloads/agent-c`);
    await admin.click('[data-testid=unblock]', WAIT);
    await admin.click('[data-testid=dialog-confirm]');
    await admin.waitForSelector('[data-testid=workload-state]:has-text("not blocked")', WAIT);
    expect(pageErrors(admin)).toEqual([]);
    await admin.close();
  });

  it('markup in a subject or a reason renders as text and runs nothing (a task id cannot hold it)', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const admin = await h.operatorToken(['admin']);
    // Task ids, intents and tools are refused with markup before anything stores them.
    const withMarkup = await h.request('/v1/credentials', {
      method: 'POST',
      token: await h.workloadToken('spiffe://test/agent-a'),
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: MARKUP, intent: 'triage', tool: MARKUP },
      },
    });
    expect(withMarkup.status).toBe(422);
    const id = await issue(GLOB_SUBJECT, 'xss-1');
    const page = await signedIn(admin);

    await page.goto(`${h.broker.url}/console#/workloads/agent-glob`);
    const subject = page.locator(`tr[data-lease="${id}"] [data-testid=subject]`);
    await subject.waitFor(WAIT);
    expect(await subject.textContent()).toBe(GLOB_SUBJECT);

    await page.goto(`${h.broker.url}/console#/events`);
    await page.waitForSelector('[data-testid=events-status]:has-text("live")', WAIT);
    const frozen = await h.request('/v1/freeze', {
      method: 'POST',
      token: admin,
      json: { reason: SCRIPT_MARKUP },
    });
    expect(frozen.status).toBe(200);
    const reason = page.locator('[data-testid=event-reason]', { hasText: SCRIPT_MARKUP });
    await reason.first().waitFor(WAIT);

    await page.goto(`${h.broker.url}/console#/overview`);
    const freezeState = page.locator('[data-testid=freeze-state]', { hasText: SCRIPT_MARKUP });
    await freezeState.waitFor(WAIT);
    expect(await present(page, 'unfreeze')).toBe(true);
    await page.click('[data-testid=unfreeze]');
    await page.waitForSelector('[data-testid=freeze-state]:has-text("open")', WAIT);

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

  it('a crafted console link shows its markup as text and calls the API with it encoded', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const page = await signedIn(await h.operatorToken(['admin']));
    const paths: string[] = [];
    page.on('request', (req) => paths.push(new URL(req.url()).pathname));
    const crafted = `${MARKUP}/../../freeze`;
    await page.goto(`${h.broker.url}/console#/workloads/${encodeURIComponent(crafted)}`);
    const name = page.locator('[data-testid=workload-name]');
    await name.waitFor(WAIT);
    expect(await name.textContent()).toBe(crafted);
    await page.waitForSelector('main [role=alert]:has-text("Could not refresh")', WAIT);
    // The id went out as one encoded path segment, never as a path of its own.
    const listing = paths.find((p) => p.startsWith('/v1/leases'));
    expect(listing).toBe('/v1/leases');
    expect(paths.some((p) => p.startsWith('/v1/freeze'))).toBe(false);
    expect(await inPage(page, 'window.__pwned ?? null')).toBeNull();
    expect(await inPage(page, "document.querySelectorAll('img').length")).toBe(0);
    // A malformed escape is shown as typed, without a script error.
    await page.goto(`${harness().broker.url}/console#/workloads/bad%E0%A4%A`);
    await page.waitForSelector('[data-testid=workload-name]:has-text("bad%E0%A4%A")', WAIT);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('every request the console makes goes to the broker itself, the token only to the API', async (ctx) => {
    if (h === undefined || browser === undefined) return ctx.skip();
    const token = await h.operatorToken(['admin']);
    const origin = new URL(h.broker.url).origin;
    const requests: { url: string; authorization: string | undefined }[] = [];
    const page = await browser.context.newPage();
    page.on('request', (req) =>
      requests.push({ url: req.url(), authorization: req.headers().authorization }),
    );
    await page.goto(`${h.broker.url}/console`);
    await page.fill('#token', token);
    await page.click('form[data-testid=login] button[type=submit]');
    await page.waitForSelector('[data-testid=sinks] li', WAIT);
    for (const view of ['workloads', 'workloads/agent-a', 'events', 'failures']) {
      await page.goto(`${h.broker.url}/console#/${view}`);
      await page.waitForSelector('main h1', WAIT);
    }
    await page.waitForSelector('[data-testid=failures]', WAIT);
    expect(requests.length).toBeGreaterThan(5);
    for (const { url, authorization } of requests) {
      expect(new URL(url).origin, url).toBe(origin);
      const path = new URL(url).pathname;
      // Files are fetched without the token; API calls carry it.
      if (path.startsWith('/console')) expect(authorization, url).toBeUndefined();
      else if (path.startsWith('/v1/')) expect(authorization, url).toBe(`Bearer ${token}`);
    }
    await page.close();
  });

  it('the page builder refuses handlers given as text, style attributes and links off the page', async (ctx) => {
    if (h === undefined || browser === undefined) return ctx.skip();
    const page = await browser.context.newPage();
    await page.goto(`${h.broker.url}/console`);
    const refused = await inPage<string[]>(
      page,
      `(async () => {
        const { el } = await import('/console/dom.js');
        const out = [];
        for (const props of [
          { onclick: 'window.__pwned = 1' },
          { style: 'background:url(x)' },
          { href: 'javascript:alert(1)' },
          { href: 'https://evil.example/' },
          { srcdoc: '<script></script>' },
        ]) {
          try { el('a', props); out.push('accepted ' + Object.keys(props)[0]); }
          catch (e) { out.push('refused'); }
        }
        return out;
      })()`,
    );
    expect(refused).toEqual(['refused', 'refused', 'refused', 'refused', 'refused']);
    await page.close();
  });

  it('keeps the token for the tab only: no cookie, no localStorage; logout clears it', async (ctx) => {
    if (h === undefined || browser === undefined) return ctx.skip();
    const token = await h.operatorToken(['viewer']);
    // Pasted with its header prefix, as copied from a curl command.
    const page = await signedIn(`Bearer ${token}`);
    const stored = await inPage<{ local: string[]; session: string[]; cookie: string }>(
      page,
      `({
        local: Object.keys(localStorage).map((k) => k + '=' + localStorage.getItem(k)),
        session: Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)),
        cookie: document.cookie,
      })`,
    );
    expect(stored.local).toEqual([]);
    expect(stored.cookie).toBe('');
    expect(stored.session).toEqual([token]);
    expect(await browser.context.cookies()).toEqual([]);

    // A reload in the same tab keeps the session.
    await page.reload();
    await page.waitForSelector('[data-testid=operator]', WAIT);

    await page.click('[data-testid=logout]');
    await page.waitForSelector('form[data-testid=login]', WAIT);
    const after = await inPage(
      page,
      '({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })',
    );
    expect(after).toEqual({ local: 0, session: 0, cookie: '' });
    expect(await present(page, 'operator')).toBe(false);
    await page.close();
  });

  it('refuses a wrong token with a message, and shows nothing of the broker', async (ctx) => {
    if (h === undefined || browser === undefined) return ctx.skip();
    const page = await browser.context.newPage();
    await page.goto(`${h.broker.url}/console`);
    await page.fill('#token', 'not-a-token');
    await page.click('form[data-testid=login] button[type=submit]');
    await page.waitForSelector('[data-testid=login-error]:has-text("Not accepted")', WAIT);
    expect(await present(page, 'operator')).toBe(false);
    expect(await inPage(page, 'sessionStorage.length')).toBe(0);
    // A workload's token is not an operator's.
    await page.fill('#token', await h.workloadToken('spiffe://test/agent-a'));
    await page.click('form[data-testid=login] button[type=submit]');
    await page.waitForSelector('[data-testid=login-error]:has-text("Not accepted")', WAIT);
    expect(await present(page, 'operator')).toBe(false);
    await page.close();
  });

  it('the live feed filters by workload and type, and holds events while paused', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const page = await signedIn(await h.operatorToken(['viewer']));
    await page.goto(`${h.broker.url}/console#/events`);
    await page.waitForSelector('[data-testid=events-type] option[value="credential.issued"]', {
      ...WAIT,
      state: 'attached',
    });
    await page.fill('[data-testid=events-workload]', 'agent-a');
    await page.selectOption('[data-testid=events-type]', 'credential.issued');
    await page.click('form.filters button[type=submit]');
    await page.waitForSelector('[data-testid=events-status]:has-text("live")', WAIT);

    await issue('spiffe://test/agent-glob/other', 'feed-other').catch(() => undefined);
    await issue(GLOB_SUBJECT, 'feed-glob');
    await issue('spiffe://test/agent-a', 'feed-1');
    const rows = page.locator('[data-testid=events] tbody tr');
    await rows.filter({ hasText: 'feed-1' }).waitFor(WAIT);
    const texts = await rows.allTextContents();
    expect(texts.every((t) => t.includes('credential.issued') && t.includes('agent-a'))).toBe(true);
    expect(texts.some((t) => t.includes('feed-glob'))).toBe(false);

    await page.click('[data-testid=events-pause]');
    await issue('spiffe://test/agent-a', 'feed-2');
    // Proof the event was emitted while paused: the broker's own record.
    await expect
      .poll(async () => (await harness().flushedEvents()).some((e) => e.task?.id === 'feed-2'))
      .toBe(true);
    expect(await rows.filter({ hasText: 'feed-2' }).count()).toBe(0);
    await page.click('[data-testid=events-pause]');
    await rows.filter({ hasText: 'feed-2' }).waitFor(WAIT);
    await page.close();
  });

  it('lists revoke failures with their last error, and a revoker retries one', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const id = await issue('spiffe://test/agent-a', 'fails-1');
    const original = harness().broker.runtime().config;
    harness().broker.reload({ ...original, targets: [], policies: [] } satisfies BrokerConfig);
    try {
      const revoked = await h.request(`/v1/leases/${id}`, {
        method: 'DELETE',
        token: await h.operatorToken(['revoker']),
      });
      expect(revoked.status).toBe(202);
      await expect
        .poll(
          async () =>
            (
              (await (
                await harness().request(`/v1/leases/${id}`, {
                  token: await harness().operatorToken(['viewer']),
                })
              ).json()) as { state: string }
            ).state,
          { timeout: 10_000 },
        )
        .toBe('revoke_failed');
    } finally {
      harness().broker.reload(original);
    }

    const viewer = await signedIn(await h.operatorToken(['viewer']));
    await viewer.goto(`${h.broker.url}/console#/failures`);
    const row = viewer.locator('[data-testid=failures] tr', { hasText: id });
    await row.waitFor(WAIT);
    expect(await row.locator('[data-testid=last-error]').textContent()).toMatch(
      /no longer configured/,
    );
    expect(await row.locator('[data-testid=retry]').count()).toBe(0);
    await viewer.close();

    const page = await signedIn(await h.operatorToken(['revoker']));
    await page.goto(`${h.broker.url}/console#/failures`);
    await page
      .locator('[data-testid=failures] tr', { hasText: id })
      .locator('[data-testid=retry]')
      .click();
    await page.waitForSelector('[data-testid=failures] td:has-text("No revoke failures.")', WAIT);
    const lease = await h.request(`/v1/leases/${id}`, {
      token: await h.operatorToken(['viewer']),
    });
    expect(((await lease.json()) as { state: string }).state).toBe('revoked');
    await page.close();
  });
});
