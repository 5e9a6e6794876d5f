import { describe, expect, it } from 'vitest';
import { genericTable, table } from '../../../src/cli/lib/output.js';

describe('CLI tables', () => {
  it('never pass a control character to the terminal (a subject or reason could carry one)', () => {
    // ESC ] 0 ; … BEL sets the terminal title; ESC [ 2 J clears the screen; C1 CSI too.
    const hostile = 'agent\u001b]0;pwned\u0007\u001b[2J\u009b31m\r\nforged-row';
    const lines = [
      ...table([
        ['SUBJECT', 'TASK'],
        [hostile, 't-1'],
      ]),
      ...genericTable({ reason: hostile }),
      ...genericTable([{ subject: hostile }]),
    ];
    const control = (c: string) => {
      const code = c.codePointAt(0) ?? 0;
      return code < 0x20 || (code >= 0x7f && code <= 0x9f);
    };
    for (const line of lines) expect([...line].filter(control)).toEqual([]);
    expect(lines.join('\n')).toContain('agent\uFFFD]0;pwned');
  });

  it('keeps ordinary text, including emoji, as it is', () => {
    expect(table([['a', 'Zoë 😀']])).toEqual(['a  Zoë 😀']);
  });
});
