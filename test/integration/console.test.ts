import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleDir, loadConsoleAssets } from '../../src/console/assets.js';
import { CONSOLE_CSP } from '../../src/console/headers.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** A GET with the path sent exactly as written (fetch would normalise `..` away). */
function rawGet(
  base: string,
  path: string,
): Promise<{ status: number; body: string; location: string | undefined }> {
  const url = new URL(base);
  return new Promise((done, fail) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        done({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          location: res.headers.location,
        }),
      );
    });
    req.on('error', fail);
    req.end();
  });
}

describe('the console files', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ listen: true });
  });
  afterAll(async () => {
    await h.close();
  });

  it('serves the page and its files with the security headers and the right types', async () => {
    const page = await h.request('/console');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/console/console.js"></script>');
    // Nothing from another origin, and no inline script or style.
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style/);
    for (const [path, type] of [
      ['/console/console.js', 'text/javascript; charset=utf-8'],
      ['/console/console.css', 'text/css; charset=utf-8'],
      ['/console/favicon.svg', 'image/svg+xml'],
    ] as const) {
      const res = await h.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(type);
      expect(res.headers.get('content-security-policy'), path).toBe(CONSOLE_CSP);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });

  it('the policy forbids inline script and style, framing, other bases and form targets', () => {
    const directives = new Map(
      CONSOLE_CSP.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('style-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(directives.get('form-action')).toEqual(["'self'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-|data:|\*/);
  });

  it('every script the console loads is one of its own files, fetched by name', () => {
    const dir = join(ROOT, 'console');
    const assets = loadConsoleAssets(dir);
    for (const [name, asset] of assets) {
      if (!name.endsWith('.js') && !name.endsWith('.html')) continue;
      const text = Buffer.from(asset.body).toString('utf8');
      for (const [, ref] of text.matchAll(/(?:from |src=|href=)["']([^"']+)["']/g)) {
        if (ref === undefined || ref.startsWith('#')) continue;
        const file = ref.replace(/^\/console\//, '').replace(/^\.\//, '');
        expect(assets.has(file), `${name} refers to ${ref}`).toBe(true);
      }
      // Data is never parsed as markup.
      expect(text, name).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    }
  });

  it('refuses path traversal and anything that is not a console file', async () => {
    const pkg = readFileSync(join(ROOT, 'package.json'), 'utf8');
    for (const path of [
      '/console/../package.json',
      '/console/..%2fpackage.json',
      '/console/%2e%2e%2fpackage.json',
      '/console/%2e%2e/package.json',
      '/console/..%5cpackage.json',
      '/console/.%2e/src/app.ts',
      '/console/%2fetc%2fpasswd',
      '/console//etc/passwd',
      '/console/console.js%00.png',
      '/console/console.js/..',
      '/console/CONSOLE.JS',
      '/console/.hidden.js',
      '/console/assets.ts',
      '/console/routes.ts',
      '/console/index.html.bak',
    ]) {
      const res = await rawGet(h.broker.url, path);
      // The server resolves `/console/console.js/..` to `/console/`, which only ever
      // redirects to the page's fixed address.
      if (res.status === 308) expect(res.location, path).toBe('/console');
      else expect([400, 404], path).toContain(res.status);
      expect(res.body, path).not.toContain('"name": "jit-broker"');
      expect(res.body, path).not.toContain('root:');
      expect(res.body, path).not.toContain('import ');
      expect(res.body, path).not.toBe(pkg);
    }
    // The in-process router sees the same paths undecoded.
    for (const path of ['/console/..%2fpackage.json', '/console/%2e%2e%2fsrc%2fapp.ts']) {
      expect((await h.request(path)).status, path).toBe(404);
    }
  });

  it('sends /console/ to /console with one permanent redirect to a fixed address', async () => {
    for (const path of [
      '/console/',
      '/console/?next=//evil.example/',
      '/console/?x=%0d%0aSet-Cookie:a=b',
    ]) {
      const res = await fetch(`${h.broker.url}${path}`, { redirect: 'manual' });
      expect(res.status, path).toBe(308);
      expect(res.headers.get('location'), path).toBe('/console');
      expect(res.headers.get('set-cookie'), path).toBeNull();
      expect(res.headers.get('content-security-policy'), path).toBe(CONSOLE_CSP);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
    }
    const head = await fetch(`${h.broker.url}/console/`, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(308);
    expect(head.headers.get('location')).toBe('/console');
    // Followed, it lands on the page itself.
    const followed = await fetch(`${h.broker.url}/console/`);
    expect(followed.status).toBe(200);
    expect(followed.url).toBe(`${h.broker.url}/console`);
    expect(await followed.text()).toContain('<script type="module" src="/console/console.js">');
    // Only reading is redirected; other methods and other shapes stay unknown.
    expect((await fetch(`${h.broker.url}/console/`, { method: 'POST' })).status).toBe(404);
    expect((await rawGet(h.broker.url, '//console/')).status).toBe(404);
    expect((await rawGet(h.broker.url, '/console//')).status).toBe(404);
  });

  it('serves only plain files with servable names: no symlink, subfolder or other name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-console-'));
    try {
      writeFileSync(join(dir, 'ok.js'), 'export {};');
      writeFileSync(join(dir, 'Upper.js'), 'x');
      writeFileSync(join(dir, 'notes.txt'), 'x');
      writeFileSync(join(dir, '.env.js'), 'SECRET=1');
      mkdirSync(join(dir, 'sub.js'));
      symlinkSync(join(ROOT, 'package.json'), join(dir, 'linked.js'));
      expect([...loadConsoleAssets(dir).keys()]).toEqual(['ok.js']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds its folder from the sources and from the compiled build, and ships it', () => {
    expect(consoleDir()).toBe(join(ROOT, 'console'));
    const built = pathToFileURL(join(ROOT, 'dist/src/console/assets.js')).href;
    expect(consoleDir(built)).toBe(join(ROOT, 'console'));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      files: string[];
    };
    expect(pkg.files).toContain('console');
  });
});

