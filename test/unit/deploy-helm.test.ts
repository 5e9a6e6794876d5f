import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

/**
 * No helm binary here (no npm or Debian package ships one), so the chart is checked without
 * rendering: values against values.schema.json as `helm install` would, and the YAML around
 * every template action. `helm lint` and `helm template` are the checks to run where helm is.
 */
const CHART = join(import.meta.dirname, '../../deploy/helm/jit-broker');
const read = (name: string) => readFileSync(join(CHART, name), 'utf8');
type Values = Record<string, unknown>;

const schema = JSON.parse(read('values.schema.json')) as object;
const defaults = parse(read('values.yaml')) as Values;
const example = parse(read('values-example.yaml')) as Values;

/** Helm's coalescing: maps merge key by key, everything else (lists too) is replaced. */
function coalesce(base: unknown, over: unknown): unknown {
  const isMap = (v: unknown): v is Values =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isMap(base) || !isMap(over)) return over;
  const merged: Values = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = coalesce(base[key], value);
  return merged;
}

function validate(values: unknown) {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const check = ajv.compile(schema);
  check(values);
  return check.errors ?? [];
}

describe('chart values', () => {
  it('the schema is draft-07, as Helm reads it', () => {
    expect(schema).toMatchObject({ $schema: 'http://json-schema.org/draft-07/schema#' });
  });

  it('values.yaml and values-example.yaml over it pass the schema', () => {
    expect(validate(defaults)).toEqual([]);
    expect(validate(coalesce(defaults, example))).toEqual([]);
  });

  it('the schema refuses a misspelt key, a bad Redis URL and a non-numeric port', () => {
    expect(validate({ ...defaults, replicas: 3 })).not.toEqual([]);
    expect(validate(coalesce(defaults, { redis: { url: 'http://redis:6379' } }))).not.toEqual([]);
    expect(validate(coalesce(defaults, { service: { port: 'https' } }))).not.toEqual([]);
  });

  it('ships no issuer, workload, target, policy, operator or break-glass entry a user would inherit', () => {
    const config = defaults.config as Values;
    for (const list of ['issuers', 'workloads', 'targets', 'policies']) {
      expect(config[list], list).toEqual([]);
    }
    expect(config.operators).toEqual({ issuers: [], break_glass: [] });
    const secretEnv = defaults.secretEnv as { name: string }[];
    expect(secretEnv.map((e) => e.name)).not.toContain('JIT_BREAK_GLASS_ONCALL_HASH');
    // The examples live apart, so the README's walkthrough still has a complete deployment.
    expect((example.config as Values).issuers).not.toEqual([]);
  });

  it('deploys no Redis and no NetworkPolicy unless asked', () => {
    expect(defaults.redis).toMatchObject({ deploy: false, url: '' });
    expect(defaults.networkPolicy).toMatchObject({ enabled: false });
  });

  it('references the image the deploy README builds', () => {
    expect((defaults.image as Values).repository).toBe('jit-broker');
    expect(readFileSync(join(CHART, '../../README.md'), 'utf8')).toContain(
      'docker build -f deploy/Dockerfile -t jit-broker:',
    );
  });
});

/**
 * The template with its actions taken out: lines holding only actions (if/range/with/end,
 * `toYaml … | nindent`) go, inline actions become a scalar. Both branches of an if/else stay,
 * so a key may appear twice.
 */
function withoutActions(template: string): string {
  return (
    template
      .split('\n')
      // `- {{- toYaml . | nindent N }}` opens a list item with an inserted map.
      .map((line) => line.replace(/^(\s*-)\s*\{\{-[^}]*\bnindent\b[^}]*\}\}\s*$/, '$1'))
      .filter(
        (line) => line.replace(/\{\{-?[\s\S]*?-?\}\}/g, '').trim() !== '' || line.trim() === '',
      )
      .map((line) => line.replace(/"?\{\{-?[\s\S]*?-?\}\}"?/g, 'TEMPLATED'))
      .join('\n')
  );
}

describe('chart templates', () => {
  const templates = readdirSync(join(CHART, 'templates')).filter((f) => f.endsWith('.yaml'));

  it.each(templates)('%s is YAML around its template actions', (file) => {
    const documents = parseAllDocuments(withoutActions(read(`templates/${file}`)), {
      uniqueKeys: false,
    });
    for (const document of documents) {
      expect(document.errors.map((e) => e.message)).toEqual([]);
    }
    const kinds = documents.map((d) => (d.toJS() as Values | null)?.kind).filter(Boolean);
    expect(kinds.length, file).toBeGreaterThan(0);
  });

  it('the Redis for evaluation keeps AOF on and its password off the command line', () => {
    const redis = read('templates/redis.yaml');
    expect(redis).toMatch(/^\s+appendonly yes$/m);
    expect(redis).not.toContain('--requirepass');
    expect(redis).toContain('{{- if .Values.redis.deploy }}');
    expect(read('templates/NOTES.txt')).toMatch(/redis\.deploy[\s\S]*evaluation only/);
  });

  it('the NetworkPolicy exists only behind networkPolicy.enabled', () => {
    expect(
      read('templates/networkpolicy.yaml').startsWith('{{- if .Values.networkPolicy.enabled }}'),
    ).toBe(true);
  });
});
