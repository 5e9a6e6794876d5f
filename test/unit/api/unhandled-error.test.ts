import { describe, expect, it } from 'vitest';
import type { ApiServices } from '../../../src/api/context.js';
import { createApp } from '../../../src/app.js';
import { createLogger } from '../../../src/lib/logger.js';
import { Capture } from '../../helpers/broker-harness.js';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlc2lnbmF0dXJl';
const URL_PASSWORD = 'hunter2-url-password';
const PROPERTY_SECRET = 'argument-secret-7f3a';

/** An error as a client library throws it: a secret in the text, another in a property. */
class LibraryError extends Error {
  override name = 'LibraryError';
  readonly command = { name: 'AUTH', args: [PROPERTY_SECRET] };
}

describe('an unexpected error', () => {
  it('answers a generic 500 and logs type, message and stack with secrets scrubbed', async () => {
    const logs = new Capture();
    const services = {
      logger: createLogger({ destination: logs }),
      clientAddress: (peer: string | undefined) => peer,
      readiness: {
        ready: async () => {
          throw new LibraryError(
            `connect to redis://broker:${URL_PASSWORD}@redis:6379 failed, token ${JWT}`,
          );
        },
      },
    } as unknown as ApiServices;
    const app = createApp(services, { bodyLimit: 65_536 });
    const res = await app.request('/readyz');
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({ code: 'internal', detail: 'internal error' });
    expect(body).not.toContain(URL_PASSWORD);

    const line = JSON.parse(logs.text.trim().split('\n').at(-1) ?? '{}') as {
      msg: string;
      error: { type: string; message: string; stack: string };
    };
    expect(line.msg).toBe('unhandled error');
    expect(line.error.type).toBe('LibraryError');
    expect(line.error.message).toContain('redis://broker:[redacted]@redis:6379');
    expect(line.error.stack).toContain('LibraryError');
    for (const secret of [URL_PASSWORD, JWT, PROPERTY_SECRET]) {
      expect(logs.text).not.toContain(secret);
    }
  });
});