describe('GET /v1/whoami', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('tells an operator its verified roles and exactly the actions the access table allows', async () => {
    const viewer = await h.request('/v1/whoami', { token: await h.operatorToken(['viewer']) });
    expect(viewer.status).toBe(200);
    const seen = (await viewer.json()) as { roles: string[]; actions: string[]; via: string };
    expect(seen).toMatchObject({ name: 'alice@example.com', roles: ['viewer'], via: 'jwt' });
    expect(seen.actions).toContain('lease.list');
    expect(seen.actions).not.toContain('workload.revoke');
    expect(seen.actions).not.toContain('issuance.freeze');

    const revoker = (await (
      await h.request('/v1/whoami', { token: await h.operatorToken(['revoker']) })
    ).json()) as { actions: string[] };
    expect(revoker.actions).toEqual(expect.arrayContaining(['workload.revoke', 'lease.retry']));
    expect(revoker.actions).not.toContain('workload.unblock');
    expect(revoker.actions).not.toContain('issuance.freeze');
    // Workload-only actions are never an operator's.
    expect(revoker.actions).not.toContain('credential.issue');
    expect(revoker.actions).not.toContain('lease.renew');
  });

  it('names a break-glass token by its entry and never echoes a token or its hash', async () => {
    const res = await h.request('/v1/whoami', { token: h.breakGlass.token });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(body).toMatchObject({ name: 'oncall', roles: ['admin'], via: 'break_glass' });
    expect(body.actions).toEqual(expect.arrayContaining(['workload.unblock', 'issuance.freeze']));
    expect(text).not.toContain(h.breakGlass.token);
    expect(text).not.toContain(createHash('sha256').update(h.breakGlass.token).digest('hex'));
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('a workload token, no token or an operator without a role: 401', async () => {
    expect((await h.request('/v1/whoami')).status).toBe(401);
    const workload = await h.workloadToken('spiffe://test/agent-a');
    expect((await h.request('/v1/whoami', { token: workload })).status).toBe(401);
    expect((await h.request('/v1/whoami', { token: await h.operatorToken([]) })).status).toBe(401);
  });
});
