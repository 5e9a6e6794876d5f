import { type DetectionRuleConfig, MAX_HISTORY } from '../config.js';
import { andThen } from '../state.js';
import type { RuleCheck } from '../types.js';
import { networkOf } from './values.js';

type Rule = Extract<DetectionRuleConfig, { kind: 'new_network' }>;

export const newNetworkWatches = ['credential.issued', 'credential.denied'];

const DAY_MS = 86_400_000;
const NETWORKS_KEPT = 4_096;

/**
 * A request from a source network (`ipv4_prefix`, `ipv6_prefix`) the workload has not used
 * within `days`; at most 512 networks per workload. The first network is learnt silently.
 */
export function newNetwork(rule: Rule): RuleCheck {
  // Requests come from few addresses: their networks are kept (at most NETWORKS_KEPT, then
  // started over), so an address is parsed once, not once per event.
  const networks = new Map<string, string | undefined>();
  return (o) => {
    const ip = o.event.source_ip;
    if (ip === undefined) return undefined;
    let network = networks.get(ip);
    if (network === undefined && !networks.has(ip)) {
      if (networks.size >= NETWORKS_KEPT) networks.clear();
      network = networkOf(ip, rule.ipv4_prefix, rule.ipv6_prefix);
      networks.set(ip, network);
    }
    if (network === undefined) return undefined;
    const remembered = o.state.remember(o.key, [network], o.at, rule.days * DAY_MS, MAX_HISTORY);
    return andThen(remembered, ({ fresh, known }) => {
      if (fresh.length === 0 || known === 0) return undefined;
      return {
        events: [{ id: o.event.id, seq: o.event.seq, instance: o.event.instance }],
        evidence: { network, days: rule.days, known_networks: known },
      };
    });
  };
}
