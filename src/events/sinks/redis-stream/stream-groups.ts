import type { Cluster, Redis } from 'ioredis';

export interface StreamLag {
  /** Entries delivered to the group's consumers and not yet acknowledged. */
  pending: number;
  /** Entries not yet delivered to the group; `null` when Redis cannot tell (after trims). */
  lag: number | null;
  lastDeliveredId: string;
}

/** A consumer group's backlog on a stream, from `XINFO GROUPS`; `null` if there is no such group. */
export async function streamLag(
  client: Redis | Cluster,
  stream: string,
  group: string,
): Promise<StreamLag | null> {
  const found = (await streamGroups(client, stream)).find((g) => g.group === group);
  if (!found) return null;
  const { group: _name, ...lag } = found;
  return lag;
}

/** The backlog of every consumer group on a stream (none when the stream does not exist). */
export async function streamGroups(
  client: Redis | Cluster,
  stream: string,
): Promise<(StreamLag & { group: string })[]> {
  let groups: unknown;
  try {
    groups = await client.xinfo('GROUPS', stream);
  } catch (err) {
    if (err instanceof Error && /no such key/i.test(err.message)) return [];
    throw err;
  }
  if (!Array.isArray(groups)) return [];
  return groups.map((entry) => {
    const fields = pairs(entry);
    const lag = fields.get('lag');
    return {
      group: String(fields.get('name')),
      pending: Number(fields.get('pending') ?? 0),
      lag: lag === null || lag === undefined ? null : Number(lag),
      lastDeliveredId: String(fields.get('last-delivered-id') ?? '0-0'),
    };
  });
}

// XINFO replies are flat [field, value, field, value, ...] arrays.
function pairs(entry: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (!Array.isArray(entry)) return map;
  for (let i = 0; i + 1 < entry.length; i += 2) map.set(String(entry[i]), entry[i + 1]);
  return map;
}
