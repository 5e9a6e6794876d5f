import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

describe("README's /oauth/token example", () => {
  it('names a target the dev configuration has, so it runs against `npm start`', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /curl -s \S+\/oauth\/token[^`]*/.exec(readme)?.[0] ?? '';
    const target = /-d (?:audience|resource)=([\w.-]+)/.exec(example)?.[1];
    const dev = parse(
      readFileSync(new URL('../../examples/dev.yaml', import.meta.url), 'utf8'),
    ) as {
      targets: { name: string }[];
    };
    expect(dev.targets.map((t) => t.name)).toContain(target);
  });
});
