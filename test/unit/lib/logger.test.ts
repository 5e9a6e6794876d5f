import { describe, expect, it } from 'vitest';
import { createLogger, withRequestLog } from '../../../src/lib/logger.js';
import { prettyLine } from '../../../src/lib/pretty-log.js';
import { Capture } from '../../helpers/broker-harness.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('request ids in the log', () => {
  it('every line of an interleaved request names its own request, and none outside', async () => {
    const out = new Capture();
    const logger = createLogger({ destination: out });
    const serve = (id: string) =>
      withRequestLog(id, async () => {
        logger.info({ step: 1 }, id);
        await tick();
        logger.warn({ step: 2 }, id);
        await tick();
        // Work the request started and did not wait for keeps its id.
        setImmediate(() => logger.error({ step: 3 }, id));
      });
    await Promise.all([serve('req_a'), serve('req_b')]);
    await tick();
    logger.info('outside');
    const lines = out.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; request_id?: string });
    expect(lines).toHaveLength(7);
    for (const line of lines) {
      expect(line.request_id).toBe(line.msg === 'outside' ? undefined : line.msg);
    }
  });

  it("a call's own request_id field wins over the scope's, without a duplicate key", async () => {
    const out = new Capture();
    const logger = createLogger({ destination: out });
    await withRequestLog('req_scope', async () => logger.info({ request_id: 'req_own' }, 'x'));
    expect(out.text.match(/"request_id"/g)).toHaveLength(1);
    expect(JSON.parse(out.text).request_id).toBe('req_own');
  });
});

describe('--log-format pretty', () => {
  it('prints one readable line with the fields, redacted as the JSON is', async () => {
    const out = new Capture();
    const logger = createLogger({ destination: out, format: 'pretty' });
    await withRequestLog('req_1', async () =>
      logger.warn(
        { lease_id: 'lse_1', password: 'hunter2', nested: { token: 'tok-secret' }, n: 3 },
        'revocation failed',
      ),
    );
    const line = out.text.trimEnd();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}revocation failed request_id=req_1 lease_id=lse_1 password="\[redacted\]" nested=\{"token":"\[redacted\]"\} n=3$/,
    );
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain('tok-secret');
  });

  it('escapes control characters, so a task id cannot forge a line or drive the terminal', () => {
    const out = new Capture();
    const logger = createLogger({ destination: out, format: 'pretty' });
    logger.info({ task: 'a\nINFO forged\u001b[31m\u0085\u2028' }, 'm\u001b[2J');
    const text = out.text;
    expect(text.split('\n').filter(Boolean)).toHaveLength(1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for them
    expect(text.trimEnd()).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(text).toContain('task="a\\nINFO forged\\u001b[31m\\u0085\\u2028"');
  });

  it('passes a line that is not JSON through, escaped', () => {
    expect(prettyLine('plain\u001btext\n')).toBe('plain\\u001btext');
  });

  it('json stays the default', () => {
    const out = new Capture();
    createLogger({ destination: out }).info({ a: 1 }, 'hello');
    expect(JSON.parse(out.text)).toMatchObject({ level: 30, msg: 'hello', a: 1 });
  });
});
