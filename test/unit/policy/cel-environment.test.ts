import { describe, expect, it } from 'vitest';

/*
 * The CEL environment is built when src/policy/condition.ts loads, so the module is imported
 * inside the test: a declaration that breaks the load then fails this test. A static import
 * would fail the file before any test ran, which Stryker's vitest runner does not count.
 */
describe('the CEL environment of policy conditions', () => {
  it('declares every variable a condition may use, with its type', async () => {
    const { compileCondition } = await import('../../../src/policy/condition.js');
    const when =
      'workload.tier == "read" && claims.s == "x" && actor == null && task.intent == "i" && ' +
      'scope == {} && request.time == now && now == timestamp("1970-01-01T00:00:00Z")';
    const outcome = compileCondition(when).evaluate({
      workload: { id: 'w', tier: 'read' },
      claims: { s: 'x' },
      actor: null,
      task: { id: 't', intent: 'i' },
      scope: {},
      request: { time: new Date(0) },
      now: new Date(0),
    });
    expect(outcome).toEqual({ result: 'true' });
  });
});
