import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const CHART = 'deploy/helm/jit-broker';

describe("the chart's PrometheusRule", () => {
  it('ships exactly the rules of deploy/prometheus/alerts.yaml (Helm reads only files inside the chart)', () => {
    expect(read(`${CHART}/files/alerts.yaml`)).toBe(read('deploy/prometheus/alerts.yaml'));
  });

  it('exists only behind prometheusRule.enabled, off by default', () => {
    const template = read(`${CHART}/templates/prometheusrule.yaml`);
    expect(template.startsWith('{{- if .Values.prometheusRule.enabled }}')).toBe(true);
    expect(parse(read(`${CHART}/values.yaml`)).prometheusRule).toEqual({
      enabled: false,
      labels: {},
    });
  });

  it('renders the rules file under spec', () => {
    const template = read(`${CHART}/templates/prometheusrule.yaml`);
    const rules = read(`${CHART}/files/alerts.yaml`);
    // What Helm does with this template: the file's text indented under spec, the
    // metadata actions rendered (stood in for here).
    const rendered = template
      .replace(/^.*\.Files\.Get "files\/alerts\.yaml" \| nindent 2 \}\}$/m, () =>
        rules
          .split('\n')
          .map((line) => (line === '' ? '' : `  ${line}`))
          .join('\n'),
      )
      .replace(/^\s*\{\{-? (if|with|end|include|toYaml)[^}]*\}\}\s*$/gm, '')
      .replace(/\{\{ include "jit-broker\.fullname" \. \}\}/, 'jit-broker');
    const resource = parse(rendered) as {
      kind: string;
      metadata: { name: string };
      spec: { groups: unknown };
    };
    expect(resource.kind).toBe('PrometheusRule');
    expect(resource.metadata.name).toBe('jit-broker');
    expect(resource.spec.groups).toEqual((parse(rules) as { groups: unknown }).groups);
  });

  it('the values schema takes prometheusRule and refuses a misspelt key in it', () => {
    const schema = JSON.parse(read(`${CHART}/values.schema.json`)) as object;
    const defaults = parse(read(`${CHART}/values.yaml`)) as Record<string, unknown>;
    const check = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
    const on = { ...defaults, prometheusRule: { enabled: true, labels: { release: 'prom' } } };
    expect(check(on)).toBe(true);
    expect(check({ ...defaults, prometheusRule: { enable: true } })).toBe(false);
  });
});
