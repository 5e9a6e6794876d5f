import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDevIssuer } from '../../../src/dev/issuer.js';
import { walkthrough } from '../../../src/dev/walkthrough.js';

const text = walkthrough('http://127.0.0.1:8080', 'http://127.0.0.1:8081', 'in memory');
const lines = (prefix: string) => text.split('\n').filter((l) => l.startsWith(prefix));

describe('the dev walkthrough', () => {
  it('reads JSON with node -e, never sed', () => {
    expect(text).not.toMatch(/\bsed\b/);
    expect(text).toContain("node -e '");
  });

  it('writes the credential to a file created 0600, and removes it at the end', () => {
    expect(text).toContain('CRED=$(umask 077; mktemp');
    expect(text).toContain('-o "$CRED"');
    expect(text).toContain('rm -f "$CRED"');
  });

  it('names the issuer and broker it was given', () => {
    expect(lines('AGENT=')).toEqual([
      'AGENT=$(curl -s -X POST http://127.0.0.1:8081/token/demo-agent)',
    ]);
    expect(text).toContain('curl -s http://127.0.0.1:8080/v1/credentials');
  });

  it('runs as printed: the file is 0600 and the helper reads nested fields', () => {
    const dir = mkdtempSync(join(tmpdir(), 'walkthrough-'));
    const helper = lines('jit_field()')[0] ?? '';
    const mkfile = lines('CRED=')[0] ?? '';
    const out = execFileSync(
      'bash',
      [
        '-c',
        `${helper}\n${mkfile}\nprintf '%s' "$SAMPLE" > "$CRED"\n` +
          'echo "$CRED"; jit_field "$CRED" lease_id; jit_field "$CRED" credential.token; jit_field "$CRED" nope || echo missing',
      ],
      {
        env: {
          ...process.env,
          TMPDIR: dir,
          // A quote inside a value: what a sed pattern got wrong.
          SAMPLE: JSON.stringify({ lease_id: 'lse_1', credential: { token: 'a"b' } }),
        },
        encoding: 'utf8',
      },
    ).split('\n');
    expect(out.slice(1, 4)).toEqual(['lse_1', 'a"b', 'missing']);
    expect(statSync(out[0] ?? '').mode & 0o777).toBe(0o600);
  });
});

describe('the dev issuer', () => {
  it('listens on the port it is given, so printed commands survive a restart', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const issuer = await startDevIssuer({
      port,
      workloadAudience: 'a',
      operatorAudience: 'b',
      subjects: {},
    });
    try {
      expect(issuer.url).toBe(`http://127.0.0.1:${port}`);
    } finally {
      await issuer.close();
    }
  });
});
