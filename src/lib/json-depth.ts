/**
 * Whether a parsed JSON value nests no deeper than `max` arrays or objects. Iterative, so a
 * hostile body of tens of thousands of nested arrays is measured without recursion: the
 * recursive walks that follow (schema checks, JSON.stringify, event redaction) would
 * otherwise overflow the stack and answer 500.
 */
export function withinDepth(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth + 1 > max) return false;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return true;
}
