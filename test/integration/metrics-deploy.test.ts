import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { type Scrape, scrape } from '../helpers/prometheus-scrape.js';
import { redisAvailable, requireService } from '../helpers/services.js';

const root = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}
interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

const alerts = parse(read('deploy/prometheus/alerts.yaml')) as { groups: RuleGroup[] };
const operatorRule = parse(read('deploy/prometheus/prometheusrule.yaml')) as {
  apiVersion: string;
  kind: string;
  spec: { groups: RuleGroup[] };
};
const dashboard = JSON.parse(read('deploy/grafana/jit-broker.json')) as { panels: Panel[] };
const rules = alerts.groups.flatMap((g) => g.rules);
const panelExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

/** PromQL words that are not series names: functions, aggregations, keywords. */
const PROMQL_WORDS = new Set(
  'sum min max avg count count_values stddev stdvar topk bottomk quantile group by without on ignoring group_left group_right and or unless bool offset rate irate increase delta idelta deriv histogram_quantile abs absent absent_over_time clamp_min clamp_max ceil floor round sort sort_desc scalar vector time label_replace label_join max_over_time min_over_time avg_over_time sum_over_time count_over_time last_over_time changes resets predict_linear'.split(
    ' ',
  ),
);

/**
 * The series names an expression selects. Strings, label matchers, range selectors and
 * grouping label lists are cut out first, so what is left that is not a PromQL word or a
 * function call is a metric name.
 */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1')
    .replace(/\boffset\s+\w+/g, 'offset');
  const names = new Set<string>();
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = match[0];
    const after = bare.slice((match.index ?? 0) + word.length);
    if (PROMQL_WORDS.has(word) || /^\s*\(/.test(after)) continue;
    if (/^\d/.test(word)) continue;
    names.add(word);
  }
  return [...names];
}

/** What a scrape makes selectable: every sample's name, and each declared family's series. */
function exported(s: Scrape): Set<string> {
  const names = s.names();
  for (const [family, type] of s.families) {
    names.add(family);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix);
  }
  return names;
}

