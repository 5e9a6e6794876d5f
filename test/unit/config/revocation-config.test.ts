import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { configIssues } from '../../helpers/config-issues.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
const yaml = (revocation: string) =>
  `encryption:\n  keys: [{ id: a, key: "${KEY}" }]\nrevocation: ${revocation}\n`;

describe('revocation config', () => {
  it('defaults to verifying kill switches, with bounded checks', () => {
    const config = parseConfig(`encryption:\n  keys: [{ id: a, key: "${KEY}" }]\n`, { env: {} });
    expect(config.revocation).toEqual({
      verify: 'kill_switch',
      verify_timeout: 10_000,
      verify_concurrency: 2,
      verify_queue: 10_000,
    });
    expect(
      parseConfig(yaml('{ verify: all, verify_timeout: 2s }'), { env: {} }).revocation,
    ).toMatchObject({
      verify: 'all',
      verify_timeout: 2_000,
    });
  });

  it.each([
    ['{ verify: sometimes }', /^revocation\.verify: .*kill_switch.*all/],
    ['{ verify_timeout: 10m }', /^revocation\.verify_timeout: between 100ms and 2m/],
    ['{ verify_timeout: 10ms }', /^revocation\.verify_timeout: between 100ms and 2m/],
    ['{ verify_concurrency: 0 }', /^revocation\.verify_concurrency: /],
    ['{ verify_queue: 1000000 }', /^revocation\.verify_queue: /],
    ['{ verfy: all }', /^revocation: .*verfy/],
  ])('refuses %s, naming the field', (value, message) => {
    const found = configIssues(() => parseConfig(yaml(value), { env: {} }));
    expect(
      found.some((issue) => message.test(issue)),
      found.join('\n'),
    ).toBe(true);
  });
});
