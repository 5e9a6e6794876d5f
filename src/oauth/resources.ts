import type { ResourceConfig } from '../config/schema.js';
import { nonCanonical } from './canonical-uri.js';

/** A configured resource: the target whose tokens carry its URI as `aud`. */
export interface Resource {
  readonly uri: string;
  readonly target: string;
  /** What the resource understands; undefined: whatever the target's policy allows. */
  readonly scopes: readonly string[] | undefined;
}

/** What the configuration says of a target that a resource names. */
export interface ResourceTarget {
  readonly name: string;
  readonly audience?: unknown;
}

/**
 * The resources `/oauth/token` issues for, by canonical URI. Throws TypeError on a
 * configuration that could issue a token whose `aud` is not the resource asked for: a
 * non-canonical or repeated URI, an unknown target, or a target of another audience.
 */
export class ResourceIndex {
  readonly #byUri: ReadonlyMap<string, Resource>;

  constructor(resources: readonly ResourceConfig[], targets: readonly ResourceTarget[]) {
    const byUri = new Map<string, Resource>();
    resources.forEach((resource, i) => {
      const problem = nonCanonical(resource.uri);
      if (problem !== undefined) throw new TypeError(`resources.${i}.uri: ${problem}`);
      if (byUri.has(resource.uri)) {
        throw new TypeError(`resources.${i}.uri: ${resource.uri} is listed twice`);
      }
      const target = targets.find((t) => t.name === resource.target);
      if (target === undefined) {
        throw new TypeError(`resources.${i}.target: no target named ${resource.target}`);
      }
      // The token's `aud` is the target's audience: it must be the resource's URI exactly.
      if (target.audience !== resource.uri) {
        throw new TypeError(
          `resources.${i}.target: target ${resource.target} must have audience ${resource.uri}`,
        );
      }
      byUri.set(resource.uri, {
        uri: resource.uri,
        target: resource.target,
        scopes: resource.scopes === undefined ? undefined : [...resource.scopes],
      });
    });
    this.#byUri = byUri;
  }

  find(uri: string): Resource | undefined {
    return this.#byUri.get(uri);
  }

  /** The resource whose tokens a target issues, if one is configured (at most one can be). */
  forTarget(target: string): Resource | undefined {
    for (const resource of this.#byUri.values()) if (resource.target === target) return resource;
    return undefined;
  }

  get all(): readonly Resource[] {
    return [...this.#byUri.values()];
  }
}
