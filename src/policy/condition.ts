import { type ASTNode, Environment, type ParseResult } from '@marcbachmann/cel-js';

/** The variables a `when` expression sees. */
export interface ConditionVariables {
  workload: { id: string; tier: string };
  claims: Record<string, unknown>;
  /** `null` when the request carried no actor assertion. */
  actor: { subject: string; issuer: string; claims: Record<string, unknown> } | null;
  task: Record<string, unknown>;
  scope: unknown;
  request: { ip?: string; time: Date };
  now: Date;
}

export type ConditionOutcome =
  | { result: 'true' }
  | { result: 'false' }
  | { result: 'error'; code: string };

export interface Condition {
  evaluate(variables: ConditionVariables): ConditionOutcome;
}

/**
 * Macros that loop over a list or map. Nesting them multiplies the work by the size of each
 * list, and the lists come from the workload (its claims, its scope), so the depth is capped.
 */
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const MAX_COMPREHENSION_DEPTH = 2;

// Parse-time structural limits; the expression text itself is capped at 4096 chars by config.
const environment = new Environment({
  limits: { maxAstNodes: 1024, maxDepth: 32, maxListElements: 256, maxMapEntries: 256 },
})
  .registerVariable('workload', 'map')
  .registerVariable('claims', 'map')
  .registerVariable('actor', 'dyn')
  .registerVariable('task', 'map')
  .registerVariable('scope', 'dyn')
  .registerVariable('request', 'map')
  .registerVariable('now', 'google.protobuf.Timestamp');

/**
 * The same variables with their known shapes declared, for checking only: `task.nonexistent`
 * or `request.ipp` can never be true, so they are refused at load instead of denying every
 * request. Evaluation stays on the map-typed environment above, whose plain-object inputs
 * need no conversion. `actor` stays `dyn` because it is null without an actor assertion, and
 * `claims`, `scope` and the nested claim maps are the issuer's and the provider's to shape.
 */
const typedEnvironment = new Environment({
  limits: { maxAstNodes: 1024, maxDepth: 32, maxListElements: 256, maxMapEntries: 256 },
})
  .registerType('Workload', { fields: { id: 'string', tier: 'string' } })
  .registerType('Task', {
    fields: { id: 'string', intent: 'string', tool: 'string', context: 'map' },
  })
  .registerType('Request', { fields: { ip: 'string', time: 'google.protobuf.Timestamp' } })
  .registerVariable('workload', 'Workload')
  .registerVariable('claims', 'map')
  .registerVariable('actor', 'dyn')
  .registerVariable('task', 'Task')
  .registerVariable('scope', 'dyn')
  .registerVariable('request', 'Request')
  .registerVariable('now', 'google.protobuf.Timestamp');

const FIELDS: Record<string, readonly string[]> = {
  workload: ['id', 'tier'],
  task: ['id', 'intent', 'tool', 'context'],
  request: ['ip', 'time'],
};

/**
 * Compiles a CEL expression once. Throws an `Error` describing the problem (syntax, unknown
 * variable, type, or a result that cannot be a bool); the caller adds the config path.
 */
export function compileCondition(expression: string): Condition {
  let program: ParseResult;
  try {
    program = environment.parse(expression);
  } catch (err) {
    throw new Error(summary(err));
  }
  const checked = program.check();
  if (!checked.valid) throw new Error(summary(checked.error));
  const typed = typedEnvironment.parse(expression).check();
  if (!typed.valid) throw new Error(withFields(summary(typed.error)));
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    throw new Error(`must evaluate to a bool, not ${checked.type}`);
  }
  if (comprehensionDepth(program.ast) > MAX_COMPREHENSION_DEPTH) {
    throw new Error(
      `comprehensions (all, exists, map, …) nest deeper than ${MAX_COMPREHENSION_DEPTH}`,
    );
  }
  return {
    evaluate(variables) {
      try {
        const value: unknown = program(variables);
        if (value === true) return { result: 'true' };
        if (value === false) return { result: 'false' };
        // A `dyn` expression that yields null, a string "true" or a number is a mistake, not a yes.
        return { result: 'error', code: 'not_a_bool' };
      } catch (err) {
        // The code only: messages may quote values from the workload's claims.
        const code = (err as { code?: unknown }).code;
        return { result: 'error', code: typeof code === 'string' ? code : 'evaluation_error' };
      }
    },
  };
}

/** `No such key: ipp` says little; the fields that do exist say what was meant. */
function withFields(message: string): string {
  const known = Object.entries(FIELDS).map(([name, fields]) => `${name}: ${fields.join(', ')}`);
  return /no such key/i.test(message) ? `${message} (known fields: ${known.join('; ')})` : message;
}

function summary(err: unknown): string {
  if (err === undefined || err === null) return 'invalid expression';
  const { summary: short, message } = err as { summary?: unknown; message?: unknown };
  if (typeof short === 'string' && short !== '') return short;
  return typeof message === 'string' ? (message.split('\n')[0] ?? message) : String(err);
}

function comprehensionDepth(node: ASTNode): number {
  let deepest = 0;
  for (const child of children(node.args)) deepest = Math.max(deepest, comprehensionDepth(child));
  const loops = node.op === 'rcall' && COMPREHENSIONS.has(node.args[0]);
  return deepest + (loops ? 1 : 0);
}

function* children(args: unknown): Generator<ASTNode> {
  if (Array.isArray(args)) {
    for (const arg of args) yield* children(arg);
  } else if (typeof args === 'object' && args !== null && 'op' in args && 'args' in args) {
    yield args as ASTNode;
  }
}