describe('the dashboard and the alert rules against a real scrape', () => {
  let h: Harness | undefined;
  let after: Scrape;

  beforeAll(async () => {
    if (!(await requireService('redis', await redisAvailable()))) return;
    h = await startHarness({
      store: 'redis',
      // A transmitter with no receivers: its metric families are exported, as in production.
      configure: (raw) => {
        raw.ssf = {
          signing_key: {
            private_key: generateKeyPairSync('ec', { namedCurve: 'P-256' })
              .privateKey.export({ type: 'pkcs8', format: 'pem' })
              .toString(),
          },
        };
      },
    });
    // Real traffic: issue, deny, a refused token, revoke, the kill switch, a freeze.
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const body = {
      target: 'tickets',
      scope: { scopes: ['tickets:read'] },
      task: { id: 'deploy-check', intent: 'triage' },
    };
    const issued = await h.request('/v1/credentials', { method: 'POST', token: agent, json: body });
    expect(issued.status).toBe(201);
    const { lease_id } = (await issued.json()) as { lease_id: string };
    const denied = await h.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: { ...body, scope: { scopes: ['tickets:delete'] } },
    });
    expect(denied.status).toBe(403);
    expect((await h.request('/v1/leases', { token: 'not-a-jwt' })).status).toBe(401);
    expect(
      (await h.request(`/v1/leases/${lease_id}`, { method: 'DELETE', token: agent })).status,
    ).toBe(200);
    await h.request('/v1/credentials', { method: 'POST', token: agent, json: body });
    const kill = await h.request('/v1/workloads/agent-a/revoke', {
      method: 'POST',
      token: await h.operatorToken(['revoker']),
      json: { reason: 'deploy check', block: false },
    });
    expect(kill.status).toBe(200);
    const agentB = await h.workloadToken('spiffe://test/agent-b');
    const held = await h.request('/v1/credentials', { method: 'POST', token: agentB, json: body });
    expect(held.status).toBe(201);
    const admin = await h.operatorToken(['admin']);
    await h.request('/v1/freeze', {
      method: 'POST',
      token: admin,
      json: { reason: 'deploy check' },
    });
    await h.request('/v1/freeze', { method: 'DELETE', token: admin });
    after = await scrape(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reads metric names out of PromQL', () => {
    expect(
      metricNamesIn(
        'sum by (le, route) (rate(jit_a_bucket{route="/v1/{id}",x=~"a|b"}[5m] offset 1h)) / on (job) max(b_total)',
      ).sort(),
    ).toEqual(['b_total', 'jit_a_bucket']);
    expect(
      metricNamesIn('histogram_quantile(0.99, sum by (le) (rate(x_bucket[$__rate_interval])))'),
    ).toEqual(['x_bucket']);
  });

  it('every alert expression names only metrics the broker exports', (ctx) => {
    if (!h) ctx.skip();
    const names = exported(after);
    expect(rules.length).toBeGreaterThanOrEqual(6);
    for (const rule of rules) {
      const used = metricNamesIn(rule.expr);
      expect(used.length, rule.alert).toBeGreaterThan(0);
      for (const name of used) expect(names.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
  });

  it('every dashboard target names only metrics the broker exports', (ctx) => {
    if (!h) ctx.skip();
    const names = exported(after);
    expect(panelExprs.length).toBeGreaterThan(15);
    for (const expr of panelExprs) {
      const used = metricNamesIn(expr);
      expect(used.length, expr).toBeGreaterThan(0);
      for (const name of used) expect(names.has(name), `${expr}: ${name}`).toBe(true);
    }
  });

  it('the traffic above gave the dashboard data to show', (ctx) => {
    if (!h) ctx.skip();
    for (const name of [
      'jit_credentials_issued_total',
      'jit_credentials_denied_total',
      'jit_auth_failures_total',
      'jit_leases_active',
      'jit_leases',
      'jit_leases_revoked_total',
      'jit_issuance_frozen',
      'jit_workloads_blocked',
      'jit_event_sink_up',
      'jit_event_sink_written_total',
      'jit_http_requests_total',
      'jit_http_request_duration_seconds_bucket',
      'jit_build_info',
    ]) {
      expect(after.has(name), name).toBe(true);
    }
  });

  it('the dashboard covers what an on-call engineer looks at', () => {
    const used = new Set(panelExprs.flatMap(metricNamesIn));
    for (const name of [
      'jit_credentials_issued_total',
      'jit_credentials_denied_total',
      'jit_auth_failures_total',
      'jit_leases_active',
      'jit_leases_revoked_total',
      'jit_leases_revoke_failed_total',
      'jit_reaper_expiry_lag_seconds_bucket',
      'jit_event_sink_up',
      'jit_http_request_duration_seconds_bucket',
    ]) {
      expect(used.has(name), name).toBe(true);
    }
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
  });

  it('the alerts cover revoke failures, reaper lag, a required sink, issuance errors, auth spikes and a freeze', () => {
    const byMetric = (metric: string) => rules.some((r) => metricNamesIn(r.expr).includes(metric));
    expect(byMetric('jit_leases_revoke_failed_total')).toBe(true);
    expect(byMetric('jit_reaper_expiry_lag_seconds_bucket')).toBe(true);
    expect(rules.some((r) => r.expr.includes('jit_event_sink_up{mode="required"}'))).toBe(true);
    expect(rules.some((r) => r.expr.includes('route="/v1/credentials",status=~"5.."'))).toBe(true);
    expect(byMetric('jit_auth_failures_total')).toBe(true);
    expect(byMetric('jit_issuance_frozen')).toBe(true);
  });

  it('every alert has a summary, a description and a runbook section that exists', () => {
    const anchors = new Set(
      read('docs/operations.md')
        .split('\n')
        .filter((line) => line.startsWith('#'))
        .map((line) =>
          line
            .replace(/^#+\s*/, '')
            .toLowerCase()
            .replace(/[^a-z0-9 -]/g, '')
            .replace(/ /g, '-'),
        ),
    );
    const names = new Set<string>();
    for (const rule of rules) {
      expect(names.has(rule.alert), `duplicate ${rule.alert}`).toBe(false);
      names.add(rule.alert);
      expect(rule.labels?.severity, rule.alert).toMatch(/^(critical|warning)$/);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      const runbook = rule.annotations?.runbook ?? '';
      expect(runbook, rule.alert).toMatch(/^docs\/operations\.md#/);
      expect(anchors.has(runbook.split('#')[1] ?? ''), runbook).toBe(true);
    }
  });

  it('the PrometheusRule carries exactly the rules of alerts.yaml', () => {
    expect(operatorRule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(operatorRule.kind).toBe('PrometheusRule');
    expect(operatorRule.spec.groups).toEqual(alerts.groups);
  });
});
