import { nonCanonical } from '../../oauth/canonical-uri.js';
import type { Resource, ResourceIndex } from '../../oauth/resources.js';
import { OAuthError } from './errors.js';
import type { FormParameters } from './form.js';
import { TARGET_URN } from './urns.js';

/** The target a token is issued for, and the resource (RFC 8707) when one was named. */
export interface RequestedTarget {
  readonly target: string;
  readonly resource: Resource | undefined;
}

/** A URI scheme (RFC 3986 §3.1); target names cannot hold `:`, so they never look like one. */
const HAS_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * One `resource` or `audience` value: `urn:jit-broker:target:<name>`, a bare target name, or
 * the canonical URI of a configured resource. A URI that is not canonical, or not configured,
 * is `invalid_target` (RFC 8707 §2), never a guess at what was meant.
 */
export function resolveTarget(value: string, resources: ResourceIndex): RequestedTarget {
  // A target named by name is still its resource, when it has one: its tokens carry the
  // resource's URI as `aud`, so the resource's scope list applies to them too.
  if (value.startsWith(TARGET_URN)) {
    const target = value.slice(TARGET_URN.length);
    return { target, resource: resources.forTarget(target) };
  }
  if (!HAS_SCHEME.test(value)) return { target: value, resource: resources.forTarget(value) };
  const problem = nonCanonical(value);
  if (problem !== undefined) throw new OAuthError('invalid_target', problem);
  const resource = resources.find(value);
  if (resource === undefined) {
    throw new OAuthError('invalid_target', 'the resource is not one this broker issues for');
  }
  return { target: resource.target, resource };
}

/**
 * `resource` and `audience` together must name exactly one target: RFC 8693 §2.1 allows
 * several, but a lease is for one, and §2.2.2 answers anything else with `invalid_target`.
 */
export function targetOf(params: FormParameters, resources: ResourceIndex): RequestedTarget {
  const named = [...(params.get('resource') ?? []), ...(params.get('audience') ?? [])]
    .filter((value) => value !== '')
    .map((value) => resolveTarget(value, resources));
  if (named.length === 0) {
    throw new OAuthError('invalid_request', 'name the target in "resource" or "audience"');
  }
  const [first, ...rest] = named;
  if (
    first === undefined ||
    rest.some((other) => other.target !== first.target || other.resource !== first.resource)
  ) {
    throw new OAuthError('invalid_target', 'a token is issued for exactly one target');
  }
  return first;
}
